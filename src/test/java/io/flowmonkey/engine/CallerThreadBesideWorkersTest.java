package io.flowmonkey.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.postgres.PgExecutionStore;
import io.flowmonkey.testing.Await;
import io.flowmonkey.testing.PostgresExtension;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code resume} and {@code retry} run the next steps on the caller's thread; a worker polling
 * meanwhile must not take the execution over as if it were abandoned and run those steps too.
 */
class CallerThreadBesideWorkersTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    private static final Duration BOUND = Duration.ofSeconds(60);

    @Test
    void a_resume_on_the_callers_thread_runs_the_next_steps_once_while_a_worker_polls() {
        AtomicInteger slowCalls = new AtomicInteger();
        HandlerRegistry handlers = new HandlerRegistry()
                .register("park", ctx -> StepResult.waitForSignal("approval"))
                .register("slow", ctx -> {
                    slowCalls.incrementAndGet();
                    Thread.sleep(1_500);   // the step's own work: longer than several of the worker's polls
                    return StepResult.success("done");
                });
        Flow flow = Flow.builder("caller-resume", "1").initialStep("park")
                .step(Step.builder("park", "park").onResume("slow").build())
                .step(Step.builder("slow", "slow").outputKey("out").build())
                .build();
        Engine engine = new Engine(new PgExecutionStore(PG.dataSource()), handlers,
                new InMemoryFlowRegistry().register(flow));
        try (EngineWorker worker = EngineWorker.builder(engine).threads(2).pollInterval(Duration.ofMillis(100))
                .leaseTtl(Duration.ofSeconds(30)).build().start()) {
            String id = engine.create("caller-resume", Map.of()).execution().id();
            assertTimeoutPreemptively(BOUND, () -> Await.awaitTrue(BOUND,
                    () -> engine.get(id).orElseThrow().status() == ExecutionStatus.WAITING));

            Execution done = assertTimeoutPreemptively(BOUND, () -> engine.resume(id, Map.of("ok", true)).execution());

            assertThat(done.status()).isEqualTo(ExecutionStatus.COMPLETED);
            assertThat(slowCalls).as("runs of the step after the resume").hasValue(1);
        }
    }

    @Test
    void a_retry_on_the_callers_thread_runs_the_failed_step_once_while_a_worker_polls() {
        AtomicInteger calls = new AtomicInteger();
        HandlerRegistry handlers = new HandlerRegistry().register("flaky", ctx -> {
            if (calls.incrementAndGet() == 1) {
                return StepResult.failure("DOWN", "the first try fails");
            }
            Thread.sleep(1_500);
            return StepResult.success("done");
        });
        Flow flow = Flow.builder("caller-retry", "1").initialStep("flaky")
                .step(Step.builder("flaky", "flaky").outputKey("out").build())
                .build();
        Engine engine = new Engine(new PgExecutionStore(PG.dataSource()), handlers,
                new InMemoryFlowRegistry().register(flow));
        try (EngineWorker worker = EngineWorker.builder(engine).threads(2).pollInterval(Duration.ofMillis(100))
                .leaseTtl(Duration.ofSeconds(30)).build().start()) {
            String id = engine.create("caller-retry", Map.of()).execution().id();
            assertTimeoutPreemptively(BOUND, () -> Await.awaitTrue(BOUND,
                    () -> engine.get(id).orElseThrow().status() == ExecutionStatus.FAILED));

            Execution done = assertTimeoutPreemptively(BOUND, () -> engine.retry(id).execution());

            assertThat(done.status()).isEqualTo(ExecutionStatus.COMPLETED);
            assertThat(calls).as("the failed try and the retried one").hasValue(2);
        }
    }
}
