package io.flowmonkey.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flowmonkey.execution.BulkResult;
import io.flowmonkey.execution.Cancellation;
import io.flowmonkey.execution.ConcurrentUpdateException;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionNotFoundException;
import io.flowmonkey.execution.ExecutionQuery;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.ExecutionStore;
import io.flowmonkey.execution.StepHistory;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Retry, restart from a step, and bulk cancel and retry by query (issue 12), against one store per
 * subclass. Races are staged with {@link FaultyStore#beforeSave}, time with a {@link MutableClock}.
 */
abstract class AbstractOperateTest {

    final MutableClock clock = new MutableClock();
    ExecutionStore store;
    FaultyStore faulty;
    Engine engine;
    /** Each call of a handler, as "step@attempt". */
    final List<String> calls = new CopyOnWriteArrayList<>();
    final AtomicBoolean broken = new AtomicBoolean(true);

    abstract ExecutionStore newStore(Clock clock);

    @BeforeEach
    void setUp() {
        store = newStore(clock);
        faulty = new FaultyStore(store);
        HandlerRegistry handlers = new HandlerRegistry()
                .register("record", ctx -> {
                    calls.add(ctx.step().id() + "@" + ctx.attempt());
                    return StepResult.success(ctx.step().id() + "-done");
                })
                .register("flaky", ctx -> {
                    calls.add(ctx.step().id() + "@" + ctx.attempt());
                    return broken.get() ? StepResult.failure("CARD_DECLINED", "card declined")
                            : StepResult.success("charged");
                })
                .register("park", ctx -> StepResult.waitForSignal("parked"));
        InMemoryFlowRegistry flows = new InMemoryFlowRegistry();
        flows.register(Flow.builder("order", "1").initialStep("reserve")
                .step(Step.builder("reserve", "record").outputKey("reserve").onSuccess("charge").build())
                .step(Step.builder("charge", "flaky").outputKey("charge").onSuccess("ship")
                        .retry(RetryPolicy.builder().maxAttempts(2).backoff(Duration.ofSeconds(10)).build()).build())
                .step(Step.builder("ship", "record").outputKey("ship").build())
                .build());
        flows.register(Flow.builder("parked", "1").initialStep("park")
                .step(Step.builder("park", "park").build()).build());
        engine = new Engine(faulty, handlers, flows, EngineOptions.builder().clock(clock).build());
    }

    /** Runs an order until its charge step has failed both attempts. */
    private Execution failedOrder(Map<String, ?> metadata) {
        String id = engine.create("order", Map.of("orderId", 7),
                CreateOptions.builder().metadata(metadata).build()).execution().id();
        engine.run(id);
        clock.advance(Duration.ofSeconds(10));
        Execution failed = engine.run(id).execution();
        assertThat(failed.status()).isEqualTo(ExecutionStatus.FAILED);
        return failed;
    }

    private Execution failedOrder() {
        return failedOrder(Map.of());
    }

    @Test
    void retry_continues_a_failed_execution_at_its_failed_step_with_a_fresh_attempt_budget() {
        Execution failed = failedOrder();
        calls.clear();

        Execution retried = engine.retry(failed.id()).execution();
        broken.set(false);
        clock.advance(Duration.ofSeconds(10));
        Execution done = engine.run(failed.id()).execution();

        assertThat(calls).containsExactly("charge@1", "charge@2", "ship@1");
        assertThat(retried.status()).isEqualTo(ExecutionStatus.WAITING);
        assertThat(done.status()).isEqualTo(ExecutionStatus.COMPLETED);
        assertThat(done.error()).isNull();
        assertThat(done.failedAt()).isNull();
        assertThat(done.history()).extracting(StepHistory::stepId, StepHistory::outcome).containsSubsequence(
                org.assertj.core.groups.Tuple.tuple("charge", "failure"),
                org.assertj.core.groups.Tuple.tuple("charge", Engine.RETRY_OUTCOME),
                org.assertj.core.groups.Tuple.tuple("charge", "failure"),
                org.assertj.core.groups.Tuple.tuple("charge", "success"));
        StepHistory retryEntry = done.history().stream()
                .filter(h -> Engine.RETRY_OUTCOME.equals(h.outcome())).findFirst().orElseThrow();
        assertThat(retryEntry.error()).isEqualTo(Map.of("code", "CARD_DECLINED", "message", "card declined"));
        assertThat(retryEntry.handlerType()).isEqualTo("flaky");
    }

    @Test
    void retry_refuses_an_execution_that_has_not_failed_and_writes_nothing() {
        broken.set(false);
        String id = engine.create("order", Map.of()).execution().id();
        Execution completed = engine.run(id).execution();

        assertThatThrownBy(() -> engine.retry(id)).isInstanceOf(IllegalExecutionStateException.class)
                .hasMessageContaining(id).hasMessageContaining("completed").hasMessageContaining("only a failed");
        assertThat(store.load(id)).contains(completed);
        assertThatThrownBy(() -> engine.retry("nope")).isInstanceOf(ExecutionNotFoundException.class);
    }

    @Test
    void a_retry_that_loses_a_race_runs_no_handler_and_writes_nothing() {
        Execution failed = failedOrder();
        calls.clear();
        AtomicBoolean once = new AtomicBoolean();
        faulty.beforeSave(e -> {
            if (once.compareAndSet(false, true)) {
                store.save(store.load(e.id()).orElseThrow().toBuilder().metadata(Map.of("touched", true)).build());
            }
        });

        assertThatThrownBy(() -> engine.retry(failed.id())).isInstanceOf(ConcurrentUpdateException.class);
        assertThat(calls).isEmpty();
        assertThat(store.load(failed.id()).orElseThrow())
                .returns(ExecutionStatus.FAILED, Execution::status)
                .returns(Map.of("touched", true), Execution::metadata);
    }

    @Test
    void restartFrom_forks_a_new_execution_at_the_step_and_leaves_the_original_as_it_ended() {
        broken.set(false);
        String id = engine.create("order", Map.of("orderId", 7),
                CreateOptions.builder().tenantId("acme").metadata(Map.of("channel", "web")).build()).execution().id();
        Execution original = engine.run(id).execution();
        calls.clear();

        Execution fork = engine.restartFrom(id, "charge").execution();

        assertThat(calls).containsExactly("charge@1", "ship@1");
        assertThat(fork.id()).isNotEqualTo(id);
        assertThat(fork.status()).isEqualTo(ExecutionStatus.COMPLETED);
        assertThat(fork.tenantId()).isEqualTo("acme");
        assertThat(fork.context()).containsEntry("orderId", 7).containsEntry("reserve", "reserve-done");
        assertThat(fork.metadata()).containsEntry("channel", "web")
                .containsEntry(Engine.RESTARTED_FROM_KEY, id).containsEntry(Engine.RESTARTED_AT_STEP_KEY, "charge");
        assertThat(fork.history()).extracting(StepHistory::stepId).containsExactly("charge", "ship");
        assertThat(store.load(id)).contains(original);
        assertThat(store.query(ExecutionQuery.builder().metadata(Engine.RESTARTED_FROM_KEY, id).build()).items())
                .extracting(Execution::id).containsExactly(fork.id());
    }

    @Test
    void restartFrom_refuses_a_live_execution_and_a_step_the_flow_lacks() {
        String parked = engine.run(engine.create("parked", Map.of()).execution().id()).execution().id();
        broken.set(false);
        String done = engine.run(engine.create("order", Map.of()).execution().id()).execution().id();

        assertThatThrownBy(() -> engine.restartFrom(parked, "park")).isInstanceOf(IllegalExecutionStateException.class)
                .hasMessageContaining(parked).hasMessageContaining("waiting").hasMessageContaining("cancel it first");
        assertThatThrownBy(() -> engine.restartFrom(done, "refund")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("no step 'refund'").hasMessageContaining(done);
        assertThat(store.count(ExecutionQuery.builder().build())).isEqualTo(2);
    }

    @Test
    void cancelAll_cancels_every_match_page_by_page_and_skips_what_moved_on_meanwhile() {
        List<String> ids = new java.util.ArrayList<>();
        for (int i = 0; i < 7; i++) {
            ids.add(engine.run(engine.create("parked", Map.of()).execution().id()).execution().id());
            clock.advance(Duration.ofMillis(1));
        }
        // While the first is cancelled, another execution of the same page (the oldest) is cancelled by
        // someone else: its turn finds it ended, and it is skipped.
        AtomicBoolean once = new AtomicBoolean();
        faulty.beforeSave(e -> {
            if (e.status() == ExecutionStatus.CANCELLING && once.compareAndSet(false, true)) {
                Execution other = store.load(ids.get(4)).orElseThrow();
                store.save(other.toBuilder().status(ExecutionStatus.CANCELLED).cancelledAt(clock.instant()).build());
            }
        });

        BulkResult result = engine.cancelAll(ExecutionQuery.builder().status(ExecutionStatus.WAITING).limit(3).build(),
                Cancellation.Source.ADMIN, "maintenance");

        assertThat(result).isEqualTo(new BulkResult(7, 6, 1));
        assertThat(store.count(ExecutionQuery.builder().status(ExecutionStatus.CANCELLED).build())).isEqualTo(7);
        assertThat(store.load(ids.get(0)).orElseThrow().cancellation())
                .returns(Cancellation.Source.ADMIN, Cancellation::source).returns("maintenance", Cancellation::reason);
    }

    @Test
    void retryAll_queues_failed_matches_as_pending_at_their_failed_step_for_workers() {
        Execution a = failedOrder(Map.of("batch", "b1"));
        Execution b = failedOrder(Map.of("batch", "b1"));
        Execution other = failedOrder(Map.of("batch", "b2"));
        calls.clear();

        BulkResult result = engine.retryAll(ExecutionQuery.builder().metadata("batch", "b1").limit(1).build());

        assertThat(result).isEqualTo(new BulkResult(2, 2, 0));
        assertThat(calls).isEmpty();
        for (Execution e : List.of(a, b)) {
            assertThat(store.load(e.id()).orElseThrow())
                    .returns(ExecutionStatus.PENDING, Execution::status)
                    .returns("charge", Execution::currentStepId)
                    .returns(null, Execution::error)
                    .returns(null, Execution::failedAt);
        }
        assertThat(store.load(other.id()).orElseThrow().status()).isEqualTo(ExecutionStatus.FAILED);
        broken.set(false);
        assertThat(engine.run(a.id()).execution().status()).isEqualTo(ExecutionStatus.COMPLETED);
        assertThat(calls).containsExactly("charge@1", "ship@1");
    }

    @Test
    void retryAll_refuses_a_query_of_other_statuses() {
        assertThatThrownBy(() -> engine.retryAll(ExecutionQuery.builder()
                .statuses(Set.of(ExecutionStatus.FAILED, ExecutionStatus.CANCELLED)).build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("failed executions only");
    }

    @Test
    void two_retryAll_racing_each_other_queue_each_failed_execution_exactly_once() throws Exception {
        List<String> ids = new java.util.ArrayList<>();
        for (int i = 0; i < 40; i++) {
            ids.add(failedOrder().id());
        }
        ExecutionQuery failed = ExecutionQuery.builder().flow("order").limit(7).build();
        java.util.concurrent.CountDownLatch start = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
        try {
            List<java.util.concurrent.Future<BulkResult>> results = new java.util.ArrayList<>();
            for (int i = 0; i < 2; i++) {
                results.add(pool.submit(() -> {
                    start.await();
                    return engine.retryAll(failed);
                }));
            }
            start.countDown();
            BulkResult first = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(Duration.ofSeconds(60),
                    () -> results.get(0).get());
            BulkResult second = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(Duration.ofSeconds(60),
                    () -> results.get(1).get());

            assertThat(first.changed() + second.changed()).isEqualTo(40);
            for (String id : ids) {
                Execution e = store.load(id).orElseThrow();
                assertThat(e.status()).isEqualTo(ExecutionStatus.PENDING);
                assertThat(e.history()).filteredOn(h -> Engine.RETRY_OUTCOME.equals(h.outcome())).hasSize(1);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void two_cancelAll_racing_each_other_cancel_everything_and_count_each_execution_once() throws Exception {
        for (int i = 0; i < 40; i++) {
            engine.run(engine.create("parked", Map.of()).execution().id());
        }
        ExecutionQuery waiting = ExecutionQuery.builder().status(ExecutionStatus.WAITING).limit(6).build();
        java.util.concurrent.CountDownLatch start = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
        try {
            List<java.util.concurrent.Future<BulkResult>> results = new java.util.ArrayList<>();
            for (int i = 0; i < 2; i++) {
                results.add(pool.submit(() -> {
                    start.await();
                    return engine.cancelAll(waiting, Cancellation.Source.ADMIN, "race");
                }));
            }
            start.countDown();
            BulkResult first = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(Duration.ofSeconds(60),
                    () -> results.get(0).get());
            BulkResult second = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(Duration.ofSeconds(60),
                    () -> results.get(1).get());

            assertThat(first.changed() + second.changed()).isEqualTo(40);
            assertThat(store.count(ExecutionQuery.builder().status(ExecutionStatus.CANCELLED).build())).isEqualTo(40);
        } finally {
            pool.shutdownNow();
        }
    }
}
