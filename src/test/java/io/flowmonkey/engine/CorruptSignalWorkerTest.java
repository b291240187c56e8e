package io.flowmonkey.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.postgres.PgExecutionStore;
import io.flowmonkey.testing.Await;
import io.flowmonkey.testing.PostgresExtension;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** A buffered signal that cannot be read sets its execution aside instead of failing every lease. */
class CorruptSignalWorkerTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    private static final Duration BOUND = Duration.ofSeconds(60);

    @Test
    void an_execution_whose_awaited_signal_cannot_be_read_is_set_aside_and_not_run_again() throws Exception {
        AtomicInteger afterCalls = new AtomicInteger();
        HandlerRegistry handlers = new HandlerRegistry()
                .register("await", ctx -> StepResult.awaitSignal("go", "waiting for go"))
                .register("after", ctx -> {
                    afterCalls.incrementAndGet();
                    return StepResult.success(ctx.input());
                });
        Flow flow = Flow.builder("corrupt-signal", "1").initialStep("wait")
                .step(Step.builder("wait", "await").onResume("after").build())
                .step(Step.builder("after", "after").input(InputSelector.key(Engine.RESUME_DATA_KEY)).build())
                .build();
        PgExecutionStore store = new PgExecutionStore(PG.dataSource());
        Engine engine = new Engine(store, handlers, new InMemoryFlowRegistry().register(flow));
        String id = engine.create("corrupt-signal", Map.of()).execution().id();
        engine.run(id);
        engine.signal(id, "go", Map.of("n", 1));
        PG.execute("UPDATE executions_signals SET data = '\"not an object\"' WHERE name = 'go'");

        try (EngineWorker worker = EngineWorker.builder(engine).threads(2).pollInterval(Duration.ofMillis(100))
                .leaseTtl(Duration.ofMillis(500)).build().start()) {
            assertTimeoutPreemptively(BOUND, () -> Await.awaitTrue(BOUND, () -> worker.stats().setAside() == 1));
            Thread.sleep(1_500);   // three lease periods: time enough to be claimed again, were it not set aside

            assertThat(worker.stats().setAside()).isEqualTo(1);
            assertThat(worker.stats().errors()).as("worker errors").isZero();
        }
        assertThat(store.findSetAside(10)).singleElement().satisfies(row -> {
            assertThat(row.executionId()).isEqualTo(id);
            assertThat(row.column()).contains("signals");
        });
        assertThat(afterCalls).hasValue(0);
        assertThat(store.load(id).orElseThrow().status()).isEqualTo(ExecutionStatus.WAITING);
    }
}
