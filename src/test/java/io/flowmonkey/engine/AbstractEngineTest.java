package io.flowmonkey.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flowmonkey.execution.Cancellation;
import io.flowmonkey.execution.ConcurrentUpdateException;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionDataException;
import io.flowmonkey.execution.ExecutionNotFoundException;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.ExecutionStore;
import io.flowmonkey.execution.StepHistory;
import io.flowmonkey.execution.StoreException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntFunction;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.MDC;

/**
 * The engine's behaviour against one {@link ExecutionStore}; each store gets a subclass (STYLE 11).
 * Time is a {@link MutableClock}; concurrency is staged with latches and barriers.
 */
abstract class AbstractEngineTest {

    private static final Duration CONCURRENCY_BOUND = Duration.ofSeconds(60);

    final MutableClock clock = new MutableClock();
    ExecutionStore store;
    FaultyStore faulty;
    HandlerRegistry handlers;
    InMemoryFlowRegistry flows;
    Engine engine;

    /**
     * Returns the store under test, empty at the start of each test. Every call in one test returns a
     * store over the same data, as a restarted process would see it.
     *
     * @param clock the test clock, for stores that take one
     * @return the store
     */
    abstract ExecutionStore newStore(Clock clock);

    @BeforeEach
    void setUp() {
        store = newStore(clock);
        faulty = new FaultyStore(store);
        handlers = new HandlerRegistry();
        flows = new InMemoryFlowRegistry();
        engine = newEngine(EngineOptions.builder().clock(clock));
    }

    Engine newEngine(EngineOptions.Builder options) {
        return new Engine(faulty, handlers, flows, options.build());
    }

    Execution stored(String id) {
        return store.load(id).orElseThrow();
    }

    /** request → await (signal) → decide → fulfil | reject. */
    private void registerApprovalFlow() {
        handlers.register("notify", ctx -> StepResult.success(Map.of("ticket", "T-" + ctx.input())))
                .register("approval", ctx -> StepResult.waitForSignal("manager approval"))
                .register("decide", ctx -> {
                    Map<?, ?> decision = (Map<?, ?>) ctx.input();
                    return Boolean.TRUE.equals(decision.get("approved")) ? StepResult.success(decision.get("by"))
                            : StepResult.failure("REJECTED", "rejected by " + decision.get("by"));
                })
                .register("record", ctx -> StepResult.success(ctx.input()));
        flows.register(Flow.builder("approval", "1").initialStep("request")
                .step(Step.builder("request", "notify").input(InputSelector.key("orderId")).outputKey("ticket")
                        .onSuccess("await").build())
                .step(Step.builder("await", "approval").onResume("decide").build())
                .step(Step.builder("decide", "decide").input(InputSelector.key(Engine.RESUME_DATA_KEY))
                        .outputKey("approvedBy").onSuccess("fulfil").onFailure("reject").build())
                .step(Step.builder("fulfil", "record").input(InputSelector.value("fulfilled")).outputKey("outcome")
                        .build())
                .step(Step.builder("reject", "record").input(InputSelector.value("rejected")).outputKey("outcome")
                        .build())
                .build());
    }

    private static List<String> stepIds(Execution e) {
        return e.history().stream().map(StepHistory::stepId).toList();
    }

    @Test
    void approval_flow_waits_for_a_signal_then_takes_the_approved_branch() {
        registerApprovalFlow();
        String id = engine.create("approval", Map.of("orderId", 42)).execution().id();

        Execution waiting = engine.run(id).execution();
        assertThat(waiting.status()).isEqualTo(ExecutionStatus.WAITING);
        assertThat(waiting.currentStepId()).isEqualTo("await");
        assertThat(waiting.waitMetadata().reason()).isEqualTo("manager approval");
        assertThat(waiting.waitMetadata().wakeAt()).isNull();
        assertThat(store.findWakeReady(clock.instant().plus(Duration.ofDays(365)))).extracting(Execution::id)
                .doesNotContain(id);

        Execution done = engine.resume(id, Map.of("approved", true, "by", "maria")).execution();
        assertThat(done.status()).isEqualTo(ExecutionStatus.COMPLETED);
        assertThat(done.completedAt()).isEqualTo(clock.instant());
        assertThat(done.context()).containsEntry("outcome", "fulfilled").containsEntry("approvedBy", "maria")
                .containsEntry("ticket", Map.of("ticket", "T-42"))
                .containsEntry(Engine.RESUME_DATA_KEY, Map.of("approved", true, "by", "maria"));
        assertThat(stepIds(done)).containsExactly("request", "await", "decide", "fulfil");
        assertThat(done.waitMetadata()).isNull();
        assertThat(stored(id)).isEqualTo(done);
    }

    @Test
    void approval_flow_takes_the_failure_branch_when_rejected() {
        registerApprovalFlow();
        String id = engine.create("approval", Map.of("orderId", 7)).execution().id();
        engine.run(id);

        Execution done = engine.resume(id, Map.of("approved", false, "by", "li")).execution();

        assertThat(done.status()).isEqualTo(ExecutionStatus.COMPLETED);
        assertThat(done.context()).containsEntry("outcome", "rejected").doesNotContainKey("approvedBy");
        assertThat(done.history()).extracting(StepHistory::outcome)
                .containsExactly("success", "wait", "failure", "success");
        assertThat(done.error()).isNull();
    }

    @Test
    void create_is_one_save_and_each_step_is_one_save_including_the_wake_but_resume_data_is_saved_first() {
        registerApprovalFlow();
        String id = engine.create("approval", Map.of("orderId", 1)).execution().id();
        assertThat(faulty.saves()).isEqualTo(1);

        engine.run(id);
        assertThat(faulty.saves()).isEqualTo(1 + 2);

        engine.resume(id, Map.of("approved", true, "by", "a"));
        assertThat(faulty.saves()).as("the wake with its data, then the two steps").isEqualTo(1 + 2 + 1 + 2);
        assertThat(stored(id).version()).isEqualTo(6);
    }

    @Test
    void a_resume_without_data_saves_its_wake_with_the_step_after_it() {
        handlers.register("park", ctx -> StepResult.waitForSignal("go"))
                .register("finish", ctx -> StepResult.success("done"));
        flows.register(Flow.builder("parked", "1").initialStep("park")
                .step(Step.builder("park", "park").onResume("finish").build())
                .step(Step.builder("finish", "finish").build()).build());
        String id = engine.create("parked", Map.of()).execution().id();
        engine.run(id);
        int before = faulty.saves();

        Execution done = engine.resume(id, null).execution();

        assertThat(done.status()).isEqualTo(ExecutionStatus.COMPLETED);
        assertThat(faulty.saves() - before).as("the wake and the finishing step, together").isEqualTo(1);
    }

    @Test
    void create_stores_a_pending_execution_with_tenant_parent_metadata_and_timeouts() {
        registerApprovalFlow();
        String parent = engine.create("approval", Map.of()).execution().id();

        CreateResult result = engine.create("approval", Map.of("orderId", 3), CreateOptions.builder()
                .tenantId("acme").parentExecutionId(parent).metadata(Map.of("source", "api"))
                .timeout(Duration.ofHours(2)).waitTimeout(Duration.ofMinutes(5))
                .idempotencyKey("k-" + UUID.randomUUID()).idempotencyTtl(Duration.ofMinutes(30)).build());

        Execution e = result.execution();
        assertThat(result.created()).isTrue();
        assertThat(e.status()).isEqualTo(ExecutionStatus.PENDING);
        assertThat(e.flowId()).isEqualTo("approval");
        assertThat(e.flowVersion()).isEqualTo("1");
        assertThat(e.currentStepId()).isEqualTo("request");
        assertThat(e.tenantId()).isEqualTo("acme");
        assertThat(e.parentExecutionId()).isEqualTo(parent);
        assertThat(e.metadata()).isEqualTo(Map.of("source", "api"));
        assertThat(e.timeoutConfig().executionTimeout()).isEqualTo(Duration.ofHours(2));
        assertThat(e.timeoutConfig().waitTimeout()).isEqualTo(Duration.ofMinutes(5));
        assertThat(e.createdAt()).isEqualTo(clock.instant());
        assertThat(e.idempotencyExpiresAt()).isEqualTo(clock.instant().plus(Duration.ofMinutes(30)));
        assertThat(e.version()).isEqualTo(1);
        assertThat(stored(e.id())).isEqualTo(e);
        assertThat(store.findChildren(parent)).extracting(Execution::id).containsExactly(e.id());
    }

    @Test
    void create_uses_the_engine_default_timeouts_and_idempotency_ttl() {
        registerApprovalFlow();
        engine = newEngine(EngineOptions.builder().clock(clock).executionTimeout(Duration.ofDays(1))
                .waitTimeout(Duration.ofHours(1)).idempotencyTtl(Duration.ofMinutes(1)));

        Execution e = engine.create("approval", Map.of(), CreateOptions.builder()
                .idempotencyKey("k-" + UUID.randomUUID()).build()).execution();

        assertThat(e.timeoutConfig().executionTimeout()).isEqualTo(Duration.ofDays(1));
        assertThat(e.timeoutConfig().waitTimeout()).isEqualTo(Duration.ofHours(1));
        assertThat(e.idempotencyExpiresAt()).isEqualTo(clock.instant().plus(Duration.ofMinutes(1)));
    }

