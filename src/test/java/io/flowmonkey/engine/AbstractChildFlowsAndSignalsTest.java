package io.flowmonkey.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.flowmonkey.execution.Cancellation;
import io.flowmonkey.execution.ConcurrentUpdateException;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionNotFoundException;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.SignalStore;
import io.flowmonkey.execution.StepHistory;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Child flows, named signals and results against one {@link SignalStore}; each store gets a subclass.
 * Nothing here runs a worker: executions are advanced with {@link Engine#run(String)}, as a worker would.
 */
abstract class AbstractChildFlowsAndSignalsTest {

    private static final Duration BOUND = Duration.ofSeconds(60);

    final MutableClock clock = new MutableClock();
    SignalStore store;
    HandlerRegistry handlers;
    InMemoryFlowRegistry flows;
    Engine engine;
    private final Map<String, StepHandler> current = new java.util.concurrent.ConcurrentHashMap<>();

    /** An empty store over the test's data; every call in one test sees the same data. */
    abstract SignalStore newStore(Clock clock);

    @BeforeEach
    void setUp() {
        store = newStore(clock);
        handlers = new HandlerRegistry();
        handle("child.work", ctx -> {
                    Map<?, ?> input = (Map<?, ?>) ctx.input();
                    if (Boolean.TRUE.equals(input.get("fail"))) {
                        return StepResult.failure("CHILD_BROKE", "child " + input.get("n") + " broke");
                    }
                    if (Boolean.TRUE.equals(input.get("hold"))) {
                        return StepResult.awaitSignal("release", "held by the test");
                    }
                    return StepResult.success(((Number) input.get("n")).intValue() * 10);
                });
        handle("parent.spawn", ctx -> {
                    List<ChildSpec> children = new ArrayList<>();
                    for (Object spec : (List<?>) ctx.context().get("children-to-start")) {
                        children.add(ChildSpec.of("child", (Map<String, ?>) spec));
                    }
                    ChildFailurePolicy policy = ChildFailurePolicy.valueOf(
                            String.valueOf(ctx.context().getOrDefault("policy", "FAIL_FAST")));
                    return StepResult.startChildren(children, policy);
                });
        handle("parent.collect", ctx -> StepResult.success(ctx.context().get(Engine.CHILDREN_KEY)));
        handle("await.go", ctx -> StepResult.awaitSignal("go", "waiting for go"));
        handle("record", ctx -> StepResult.success(ctx.input()));
        flows = new InMemoryFlowRegistry()
                .register(Flow.builder("child", "1").initialStep("work")
                        .step(Step.builder("work", "child.work").input(InputSelector.full()).outputKey("value")
                                .onResume("work").build())
                        .build())
                .register(Flow.builder("parent", "1").initialStep("spawn")
                        .step(Step.builder("spawn", "parent.spawn").onResume("collect").onFailure("recover").build())
                        .step(Step.builder("collect", "parent.collect").outputKey("collected").build())
                        .step(Step.builder("recover", "record").input(InputSelector.value("recovered"))
                                .outputKey("outcome").build())
                        .build())
                .register(Flow.builder("await-go", "1").initialStep("before")
                        .step(Step.builder("before", "before").onSuccess("wait").build())
                        .step(Step.builder("wait", "await.go").onResume("after").build())
                        .step(Step.builder("after", "record").input(InputSelector.key(Engine.RESUME_DATA_KEY))
                                .outputKey("got").build())
                        .build());
        handle("before", ctx -> StepResult.success(null));
        engine = new Engine(store, handlers, flows, EngineOptions.builder().clock(clock).build());
    }

    /** Sets the handler of a type; a test may replace one that {@link #setUp()} set. */
    private void handle(String type, StepHandler handler) {
        if (current.put(type, handler) == null) {
            handlers.register(type, ctx -> current.get(type).execute(ctx));
        }
    }

    private String startParent(List<Map<String, Object>> children, ChildFailurePolicy policy) {
        String id = engine.create("parent", Map.of("children-to-start", children, "policy", policy.name()))
                .execution().id();
        assertThat(engine.run(id).execution().status()).isEqualTo(ExecutionStatus.WAITING);
        return id;
    }

    private static List<Map<String, Object>> plainChildren(int n) {
        List<Map<String, Object>> children = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            children.add(Map.of("n", i));
        }
        return children;
    }

    private Execution stored(String id) {
        return store.load(id).orElseThrow();
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object value) {
        return (Map<String, Object>) value;
    }

    @SuppressWarnings("unchecked")
    private static List<Object> list(Object value) {
        return (List<Object>) value;
    }

    private static List<String> stepIds(Execution e) {
        return e.history().stream().map(StepHistory::stepId).toList();
    }

    // ---- child flows ----

    @Test
    void a_parent_starts_three_children_and_its_next_step_sees_their_status_and_output_in_order() {
        String parent = startParent(plainChildren(3), ChildFailurePolicy.FAIL_FAST);

        List<Execution> children = store.findChildren(parent);
        assertThat(children).hasSize(3).allSatisfy(c -> {
            assertThat(c.status()).isEqualTo(ExecutionStatus.PENDING);
            assertThat(c.parentExecutionId()).isEqualTo(parent);
        });
        assertThat(children).extracting(Execution::id)
                .containsExactlyInAnyOrder(parent + "/spawn/1/0", parent + "/spawn/1/1", parent + "/spawn/1/2");
        assertThat(stored(parent).waitMetadata().data()).containsEntry("signal", "flowmonkey.childEnded")
                .containsEntry("policy", "FAIL_FAST").doesNotContainKey("start");

        for (int i = 2; i >= 0; i--) {
            assertThat(engine.run(parent + "/spawn/1/" + i).execution().status()).isEqualTo(ExecutionStatus.COMPLETED);
        }
        Execution done = engine.run(parent).execution();

        assertThat(done.status()).isEqualTo(ExecutionStatus.COMPLETED);
        List<?> outcomes = (List<?>) done.context().get(Engine.CHILDREN_KEY);
        assertThat(outcomes).hasSize(3);
        for (int i = 0; i < 3; i++) {
            Map<?, ?> outcome = (Map<?, ?>) outcomes.get(i);
            assertThat(outcome.get("id")).isEqualTo(parent + "/spawn/1/" + i);
            assertThat(outcome.get("flowId")).isEqualTo("child");
            assertThat(outcome.get("status")).isEqualTo("completed");
            assertThat(map(outcome.get("output"))).containsEntry("value", i * 10);
        }
        assertThat(done.context().get("collected")).isEqualTo(outcomes);
        assertThat(stepIds(done)).containsExactly("spawn", "collect");
        assertThat(store.findSignals(parent, "flowmonkey.childEnded", 10)).as("every marker consumed").isEmpty();
    }

    @Test
    void a_parent_stays_waiting_until_its_last_child_ends() {
        String parent = startParent(plainChildren(3), ChildFailurePolicy.FAIL_FAST);
        engine.run(parent + "/spawn/1/0");
        engine.run(parent + "/spawn/1/1");

        Execution still = engine.run(parent).execution();

        assertThat(still.status()).isEqualTo(ExecutionStatus.WAITING);
        assertThat(still.currentStepId()).isEqualTo("spawn");
        assertThat(stepIds(still)).containsExactly("spawn");
        assertThat(engine.run(parent).execution().version()).as("nothing more to look at").isEqualTo(still.version());

        engine.run(parent + "/spawn/1/2");
        assertThat(engine.run(parent).execution().status()).isEqualTo(ExecutionStatus.COMPLETED);
    }

    @Test
    void children_and_the_parents_wait_are_saved_together_or_not_at_all() {
        String id = engine.create("parent", Map.of("children-to-start", plainChildren(3), "policy", "FAIL_FAST"))
                .execution().id();
        Execution stale = stored(id);
        store.save(stale.toBuilder().metadata(Map.of("touched", true)).build());

        assertThatThrownBy(() -> engine.run(stale)).isInstanceOf(ConcurrentUpdateException.class);
        assertThat(store.findChildren(id)).as("no child of the lost save").isEmpty();

        // The step runs again at the same position: the same child ids, each created once.
        engine.run(id);
        assertThat(store.findChildren(id)).extracting(Execution::id)
                .containsExactlyInAnyOrder(id + "/spawn/1/0", id + "/spawn/1/1", id + "/spawn/1/2");
    }

    @Test
    void a_child_id_that_is_taken_fails_the_step_which_its_onFailure_handles_and_starts_no_child_of_it() {
        String taken = engine.create("child", Map.of("n", 9)).execution().id();
        handle("parent.spawn", ctx -> StepResult.startChildren(List.of(
                ChildSpec.of("child", Map.of("n", 1)), ChildSpec.of("child", Map.of("n", 2)).executionId(taken))));
        String parent = engine.create("parent", Map.of()).execution().id();

        Execution recovered = engine.run(parent).execution();

        assertThat(recovered.status()).isEqualTo(ExecutionStatus.COMPLETED);
        assertThat(recovered.context()).containsEntry("outcome", "recovered");
        assertThat(recovered.history().get(0).outcome()).isEqualTo("failure");
        assertThat(String.valueOf(recovered.history().get(0).error())).contains(Engine.CHILDREN_NOT_STARTED)
                .contains(taken);
        assertThat(store.findChildren(parent)).isEmpty();
    }

    @Test
    void a_child_id_that_is_taken_is_a_step_failure_its_retry_policy_retries() {
        String taken = engine.create("child", Map.of("n", 9)).execution().id();
        handle("retried.spawn", ctx -> StepResult.startChildren(List.of(ChildSpec.of("child", Map.of()).executionId(taken))));
        flows.register(Flow.builder("retried", "1").initialStep("spawn")
                .step(Step.builder("spawn", "retried.spawn").retry(RetryPolicy.builder().maxAttempts(2).backoff(Duration.ZERO).build()).build())
                .build());
        String parent = engine.create("retried", Map.of()).execution().id();

        Execution failed = engine.run(parent).execution();

        assertThat(failed.status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(failed.error().code()).isEqualTo(Engine.CHILDREN_NOT_STARTED);
        assertThat(failed.history()).as("both attempts the policy allows").hasSize(2)
                .allSatisfy(h -> assertThat(h.outcome()).isEqualTo("failure"));
        assertThat(store.findChildren(parent)).isEmpty();
    }

    @Test
    void a_child_of_an_unregistered_flow_fails_the_step_and_starts_nothing() {
        handle("parent.spawn", ctx -> StepResult.startChildren(List.of(ChildSpec.of("nope", Map.of()))));
        String parent = engine.create("parent", Map.of()).execution().id();

        Execution recovered = engine.run(parent).execution();

        assertThat(recovered.status()).isEqualTo(ExecutionStatus.COMPLETED);
        assertThat(recovered.context()).containsEntry("outcome", "recovered");
        assertThat(recovered.history().get(0).outcome()).isEqualTo("failure");
        assertThat(store.findChildren(parent)).isEmpty();
    }

    @Test
    void under_fail_fast_the_first_failed_child_cancels_its_siblings_and_fails_the_step() {
        List<Map<String, Object>> children = List.of(Map.of("n", 0, "fail", true), Map.of("n", 1, "hold", true),
                Map.of("n", 2));
        String parent = startParent(children, ChildFailurePolicy.FAIL_FAST);
        engine.run(parent + "/spawn/1/1");   // holds, waiting for a signal that never comes
        engine.run(parent + "/spawn/1/0");   // fails

        Execution recovered = engine.run(parent).execution();

        // The step's onFailure ("recover") is taken, with the outcomes in the context.
        assertThat(recovered.status()).isEqualTo(ExecutionStatus.COMPLETED);
        assertThat(recovered.context()).containsEntry("outcome", "recovered");
        List<?> outcomes = (List<?>) recovered.context().get(Engine.CHILDREN_KEY);
        assertThat(list(outcomes)).extracting(o -> map(o).get("status"))
                .containsExactly("failed", "cancelled", "cancelled");
        assertThat(map(map(outcomes.get(0)).get("error"))).containsEntry("code", "CHILD_BROKE");
        assertThat(stored(parent + "/spawn/1/1").cancellation().source()).isEqualTo(Cancellation.Source.PARENT);
        assertThat(store.findChildren(parent)).allSatisfy(c -> assertThat(c.status().isTerminal()).isTrue());
    }

    @Test
    void under_fail_fast_without_on_failure_the_parent_fails_with_CHILD_FAILED() {
        flows.register(Flow.builder("strict-parent", "1").initialStep("spawn")
                .step(Step.builder("spawn", "parent.spawn").onResume("collect").build())
                .step(Step.builder("collect", "parent.collect").build())
                .build());
        String parent = engine.create("strict-parent", Map.of("children-to-start",
                List.of(Map.of("n", 0, "fail", true)))).execution().id();
        engine.run(parent);
        engine.run(parent + "/spawn/1/0");

        Execution failed = engine.run(parent).execution();

        assertThat(failed.status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(failed.error().code()).isEqualTo(Engine.CHILD_FAILED);
        assertThat(failed.error().message()).contains(parent + "/spawn/1/0").contains("failed");
    }

    @Test
    void under_collect_all_a_failed_child_waits_for_the_others_and_every_outcome_is_kept() {
        List<Map<String, Object>> children = List.of(Map.of("n", 0, "fail", true), Map.of("n", 1));
        String parent = startParent(children, ChildFailurePolicy.COLLECT_ALL);
        engine.run(parent + "/spawn/1/0");
        assertThat(engine.run(parent).execution().status()).isEqualTo(ExecutionStatus.WAITING);

        engine.run(parent + "/spawn/1/1");
        Execution done = engine.run(parent).execution();

        assertThat(done.status()).isEqualTo(ExecutionStatus.COMPLETED);
        assertThat(list(done.context().get("collected"))).extracting(o -> map(o).get("status"))
                .containsExactly("failed", "completed");
    }

    @Test
    void cancelling_the_parent_still_cancels_its_children() {
        String parent = startParent(plainChildren(3), ChildFailurePolicy.FAIL_FAST);
        engine.run(parent + "/spawn/1/0");

        engine.cancel(parent, Cancellation.Source.USER, "customer cancelled");

        assertThat(stored(parent).status()).isEqualTo(ExecutionStatus.CANCELLED);
        assertThat(store.findChildren(parent)).extracting(Execution::status).containsExactlyInAnyOrder(
                ExecutionStatus.COMPLETED, ExecutionStatus.CANCELLED, ExecutionStatus.CANCELLED);
    }

    @Test
    void two_last_children_ending_at_once_wake_the_parent_which_continues_once() throws Exception {
        CyclicBarrier together = new CyclicBarrier(2);
        handle("child.work", ctx -> {
            together.await(10, TimeUnit.SECONDS);
            return StepResult.success("done");
        });
        String parent = startParent(plainChildren(2), ChildFailurePolicy.FAIL_FAST);
        AtomicInteger collects = new AtomicInteger();
        handle("parent.collect", ctx -> {
            collects.incrementAndGet();
            return StepResult.success(ctx.context().get(Engine.CHILDREN_KEY));
        });

        assertTimeoutPreemptively(BOUND, () -> {
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                Future<?> a = pool.submit(() -> engine.run(parent + "/spawn/1/0"));
                Future<?> b = pool.submit(() -> engine.run(parent + "/spawn/1/1"));
                a.get();
                b.get();
                // Two racing runs of the parent: one wins, the other loses its save or finds nothing to do.
                CountDownLatch go = new CountDownLatch(1);
                List<Future<Execution>> runs = new ArrayList<>();
                for (int i = 0; i < 2; i++) {
                    runs.add(pool.submit(() -> {
                        go.await();
                        try {
                            return engine.run(parent).execution();
                        } catch (ConcurrentUpdateException lost) {
                            return null;
                        }
                    }));
                }
                go.countDown();
                for (Future<Execution> run : runs) {
                    run.get();
                }
            } finally {
                pool.shutdownNow();
            }
        });

        Execution done = stored(parent);
        assertThat(done.status()).isEqualTo(ExecutionStatus.COMPLETED);
        assertThat(stepIds(done)).containsExactly("spawn", "collect");
        assertThat((List<?>) done.context().get("collected")).hasSize(2);
        assertThat(store.findSignals(parent, "flowmonkey.childEnded", 10)).isEmpty();
    }

    // ---- signals ----

    @Test
    void a_signal_sent_before_the_wait_began_ends_it_at_once() {
        String id = engine.create("await-go", Map.of()).execution().id();
        engine.signal(id, "go", Map.of("early", true));

        Execution done = engine.run(id).execution();

        assertThat(done.status()).isEqualTo(ExecutionStatus.COMPLETED);
        assertThat(done.context()).containsEntry("got", Map.of("early", true));
        assertThat(store.findSignals(id, "go", 10)).isEmpty();
    }

    @Test
    void a_signal_sent_while_the_step_before_the_wait_runs_ends_the_wait() {
        handle("before", ctx -> {
            engine.signal(ctx.executionId(), "go", Map.of("during", true));
            return StepResult.success(null);
        });
        String id = engine.create("await-go", Map.of()).execution().id();

        Execution done = engine.run(id).execution();

        assertThat(done.status()).isEqualTo(ExecutionStatus.COMPLETED);
        assertThat(done.context()).containsEntry("got", Map.of("during", true));
        assertThat(stepIds(done)).containsExactly("before", "wait", "after");
    }

    @Test
    void a_signal_sent_after_the_wait_began_is_consumed_by_the_next_run() {
        String id = engine.create("await-go", Map.of()).execution().id();
        Execution waiting = engine.run(id).execution();
        assertThat(waiting.status()).isEqualTo(ExecutionStatus.WAITING);
        assertThat(waiting.waitMetadata().data()).containsEntry("signal", "go");

        engine.signal(id, "go", Map.of("late", true));
        assertThat(stored(id).version()).as("sending writes nothing of the execution").isEqualTo(waiting.version());
        Execution done = engine.run(id).execution();

        assertThat(done.context()).containsEntry("got", Map.of("late", true));
    }

    @Test
    void a_signal_of_another_name_never_ends_the_wait_and_stays_buffered() {
        String id = engine.create("await-go", Map.of()).execution().id();
        engine.run(id);

        engine.signal(id, "stop", Map.of("n", 1));
        Execution still = engine.run(id).execution();

        assertThat(still.status()).isEqualTo(ExecutionStatus.WAITING);
        assertThat(still.currentStepId()).isEqualTo("wait");
        assertThat(store.findSignals(id, "stop", 10)).singleElement()
                .satisfies(s -> assertThat(s.data()).containsEntry("n", 1));
    }

    @Test
    void runWakeReady_continues_waits_ended_by_a_buffered_signal_or_by_children_without_workers() {
        String receiver = engine.create("await-go", Map.of()).execution().id();
        engine.run(receiver);
        engine.signal(receiver, "go", Map.of("n", 7));
        handle("child.work", ctx -> StepResult.success("done"));
        String parent = startParent(plainChildren(2), ChildFailurePolicy.COLLECT_ALL);
        for (Execution child : store.findChildren(parent)) {
            engine.run(child.id());
        }

        List<RunResult> ran = engine.runWakeReady(10);

        assertThat(ran).extracting(r -> r.execution().id()).containsExactlyInAnyOrder(receiver, parent);
        assertThat(stored(receiver).status()).isEqualTo(ExecutionStatus.COMPLETED);
        assertThat(stored(receiver).context()).containsEntry("got", Map.of("n", 7));
        assertThat(stored(parent).status()).isEqualTo(ExecutionStatus.COMPLETED);
        assertThat(engine.runWakeReady(10)).as("nothing left to continue").isEmpty();
    }

    @Test
    void a_handler_that_awaits_the_end_of_its_own_execution_fails_at_once_instead_of_blocking() {
        handle("before", ctx -> {
            ctx.engine().awaitEnd(ctx.executionId(), Duration.ofMinutes(10));
            return StepResult.success(null);
        });
        String id = engine.create("await-go", Map.of()).execution().id();

        Execution failed = assertTimeoutPreemptively(Duration.ofSeconds(30), () -> engine.run(id).execution());

        assertThat(failed.status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(failed.error().code()).isEqualTo(Engine.HANDLER_ERROR);
        assertThat(failed.error().message()).contains("its own execution");
    }

    @Test
    void resume_refuses_a_wait_for_children_so_the_parent_never_continues_without_them() {
        handle("child.work", ctx -> StepResult.awaitSignal("never", "blocks the child"));
        String parent = startParent(plainChildren(1), ChildFailurePolicy.FAIL_FAST);

        assertThatThrownBy(() -> engine.resume(parent, Map.of("x", 1)))
                .isInstanceOf(IllegalExecutionStateException.class).hasMessageContaining("child executions");
        assertThatThrownBy(() -> engine.resume(parent, "spawn", Map.of("x", 1)))
                .isInstanceOf(IllegalExecutionStateException.class).hasMessageContaining("child executions");
        assertThat(stored(parent).status()).isEqualTo(ExecutionStatus.WAITING);
    }

    @Test
    void a_named_signal_never_ends_a_plain_wait_for_resume() {
        handle("await.go", ctx -> StepResult.waitForSignal("manual"));
        String id = engine.create("await-go", Map.of()).execution().id();
        engine.run(id);

        engine.signal(id, "go", Map.of());

        assertThat(engine.run(id).execution().status()).isEqualTo(ExecutionStatus.WAITING);
        assertThat(store.findSignals(id, "go", 10)).as("buffered while the execution lives").hasSize(1);
        assertThat(engine.resume(id, "wait", Map.of("manual", true)).execution().context())
                .containsEntry("got", Map.of("manual", true));
        assertThat(store.findSignals(id, "go", 10)).as("dropped once it ended: nothing can consume it").isEmpty();
    }

    @Test
    void the_oldest_signal_is_consumed_first_and_each_by_one_wait() {
        flows.register(Flow.builder("loop", "1").initialStep("wait")
                .step(Step.builder("wait", "await.go").onResume("take").build())
                .step(Step.builder("take", "take").onSuccess("wait").build())
                .build());
        List<Object> taken = new ArrayList<>();
        handle("take", ctx -> {
            taken.add(((Map<?, ?>) ctx.context().get(Engine.RESUME_DATA_KEY)).get("n"));
            return StepResult.success(null);
        });
        String id = engine.create("loop", Map.of()).execution().id();
        for (int i = 0; i < 3; i++) {
            engine.signal(id, "go", Map.of("n", i));
        }

        Execution waiting = engine.run(id).execution();

        assertThat(taken).containsExactly(0, 1, 2);
        assertThat(waiting.status()).isEqualTo(ExecutionStatus.WAITING);
        assertThat(store.findSignals(id, "go", 10)).isEmpty();
    }

    @Test
    void thirty_two_threads_signalling_one_execution_lose_nothing_and_each_signal_ends_one_wait() {
        int senders = 32;
        flows.register(Flow.builder("counter", "1").initialStep("wait")
                .step(Step.builder("wait", "await.go").onResume("count").build())
                .step(Step.builder("count", "count").outputKey("seen").onSuccess("wait").build())
                .build());
        handle("count", ctx -> {
            List<Object> seen = new ArrayList<>((List<?>) ctx.context().getOrDefault("seen", List.of()));
            seen.add(((Map<?, ?>) ctx.context().get(Engine.RESUME_DATA_KEY)).get("n"));
            return StepResult.success(seen);
        });
        String id = engine.create("counter", Map.of()).execution().id();
        engine.run(id);

        assertTimeoutPreemptively(BOUND, () -> {
            ExecutorService pool = Executors.newFixedThreadPool(senders + 1);
            try {
                CountDownLatch go = new CountDownLatch(1);
                List<Future<?>> sends = new ArrayList<>();
                for (int i = 0; i < senders; i++) {
                    int n = i;
                    sends.add(pool.submit(() -> {
                        go.await();
                        engine.signal(id, "go", Map.of("n", n));
                        if (n % 4 == 0) {
                            engine.signal(id, "other", Map.of("n", n));
                        }
                        return null;
                    }));
                }
                // One runner consumes while the senders send, as a worker would.
                Future<?> runner = pool.submit(() -> {
                    go.await();
                    while (seen(id).size() < senders) {
                        try {
                            engine.run(id);
                        } catch (ConcurrentUpdateException impossible) {
                            throw new AssertionError("only this thread saves the execution", impossible);
                        }
                        Thread.onSpinWait();
                    }
                    return null;
                });
                go.countDown();
                for (Future<?> send : sends) {
                    send.get();
                }
                runner.get();
            } finally {
                pool.shutdownNow();
            }
        });

        List<?> seen = seen(id);
        assertThat(seen).hasSize(senders).doesNotHaveDuplicates();
        assertThat(seen.stream().map(n -> ((Number) n).intValue()).sorted().toList())
                .isEqualTo(java.util.stream.IntStream.range(0, senders).boxed().toList());
        assertThat(store.findSignals(id, "go", 100)).isEmpty();
        assertThat(store.findSignals(id, "other", 100)).as("signals of another name untouched").hasSize(senders / 4);
        assertThat(stored(id).status()).isEqualTo(ExecutionStatus.WAITING);
    }

    private List<?> seen(String id) {
        return (List<?>) stored(id).context().getOrDefault("seen", List.of());
    }

    @Test
    void two_runs_racing_for_one_buffered_signal_consume_it_once() throws Exception {
        AtomicInteger afters = new AtomicInteger();
        CyclicBarrier both = new CyclicBarrier(2);
        handle("record", ctx -> {
            afters.incrementAndGet();
            both.await(2, TimeUnit.SECONDS);   // both runs are inside the step before either saves
            return StepResult.success(ctx.input());
        });
        String id = engine.create("await-go", Map.of()).execution().id();
        engine.run(id);
        engine.signal(id, "go", Map.of("once", true));
        Execution waiting = stored(id);

        List<Object> outcomes = new ArrayList<>();
        assertTimeoutPreemptively(BOUND, () -> {
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try {
                List<Future<Object>> runs = new ArrayList<>();
                for (int i = 0; i < 2; i++) {
                    runs.add(pool.submit(() -> {
                        try {
                            return engine.run(waiting).execution().status();
                        } catch (ConcurrentUpdateException lost) {
                            return "lost";
                        }
                    }));
                }
                for (Future<Object> run : runs) {
                    outcomes.add(run.get());
                }
            } finally {
                pool.shutdownNow();
            }
        });

        assertThat(outcomes).containsExactlyInAnyOrder(ExecutionStatus.COMPLETED, "lost");
        assertThat(stored(id).context()).containsEntry("got", Map.of("once", true));
        assertThat(store.findSignals(id, "go", 10)).isEmpty();
    }

    @Test
    void signal_refuses_an_unknown_or_ended_execution_and_a_reserved_or_blank_name() {
        assertThatThrownBy(() -> engine.signal("missing", "go", Map.of()))
                .isInstanceOf(ExecutionNotFoundException.class).hasMessageContaining("missing");
        String id = engine.create("await-go", Map.of()).execution().id();
        engine.signal(id, "go", null);
        engine.run(id);
        assertThat(stored(id).status()).isEqualTo(ExecutionStatus.COMPLETED);

        assertThatThrownBy(() -> engine.signal(id, "go", Map.of()))
                .isInstanceOf(IllegalExecutionStateException.class).hasMessageContaining(id).hasMessageContaining("completed");
        assertThatThrownBy(() -> engine.signal(id, "flowmonkey.childEnded", Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("flowmonkey.");
        assertThatThrownBy(() -> engine.signal(id, " ", Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("signal name");
        assertThatThrownBy(() -> StepResult.awaitSignal("flowmonkey.x", "r")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void a_targeted_resume_ends_only_the_wait_it_names() {
        handle("await.go", ctx -> StepResult.waitForSignal("approval"));
        String id = engine.create("await-go", Map.of()).execution().id();
        engine.run(id);

        assertThatThrownBy(() -> engine.resume(id, "before", Map.of("x", 1)))
                .isInstanceOf(IllegalExecutionStateException.class)
                .hasMessageContaining("waits at step 'wait', not at step 'before'");
        assertThat(stored(id).status()).isEqualTo(ExecutionStatus.WAITING);

        Execution done = engine.resume(id, "wait", Map.of("x", 2)).execution();
        assertThat(done.context()).containsEntry("got", Map.of("x", 2));
        assertThatThrownBy(() -> engine.resume(id, "wait", Map.of()))
                .isInstanceOf(IllegalExecutionStateException.class).hasMessageContaining("is completed");
    }

    // ---- results ----

    @Test
    void get_returns_the_stored_execution_or_empty() {
        String id = engine.create("await-go", Map.of()).execution().id();

        assertThat(engine.get(id)).contains(stored(id));
        assertThat(engine.get("missing")).isEmpty();
        assertThatThrownBy(() -> engine.get(" ")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void await_end_returns_an_ended_execution_and_times_out_with_its_id_and_status() {
        String id = engine.create("await-go", Map.of()).execution().id();
        engine.run(id);

        assertThatThrownBy(() -> engine.awaitEnd(id, Duration.ofMillis(50)))
                .isInstanceOfSatisfying(AwaitTimeoutException.class, e -> {
                    assertThat(e.executionId()).isEqualTo(id);
                    assertThat(e.lastStatus()).isEqualTo(ExecutionStatus.WAITING);
                    assertThat(e.timeout()).isEqualTo(Duration.ofMillis(50));
                }).hasMessageContaining(id).hasMessageContaining("waiting");

        engine.signal(id, "go", Map.of());
        engine.run(id);
        assertThat(engine.awaitEnd(id, Duration.ZERO).status()).isEqualTo(ExecutionStatus.COMPLETED);
        assertThatThrownBy(() -> engine.awaitEnd("missing", Duration.ofSeconds(1)))
                .isInstanceOf(ExecutionNotFoundException.class);
    }

    @Test
    void await_end_is_woken_when_another_thread_ends_the_execution() {
        engine = new Engine(store, handlers, flows, EngineOptions.builder().clock(clock)
                .awaitPollInterval(Duration.ofMinutes(1)).build());
        String id = engine.create("await-go", Map.of()).execution().id();
        engine.run(id);

        Execution ended = assertTimeoutPreemptively(BOUND, () -> {
            ExecutorService pool = Executors.newSingleThreadExecutor();
            try {
                Future<Execution> waiter = pool.submit(() -> engine.awaitEnd(id, Duration.ofSeconds(50)));
                engine.signal(id, "go", Map.of("v", 1));
                engine.run(id);
                return waiter.get();
            } finally {
                pool.shutdownNow();
            }
        });

        assertThat(ended.status()).isEqualTo(ExecutionStatus.COMPLETED);
        assertThat(ended.context()).containsEntry("got", Map.of("v", 1));
    }

    @Test
    void a_signal_wait_past_its_wait_timeout_is_cancelled_and_a_buffered_signal_wins_over_it() {
        engine = new Engine(store, handlers, flows, EngineOptions.builder().clock(clock)
                .waitTimeout(Duration.ofHours(1)).build());
        String timedOut = engine.create("await-go", Map.of()).execution().id();
        String signalled = engine.create("await-go", Map.of()).execution().id();
        engine.run(timedOut);
        engine.run(signalled);
        assertThat(stored(timedOut).waitMetadata().wakeAt()).isEqualTo(clock.instant().plus(Duration.ofHours(1)));
        engine.signal(signalled, "go", Map.of("in", "time"));

        clock.advance(Duration.ofHours(2));

        Execution cancelled = engine.run(timedOut).execution();
        assertThat(cancelled.status()).isEqualTo(ExecutionStatus.CANCELLED);
        assertThat(cancelled.cancellation().source()).isEqualTo(Cancellation.Source.TIMEOUT);
        assertThat(engine.run(signalled).execution().context()).containsEntry("got", Map.of("in", "time"));
    }

    @Test
    void await_end_refuses_a_negative_timeout() {
        String id = engine.create("await-go", Map.of()).execution().id();

        assertThatThrownBy(() -> engine.awaitEnd(id, Duration.ofMillis(-1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("timeout");
    }

    @Test
    void a_store_without_signals_refuses_signal_and_fails_a_step_that_waits_for_one() {
        Engine plain = new Engine(new FaultyStore(store), handlers, flows, EngineOptions.builder().clock(clock).build());
        String id = plain.create("await-go", Map.of()).execution().id();

        assertThatThrownBy(() -> plain.signal(id, "go", Map.of())).isInstanceOf(UnsupportedOperationException.class)
                .hasMessageContaining("SignalStore");
        Execution failed = plain.run(id).execution();

        assertThat(failed.status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(failed.error().code()).isEqualTo(Engine.SIGNALS_UNSUPPORTED);
    }

    @Test
    void a_targeted_resume_refuses_a_wait_to_retry_the_named_step() {
        handle("flaky", ctx -> StepResult.failure("UNAVAILABLE", "try later"));
        flows.register(Flow.builder("flaky", "1").initialStep("call")
                .step(Step.builder("call", "flaky").retry(RetryPolicy.builder().maxAttempts(3)
                        .backoff(Duration.ofMinutes(1)).build()).build())
                .build());
        String id = engine.create("flaky", Map.of()).execution().id();
        assertThat(engine.run(id).execution().status()).isEqualTo(ExecutionStatus.WAITING);

        assertThatThrownBy(() -> engine.resume(id, "call", Map.of()))
                .isInstanceOf(IllegalExecutionStateException.class).hasMessageContaining("waits to retry step 'call'");
        assertThat(stored(id).stepCount()).isEqualTo(1);
    }
}
