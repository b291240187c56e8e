package io.flowmonkey.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static io.flowmonkey.testing.Await.awaitTrue;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.flowmonkey.execution.Cancellation;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.postgres.PgExecutionStore;
import io.flowmonkey.testing.PostgresExtension;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@link Engine#close()}: what {@code awaitEnd} holds is released at once, and the engine stays usable. */
class EngineCloseTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    private static final String END_LISTENERS =
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN flowmonkey_end_%'";

    private final WorkerFlows flows = new WorkerFlows();
    private PgExecutionStore store;

    @BeforeEach
    void emptyTable() throws SQLException {
        PG.truncate("executions");
        store = new PgExecutionStore(PG.dataSource());
    }

    @Test
    void close_lets_go_of_the_end_listener_at_once_and_a_caller_still_waiting_goes_on_by_polling()
            throws Exception {
        Engine engine = flows.engine(store, ctx -> StepResult.success("b"), Duration.ofHours(1));
        String id = engine.create(WorkerFlows.TIMED_WAIT, Map.of()).execution().id();
        assertThat(engine.run(id).execution().status()).isEqualTo(ExecutionStatus.WAITING);
        ExecutorService caller = Executors.newSingleThreadExecutor();
        try {
            Future<Execution> waiting = caller.submit(() -> engine.awaitEnd(id, Duration.ofSeconds(60)));
            awaitTrue(Duration.ofSeconds(30), () -> listeners() == 1);

            engine.close();

            assertThat(listeners()).as("released by close, with a caller still waiting").isZero();
            assertThatCode(engine::close).as("idempotent").doesNotThrowAnyException();
            engine.cancel(id, Cancellation.Source.USER, "done waiting");
            assertThat(waiting.get(30, TimeUnit.SECONDS).status()).as("found by polling")
                    .isEqualTo(ExecutionStatus.CANCELLED);
        } finally {
            caller.shutdownNow();
        }
    }

    private static long listeners() {
        try {
            return PG.queryLong(END_LISTENERS);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void an_engine_still_runs_and_awaits_after_close() {
        Engine engine = flows.engine(store);
        engine.close();
        String id = engine.create(WorkerFlows.THREE_STEPS, Map.of()).execution().id();

        try (EngineWorker worker = EngineWorker.builder(engine).workerId("w").build().start()) {
            assertThat(assertTimeoutPreemptively(Duration.ofSeconds(60), () -> engine.awaitEnd(id, Duration.ofSeconds(30)))
                    .status()).isEqualTo(ExecutionStatus.COMPLETED);
        } finally {
            engine.close();
        }
    }
}