    @Test
    void create_refuses_an_unknown_flow_and_a_missing_or_ended_parent() {
        registerApprovalFlow();
        assertThatThrownBy(() -> engine.create("nope", Map.of())).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("flow 'nope' is not registered");
        assertThatThrownBy(() -> engine.create("approval", Map.of(), CreateOptions.builder()
                .parentExecutionId("missing-" + UUID.randomUUID()).build()))
                .isInstanceOf(ExecutionNotFoundException.class);

        String parent = engine.create("approval", Map.of()).execution().id();
        engine.cancel(parent, Cancellation.Source.USER, null);
        assertThatThrownBy(() -> engine.create("approval", Map.of(), CreateOptions.builder()
                .parentExecutionId(parent).build()))
                .isInstanceOf(IllegalExecutionStateException.class).hasMessageContaining("is cancelled");
        assertThat(faulty.saves()).isEqualTo(1 + 2);
    }

    @Test
    void a_retried_sub_flow_create_gets_the_child_it_made_even_once_the_parent_has_ended() {
        registerApprovalFlow();
        String parent = engine.create("approval", Map.of()).execution().id();
        CreateOptions retried = CreateOptions.builder().parentExecutionId(parent).idempotencyKey("child-of-" + parent)
                .build();
        Execution child = engine.create("approval", Map.of(), retried).execution();
        engine.cancel(parent, Cancellation.Source.USER, null);

        CreateResult again = engine.create("approval", Map.of(), retried);

        assertThat(again.created()).isFalse();
        assertThat(again.execution().id()).isEqualTo(child.id());
    }

    @Test
    void concurrent_creates_with_one_idempotency_key_store_one_execution() throws Exception {
        registerApprovalFlow();
        String key = "order-" + UUID.randomUUID();

        List<CreateResult> results = racingCreates(32, n -> engine.create("approval", Map.of("caller", n),
                CreateOptions.builder().idempotencyKey(key).build()));

        assertThat(results).filteredOn(CreateResult::created).hasSize(1);
        String id = results.stream().filter(CreateResult::created).findFirst().orElseThrow().execution().id();
        assertThat(results).extracting(r -> r.execution().id()).containsOnly(id);
        assertThat(store.findByIdempotencyKey(key)).map(Execution::id).contains(id);
        assertThat(store.findByStatus(ExecutionStatus.PENDING, 1000))
                .filteredOn(e -> key.equals(e.idempotencyKey())).hasSize(1);
    }

    /** Runs {@code create} on {@code threads} threads released at once; what each returned, in order. */
    private static List<CreateResult> racingCreates(int threads, IntFunction<CreateResult> create)
            throws Exception {
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<CreateResult>> futures = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                int n = i;
                futures.add(pool.submit(() -> {
                    start.await();
                    return create.apply(n);
                }));
            }
            start.countDown();
            List<CreateResult> results = new ArrayList<>();
            for (Future<CreateResult> f : futures) {
                results.add(f.get(CONCURRENCY_BOUND.toSeconds(), TimeUnit.SECONDS));
            }
            return results;
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void two_concurrent_runs_apply_each_step_once_and_the_loser_gets_ConcurrentUpdateException() {
        CyclicBarrier bothInsideStep = new CyclicBarrier(2);
        AtomicInteger firstStepCalls = new AtomicInteger();
        handlers.register("increment", ctx -> {
            firstStepCalls.incrementAndGet();
            // Both runs have loaded the same version once both are here.
            bothInsideStep.await(CONCURRENCY_BOUND.toSeconds(), TimeUnit.SECONDS);
            int count = ((Number) ctx.context().getOrDefault("count", 0)).intValue();
            return StepResult.success(count + 1);
        }).register("echo", ctx -> StepResult.success(ctx.input()));
        flows.register(Flow.builder("race", "1").initialStep("a")
                .step(Step.builder("a", "increment").outputKey("count").onSuccess("b").build())
                .step(Step.builder("b", "echo").input(InputSelector.value("done")).outputKey("b").build())
                .build());
        String id = engine.create("race", Map.of()).execution().id();

        List<Object> outcomes = new CopyOnWriteArrayList<>();
        assertTimeoutPreemptively(CONCURRENCY_BOUND, () -> {
            Thread t1 = new Thread(() -> outcomes.add(runCatching(id)));
            Thread t2 = new Thread(() -> outcomes.add(runCatching(id)));
            t1.start();
            t2.start();
            t1.join();
            t2.join();
        });

        assertThat(outcomes).hasSize(2);
        assertThat(outcomes).filteredOn(o -> o instanceof ConcurrentUpdateException).hasSize(1);
        assertThat(outcomes).filteredOn(o -> o instanceof RunResult r
                && r.execution().status() == ExecutionStatus.COMPLETED).hasSize(1);
        assertThat(firstStepCalls).hasValue(2);
        Execution done = stored(id);
        assertThat(done.status()).isEqualTo(ExecutionStatus.COMPLETED);
        assertThat(done.context()).containsEntry("count", 1);
        assertThat(stepIds(done)).containsExactly("a", "b");
        assertThat(done.stepCount()).isEqualTo(2);
    }

    @Test
    void two_concurrent_resumes_apply_one_signal_the_loser_gets_ConcurrentUpdateException_and_runs_nothing() {
        CyclicBarrier bothWaking = new CyclicBarrier(2);
        AtomicInteger decided = new AtomicInteger();
        handlers.register("wait", ctx -> StepResult.waitForSignal("approval"))
                .register("decide", ctx -> {
                    decided.incrementAndGet();
                    return StepResult.success(((Map<?, ?>) ctx.input()).get("by"));
                });
        flows.register(Flow.builder("signal", "1").initialStep("wait")
                .step(Step.builder("wait", "wait").onResume("decide").build())
                .step(Step.builder("decide", "decide").input(InputSelector.key(Engine.RESUME_DATA_KEY))
                        .outputKey("by").build())
                .build());
        String id = engine.create("signal", Map.of()).execution().id();
        engine.run(id);
        // Both resumes have loaded the waiting execution before either saves its wake.
        faulty.beforeSave(e -> {
            if (e.context().containsKey(Engine.RESUME_DATA_KEY) && e.history().size() == 1) {
                try {
                    bothWaking.await(CONCURRENCY_BOUND.toSeconds(), TimeUnit.SECONDS);
                } catch (Exception broken) {
                    throw new IllegalStateException(broken);
                }
            }
        });

        List<Object> outcomes = new CopyOnWriteArrayList<>();
        assertTimeoutPreemptively(CONCURRENCY_BOUND, () -> {
            Thread t1 = new Thread(() -> outcomes.add(resumeCatching(id, "first")));
            Thread t2 = new Thread(() -> outcomes.add(resumeCatching(id, "second")));
            t1.start();
            t2.start();
            t1.join();
            t2.join();
        });

        assertThat(outcomes).filteredOn(o -> o instanceof ConcurrentUpdateException).hasSize(1);
        RunResult winner = (RunResult) outcomes.stream().filter(o -> o instanceof RunResult).findFirst().orElseThrow();
        Execution done = stored(id);
        assertThat(done).isEqualTo(winner.execution());
        assertThat(done.status()).isEqualTo(ExecutionStatus.COMPLETED);
        assertThat(stepIds(done)).containsExactly("wait", "decide");
        assertThat(done.context().get("by")).isEqualTo(((Map<?, ?>) done.context().get(Engine.RESUME_DATA_KEY)).get("by"));
        assertThat(decided).as("the loser's data was never saved, so no step ran on it").hasValue(1);
    }

    private Object resumeCatching(String id, String by) {
        try {
            return engine.resume(id, Map.of("by", by));
        } catch (RuntimeException e) {
            return e;
        }
    }

    private Object runCatching(String id) {
        try {
            return engine.run(id);
        } catch (RuntimeException e) {
            return e;
        }
    }

    private void registerThreeStepFlow(AtomicInteger a, AtomicInteger b, AtomicInteger c) {
        handlers.register("a", ctx -> StepResult.success(a.incrementAndGet()))
                .register("b", ctx -> StepResult.success(b.incrementAndGet()))
                .register("c", ctx -> StepResult.success(c.incrementAndGet()));
        flows.register(Flow.builder("three", "1").initialStep("a")
                .step(Step.builder("a", "a").outputKey("a").onSuccess("b").build())
                .step(Step.builder("b", "b").outputKey("b").onSuccess("c").build())
                .step(Step.builder("c", "c").outputKey("c").build())
                .build());
    }

    @Test
    void a_run_that_crashes_midway_is_continued_by_a_new_engine_from_the_last_saved_step() {
        AtomicInteger a = new AtomicInteger();
        AtomicInteger b = new AtomicInteger();
        AtomicInteger c = new AtomicInteger();
        registerThreeStepFlow(a, b, c);
        String id = engine.create("three", Map.of()).execution().id();
        faulty.failOnSave(2);

        assertThatThrownBy(() -> engine.run(id)).isInstanceOf(StoreException.class).hasMessageContaining("crash");

        Execution afterCrash = stored(id);
        assertThat(afterCrash.status()).isEqualTo(ExecutionStatus.RUNNING);
        assertThat(afterCrash.currentStepId()).isEqualTo("b");
        assertThat(afterCrash.stepCount()).isEqualTo(1);
        assertThat(afterCrash.context()).containsOnlyKeys("a");

        Engine restarted = new Engine(newStore(clock), handlers, flows, EngineOptions.builder().clock(clock).build());
        Execution done = restarted.run(id).execution();

        assertThat(done.status()).isEqualTo(ExecutionStatus.COMPLETED);
        assertThat(stepIds(done)).containsExactly("a", "b", "c");
        assertThat(done.context()).containsEntry("a", 1).containsEntry("b", 2).containsEntry("c", 1);
        assertThat(List.of(a.get(), b.get(), c.get())).containsExactly(1, 2, 1);
    }

