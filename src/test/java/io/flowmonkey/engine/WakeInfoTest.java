package io.flowmonkey.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.WaitMetadata;
import io.flowmonkey.postgres.PgExecutionStore;
import io.flowmonkey.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The typed view of {@code waitMetadata.data} reads and writes exactly the keys rows have always held. */
class WakeInfoTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    @BeforeEach
    void emptyTable() throws SQLException {
        PG.truncate("executions");
    }

    @Test
    void each_shape_the_engine_has_written_reads_into_the_record_and_writes_back_unchanged() {
        List<Map<String, Object>> shapes = List.of(
                Map.of("wake", "resume"),
                Map.of("wake", "retry", "attempt", 3),
                Map.of("wake", "timeout", "timeout", "wait"),
                Map.of("wake", "timeout", "attempt", 2, "timeout", "execution"),
                Map.of("wake", "resume", "signal", "approved"),
                Map.of("wake", "timeout", "signal", "approved", "timeout", "wait"),
                Map.of("wake", "resume", "signal", "flowmonkey.childEnded", "children", List.of("c-1", "c-2"),
                        "policy", "FAIL_FAST"));
        for (Map<String, Object> shape : shapes) {
            assertThat(WakeInfo.from(shape).toData()).as("round trip of %s", shape).isEqualTo(shape);
        }
    }

    @Test
    void the_record_names_what_each_key_means() {
        WakeInfo retry = WakeInfo.from(Map.of("wake", "retry", "attempt", 3));
        WakeInfo children = WakeInfo.from(Map.of("wake", "resume", "signal", "flowmonkey.childEnded",
                "children", List.of("c-1"), "policy", "COLLECT_ALL"));
        WakeInfo timeout = WakeInfo.from(Map.of("wake", "timeout", "timeout", "execution"));

        assertThat(retry.isRetry()).isTrue();
        assertThat(retry.attempt()).isEqualTo(3);
        assertThat(children.signal()).isEqualTo("flowmonkey.childEnded");
        assertThat(children.children()).containsExactly("c-1");
        assertThat(children.policy()).isEqualTo("COLLECT_ALL");
        assertThat(timeout.isTimeout()).isTrue();
        assertThat(timeout.timeout()).isEqualTo("execution");
        assertThat(WakeInfo.from(Map.of()).wake()).as("data without a wake").isEqualTo("resume");
        assertThat(WakeInfo.of(null)).isEqualTo(WakeInfo.resume());
    }

    @Test
    void a_retry_pause_stored_as_literal_json_by_an_earlier_version_resumes_at_its_attempt() throws SQLException {
        PgExecutionStore store = new PgExecutionStore(PG.dataSource());
        List<Integer> attempts = new CopyOnWriteArrayList<>();
        Engine engine = new Engine(store,
                new HandlerRegistry().register("charge", ctx -> {
                    attempts.add(ctx.attempt());
                    return StepResult.success("paid");
                }),
                new InMemoryFlowRegistry().register(Flow.builder("pay", "1").initialStep("charge")
                        .step(Step.builder("charge", "charge").outputKey("charge").build()).build()));
        Instant past = Instant.parse("2026-01-01T00:00:00Z");
        store.save(Execution.builder("old-retry", "pay", "1").status(ExecutionStatus.WAITING).currentStepId("charge")
                .waitMetadata(new WaitMetadata(past, "retry after DECLINED: no", past, Map.of())).build());
        // The data exactly as a row written before the typed record holds it.
        PG.execute("UPDATE executions SET wait_metadata = jsonb_set(wait_metadata, '{data}', "
                + "'{\"wake\": \"retry\", \"attempt\": 3}') WHERE id = 'old-retry'");

        Execution ran = engine.run("old-retry").execution();

        assertThat(ran.status()).isEqualTo(ExecutionStatus.COMPLETED);
        assertThat(attempts).containsExactly(3);
    }

    @Test
    void a_retry_pause_is_stored_with_the_same_json_keys_as_before() throws SQLException {
        PgExecutionStore store = new PgExecutionStore(PG.dataSource());
        Engine engine = new Engine(store,
                new HandlerRegistry().register("charge", ctx -> StepResult.failure("DECLINED", "no")),
                new InMemoryFlowRegistry().register(Flow.builder("pay", "1").initialStep("charge")
                        .step(Step.builder("charge", "charge").retry(RetryPolicy.builder().maxAttempts(3)
                                .backoff(Duration.ofHours(1)).build()).build()).build()));
        String id = engine.create("pay", Map.of()).execution().id();

        engine.run(id);

        try (Connection c = PG.dataSource().getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT wait_metadata -> 'data' FROM executions WHERE id = ?")) {
            ps.setString(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(1)).isEqualTo("{\"wake\": \"retry\", \"attempt\": 2}");
            }
        }
    }
}
