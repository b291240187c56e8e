package io.flowmonkey.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.postgres.PgExecutionStore;
import io.flowmonkey.testing.PostgresExtension;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@link EngineWorker#runOnce()}: one claim, run on the calling thread, and what it did. */
class EngineWorkerRunOnceTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    private final Set<Thread> handlerThreads = ConcurrentHashMap.newKeySet();
    private final WorkerFlows flows = new WorkerFlows(ctx -> {
        handlerThreads.add(Thread.currentThread());
        return null;
    });
    private PgExecutionStore store;

    @BeforeEach
    void emptyTable() throws SQLException {
        PG.truncate("executions");
        store = new PgExecutionStore(PG.dataSource());
    }

    @Test
    void runOnce_claims_at_most_threads_executions_runs_them_on_the_calling_thread_and_counts_them() {
        Engine engine = flows.engine(store);
        List<String> ids = List.of(create(engine), create(engine), create(engine));
        EngineWorker worker = EngineWorker.builder(engine).workerId("manual").threads(2).build();

        WorkerStats first = worker.runOnce();
        WorkerStats second = worker.runOnce();
        WorkerStats third = worker.runOnce();

        assertThat(first.claimed()).isEqualTo(2);
        assertThat(first.completed()).isEqualTo(2);
        assertThat(second.claimed()).isEqualTo(1);
        assertThat(second.completed()).isEqualTo(1);
        assertThat(third.claimed()).as("nothing left due").isZero();
        assertThat(handlerThreads).containsExactly(Thread.currentThread());
        for (String id : ids) {
            assertThat(store.load(id).orElseThrow().status()).isEqualTo(ExecutionStatus.COMPLETED);
            assertThat(store.load(id).orElseThrow().leaseOwner()).as("lease given up").isNull();
            for (String step : List.of("a", "b", "c")) {
                assertThat(flows.callsOf(id, step)).as("calls of %s/%s", id, step).isEqualTo(1);
            }
        }
        assertThat(worker.stats().claimed()).as("the worker's own counters add the passes up").isEqualTo(3);
        assertThat(worker.stats().inFlight()).isZero();
    }

    @Test
    void runOnce_leaves_a_timed_wait_waiting_and_a_later_pass_runs_it_once_due() {
        Engine engine = flows.engine(store, ctx -> StepResult.success("b"), Duration.ofMillis(1));
        String id = engine.create(WorkerFlows.TIMED_WAIT, Map.of()).execution().id();
        EngineWorker worker = EngineWorker.builder(engine).build();

        WorkerStats first = worker.runOnce();

        assertThat(first.claimed()).isEqualTo(1);
        assertThat(first.waited()).isEqualTo(1);
        assertThat(first.completed()).isZero();
        // The wait is due a millisecond later by the database's clock; passes until then claim nothing.
        long completed = assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            long done = 0;
            while (done == 0) {
                done = worker.runOnce().completed();
            }
            return done;
        });
        assertThat(completed).isEqualTo(1);
        assertThat(store.load(id).orElseThrow().status()).isEqualTo(ExecutionStatus.COMPLETED);
        assertThat(flows.callsOf(id, "done")).isEqualTo(1);
    }

    @Test
    void runOnce_on_a_started_worker_is_refused() {
        try (EngineWorker worker = EngineWorker.builder(flows.engine(store)).workerId("busy").build().start()) {
            assertThatThrownBy(worker::runOnce)
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("worker busy was started");
        }
    }

    private static String create(Engine engine) {
        return engine.create(WorkerFlows.THREE_STEPS, Map.of()).execution().id();
    }
}