    @Test
    void a_resume_that_crashes_leaves_the_execution_waiting_for_another_resume() {
        registerApprovalFlow();
        String id = engine.create("approval", Map.of("orderId", 5)).execution().id();
        engine.run(id);
        faulty.failOnSave(1);

        assertThatThrownBy(() -> engine.resume(id, Map.of("approved", true, "by", "x")))
                .isInstanceOf(StoreException.class);
        assertThat(stored(id).status()).isEqualTo(ExecutionStatus.WAITING);

        Execution done = engine.resume(id, Map.of("approved", true, "by", "y")).execution();
        assertThat(done.context()).containsEntry("approvedBy", "y");
    }

    @Test
    void timed_wait_wakes_through_findWakeReady_and_continues_at_onResume() {
        handlers.register("pause", ctx -> StepResult.waitFor(Duration.ofHours(1), "cool-off"))
                .register("echo", ctx -> StepResult.success(ctx.input()));
        flows.register(Flow.builder("timed", "1").initialStep("pause")
                .step(Step.builder("pause", "pause").onResume("finish").build())
                .step(Step.builder("finish", "echo").input(InputSelector.value("done")).outputKey("result").build())
                .build());
        String id = engine.create("timed", Map.of()).execution().id();
        Instant start = clock.instant();

        Execution waiting = engine.run(id).execution();
        assertThat(waiting.status()).isEqualTo(ExecutionStatus.WAITING);
        assertThat(waiting.waitMetadata().wakeAt()).isEqualTo(start.plus(Duration.ofHours(1)));
        assertThat(waiting.waitMetadata().waitStartedAt()).isEqualTo(start);
        assertThat(engine.runWakeReady(10)).isEmpty();

        clock.advance(Duration.ofMinutes(59));
        assertThat(store.findWakeReady(clock.instant())).extracting(Execution::id).doesNotContain(id);
        clock.advance(Duration.ofMinutes(1));
        assertThat(store.findWakeReady(clock.instant())).extracting(Execution::id).contains(id);

        List<RunResult> woken = engine.runWakeReady(10);

        assertThat(woken).extracting(r -> r.execution().id()).containsExactly(id);
        Execution done = stored(id);
        assertThat(done.status()).isEqualTo(ExecutionStatus.COMPLETED);
        assertThat(done.context()).containsEntry("result", "done").doesNotContainKey(Engine.RESUME_DATA_KEY);
        assertThat(stepIds(done)).containsExactly("pause", "finish");
    }

    @Test
    void run_on_a_timed_wait_that_is_due_reruns_the_step_when_there_is_no_onResume() {
        AtomicInteger calls = new AtomicInteger();
        handlers.register("poll", ctx -> calls.incrementAndGet() == 1
                ? StepResult.waitUntil(clock.instant().plusSeconds(30), "not ready")
                : StepResult.success("ready"));
        flows.register(Flow.builder("poll", "1").initialStep("poll")
                .step(Step.builder("poll", "poll").outputKey("state").build()).build());
        String id = engine.create("poll", Map.of()).execution().id();
        Execution waiting = engine.run(id).execution();
        int savesBefore = faulty.saves();

        assertThat(engine.run(id).execution()).isEqualTo(waiting);
        assertThat(faulty.saves()).isEqualTo(savesBefore);

        clock.advance(Duration.ofSeconds(30));
        Execution done = engine.run(id).execution();
        assertThat(done.status()).isEqualTo(ExecutionStatus.COMPLETED);
        assertThat(done.context()).containsEntry("state", "ready");
        assertThat(calls).hasValue(2);
    }

    private void registerRetryFlow(RetryPolicy policy, List<Integer> attempts, String code, int succeedOn) {
        handlers.register("charge", ctx -> {
            attempts.add(ctx.attempt());
            return ctx.attempt() == succeedOn ? StepResult.success("receipt-" + ctx.attempt())
                    : StepResult.failure(code, "gateway said " + code);
        });
        flows.register(Flow.builder("pay", "1").initialStep("charge")
                .step(Step.builder("charge", "charge").outputKey("receipt").retry(policy).build()).build());
    }

    @Test
    void retries_back_off_as_timed_waits_and_succeed_on_the_third_attempt() {
        List<Integer> attempts = new CopyOnWriteArrayList<>();
        registerRetryFlow(RetryPolicy.builder().maxAttempts(3).backoff(Duration.ofSeconds(10)).multiplier(2)
                .maxBackoff(Duration.ofSeconds(15)).build(), attempts, "TIMEOUT", 3);
        String id = engine.create("pay", Map.of()).execution().id();

        Execution first = engine.run(id).execution();
        assertThat(first.status()).isEqualTo(ExecutionStatus.WAITING);
        assertThat(first.waitMetadata().wakeAt()).isEqualTo(clock.instant().plusSeconds(10));
        assertThat(first.waitMetadata().data()).containsEntry("wake", "retry").containsEntry("attempt", 2);

        clock.advance(Duration.ofSeconds(10));
        assertThat(engine.runWakeReady(10)).hasSize(1);
        Execution second = stored(id);
        assertThat(second.status()).isEqualTo(ExecutionStatus.WAITING);
        // 10s * 2 = 20s, capped at 15s.
        assertThat(second.waitMetadata().wakeAt()).isEqualTo(clock.instant().plusSeconds(15));

        clock.advance(Duration.ofSeconds(15));
        Execution done = engine.run(id).execution();

        assertThat(done.status()).isEqualTo(ExecutionStatus.COMPLETED);
        assertThat(done.context()).containsEntry("receipt", "receipt-3");
        assertThat(attempts).containsExactly(1, 2, 3);
        assertThat(done.history()).extracting(StepHistory::outcome).containsExactly("failure", "failure", "success");
        assertThat(done.history().get(0).error()).isEqualTo(Map.of("code", "TIMEOUT", "message", "gateway said TIMEOUT"));
    }

