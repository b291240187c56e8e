package io.flowmonkey.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static io.flowmonkey.testing.Await.awaitTrue;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.StepHistory;
import io.flowmonkey.memory.InMemoryExecutionStore;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * {@link EngineWorker} on {@link InMemoryExecutionStore}: the store's leases let a worker run flows end
 * to end without PostgreSQL, one pass at a time on a test clock, or started, on real time.
 */
class InMemoryEngineWorkerTest {

    /** charge (fails once, retried after 2 s) → cool (a 1 h timed wait) → ship. */
    private static final String ORDER = "order";

    private final Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();

    private Engine engine(InMemoryExecutionStore store, Clock clock, Duration backoff, Duration coolingOff) {
        HandlerRegistry handlers = new HandlerRegistry()
                .register("charge", ctx -> {
                    count(ctx);
                    return ctx.attempt() == 1 ? StepResult.failure("GATEWAY_BUSY", "try again")
                            : StepResult.success("R-" + ctx.attempt());
                })
                .register("cool", ctx -> {
                    count(ctx);
                    return StepResult.waitFor(coolingOff, "cooling-off period");
                })
                .register("ship", ctx -> {
                    count(ctx);
                    return StepResult.success("shipped");
                })
                .register("approve", ctx -> {
                    count(ctx);
                    return StepResult.awaitSignal("approved", "manager approval");
                });
        InMemoryFlowRegistry flows = new InMemoryFlowRegistry()
                .register(Flow.builder(ORDER, "1").initialStep("charge")
                        .step(Step.builder("charge", "charge").outputKey("payment").onSuccess("cool")
                                .retry(RetryPolicy.builder().maxAttempts(3).backoff(backoff).build()).build())
                        .step(Step.builder("cool", "cool").onResume("ship").build())
                        .step(Step.builder("ship", "ship").outputKey("shipment").build())
                        .build())
                .register(Flow.builder("approval", "1").initialStep("approve")
                        .step(Step.builder("approve", "approve").onResume("ship").build())
                        .step(Step.builder("ship", "ship").outputKey("shipment").build())
                        .build());
        return new Engine(store, handlers, flows, EngineOptions.builder().clock(clock).build());
    }

    private void count(StepContext ctx) {
        calls.computeIfAbsent(ctx.executionId() + "/" + ctx.stepId(), k -> new AtomicInteger()).incrementAndGet();
    }

    private int callsOf(String id, String step) {
        AtomicInteger n = calls.get(id + "/" + step);
        return n == null ? 0 : n.get();
    }

    @Test
    void passes_of_a_worker_run_a_flow_with_a_retry_and_a_timed_wait_to_the_end_as_the_test_clock_moves() {
        MutableClock clock = new MutableClock();
        InMemoryExecutionStore store = new InMemoryExecutionStore(clock);
        Engine engine = engine(store, clock, Duration.ofSeconds(2), Duration.ofHours(1));
        String id = engine.create(ORDER, Map.of("orderId", 1001)).execution().id();
        EngineWorker worker = EngineWorker.builder(engine).workerId("manual").build();

        WorkerStats first = worker.runOnce();
        assertThat(first.claimed()).isEqualTo(1);
        assertThat(first.waited()).as("the retry's pause").isEqualTo(1);
        assertThat(store.load(id).orElseThrow().leaseOwner()).as("a saved wait gives its lease up").isNull();
        assertThat(worker.runOnce().claimed()).as("the pause is not over").isZero();

        clock.advance(Duration.ofSeconds(2));
        WorkerStats second = worker.runOnce();
        assertThat(second.claimed()).isEqualTo(1);
        assertThat(store.load(id).orElseThrow().currentStepId()).isEqualTo("cool");
        assertThat(store.load(id).orElseThrow().status()).isEqualTo(ExecutionStatus.WAITING);
        clock.advance(Duration.ofMinutes(59));
        assertThat(worker.runOnce().claimed()).as("an hour's wait, 59 minutes in").isZero();

        clock.advance(Duration.ofMinutes(1));
        WorkerStats third = worker.runOnce();

        assertThat(third.completed()).isEqualTo(1);
        Execution done = store.load(id).orElseThrow();
        assertThat(done.status()).isEqualTo(ExecutionStatus.COMPLETED);
        assertThat(done.context()).containsEntry("payment", "R-2").containsEntry("shipment", "shipped");
        assertThat(done.history()).extracting(StepHistory::stepId).containsExactly("charge", "charge", "cool", "ship");
        assertThat(done.leaseOwner()).isNull();
        assertThat(callsOf(id, "charge")).isEqualTo(2);
        assertThat(callsOf(id, "cool")).isEqualTo(1);
        assertThat(callsOf(id, "ship")).isEqualTo(1);
        assertThat(worker.runOnce().claimed()).as("nothing left").isZero();
    }

    @Test
    void started_workers_run_many_flows_with_retries_and_timed_waits_to_the_end_each_step_once() {
        Clock real = Clock.systemUTC();
        InMemoryExecutionStore store = new InMemoryExecutionStore(real);
        Engine engine = engine(store, real, Duration.ofMillis(50), Duration.ofMillis(100));
        List<String> ids = new ArrayList<>();
        Set<ExecutionStatus> ends = ConcurrentHashMap.newKeySet();
        try (EngineWorker one = EngineWorker.builder(engine).workerId("one").threads(4).build().start();
             EngineWorker two = EngineWorker.builder(engine).workerId("two").threads(4).build().start()) {
            for (int i = 0; i < 40; i++) {
                ids.add(engine.create(ORDER, Map.of("orderId", i)).execution().id());
            }

            assertTimeoutPreemptively(Duration.ofSeconds(90), () -> {
                for (String id : ids) {
                    ends.add(engine.awaitEnd(id, Duration.ofSeconds(60)).status());
                }
            });
        }

        assertThat(ends).containsExactly(ExecutionStatus.COMPLETED);
        for (String id : ids) {
            assertThat(callsOf(id, "charge")).as("%s charged", id).isEqualTo(2);
            assertThat(callsOf(id, "cool")).as("%s cooled", id).isEqualTo(1);
            assertThat(callsOf(id, "ship")).as("%s shipped", id).isEqualTo(1);
            assertThat(store.load(id).orElseThrow().leaseOwner()).isNull();
        }
    }

    @Test
    void a_started_worker_continues_an_execution_when_the_signal_it_awaits_is_sent() throws Exception {
        Clock real = Clock.systemUTC();
        InMemoryExecutionStore store = new InMemoryExecutionStore(real);
        Engine engine = engine(store, real, Duration.ofMillis(50), Duration.ofMillis(100));
        try (EngineWorker worker = EngineWorker.builder(engine).workerId("w").threads(2)
                .pollInterval(Duration.ofSeconds(30)).build().start()) {
            String id = engine.create("approval", Map.of()).execution().id();
            awaitTrue(Duration.ofSeconds(30), () -> store.load(id).orElseThrow().status() == ExecutionStatus.WAITING);

            engine.signal(id, "approved", Map.of("by", "maria"));
            Execution done = assertTimeoutPreemptively(Duration.ofSeconds(30),
                    () -> engine.awaitEnd(id, Duration.ofSeconds(20)));

            assertThat(done.status()).isEqualTo(ExecutionStatus.COMPLETED);
            assertThat(done.history()).extracting(StepHistory::stepId).containsExactly("approve", "ship");
            assertThat(worker.stats().wakeupsByNotify()).as("told by the store, not found by a poll").isPositive();
        }
    }
}
