package io.flowmonkey.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.flowmonkey.execution.Cancellation;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionQuery;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.LeasingExecutionStore;
import io.flowmonkey.execution.StepHistory;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Flow control ({@link CreateOptions.Builder#startAt}, {@link CreateOptions.Builder#priority}) on one
 * store; each store gets a subclass. Time is a {@link MutableClock}, but for the worker that runs on
 * real time to show that a start is kept by the store's own clock.
 */
abstract class AbstractFlowControlTest {

    private static final String FLOW = "scheduled";

    final MutableClock clock = new MutableClock();
    /** "executionId/stepId" of every handler call, in order. */
    private final List<String> calls = new CopyOnWriteArrayList<>();
    /** When each first step ran, by the clock of the engine that ran it. */
    private final List<Instant> firstStepRanAt = new CopyOnWriteArrayList<>();
    LeasingExecutionStore store;
    Engine engine;

    /**
     * Returns a store over this test's data, empty at the start of each test.
     *
     * @param clock the store's clock
     * @return the store
     */
    abstract LeasingExecutionStore newStore(Clock clock);

    @BeforeEach
    void setUp() {
        store = newStore(clock);
        engine = newEngine(store, clock);
    }

    /** first → second; first's onResume points past second, so a start that took it would skip a step. */
    private Engine newEngine(LeasingExecutionStore on, Clock engineClock) {
        HandlerRegistry handlers = new HandlerRegistry().register("record", ctx -> {
            calls.add(ctx.executionId() + "/" + ctx.stepId());
            if (ctx.stepId().equals("first")) {
                firstStepRanAt.add(engineClock.instant());
            }
            return StepResult.success(ctx.stepId());
        });
        InMemoryFlowRegistry flows = new InMemoryFlowRegistry().register(Flow.builder(FLOW, "1").initialStep("first")
                .step(Step.builder("first", "record").outputKey("first").onSuccess("second").onResume("third").build())
                .step(Step.builder("second", "record").outputKey("second").onSuccess("third").build())
                .step(Step.builder("third", "record").outputKey("third").build())
                .build());
        return new Engine(on, handlers, flows, EngineOptions.builder().clock(engineClock).build());
    }

    private CreateOptions startingAt(Instant startAt) {
        return CreateOptions.builder().startAt(startAt).build();
    }

    @Test
    void a_start_in_the_future_is_stored_waiting_at_the_first_step_and_shown_by_get() {
        Instant startAt = clock.instant().plus(Duration.ofHours(1));

        Execution created = engine.create(FLOW, Map.of("n", 1), startingAt(startAt)).execution();

        assertThat(created.status()).isEqualTo(ExecutionStatus.WAITING);
        assertThat(created.currentStepId()).isEqualTo("first");
        assertThat(created.waitMetadata().wakeAt()).isEqualTo(startAt);
        assertThat(created.waitMetadata().reason()).isEqualTo(Engine.SCHEDULED_START);
        assertThat(created.waitMetadata().data()).containsEntry("wake", "start");
        assertThat(created.createdAt()).isEqualTo(clock.instant());
        assertThat(created.history()).isEmpty();
        assertThat(created.stepCount()).isZero();
        assertThat(engine.get(created.id())).contains(created);
    }

    @Test
    void a_scheduled_execution_does_not_run_before_its_start_and_then_runs_its_first_step_first() {
        Instant startAt = clock.instant().plus(Duration.ofHours(1));
        String id = engine.create(FLOW, Map.of(), startingAt(startAt)).execution().id();

        assertThat(engine.run(id).execution().status()).isEqualTo(ExecutionStatus.WAITING);
        assertThat(engine.runWakeReady(10)).isEmpty();
        clock.advance(Duration.ofMinutes(59));
        assertThat(engine.runWakeReady(10)).isEmpty();
        assertThat(calls).isEmpty();

        clock.advance(Duration.ofMinutes(1));
        List<RunResult> ran = engine.runWakeReady(10);

        assertThat(ran).singleElement().satisfies(r -> assertThat(r.execution().status())
                .isEqualTo(ExecutionStatus.COMPLETED));
        Execution done = store.load(id).orElseThrow();
        assertThat(calls).containsExactly(id + "/first", id + "/second", id + "/third");
        assertThat(done.history()).as("no step for the wait itself").extracting(StepHistory::stepId)
                .containsExactly("first", "second", "third");
        assertThat(done.history().get(0).startedAt()).isEqualTo(startAt);
        assertThat(done.waitMetadata()).isNull();
    }

    @Test
    void run_starts_a_scheduled_execution_once_its_time_has_come() {
        String id = engine.create(FLOW, Map.of(), startingAt(clock.instant().plusSeconds(30))).execution().id();
        clock.advance(Duration.ofSeconds(30));

        assertThat(engine.run(id).execution().status()).isEqualTo(ExecutionStatus.COMPLETED);
        assertThat(calls).containsExactly(id + "/first", id + "/second", id + "/third");
    }

    @Test
    void a_start_now_or_in_the_past_is_pending_and_due_at_once() {
        Execution now = engine.create(FLOW, Map.of(), startingAt(clock.instant())).execution();
        Execution past = engine.create(FLOW, Map.of(), startingAt(clock.instant().minus(Duration.ofDays(2))))
                .execution();

        assertThat(now.status()).isEqualTo(ExecutionStatus.PENDING);
        assertThat(past.status()).isEqualTo(ExecutionStatus.PENDING);
        assertThat(past.waitMetadata()).isNull();
        assertThat(engine.run(past.id()).execution().status()).isEqualTo(ExecutionStatus.COMPLETED);
    }

    @Test
    void a_scheduled_execution_cancelled_before_its_start_never_runs() {
        String id = engine.create(FLOW, Map.of(), startingAt(clock.instant().plus(Duration.ofHours(1))))
                .execution().id();

        CancelResult cancelled = engine.cancel(id, Cancellation.Source.USER, "changed my mind");
        clock.advance(Duration.ofHours(2));

        assertThat(cancelled.cancelled()).isTrue();
        assertThat(cancelled.execution().status()).isEqualTo(ExecutionStatus.CANCELLED);
        assertThat(engine.runWakeReady(10)).isEmpty();
        assertThat(engine.run(id).execution().status()).isEqualTo(ExecutionStatus.CANCELLED);
        assertThat(EngineWorker.builder(engine).workerId("w").build().runOnce().claimed()).isZero();
        assertThat(calls).isEmpty();
    }

    @Test
    void an_idempotent_create_with_a_start_time_returns_the_first_execution() {
        Instant first = clock.instant().plus(Duration.ofHours(1));
        CreateResult a = engine.create(FLOW, Map.of("n", 1),
                CreateOptions.builder().idempotencyKey("nightly-2026-12-01").startAt(first).build());
        CreateResult b = engine.create(FLOW, Map.of("n", 2), CreateOptions.builder()
                .idempotencyKey("nightly-2026-12-01").startAt(first.plus(Duration.ofHours(5))).priority(9).build());

        assertThat(a.created()).isTrue();
        assertThat(b.created()).isFalse();
        assertThat(b.execution().id()).isEqualTo(a.execution().id());
        assertThat(b.execution().waitMetadata().wakeAt()).isEqualTo(first);
        assertThat(b.execution().priority()).isZero();
        assertThat(store.count(ExecutionQuery.builder().build())).isEqualTo(1);
    }

    @Test
    void resume_starts_a_scheduled_execution_early() {
        String id = engine.create(FLOW, Map.of(), startingAt(clock.instant().plus(Duration.ofHours(1))))
                .execution().id();

        Execution done = engine.resume(id, Map.of("early", true)).execution();

        assertThat(done.status()).isEqualTo(ExecutionStatus.COMPLETED);
        assertThat(done.context()).containsEntry(Engine.RESUME_DATA_KEY, Map.of("early", true));
        assertThat(calls).containsExactly(id + "/first", id + "/second", id + "/third");
    }

    @Test
    void a_start_at_or_after_the_execution_deadline_is_refused_and_nothing_is_stored() {
        CreateOptions late = CreateOptions.builder().timeout(Duration.ofMinutes(10))
                .startAt(clock.instant().plus(Duration.ofMinutes(10))).build();

        assertThatThrownBy(() -> engine.create(FLOW, Map.of(), late)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("startAt").hasMessageContaining("deadline");
        assertThat(store.count(ExecutionQuery.builder().build())).isZero();
        Execution inTime = engine.create(FLOW, Map.of(), CreateOptions.builder().timeout(Duration.ofMinutes(10))
                .startAt(clock.instant().plus(Duration.ofMinutes(9))).build()).execution();
        assertThat(inTime.status()).isEqualTo(ExecutionStatus.WAITING);
    }

    @Test
    void a_worker_claims_a_scheduled_execution_only_once_its_start_has_come() {
        String id = engine.create(FLOW, Map.of(), startingAt(clock.instant().plus(Duration.ofHours(1))))
                .execution().id();
        EngineWorker worker = EngineWorker.builder(engine).workerId("w").build();

        assertThat(worker.runOnce().claimed()).isZero();
        passTimeForTheStore(id, Duration.ofHours(1));

        WorkerStats started = worker.runOnce();

        assertThat(started.claimed()).isEqualTo(1);
        assertThat(started.completed()).isEqualTo(1);
        assertThat(calls).containsExactly(id + "/first", id + "/second", id + "/third");
    }

    /**
     * Lets {@code d} pass for the claim of the scheduled execution {@code id}: the test clock moves, and a
     * store that claims by a clock of its own (PostgreSQL's) sees the start come that much earlier.
     *
     * @param id the execution
     * @param d how much time passes
     */
    abstract void passTimeForTheStore(String id, Duration d);

    @Test
    void a_started_worker_runs_a_scheduled_execution_no_earlier_than_its_start() {
        Clock real = Clock.systemUTC();
        LeasingExecutionStore realStore = newStore(real);
        Engine realEngine = newEngine(realStore, real);
        try (EngineWorker worker = EngineWorker.builder(realEngine).workerId("timely").threads(2)
                .pollInterval(Duration.ofSeconds(30)).build().start()) {
            // Whole milliseconds, as both stores keep times: the wake is compared, and stored, at that precision.
            Instant startAt = real.instant().plusMillis(400).truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
            String id = realEngine.create(FLOW, Map.of(), startingAt(startAt)).execution().id();

            Execution done = assertTimeoutPreemptively(Duration.ofSeconds(60),
                    () -> realEngine.awaitEnd(id, Duration.ofSeconds(30)));

            assertThat(done.status()).isEqualTo(ExecutionStatus.COMPLETED);
            assertThat(firstStepRanAt).singleElement().satisfies(ranAt -> assertThat(ranAt).isAfterOrEqualTo(startAt));
            assertThat(done.history().get(0).startedAt()).isAfterOrEqualTo(startAt);
        }
    }

    @Test
    void priority_is_stored_with_the_execution_and_validated_when_set() {
        Execution urgent = engine.create(FLOW, Map.of(), CreateOptions.builder().priority(Execution.MAX_PRIORITY)
                .build()).execution();

        assertThat(urgent.priority()).isEqualTo(Execution.MAX_PRIORITY);
        assertThat(store.load(urgent.id()).orElseThrow().priority()).isEqualTo(Execution.MAX_PRIORITY);
        assertThat(engine.create(FLOW, Map.of()).execution().priority()).isEqualTo(Execution.DEFAULT_PRIORITY);
        assertThatThrownBy(() -> CreateOptions.builder().priority(Execution.MAX_PRIORITY + 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("priority")
                .hasMessageContaining("1001");
        assertThatThrownBy(() -> CreateOptions.builder().priority(Execution.MIN_PRIORITY - 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("priority");
    }

    @Test
    void a_worker_runs_pending_executions_by_priority_and_equal_priorities_in_creation_order() {
        String low = create(-1);
        String normalFirst = create(0);
        String urgent = create(50);
        String normalSecond = create(0);
        String urgentSecond = create(50);
        EngineWorker worker = EngineWorker.builder(engine).workerId("one-at-a-time").threads(1).build();

        for (int i = 0; i < 5; i++) {
            assertThat(worker.runOnce().completed()).isEqualTo(1);
        }

        assertThat(calls.stream().filter(c -> c.endsWith("/first")).map(c -> c.substring(0, c.indexOf('/'))))
                .containsExactly(urgent, urgentSecond, normalFirst, normalSecond, low);
    }

    private String create(int priority) {
        // A millisecond apart, so that creation order is the order of created_at.
        clock.advance(Duration.ofMillis(1));
        return engine.create(FLOW, Map.of(), CreateOptions.builder().priority(priority).build()).execution().id();
    }
}