    @Test
    void retries_fail_the_execution_after_the_last_attempt() {
        List<Integer> attempts = new CopyOnWriteArrayList<>();
        registerRetryFlow(RetryPolicy.builder().maxAttempts(3).backoff(Duration.ofSeconds(1)).build(), attempts,
                "TIMEOUT", 99);
        String id = engine.create("pay", Map.of()).execution().id();

        engine.run(id);
        clock.advance(Duration.ofSeconds(1));
        engine.run(id);
        clock.advance(Duration.ofSeconds(2));
        Execution failed = engine.run(id).execution();

        assertThat(attempts).containsExactly(1, 2, 3);
        assertThat(failed.status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(failed.failedAt()).isEqualTo(clock.instant());
        assertThat(failed.error().code()).isEqualTo("TIMEOUT");
        assertThat(failed.error().stepId()).isEqualTo("charge");
        assertThat(failed.waitMetadata()).isNull();
    }

    @Test
    void retries_only_the_listed_codes() {
        List<Integer> attempts = new CopyOnWriteArrayList<>();
        registerRetryFlow(RetryPolicy.builder().maxAttempts(5).retryOn("TIMEOUT").build(), attempts, "DECLINED", 99);
        String id = engine.create("pay", Map.of()).execution().id();

        Execution failed = engine.run(id).execution();

        assertThat(attempts).containsExactly(1);
        assertThat(failed.status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(failed.error().code()).isEqualTo("DECLINED");
    }

    @Test
    void resume_of_a_retry_wait_runs_the_next_attempt_at_once() {
        List<Integer> attempts = new CopyOnWriteArrayList<>();
        registerRetryFlow(RetryPolicy.builder().maxAttempts(3).backoff(Duration.ofHours(1)).build(), attempts,
                "TIMEOUT", 2);
        String id = engine.create("pay", Map.of()).execution().id();
        engine.run(id);

        Execution done = engine.resume(id, null).execution();

        assertThat(attempts).containsExactly(1, 2);
        assertThat(done.status()).isEqualTo(ExecutionStatus.COMPLETED);
    }

    @Test
    void a_throwing_handler_becomes_a_HANDLER_ERROR_failure_with_its_message() {
        handlers.register("boom", ctx -> {
            throw new IllegalStateException("disk on fire");
        });
        flows.register(Flow.builder("boom", "1").initialStep("boom")
                .step(Step.builder("boom", "boom").build()).build());
        String id = engine.create("boom", Map.of()).execution().id();

        Execution failed = engine.run(id).execution();

        assertThat(failed.status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(failed.error().code()).isEqualTo(Engine.HANDLER_ERROR);
        assertThat(failed.error().message()).isEqualTo("disk on fire");
        assertThat(failed.error().stepId()).isEqualTo("boom");
        assertThat(failed.error().details()).isInstanceOfSatisfying(Map.class, details -> {
            assertThat(details).containsEntry("exception", "java.lang.IllegalStateException");
            assertThat((String) details.get("stackTrace")).startsWith("java.lang.IllegalStateException: disk on fire\n")
                    .contains("\tat io.flowmonkey.engine.AbstractEngineTest");
        });
    }

    @Test
    void a_missing_handler_or_a_null_result_fails_the_step_not_the_engine() {
        handlers.register("null", ctx -> null);
        flows.register(Flow.builder("odd", "1").initialStep("a")
                .step(Step.builder("a", "null").onFailure("b").build())
                .step(Step.builder("b", "unregistered").build()).build());
        String id = engine.create("odd", Map.of()).execution().id();

        Execution failed = engine.run(id).execution();

        assertThat(failed.history()).extracting(h -> (Object) ((Map<?, ?>) h.error()).get("code"))
                .containsExactly(Engine.HANDLER_ERROR, Engine.HANDLER_NOT_FOUND);
        assertThat(failed.error().code()).isEqualTo(Engine.HANDLER_NOT_FOUND);
        assertThat(failed.error().stepId()).isEqualTo("b");
    }

    @Test
    void onFailure_leads_to_a_compensating_step_and_the_execution_completes() {
        handlers.register("fail", ctx -> StepResult.failure("OUT_OF_STOCK", "none left"))
                .register("echo", ctx -> StepResult.success(ctx.input()));
        flows.register(Flow.builder("comp", "1").initialStep("reserve")
                .step(Step.builder("reserve", "fail").onSuccess("ship").onFailure("refund").build())
                .step(Step.builder("ship", "echo").build())
                .step(Step.builder("refund", "echo").input(InputSelector.value(true)).outputKey("refunded").build())
                .build());
        String id = engine.create("comp", Map.of()).execution().id();

        Execution done = engine.run(id).execution();

        assertThat(done.status()).isEqualTo(ExecutionStatus.COMPLETED);
        assertThat(stepIds(done)).containsExactly("reserve", "refund");
        assertThat(done.context()).containsEntry("refunded", true);
        assertThat(done.error()).isNull();
    }

    @Test
    void handlers_see_input_config_execution_id_step_id_and_attempt() {
        AtomicReference<StepContext> seen = new AtomicReference<>();
        handlers.register("inspect", ctx -> {
            seen.set(ctx);
            return StepResult.success(null);
        });
        Step step = Step.builder("look", "inspect").config(Map.of("url", "https://example.test"))
                .input(InputSelector.path("order.id")).build();
        flows.register(Flow.builder("inspect", "1").initialStep("look").step(step).build());
        Execution created = engine.create("inspect", Map.of("order", Map.of("id", "o-1"))).execution();

        engine.run(created.id());

        StepContext ctx = seen.get();
        assertThat(ctx.input()).isEqualTo("o-1");
        assertThat(ctx.config()).isEqualTo(Map.of("url", "https://example.test"));
        assertThat(ctx.executionId()).isEqualTo(created.id());
        assertThat(ctx.stepId()).isEqualTo("look");
        assertThat(ctx.attempt()).isEqualTo(1);
        assertThat(ctx.step()).isEqualTo(step);
        assertThat(ctx.execution()).isEqualTo(created);
        assertThat(ctx.context()).isEqualTo(created.context());
    }

    @Test
    void history_records_each_step_with_its_timings() {
        handlers.register("slow", ctx -> {
            clock.advance(Duration.ofMillis(250));
            return StepResult.success(1);
        });
        flows.register(Flow.builder("slow", "1").initialStep("s")
                .step(Step.builder("s", "slow").build()).build());
        String id = engine.create("slow", Map.of()).execution().id();
        Instant start = clock.instant();

        StepHistory h = engine.run(id).execution().history().get(0);

        assertThat(h).isEqualTo(new StepHistory("s", "slow", "success", start, start.plusMillis(250), 250, null));
    }

    @Test
    void history_is_not_recorded_when_switched_off() {
        engine = newEngine(EngineOptions.builder().clock(clock).recordHistory(false));
        AtomicInteger a = new AtomicInteger();
        registerThreeStepFlow(a, new AtomicInteger(), new AtomicInteger());
        String id = engine.create("three", Map.of()).execution().id();

        Execution done = engine.run(id).execution();

        assertThat(done.history()).isEmpty();
        assertThat(done.stepCount()).isEqualTo(3);
    }

    @Test
    void an_endless_flow_fails_with_MAX_STEPS_EXCEEDED() {
        engine = newEngine(EngineOptions.builder().clock(clock).maxSteps(5));
        AtomicInteger calls = new AtomicInteger();
        handlers.register("loop", ctx -> StepResult.success(calls.incrementAndGet()));
        flows.register(Flow.builder("loop", "1").initialStep("a")
                .step(Step.builder("a", "loop").onSuccess("a").build()).build());
        String id = engine.create("loop", Map.of()).execution().id();

        Execution failed = engine.run(id).execution();

        assertThat(calls).hasValue(5);
        assertThat(failed.status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(failed.error().code()).isEqualTo(Engine.MAX_STEPS_EXCEEDED);
    }

    @Test
    void an_execution_continues_on_the_flow_version_it_started_on() {
        handlers.register("echo", ctx -> StepResult.success(ctx.input()));
        flows.register(Flow.builder("versioned", "1").initialStep("a")
                .step(Step.builder("a", "echo").input(InputSelector.value("v1")).outputKey("v").build()).build());
        String id = engine.create("versioned", Map.of()).execution().id();
        flows.register(Flow.builder("versioned", "2").initialStep("a")
                .step(Step.builder("a", "echo").input(InputSelector.value("v2")).outputKey("v").build()).build());

        assertThat(engine.run(id).execution().context()).containsEntry("v", "v1");
        assertThat(engine.create("versioned", Map.of()).execution().flowVersion()).isEqualTo("2");
    }

    @Test
    void a_step_can_start_a_sub_flow_that_is_found_through_findChildren() {
        handlers.register("echo", ctx -> StepResult.success(ctx.input()));
        flows.register(Flow.builder("child", "1").initialStep("work")
                .step(Step.builder("work", "echo").input(InputSelector.template("child of ${parent}"))
                        .outputKey("result").build()).build());
        handlers.register("spawn", ctx -> {
            CreateResult child = engine.create("child", Map.of("parent", ctx.executionId()),
                    CreateOptions.builder().parentExecutionId(ctx.executionId()).build());
            return StepResult.success(engine.run(child.execution().id()).execution().context().get("result"));
        });
        flows.register(Flow.builder("parent", "1").initialStep("spawn")
                .step(Step.builder("spawn", "spawn").outputKey("childResult").build()).build());
        String parent = engine.create("parent", Map.of()).execution().id();

        Execution done = engine.run(parent).execution();

        assertThat(done.context()).containsEntry("childResult", "child of " + parent);
        assertThat(store.findChildren(parent)).singleElement().satisfies(child -> {
            assertThat(child.parentExecutionId()).isEqualTo(parent);
            assertThat(child.status()).isEqualTo(ExecutionStatus.COMPLETED);
        });
    }

    @Test
    void a_sub_flow_created_while_its_parent_is_being_cancelled_is_cancelled_too() {
        registerHoldFlow();
        String parent = createWaiting(null);
        // The parent's cancel starts after the child's create checked the parent, and before it saved.
        faulty.beforeSave(e -> {
            if (parent.equals(e.parentExecutionId())) {
                faulty.beforeSave(x -> { });
                Execution p = stored(parent);
                store.save(p.toBuilder().status(ExecutionStatus.CANCELLING)
                        .cancellation(new Cancellation(Cancellation.Source.USER, "stop", clock.instant())).build());
            }
        });

        CreateResult child = engine.create("hold", Map.of(), CreateOptions.builder().parentExecutionId(parent).build());

        assertThat(child.created()).isTrue();
        assertThat(child.execution().status()).isEqualTo(ExecutionStatus.CANCELLED);
        assertThat(child.execution().cancellation().source()).isEqualTo(Cancellation.Source.PARENT);
    }

    @Test
    void create_then_run_of_the_execution_in_hand_is_one_save_per_step_and_no_load() {
        registerApprovalFlow();
        int savesBefore = faulty.saves();
        int loadsBefore = faulty.loads();

        Execution created = engine.create("approval", Map.of("orderId", 7)).execution();
        Execution waiting = engine.run(created).execution();

        assertThat(waiting.status()).isEqualTo(ExecutionStatus.WAITING);
        assertThat(faulty.saves() - savesBefore).as("create, then steps request and await").isEqualTo(1 + 2);
        assertThat(faulty.loads() - loadsBefore).isZero();
    }

    @Test
    void run_of_a_stale_copy_in_hand_saves_nothing() {
        registerApprovalFlow();
        Execution created = engine.create("approval", Map.of("orderId", 8)).execution();
        engine.run(created.id());

        assertThatThrownBy(() -> engine.run(created)).isInstanceOf(ConcurrentUpdateException.class);
        assertThat(stored(created.id()).status()).isEqualTo(ExecutionStatus.WAITING);
    }

    private String createWaiting(String parentId) {
        CreateOptions options = parentId == null ? CreateOptions.DEFAULTS
                : CreateOptions.builder().parentExecutionId(parentId).build();
        String id = engine.create("hold", Map.of(), options).execution().id();
        assertThat(engine.run(id).execution().status()).isEqualTo(ExecutionStatus.WAITING);
        return id;
    }

    private void registerHoldFlow() {
        handlers.register("hold", ctx -> StepResult.waitForSignal("held"));
        flows.register(Flow.builder("hold", "1").initialStep("hold")
                .step(Step.builder("hold", "hold").build()).build());
    }

    @Test
    void cancel_records_source_and_reason_and_cascades_to_children_with_source_PARENT() {
        registerHoldFlow();
        String parent = createWaiting(null);
        String child = createWaiting(parent);
        String grandchild = createWaiting(child);

        CancelResult result = engine.cancel(parent, Cancellation.Source.USER, "customer changed their mind");

        assertThat(result.cancelled()).isTrue();
        Execution p = result.execution();
        assertThat(p.status()).isEqualTo(ExecutionStatus.CANCELLED);
        assertThat(p.cancelledAt()).isEqualTo(clock.instant());
        assertThat(p.cancellation()).isEqualTo(new Cancellation(Cancellation.Source.USER,
                "customer changed their mind", clock.instant()));
        assertThat(p.waitMetadata()).isNull();
        for (String id : List.of(child, grandchild)) {
            Execution e = stored(id);
            assertThat(e.status()).isEqualTo(ExecutionStatus.CANCELLED);
            assertThat(e.cancellation().source()).isEqualTo(Cancellation.Source.PARENT);
        }
        assertThat(stored(child).cancellation().reason()).contains(parent);
    }

    @Test
    void cancel_of_an_ended_execution_is_a_no_op() {
        registerHoldFlow();
        String id = createWaiting(null);
        Execution cancelled = engine.cancel(id, Cancellation.Source.ADMIN, "first").execution();
        int saves = faulty.saves();

        CancelResult again = engine.cancel(id, Cancellation.Source.USER, "second");

        assertThat(again.cancelled()).isFalse();
        assertThat(again.execution()).isEqualTo(cancelled);
        assertThat(again.execution().cancellation().reason()).isEqualTo("first");
        assertThat(faulty.saves()).isEqualTo(saves);
        assertThat(engine.run(id).execution()).isEqualTo(cancelled);
    }

    @Test
    void a_cancellation_interrupted_by_a_crash_is_finished_by_the_next_run() {
        registerHoldFlow();
        String parent = createWaiting(null);
        String child = createWaiting(parent);
        // Save 1 marks the parent cancelling; save 2 (the child's) dies.
        faulty.failOnSave(2);

        assertThatThrownBy(() -> engine.cancel(parent, Cancellation.Source.USER, "stop"))
                .isInstanceOf(StoreException.class);
        assertThat(stored(parent).status()).isEqualTo(ExecutionStatus.CANCELLING);
        assertThat(stored(child).status()).isEqualTo(ExecutionStatus.WAITING);

        Execution done = engine.run(parent).execution();

        assertThat(done.status()).isEqualTo(ExecutionStatus.CANCELLED);
        assertThat(done.cancellation().reason()).isEqualTo("stop");
        assertThat(stored(child).status()).isEqualTo(ExecutionStatus.CANCELLED);
    }

    @Test
    void a_cancel_while_a_step_runs_wins_and_the_step_result_is_discarded() throws Exception {
        CountDownLatch stepStarted = new CountDownLatch(1);
        CountDownLatch cancelDone = new CountDownLatch(1);
        handlers.register("slow", ctx -> {
            stepStarted.countDown();
            cancelDone.await(CONCURRENCY_BOUND.toSeconds(), TimeUnit.SECONDS);
            return StepResult.success("charged");
        });
        flows.register(Flow.builder("slow", "1").initialStep("charge")
                .step(Step.builder("charge", "slow").outputKey("charge").build()).build());
        String id = engine.create("slow", Map.of()).execution().id();

        AtomicReference<Object> runOutcome = new AtomicReference<>();
        Thread runner = new Thread(() -> runOutcome.set(runCatching(id)));
        runner.start();
        assertTimeoutPreemptively(CONCURRENCY_BOUND, () -> {
            stepStarted.await();
            assertThat(engine.cancel(id, Cancellation.Source.ADMIN, "stop").cancelled()).isTrue();
            cancelDone.countDown();
            runner.join();
        });

        assertThat(runOutcome.get()).isInstanceOf(ConcurrentUpdateException.class);
        Execution cancelled = stored(id);
        assertThat(cancelled.status()).isEqualTo(ExecutionStatus.CANCELLED);
        assertThat(cancelled.context()).doesNotContainKey("charge");
        assertThat(cancelled.history()).isEmpty();
    }

    @Test
    void an_interrupted_handler_saves_nothing_and_the_step_runs_again() {
        AtomicInteger calls = new AtomicInteger();
        handlers.register("sleepy", ctx -> {
            if (calls.incrementAndGet() == 1) {
                throw new InterruptedException("shutting down");
            }
            return StepResult.success("ok");
        });
        flows.register(Flow.builder("sleepy", "1").initialStep("s")
                .step(Step.builder("s", "sleepy").outputKey("s").build()).build());
        String id = engine.create("sleepy", Map.of()).execution().id();

        assertThatThrownBy(() -> engine.run(id)).isInstanceOf(java.util.concurrent.CancellationException.class)
                .hasMessageContaining("nothing of the step was saved");
        assertThat(Thread.interrupted()).isTrue();
        assertThat(stored(id).status()).isEqualTo(ExecutionStatus.PENDING);

        assertThat(engine.run(id).execution().context()).containsEntry("s", "ok");
        assertThat(calls).hasValue(2);
    }

    @Test
    void a_retry_pause_beyond_the_execution_deadline_wakes_at_the_deadline_and_cancels() {
        List<Integer> attempts = new CopyOnWriteArrayList<>();
        registerRetryFlow(RetryPolicy.builder().maxAttempts(3).backoff(Duration.ofHours(2)).build(), attempts,
                "TIMEOUT", 99);
        String id = engine.create("pay", Map.of(), CreateOptions.builder().timeout(Duration.ofHours(1)).build())
                .execution().id();

        Execution waiting = engine.run(id).execution();
        assertThat(waiting.waitMetadata().wakeAt()).isEqualTo(waiting.createdAt().plus(Duration.ofHours(1)));

        clock.advance(Duration.ofHours(1));
        Execution cancelled = engine.run(id).execution();

        assertThat(cancelled.status()).isEqualTo(ExecutionStatus.CANCELLED);
        assertThat(cancelled.cancellation().source()).isEqualTo(Cancellation.Source.TIMEOUT);
        assertThat(attempts).containsExactly(1);
    }

    @Test
    void illegal_requests_are_refused_with_clear_exceptions() {
        registerApprovalFlow();
        String missing = "missing-" + UUID.randomUUID();
        assertThatThrownBy(() -> engine.run(missing)).isInstanceOf(ExecutionNotFoundException.class)
                .hasMessageContaining(missing);
        assertThatThrownBy(() -> engine.resume(missing, null)).isInstanceOf(ExecutionNotFoundException.class);
        assertThatThrownBy(() -> engine.cancel(missing, Cancellation.Source.USER, null))
                .isInstanceOf(ExecutionNotFoundException.class);

        String id = engine.create("approval", Map.of("orderId", 1)).execution().id();
        assertThatThrownBy(() -> engine.resume(id, Map.of())).isInstanceOf(IllegalExecutionStateException.class)
                .hasMessageContaining("is pending; only a waiting execution can be resumed");
        engine.run(id);
        Execution completed = engine.resume(id, Map.of("approved", true, "by", "x")).execution();
        int saves = faulty.saves();

        assertThatThrownBy(() -> engine.resume(id, Map.of()))
                .isInstanceOfSatisfying(IllegalExecutionStateException.class, e -> {
                    assertThat(e.executionId()).isEqualTo(id);
                    assertThat(e.status()).isEqualTo(ExecutionStatus.COMPLETED);
                });
        assertThat(engine.run(id).execution()).isEqualTo(completed);
        assertThat(faulty.saves()).isEqualTo(saves);
    }

    @Test
    void a_signal_wait_past_the_execution_timeout_is_cancelled_with_source_TIMEOUT() {
        registerHoldFlow();
        String id = engine.create("hold", Map.of(), CreateOptions.builder().timeout(Duration.ofHours(1)).build())
                .execution().id();
        Instant deadline = clock.instant().plus(Duration.ofHours(1));

        Execution waiting = engine.run(id).execution();
        assertThat(waiting.waitMetadata().wakeAt()).isEqualTo(deadline);
        assertThat(waiting.waitMetadata().data()).containsEntry("wake", "timeout").containsEntry("timeout", "execution");

        clock.advance(Duration.ofHours(1));
        Execution cancelled = engine.runWakeReady(10).get(0).execution();

        assertThat(cancelled.id()).isEqualTo(id);
        assertThat(cancelled.status()).isEqualTo(ExecutionStatus.CANCELLED);
        assertThat(cancelled.cancellation().source()).isEqualTo(Cancellation.Source.TIMEOUT);
        assertThat(cancelled.cancellation().reason()).contains("execution timed out after PT1H");
    }

    @Test
    void a_running_execution_past_its_timeout_is_cancelled_before_its_next_step() {
        AtomicInteger second = new AtomicInteger();
        handlers.register("slow", ctx -> {
            clock.advance(Duration.ofMinutes(2));
            return StepResult.success(null);
        }).register("next", ctx -> StepResult.success(second.incrementAndGet()));
        flows.register(Flow.builder("slow", "1").initialStep("a")
                .step(Step.builder("a", "slow").onSuccess("b").build())
                .step(Step.builder("b", "next").build()).build());
        String id = engine.create("slow", Map.of(), CreateOptions.builder().timeout(Duration.ofMinutes(1)).build())
                .execution().id();

        Execution cancelled = engine.run(id).execution();

        assertThat(cancelled.status()).isEqualTo(ExecutionStatus.CANCELLED);
        assertThat(cancelled.cancellation().source()).isEqualTo(Cancellation.Source.TIMEOUT);
        assertThat(stepIds(cancelled)).containsExactly("a");
        assertThat(second).hasValue(0);
    }

    @Test
    void a_wait_longer_than_the_wait_timeout_is_cancelled_with_source_TIMEOUT() {
        registerHoldFlow();
        String id = engine.create("hold", Map.of(), CreateOptions.builder().waitTimeout(Duration.ofMinutes(10))
                .build()).execution().id();
        Execution waiting = engine.run(id).execution();
        assertThat(waiting.waitMetadata().wakeAt()).isEqualTo(clock.instant().plus(Duration.ofMinutes(10)));

        clock.advance(Duration.ofMinutes(10));
        Execution cancelled = engine.run(id).execution();

        assertThat(cancelled.status()).isEqualTo(ExecutionStatus.CANCELLED);
        assertThat(cancelled.cancellation().source()).isEqualTo(Cancellation.Source.TIMEOUT);
        assertThat(cancelled.cancellation().reason()).isEqualTo("wait of step 'hold' timed out after PT10M");
    }

    @Test
    void a_resume_before_the_wait_timeout_continues_normally() {
        registerApprovalFlow();
        String id = engine.create("approval", Map.of("orderId", 1), CreateOptions.builder()
                .waitTimeout(Duration.ofMinutes(10)).build()).execution().id();
        engine.run(id);
        clock.advance(Duration.ofMinutes(9));

        Execution done = engine.resume(id, Map.of("approved", true, "by", "z")).execution();

        assertThat(done.status()).isEqualTo(ExecutionStatus.COMPLETED);
    }

    // --- How a step attempt ends (issue 9 class 5, issue 10 items 4-7) ---

    /** Long enough for a handler that returns at once to finish on a loaded machine; short enough to wait out. */
    private static final Duration SHORT_BUDGET = Duration.ofMillis(500);

    private String runOneStep(String handlerType, StepHandler handler, RetryPolicy retry, Duration timeout) {
        handlers.register(handlerType, handler);
        flows.register(Flow.builder(handlerType, "1").initialStep("s")
                .step(Step.builder("s", handlerType).outputKey("out").retry(retry).timeout(timeout).build()).build());
        return engine.create(handlerType, Map.of()).execution().id();
    }

    private static int recurseForever(int n) {
        return recurseForever(n + 1) + 1;
    }

    @Test
    void handlers_that_throw_an_Error_fail_with_HANDLER_ERROR_and_a_bounded_stack_trace() {
        Map<String, StepHandler> throwers = new LinkedHashMap<>();
        throwers.put("assertion", ctx -> {
            throw new AssertionError("invariant broken");
        });
        throwers.put("overflow", ctx -> StepResult.success(recurseForever(0)));
        throwers.put("linkage", ctx -> {
            throw new NoClassDefFoundError("com/example/Gone");
        });
        throwers.put("timed-assertion", ctx -> {
            throw new AssertionError("invariant broken on a step thread");
        });
        for (Map.Entry<String, StepHandler> thrower : throwers.entrySet()) {
            Duration budget = thrower.getKey().startsWith("timed") ? Duration.ofSeconds(30) : null;
            String id = runOneStep(thrower.getKey(), thrower.getValue(), null, budget);

            Execution failed = engine.run(id).execution();

            assertThat(failed.status()).as(thrower.getKey()).isEqualTo(ExecutionStatus.FAILED);
            assertThat(failed.error().code()).isEqualTo(Engine.HANDLER_ERROR);
            assertThat(failed.error().stepId()).isEqualTo("s");
            Map<?, ?> details = (Map<?, ?>) failed.error().details();
            String trace = (String) details.get("stackTrace");
            assertThat(trace).startsWith((String) details.get("exception"));
            assertThat(trace.length()).isLessThanOrEqualTo(Diagnostics.MAX_STACK_TRACE_CHARS + 40);
            assertThat(trace.lines().filter(l -> l.startsWith("\tat ")).count()).isLessThanOrEqualTo(
                    (long) Diagnostics.MAX_FRAMES * (Diagnostics.MAX_CAUSES + 1));
            assertThat(stored(id)).isEqualTo(failed);
        }
    }

    @Test
    void a_stored_stack_trace_includes_causes() {
        String id = runOneStep("wrapped", ctx -> {
            throw new IllegalStateException("charge failed", new IOException("connection reset"));
        }, null, null);

        Map<?, ?> details = (Map<?, ?>) engine.run(id).execution().error().details();

        assertThat((String) details.get("stackTrace")).contains("Caused by: java.io.IOException: connection reset");
    }

    @Test
    void an_Error_is_retried_per_policy_and_never_beyond_maxAttempts() {
        AtomicInteger calls = new AtomicInteger();
        String id = runOneStep("flaky", ctx -> {
            calls.incrementAndGet();
            throw new AssertionError("attempt " + ctx.attempt());
        }, RetryPolicy.builder().maxAttempts(3).backoff(Duration.ZERO).build(), null);

        Execution failed = engine.run(id).execution();

        assertThat(calls).hasValue(3);
        assertThat(failed.status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(failed.error().message()).isEqualTo("attempt 3");
        assertThat(failed.history()).extracting(StepHistory::outcome).containsExactly("failure", "failure", "failure");
        assertThat(engine.run(id).execution()).isEqualTo(failed);
        assertThat(calls).hasValue(3);
    }

    @Test
    void a_handler_that_runs_out_of_memory_fails_with_HANDLER_ERROR_after_maxAttempts_and_no_more() {
        AtomicInteger calls = new AtomicInteger();
        String id = runOneStep("oom", ctx -> {
            calls.incrementAndGet();
            throw new OutOfMemoryError("simulated");
        }, RetryPolicy.builder().maxAttempts(2).backoff(Duration.ZERO).build(), null);

        Execution failed = engine.run(id).execution();

        assertThat(calls).hasValue(2);
        assertThat(failed.status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(failed.error().code()).isEqualTo(Engine.HANDLER_ERROR);
        assertThat(failed.error().message()).contains("simulated");
    }

    @Test
    void a_result_the_store_refuses_is_stored_as_OUTPUT_NOT_STORABLE_and_follows_the_retry_policy() {
        AtomicInteger calls = new AtomicInteger();
        String id = runOneStep("refused", ctx -> StepResult.success("poison-" + calls.incrementAndGet()),
                RetryPolicy.builder().maxAttempts(2).backoff(Duration.ZERO).build(), null);
        faulty.beforeSave(e -> {
            if (String.valueOf(e.context().get("out")).startsWith("poison")) {
                throw new ExecutionDataException(e.id(), "context", "cannot hold it", null);
            }
        });

        Execution failed = engine.run(id).execution();

        assertThat(calls).hasValue(2);
        assertThat(failed.status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(failed.error().code()).isEqualTo(Engine.OUTPUT_NOT_STORABLE);
        assertThat(failed.error().message()).contains("step 's'").contains("cannot hold it");
        assertThat(failed.context()).doesNotContainKey("out");
        assertThat(stored(id)).isEqualTo(failed);
    }

    @Test
    void a_cyclic_output_is_stored_as_OUTPUT_NOT_STORABLE() {
        String id = runOneStep("cyclic", ctx -> {
            Map<String, Object> loop = new HashMap<>();
            loop.put("self", loop);
            return StepResult.success(loop);
        }, null, null);

        Execution failed = engine.run(id).execution();

        assertThat(failed.status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(failed.error().code()).isEqualTo(Engine.OUTPUT_NOT_STORABLE);
        assertThat(stored(id).status()).isEqualTo(ExecutionStatus.FAILED);
    }

    @Test
    void a_wait_that_ends_past_epoch_milliseconds_fails_with_INVALID_WAIT() {
        clock.advance(Duration.between(clock.instant(), Instant.ofEpochMilli(Long.MAX_VALUE - 60_000)));
        String id = runOneStep("far", ctx -> StepResult.waitFor(Duration.ofHours(1), "too late"), null, null);

        Execution failed = engine.run(id).execution();

        assertThat(failed.status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(failed.error().code()).isEqualTo(Engine.INVALID_WAIT);
        assertThat(failed.error().message()).contains("wait of PT1H");
    }

    @Test
    void a_retry_pause_past_epoch_milliseconds_fails_with_INVALID_WAIT() {
        clock.advance(Duration.between(clock.instant(), Instant.ofEpochMilli(Long.MAX_VALUE - 60_000)));
        String id = runOneStep("farRetry", ctx -> StepResult.failure("BUSY", "try later"),
                RetryPolicy.builder().maxAttempts(3).backoff(Duration.ofDays(1)).build(), null);

        Execution failed = engine.run(id).execution();

        assertThat(failed.status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(failed.error().code()).isEqualTo(Engine.INVALID_WAIT);
        assertThat(failed.error().message()).contains("retry pause of PT24H");
    }

    @Test
    void a_wait_out_of_range_is_refused_when_built_and_the_handler_that_built_it_fails() {
        assertThatThrownBy(() -> StepResult.waitFor(Duration.ofSeconds(Long.MAX_VALUE), "x"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("MAX_DURATION");
        assertThatThrownBy(() -> StepResult.waitUntil(Instant.MAX, "x"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("epoch milliseconds");
        String id = runOneStep("forever", ctx -> StepResult.waitUntil(Instant.MAX, "x"), null, null);

        Execution failed = engine.run(id).execution();

        assertThat(failed.error().code()).isEqualTo(Engine.HANDLER_ERROR);
        assertThat(failed.error().message()).contains("wakeAt must be an instant epoch milliseconds can hold");
    }

    @Test
    void then_sends_the_execution_to_the_chosen_step_and_history_records_the_choice() {
        handlers.register("route", ctx -> {
            Map<?, ?> order = (Map<?, ?>) ctx.input();
            Object output = Map.of("routed", true);
            return Boolean.TRUE.equals(order.get("express")) ? StepResult.success(output).then("ship")
                    : StepResult.success(output);
        }).register("echo", ctx -> StepResult.success(ctx.stepId()));
        flows.register(Flow.builder("branch", "1").initialStep("route")
                .step(Step.builder("route", "route").input(InputSelector.key("order")).outputKey("route")
                        .onSuccess("pack").build())
                .step(Step.builder("pack", "echo").outputKey("packed").build())
                .step(Step.builder("ship", "echo").outputKey("shipped").build())
                .build());
        String express = engine.create("branch", Map.of("order", Map.of("express", true))).execution().id();
        String normal = engine.create("branch", Map.of("order", Map.of("express", false))).execution().id();

        Execution shipped = engine.run(express).execution();
        Execution packed = engine.run(normal).execution();

        assertThat(stepIds(shipped)).containsExactly("route", "ship");
        assertThat(shipped.context()).containsEntry("route", Map.of("routed", true)).containsEntry("shipped", "ship")
                .doesNotContainKey("packed");
        assertThat(shipped.history().get(0).nextStepOverride()).isEqualTo("ship");
        assertThat(shipped.history().get(1).nextStepOverride()).isNull();
        assertThat(stored(express).history()).isEqualTo(shipped.history());
        assertThat(stepIds(packed)).containsExactly("route", "pack");
        assertThat(packed.history().get(0).nextStepOverride()).isNull();
    }

    @Test
    void then_to_a_step_the_flow_lacks_fails_with_STEP_NOT_FOUND_naming_it() {
        AtomicInteger compensations = new AtomicInteger();
        handlers.register("lost", ctx -> StepResult.success("x").then("nowhere"))
                .register("undo", ctx -> StepResult.success(compensations.incrementAndGet()));
        flows.register(Flow.builder("lost", "1").initialStep("a")
                .step(Step.builder("a", "lost").outputKey("a").onFailure("undo")
                        .retry(RetryPolicy.builder().maxAttempts(3).backoff(Duration.ZERO).build()).build())
                .step(Step.builder("undo", "undo").build())
                .build());
        String id = engine.create("lost", Map.of()).execution().id();

        Execution failed = engine.run(id).execution();

        assertThat(failed.status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(failed.error().code()).isEqualTo(Engine.STEP_NOT_FOUND);
        assertThat(failed.error().stepId()).isEqualTo("a");
        assertThat(failed.error().message()).contains("'nowhere'").contains("defined steps: [a, undo]");
        assertThat(failed.context()).doesNotContainKey("a");
        assertThat(failed.history()).extracting(StepHistory::outcome).containsExactly("failure");
        assertThat(compensations).hasValue(0);
    }

    @Test
    void a_handler_past_its_timeout_is_interrupted_and_the_attempt_fails_with_STEP_TIMEOUT() {
        CountDownLatch interrupted = new CountDownLatch(1);
        String id = runOneStep("sleepy", ctx -> {
            try {
                Thread.sleep(Duration.ofMinutes(10).toMillis());   // the handler under test sleeps; the test does not
            } catch (InterruptedException e) {
                interrupted.countDown();
                throw e;
            }
            return StepResult.success("never");
        }, null, SHORT_BUDGET);

        Execution failed = assertTimeoutPreemptively(CONCURRENCY_BOUND, () -> engine.run(id).execution());

        assertThat(failed.status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(failed.error().code()).isEqualTo(Engine.STEP_TIMEOUT);
        assertThat(failed.error().message()).contains("step 's' ran past its timeout of PT0.5S");
        assertTimeoutPreemptively(CONCURRENCY_BOUND, () -> interrupted.await());
        assertThat(Thread.currentThread().isInterrupted()).isFalse();
    }

    @Test
    void a_step_timeout_is_retried_per_policy_and_the_next_attempt_can_succeed() {
        String id = runOneStep("slowOnce", ctx -> {
            if (ctx.attempt() == 1) {
                new CountDownLatch(1).await();
            }
            return StepResult.success("attempt " + ctx.attempt());
        }, RetryPolicy.builder().maxAttempts(2).backoff(Duration.ZERO).retryOn(Engine.STEP_TIMEOUT).build(),
                Duration.ofSeconds(2));

        Execution done = assertTimeoutPreemptively(CONCURRENCY_BOUND, () -> engine.run(id).execution());

        assertThat(done.status()).isEqualTo(ExecutionStatus.COMPLETED);
        assertThat(done.context()).containsEntry("out", "attempt 2");
        assertThat(done.history()).extracting(h -> h.error() == null ? null : (Object) ((Map<?, ?>) h.error()).get("code"))
                .containsExactly(Engine.STEP_TIMEOUT, null);
    }

    @Test
    void a_handler_that_ignores_interrupts_is_abandoned_and_its_late_result_is_never_saved() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch returned = new CountDownLatch(1);
        AtomicInteger interrupts = new AtomicInteger();
        String id = runOneStep("stubborn", ctx -> {
            while (true) {
                try {
                    if (release.await(10, TimeUnit.SECONDS)) {
                        break;
                    }
                } catch (InterruptedException ignored) {
                    interrupts.incrementAndGet();
                }
            }
            returned.countDown();
            return StepResult.success("late");
        }, null, SHORT_BUDGET);

        Execution failed = assertTimeoutPreemptively(CONCURRENCY_BOUND, () -> engine.run(id).execution());
        int savesAfterTimeout = faulty.saves();
        release.countDown();
        assertThat(returned.await(CONCURRENCY_BOUND.toSeconds(), TimeUnit.SECONDS)).isTrue();

        assertThat(failed.error().code()).isEqualTo(Engine.STEP_TIMEOUT);
        assertThat(interrupts).hasValue(1);
        assertThat(stored(id)).isEqualTo(failed);
        assertThat(stored(id).context()).doesNotContainKey("out");
        assertThat(faulty.saves()).isEqualTo(savesAfterTimeout);
    }

    @Test
    void the_engine_step_timeout_applies_to_steps_without_their_own() {
        engine = newEngine(EngineOptions.builder().clock(clock).stepTimeout(SHORT_BUDGET));
        String id = runOneStep("stuck", ctx -> {
            new CountDownLatch(1).await();
            return StepResult.success("never");
        }, null, null);

        Execution failed = assertTimeoutPreemptively(CONCURRENCY_BOUND, () -> engine.run(id).execution());

        assertThat(failed.error().code()).isEqualTo(Engine.STEP_TIMEOUT);
    }

    @Test
    void a_throwable_whose_methods_throw_still_ends_in_a_stored_HANDLER_ERROR() {
        String id = runOneStep("hostile", ctx -> {
            throw new RuntimeException() {
                private static final long serialVersionUID = 1L;

                @Override
                public String getMessage() {
                    throw new IllegalStateException("no message for you");
                }

                @Override
                public synchronized Throwable getCause() {
                    throw new IllegalStateException("no cause either");
                }
            };
        }, null, null);

        Execution failed = engine.run(id).execution();

        assertThat(failed.status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(failed.error().code()).isEqualTo(Engine.HANDLER_ERROR);
        assertThat(stored(id)).isEqualTo(failed);
    }

    @Test
    void a_nonRetryable_failure_skips_the_retry_policy_and_goes_to_onFailure() {
        List<Integer> attempts = new CopyOnWriteArrayList<>();
        handlers.register("decline", ctx -> {
            attempts.add(ctx.attempt());
            return StepResult.failure("CARD_DECLINED", "insufficient funds").nonRetryable();
        }).register("echo", ctx -> StepResult.success(true));
        flows.register(Flow.builder("card", "1").initialStep("charge")
                .step(Step.builder("charge", "decline").onFailure("notify")
                        .retry(RetryPolicy.builder().maxAttempts(5).backoff(Duration.ZERO).build()).build())
                .step(Step.builder("notify", "echo").outputKey("notified").build())
                .build());
        String id = engine.create("card", Map.of()).execution().id();

        Execution done = engine.run(id).execution();

        assertThat(attempts).containsExactly(1);
        assertThat(stepIds(done)).containsExactly("charge", "notify");
        assertThat(done.context()).containsEntry("notified", true);
    }

    @Test
    void handlers_run_with_execution_flow_step_and_attempt_in_the_MDC_on_either_thread() {
        org.slf4j.MdcForTests.install();
        List<Map<String, String>> seen = new CopyOnWriteArrayList<>();
        StepHandler record = ctx -> {
            seen.add(MDC.getCopyOfContextMap());
            return StepResult.success(null);
        };
        handlers.register("mdc", record);
        flows.register(Flow.builder("mdc", "1").initialStep("inline")
                .step(Step.builder("inline", "mdc").onSuccess("timed").build())
                .step(Step.builder("timed", "mdc").timeout(Duration.ofSeconds(30)).build())
                .build());
        String id = engine.create("mdc", Map.of()).execution().id();
        MDC.put(Engine.MDC_STEP_ID, "caller's own");
        try {
            engine.run(id);

            assertThat(MDC.get(Engine.MDC_STEP_ID)).isEqualTo("caller's own");
            assertThat(MDC.get(Engine.MDC_EXECUTION_ID)).isNull();
        } finally {
            MDC.remove(Engine.MDC_STEP_ID);
        }
        assertThat(seen).hasSize(2);
        for (int i = 0; i < 2; i++) {
            assertThat(seen.get(i)).containsEntry(Engine.MDC_EXECUTION_ID, id).containsEntry(Engine.MDC_FLOW_ID, "mdc")
                    .containsEntry(Engine.MDC_STEP_ID, i == 0 ? "inline" : "timed")
                    .containsEntry(Engine.MDC_ATTEMPT, "1");
        }
    }

    @Test
    void a_handler_exception_is_logged_at_WARN_with_execution_flow_step_and_attempt() {
        String id = runOneStep("loud", ctx -> {
            throw new IllegalStateException("gateway down");
        }, null, null);
        PrintStream original = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            engine.run(id);
        } finally {
            System.setErr(original);
        }

        String log = captured.toString(StandardCharsets.UTF_8);
        assertThat(log).contains("WARN").contains("step 's'").contains("attempt 1").contains("execution " + id)
                .contains("flow 'loud'").contains("java.lang.IllegalStateException: gateway down");
    }

    record Order(String id, int quantity) {
    }

    @Test
    void ctx_input_converts_the_step_input_to_a_type_with_the_engine_object_mapper() {
        engine = newEngine(EngineOptions.builder().clock(clock).objectMapper(new ObjectMapper()
                .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)));
        String id = runOneStep("typed", ctx -> {
            Order order = ctx.input(Order.class);
            return StepResult.success(order.id() + " x" + order.quantity());
        }, null, null);
        flows.register(Flow.builder("typed", "2").initialStep("s")
                .step(Step.builder("s", "typed").input(InputSelector.key("order")).outputKey("out").build()).build());
        String typed = engine.create("typed", Map.of("order", Map.of("id", "o-1", "quantity", 3, "note", "x")))
                .execution().id();

        assertThat(engine.run(typed).execution().context()).containsEntry("out", "o-1 x3");
        assertThat(stored(id).status()).isEqualTo(ExecutionStatus.PENDING);
    }

    @Test
    void an_input_that_cannot_be_converted_fails_with_INPUT_ERROR_naming_the_step() {
        handlers.register("typed", ctx -> StepResult.success(ctx.input(Order.class)));
        flows.register(Flow.builder("typed", "1").initialStep("read")
                .step(Step.builder("read", "typed").input(InputSelector.key("order")).build()).build());
        String id = engine.create("typed", Map.of("order", Map.of("quantity", "lots"))).execution().id();

        Execution failed = engine.run(id).execution();

        assertThat(failed.error().code()).isEqualTo(Engine.INPUT_ERROR);
        assertThat(failed.error().message()).contains("input of step 'read' cannot be converted to")
                .contains("Order");
    }

    @Test
    void ctx_engine_lets_a_handler_create_and_run_another_execution() {
        handlers.register("echo", ctx -> StepResult.success(ctx.input()));
        flows.register(Flow.builder("child", "1").initialStep("work")
                .step(Step.builder("work", "echo").input(InputSelector.key("n")).outputKey("result").build()).build());
        handlers.register("spawn", ctx -> {
            Execution child = ctx.engine().create("child", Map.of("n", 7), CreateOptions.builder()
                    .parentExecutionId(ctx.executionId()).build()).execution();
            return StepResult.success(ctx.engine().run(child.id()).execution().context().get("result"));
        });
        flows.register(Flow.builder("parent", "1").initialStep("spawn")
                .step(Step.builder("spawn", "spawn").outputKey("childResult").build()).build());
        String parent = engine.create("parent", Map.of()).execution().id();

        assertThat(engine.run(parent).execution().context()).containsEntry("childResult", 7);
        assertThat(store.findChildren(parent)).hasSize(1);
    }

    @Test
    void create_with_a_chosen_id_stores_it_and_a_repeat_returns_the_first() {
        registerHoldFlow();
        String id = "order-" + UUID.randomUUID();

        CreateResult first = engine.create("hold", Map.of("n", 1), CreateOptions.builder().executionId(id).build());
        CreateResult again = engine.create("hold", Map.of("n", 2), CreateOptions.builder().executionId(id).build());

        assertThat(first.created()).isTrue();
        assertThat(first.execution().id()).isEqualTo(id);
        assertThat(again.created()).isFalse();
        assertThat(again.execution()).isEqualTo(first.execution());
        assertThat(stored(id).context()).containsEntry("n", 1);
    }

    @Test
    void the_longest_chosen_id_of_four_byte_characters_is_stored_and_found() {
        registerHoldFlow();
        String id = "\ud83d\udce6".repeat(CreateOptions.MAX_EXECUTION_ID_LENGTH / 2) + "k";

        engine.create("hold", Map.of(), CreateOptions.builder().executionId(id).build());

        assertThat(stored(id).id()).isEqualTo(id);
        assertThat(engine.create("hold", Map.of(), CreateOptions.builder().executionId(id).build()).created())
                .isFalse();
    }

    @Test
    void a_chosen_id_taken_by_an_execution_of_another_flow_is_refused() {
        registerHoldFlow();
        registerApprovalFlow();
        String id = "order-" + UUID.randomUUID();
        engine.create("hold", Map.of(), CreateOptions.builder().executionId(id).build());
        int saves = faulty.saves();

        assertThatThrownBy(() -> engine.create("approval", Map.of(), CreateOptions.builder().executionId(id).build()))
                .isInstanceOfSatisfying(IllegalExecutionStateException.class,
                        e -> assertThat(e.executionId()).isEqualTo(id))
                .hasMessageContaining("taken by an execution of flow 'hold', not 'approval'");
        assertThat(stored(id).flowId()).isEqualTo("hold");
        assertThat(faulty.saves()).isEqualTo(saves + 1);
    }

    @Test
    void a_retried_sub_flow_create_with_a_chosen_id_gets_the_first_even_once_the_parent_has_ended() {
        registerHoldFlow();
        String parent = createWaiting(null);
        CreateOptions child = CreateOptions.builder().parentExecutionId(parent).executionId("child-of-" + parent)
                .build();
        Execution first = engine.create("hold", Map.of(), child).execution();
        engine.cancel(parent, Cancellation.Source.USER, null);

        CreateResult again = engine.create("hold", Map.of(), child);

        assertThat(again.created()).isFalse();
        assertThat(again.execution().id()).isEqualTo(first.id());
        assertThat(again.execution().status()).isEqualTo(ExecutionStatus.CANCELLED);
    }

    @Test
    void concurrent_creates_with_one_chosen_id_store_one_execution() throws Exception {
        registerHoldFlow();
        String id = "order-" + UUID.randomUUID();

        List<CreateResult> results = racingCreates(32, n -> engine.create("hold", Map.of("caller", n),
                CreateOptions.builder().executionId(id).build()));

        assertThat(results).filteredOn(CreateResult::created).hasSize(1);
        Execution winner = results.stream().filter(CreateResult::created).findFirst().orElseThrow().execution();
        assertThat(results).extracting(CreateResult::execution).containsOnly(winner);
        assertThat(stored(id).context()).isEqualTo(winner.context());
        assertThat(store.findByStatus(ExecutionStatus.PENDING, 1000)).extracting(Execution::id)
                .containsOnlyOnce(id);
    }

    @Test
    void a_JSON_flow_in_the_FlowMonkey_TypeScript_shape_runs_with_TypeScript_retry_counts() {
        List<Integer> attempts = new CopyOnWriteArrayList<>();
        handlers.register("always-fail", ctx -> {
            attempts.add(ctx.attempt());
            return StepResult.failure("PERMANENT", "Always fails");
        }).register("done", ctx -> StepResult.success("done"));
        flows.register(Flow.fromJson("""
                {
                  "id": "retry-exhaust", "version": "1.0.0", "name": "Retry exhaust",
                  "initialStepId": "step1",
                  "steps": {
                    "step1": {
                      "id": "step1", "type": "always-fail", "config": {},
                      "input": { "type": "static", "value": {} },
                      "transitions": { "onSuccess": null, "onFailure": "fallback" },
                      "retry": { "maxAttempts": 2 }
                    },
                    "fallback": {
                      "id": "fallback", "type": "done", "config": {},
                      "input": { "type": "static", "value": {} },
                      "outputKey": "fallback",
                      "transitions": { "onSuccess": null, "onFailure": null }
                    }
                  }
                }
                """));
        String id = engine.create("retry-exhaust", Map.of()).execution().id();

        Execution done = engine.run(id).execution();

        assertThat(attempts).as("maxAttempts 2 are two retries after the first try, with no pause")
                .containsExactly(1, 2, 3);
        assertThat(done.status()).isEqualTo(ExecutionStatus.COMPLETED);
        assertThat(done.context()).containsEntry("fallback", "done");
    }
}
