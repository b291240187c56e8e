package io.flowmonkey.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionDataException;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.postgres.PgExecutionStore;
import io.flowmonkey.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Step outcomes only a store that writes JSON can show: results PostgreSQL cannot hold end the attempt
 * in a stored {@link Engine#OUTPUT_NOT_STORABLE} failure, and a branch is kept in the history column.
 */
class PgStepOutcomeTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    private PgExecutionStore store;
    private HandlerRegistry handlers;
    private InMemoryFlowRegistry flows;
    private Engine engine;

    @BeforeEach
    void setUp() throws SQLException {
        PG.truncate("executions");
        store = new PgExecutionStore(PG.dataSource());
        handlers = new HandlerRegistry();
        flows = new InMemoryFlowRegistry();
        engine = new Engine(store, handlers, flows);
    }

    private Execution stored(String id) {
        return store.load(id).orElseThrow();
    }

    /** A value Jackson cannot write: its getter throws. */
    public static final class Unwritable {
        public String getValue() {
            throw new IllegalStateException("no value");
        }
    }

    @Test
    void outputs_PostgreSQL_cannot_hold_are_stored_as_OUTPUT_NOT_STORABLE() {
        Map<String, Object> outputs = new LinkedHashMap<>();
        outputs.put("nul", "a\u0000b");
        outputs.put("unwritable", new Unwritable());
        Object deep = "bottom";
        for (int i = 0; i < 5_000; i++) {
            deep = List.of(deep);
        }
        outputs.put("deep", deep);
        for (Map.Entry<String, Object> output : outputs.entrySet()) {
            handlers.register(output.getKey(), ctx -> StepResult.success(output.getValue()));
            flows.register(Flow.builder(output.getKey(), "1").initialStep("s")
                    .step(Step.builder("s", output.getKey()).outputKey("out").build()).build());
            String id = engine.create(output.getKey(), Map.of()).execution().id();

            Execution failed = engine.run(id).execution();

            assertThat(failed.status()).as(output.getKey()).isEqualTo(ExecutionStatus.FAILED);
            assertThat(failed.error().code()).isEqualTo(Engine.OUTPUT_NOT_STORABLE);
            assertThat(failed.error().message()).startsWith("the result of step 's' cannot be stored: ");
            assertThat(stored(id)).isEqualTo(failed);
            assertThat(stored(id).context()).doesNotContainKey("out");
        }
    }

    @Test
    void a_failure_whose_code_is_too_long_for_its_index_is_stored_as_OUTPUT_NOT_STORABLE() {
        handlers.register("long-code", ctx -> StepResult.failure("E".repeat(256), "boom"));
        flows.register(Flow.builder("long-code", "1").initialStep("a").step(Step.builder("a", "long-code").build())
                .build());
        String id = engine.create("long-code", Map.of()).execution().id();

        Execution failed = engine.run(id).execution();

        assertThat(failed.status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(failed.error().code()).isEqualTo(Engine.OUTPUT_NOT_STORABLE);
        assertThat(stored(id)).isEqualTo(failed);
    }

    @Test
    void a_failure_whose_message_PostgreSQL_cannot_hold_is_stored_as_OUTPUT_NOT_STORABLE() {
        handlers.register("nul", ctx -> StepResult.failure("BAD", "a\u0000b"));
        handlers.register("thrower", ctx -> {
            throw new IllegalStateException("x\u0000y");
        });
        flows.register(Flow.builder("nul", "1").initialStep("a")
                .step(Step.builder("a", "nul").onFailure("b").build())
                .step(Step.builder("b", "thrower").build()).build());
        String id = engine.create("nul", Map.of()).execution().id();

        Execution failed = engine.run(id).execution();

        assertThat(failed.history()).extracting(h -> (Object) ((Map<?, ?>) h.error()).get("code"))
                .containsExactly(Engine.OUTPUT_NOT_STORABLE, Engine.HANDLER_ERROR);
        assertThat(failed.error().code()).isEqualTo(Engine.HANDLER_ERROR);
        assertThat(failed.error().message()).isEqualTo("x\\u0000y");
        assertThat(stored(id)).isEqualTo(failed);
    }

    @Test
    void a_step_that_branched_keeps_nextStepOverride_in_the_history_column_as_JSON() throws SQLException {
        handlers.register("route", ctx -> StepResult.success(null).then("b"))
                .register("echo", ctx -> StepResult.success(null));
        flows.register(Flow.builder("branch", "1").initialStep("a")
                .step(Step.builder("a", "route").build())
                .step(Step.builder("b", "echo").build()).build());
        String id = engine.create("branch", Map.of()).execution().id();
        engine.run(id);

        try (Connection c = PG.dataSource().getConnection();
             PreparedStatement ps = c.prepareStatement(
                     "SELECT history->0->>'nextStepOverride', (history->1->'nextStepOverride') IS NOT NULL FROM executions WHERE id = ?")) {
            ps.setString(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(1)).isEqualTo("b");
                assertThat(rs.getBoolean(2)).as("omitted when the step followed its transitions").isFalse();
            }
        }
    }

    @Test
    void resume_data_PostgreSQL_cannot_hold_is_refused_before_the_next_step_runs_and_the_execution_keeps_waiting() {
        java.util.concurrent.atomic.AtomicInteger echoed = new java.util.concurrent.atomic.AtomicInteger();
        handlers.register("wait", ctx -> StepResult.waitForSignal("approval"))
                .register("echo", ctx -> {
                    echoed.incrementAndGet();
                    return StepResult.success(ctx.input());
                });
        flows.register(Flow.builder("signal", "1").initialStep("wait")
                .step(Step.builder("wait", "wait").onResume("decide").build())
                .step(Step.builder("decide", "echo").outputKey("decided").build()).build());
        String id = engine.create("signal", Map.of()).execution().id();
        Execution waiting = engine.run(id).execution();

        assertThatThrownBy(() -> engine.resume(id, Map.of("by", "a\u0000b")))
                .isInstanceOfSatisfying(ExecutionDataException.class,
                        e -> assertThat(e.executionId()).isEqualTo(id));

        assertThat(stored(id)).isEqualTo(waiting);
        assertThat(echoed).as("the step after the wait never ran on refused data").hasValue(0);
        assertThat(engine.resume(id, Map.of("by", "ab")).execution().status()).isEqualTo(ExecutionStatus.COMPLETED);
        assertThat(echoed).hasValue(1);
    }
}
