package io.flowmonkey.micrometer;

import static io.flowmonkey.testing.Await.awaitTrue;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.flowmonkey.engine.Engine;
import io.flowmonkey.engine.EngineEvent;
import io.flowmonkey.engine.EngineOptions;
import io.flowmonkey.engine.EngineWorker;
import io.flowmonkey.engine.Flow;
import io.flowmonkey.engine.HandlerRegistry;
import io.flowmonkey.engine.InMemoryFlowRegistry;
import io.flowmonkey.engine.MutableClock;
import io.flowmonkey.engine.RetryPolicy;
import io.flowmonkey.engine.Step;
import io.flowmonkey.engine.StepResult;
import io.flowmonkey.engine.StoreCall;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.ExecutionStore;
import io.flowmonkey.memory.InMemoryExecutionStore;
import io.flowmonkey.postgres.PgExecutionStore;
import io.flowmonkey.postgres.StoreHealth;
import io.flowmonkey.testing.PostgresExtension;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationRegistry;
import io.micrometer.observation.tck.TestObservationRegistry;
import io.micrometer.observation.tck.TestObservationRegistryAssert;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@link FlowMonkeyMetrics} with Micrometer's own test registries, on a real PostgreSQL where a store is. */
class FlowMonkeyMetricsTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    /** A clock the gauge tests move by hand. */

    private final AtomicInteger failuresLeft = new AtomicInteger();
    private ObservationRegistry handlerObservations = ObservationRegistry.NOOP;
    private final HandlerRegistry handlers = new HandlerRegistry()
            .register("ok", ctx -> StepResult.success(ctx.stepId()))
            .register("flaky", ctx -> failuresLeft.getAndDecrement() > 0
                    ? StepResult.failure("FLAKY", "not yet") : StepResult.success("done"))
            .register("nap", ctx -> StepResult.waitFor(Duration.ofMillis(1), "nap"))
            .register("traced", ctx -> Observation.createNotStarted("handler.work", handlerObservations)
                    .observe(() -> StepResult.success("traced")));
    private final InMemoryFlowRegistry flows = new InMemoryFlowRegistry()
            .register(Flow.builder("pay", "1").initialStep("charge")
                    .step(Step.builder("charge", "flaky").onSuccess("receipt")
                            .retry(RetryPolicy.builder().maxAttempts(3).backoff(Duration.ofMillis(1)).build()).build())
                    .step(Step.builder("receipt", "ok").build())
                    .build())
            .register(Flow.builder("napper", "1").initialStep("nap")
                    .step(Step.builder("nap", "nap").onResume("up").build())
                    .step(Step.builder("up", "traced").build())
                    .build())
            .register(Flow.builder("f1", "1").initialStep("s").step(Step.builder("s", "ok").build()).build())
            .register(Flow.builder("f2", "1").initialStep("s").step(Step.builder("s", "ok").build()).build())
            .register(Flow.builder("f3", "1").initialStep("s").step(Step.builder("s", "ok").build()).build());

    @BeforeEach
    void emptyTable() throws Exception {
        PG.truncate("executions");
    }

    private Engine engine(ExecutionStore store, FlowMonkeyMetrics metrics) {
        return new Engine(store, handlers, flows, EngineOptions.builder().listener(metrics).build());
    }

    private static double count(MeterRegistry registry, String name, String... tags) {
        return registry.get(name).tags(tags).counter().count();
    }

    private static long timerCount(MeterRegistry registry, String name, String... tags) {
        return registry.get(name).tags(tags).timer().count();
    }

    @Test
    void a_worker_on_postgres_times_steps_and_store_calls_counts_events_and_records_claim_and_wake_lateness()
            throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        FlowMonkeyMetrics metrics = FlowMonkeyMetrics.builder().build();
        metrics.bindTo(registry);
        PgExecutionStore store = new PgExecutionStore(PG.dataSource());
        Engine engine = engine(store, metrics);
        failuresLeft.set(1);
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            ids.add(engine.create("pay", Map.of()).execution().id());
        }
        ids.add(engine.create("napper", Map.of()).execution().id());

        try (EngineWorker worker = EngineWorker.builder(engine).threads(2).pollInterval(Duration.ofMillis(100))
                .build().start()) {
            awaitTrue(Duration.ofSeconds(60), () -> registry.find(FlowMonkeyMetrics.EVENTS)
                    .tags("event", "run.ended").counters().stream().mapToDouble(c -> c.count()).sum() >= 6
                    && ids.stream().allMatch(id -> store.load(id).orElseThrow().status() == ExecutionStatus.COMPLETED));
        }

        assertThat(timerCount(registry, FlowMonkeyMetrics.STEP_DURATION, "flow", "pay", "step", "charge",
                "outcome", "success")).isEqualTo(3);
        assertThat(timerCount(registry, FlowMonkeyMetrics.STEP_DURATION, "flow", "pay", "step", "charge",
                "outcome", "retry")).isEqualTo(1);
        assertThat(timerCount(registry, FlowMonkeyMetrics.STEP_DURATION, "flow", "pay", "step", "receipt",
                "outcome", "success")).isEqualTo(3);
        assertThat(count(registry, FlowMonkeyMetrics.EVENTS, "event", "completed", "flow", "pay")).isEqualTo(3);
        assertThat(count(registry, FlowMonkeyMetrics.EVENTS, "event", "created", "flow", "pay")).isEqualTo(3);
        assertThat(count(registry, FlowMonkeyMetrics.EVENTS, "event", "step.retrying", "flow", "pay")).isEqualTo(1);
        assertThat(count(registry, FlowMonkeyMetrics.EVENTS, "event", "woken", "flow", "napper")).isEqualTo(1);
        assertThat(timerCount(registry, FlowMonkeyMetrics.STORE_OPERATION, "operation", "create", "outcome", "ok"))
                .isEqualTo(4);
        // 3 × (retry wait, charge, receipt) and the napper's two steps; a claim finds each piece of work.
        assertThat(timerCount(registry, FlowMonkeyMetrics.STORE_OPERATION, "operation", "save", "outcome", "ok"))
                .isEqualTo(3 * 2 + 1 + 2);
        assertThat(timerCount(registry, FlowMonkeyMetrics.STORE_OPERATION, "operation", "claim", "outcome", "ok"))
                .isGreaterThanOrEqualTo(2);
        assertThat(timerCount(registry, FlowMonkeyMetrics.CLAIM_LATENESS, "flow", "pay")).isEqualTo(3);
        assertThat(timerCount(registry, FlowMonkeyMetrics.CLAIM_LATENESS, "flow", "napper")).isEqualTo(1);
        // The retry wait of the flaky charge and the napper's wait, each claimed once its wakeAt passed.
        assertThat(timerCount(registry, FlowMonkeyMetrics.WAKE_LATENESS, "flow", "pay")).isEqualTo(1);
        assertThat(timerCount(registry, FlowMonkeyMetrics.WAKE_LATENESS, "flow", "napper")).isEqualTo(1);
        assertThat(registry.get(FlowMonkeyMetrics.WAKE_LATENESS).tags("flow", "napper").timer()
                .totalTime(java.util.concurrent.TimeUnit.SECONDS)).isBetween(0.0, 30.0);
    }

    @Test
    void gauges_count_by_status_and_the_due_backlog_and_ask_the_store_at_most_once_per_refresh() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
        PgExecutionStore store = new PgExecutionStore(PG.dataSource());
        FlowMonkeyMetrics metrics = FlowMonkeyMetrics.builder().store(store).clock(clock)
                .gaugeRefresh(Duration.ofSeconds(10)).build();
        metrics.bindTo(registry);
        Engine engine = engine(store, metrics);
        for (int i = 0; i < 3; i++) {
            engine.create("f1", Map.of());
        }
        engine.run(engine.create("f1", Map.of()).execution().id());
        PG.execute("ANALYZE executions");

        assertThat(registry.get(FlowMonkeyMetrics.DUE).tags("kind", "pending").gauge().value()).isEqualTo(3);
        assertThat(registry.get(FlowMonkeyMetrics.DUE).tags("kind", "woken").gauge().value()).isZero();
        assertThat(registry.get(FlowMonkeyMetrics.EXECUTIONS).tags("status", "pending").gauge().value()).isEqualTo(3);
        assertThat(registry.get(FlowMonkeyMetrics.EXECUTIONS).tags("status", "completed").gauge().value())
                .isEqualTo(1);
        assertThat(registry.get("flowmonkey.table.dead.tuples").gauge().value()).isGreaterThanOrEqualTo(0);

        engine.create("f1", Map.of());
        engine.create("f1", Map.of());
        clock.advance(Duration.ofSeconds(9));
        assertThat(registry.get(FlowMonkeyMetrics.DUE).tags("kind", "pending").gauge().value())
                .as("cached: the store is not asked again within the refresh").isEqualTo(3);
        clock.advance(Duration.ofSeconds(1));
        assertThat(registry.get(FlowMonkeyMetrics.DUE).tags("kind", "pending").gauge().value()).isEqualTo(5);
    }

    @Test
    void health_reports_dead_tuples_and_the_oldest_transaction_that_holds_back_vacuum() throws Exception {
        PgExecutionStore store = new PgExecutionStore(PG.dataSource());
        Engine engine = engine(store, FlowMonkeyMetrics.builder().build());
        for (int i = 0; i < 20; i++) {
            engine.create("f1", Map.of());
        }
        PG.execute("DELETE FROM executions");
        awaitTrue(Duration.ofSeconds(60), () -> store.health().deadTuples() >= 20);

        try (Connection holder = PG.dataSource().getConnection(); Statement st = holder.createStatement()) {
            holder.setAutoCommit(false);
            st.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
            st.execute("SELECT pg_sleep(0.05)");
            // A write after the snapshot was taken ages it by one transaction at least.
            engine.create("f1", Map.of());

            StoreHealth held = store.health();
            assertThat(held.oldestTransactionAge()).isGreaterThanOrEqualTo(Duration.ofMillis(50));
            assertThat(held.oldestXminAge()).isPositive();
            assertThat(held.duePending()).isEqualTo(1);
            holder.rollback();
        }
    }

    @Test
    void each_step_is_an_observation_under_its_runs_and_a_handlers_own_observation_is_under_its_step()
            throws Exception {
        TestObservationRegistry observations = TestObservationRegistry.create();
        handlerObservations = observations;
        FlowMonkeyMetrics metrics = FlowMonkeyMetrics.builder().observationRegistry(observations).build();
        Engine engine = engine(new InMemoryExecutionStore(), metrics);

        String id = engine.create("napper", Map.of()).execution().id();
        engine.run(id);
        awaitTrue(Duration.ofSeconds(30), () -> {
            engine.runWakeReady(10);
            return engine.get(id).orElseThrow().status() == ExecutionStatus.COMPLETED;
        });

        TestObservationRegistryAssert.assertThat(observations)
                .hasNumberOfObservationsWithNameEqualTo(FlowMonkeyMetrics.STEP_OBSERVATION, 2)
                .hasNumberOfObservationsWithNameEqualTo("handler.work", 1)
                .hasObservationWithNameEqualTo(FlowMonkeyMetrics.RUN_OBSERVATION).that().hasBeenStarted()
                .hasBeenStopped().backToTestObservationRegistry()
                .forAllObservationsWithNameEqualTo(FlowMonkeyMetrics.STEP_OBSERVATION, step -> step
                        .hasHighCardinalityKeyValue("execution.id", id)
                        .hasLowCardinalityKeyValue("flow", "napper")
                        .hasLowCardinalityKeyValue("outcome", "success"))
                .forAllObservationsWithNameEqualTo(FlowMonkeyMetrics.RUN_OBSERVATION, run -> run
                        .hasHighCardinalityKeyValue("execution.id", id))
                .hasHandledContextsThatSatisfy(contexts -> {
                    for (Observation.Context c : contexts) {
                        if (c.getName().equals(FlowMonkeyMetrics.STEP_OBSERVATION)) {
                            assertThat(c.getParentObservation().getContextView().getName())
                                    .isEqualTo(FlowMonkeyMetrics.RUN_OBSERVATION);
                        }
                        if (c.getName().equals("handler.work")) {
                            assertThat(c.getParentObservation().getContextView().getName())
                                    .isEqualTo(FlowMonkeyMetrics.STEP_OBSERVATION);
                            assertThat(c.getParentObservation().getContextView().getLowCardinalityKeyValue("step")
                                    .getValue()).isEqualTo("up");
                        }
                    }
                });
        assertThat(observations.getCurrentObservation()).as("every scope closed").isNull();
    }

    @Test
    void a_worker_on_postgres_makes_one_run_observation_per_run_with_its_steps_under_it() throws Exception {
        TestObservationRegistry observations = TestObservationRegistry.create();
        FlowMonkeyMetrics metrics = FlowMonkeyMetrics.builder().observationRegistry(observations).build();
        PgExecutionStore store = new PgExecutionStore(PG.dataSource());
        Engine engine = engine(store, metrics);
        failuresLeft.set(0);
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            ids.add(engine.create("pay", Map.of()).execution().id());
        }

        try (EngineWorker worker = EngineWorker.builder(engine).threads(3).pollInterval(Duration.ofMillis(100))
                .build().start()) {
            awaitTrue(Duration.ofSeconds(60), () -> worker.stats().completed() == 5 && worker.stats().inFlight() == 0);
        }

        TestObservationRegistryAssert.assertThat(observations)
                .hasNumberOfObservationsWithNameEqualTo(FlowMonkeyMetrics.RUN_OBSERVATION, 5)
                .hasNumberOfObservationsWithNameEqualTo(FlowMonkeyMetrics.STEP_OBSERVATION, 10)
                .hasHandledContextsThatSatisfy(contexts -> {
                    for (Observation.Context c : contexts) {
                        if (c.getName().equals(FlowMonkeyMetrics.STEP_OBSERVATION)) {
                            Observation.ContextView run = c.getParentObservation().getContextView();
                            assertThat(run.getName()).isEqualTo(FlowMonkeyMetrics.RUN_OBSERVATION);
                            assertThat(run.getHighCardinalityKeyValue("execution.id").getValue())
                                    .isEqualTo(c.getHighCardinalityKeyValue("execution.id").getValue())
                                    .isIn(ids);
                        }
                    }
                });
    }

    @Test
    void flow_and_step_tags_are_capped_and_later_ones_are_tagged_other() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        FlowMonkeyMetrics metrics = FlowMonkeyMetrics.builder().maxFlowTags(2).maxStepTags(1).build();
        metrics.bindTo(registry);
        Engine engine = engine(new InMemoryExecutionStore(), metrics);

        for (String flow : List.of("f1", "f2", "f3")) {
            engine.run(engine.create(flow, Map.of()).execution().id());
        }

        assertThat(count(registry, FlowMonkeyMetrics.EVENTS, "event", "completed", "flow", "f1")).isEqualTo(1);
        assertThat(count(registry, FlowMonkeyMetrics.EVENTS, "event", "completed", "flow", "f2")).isEqualTo(1);
        assertThat(count(registry, FlowMonkeyMetrics.EVENTS, "event", "completed", "flow", FlowMonkeyMetrics.OTHER))
                .isEqualTo(1);
        assertThat(registry.find(FlowMonkeyMetrics.EVENTS).tags("flow", "f3").counters()).isEmpty();
        assertThat(timerCount(registry, FlowMonkeyMetrics.STEP_DURATION, "flow", "f1", "step", "s")).isEqualTo(1);
        assertThat(timerCount(registry, FlowMonkeyMetrics.STEP_DURATION, "flow", "f2", "step",
                FlowMonkeyMetrics.OTHER)).isEqualTo(1);
        assertThat(registry.find(FlowMonkeyMetrics.STEP_DURATION).timers()).hasSize(3);
    }

    @Test
    void settings_are_checked_when_set_and_every_registry_bound_gets_every_meter() {
        assertThatThrownBy(() -> FlowMonkeyMetrics.builder().gaugeRefresh(Duration.ofMillis(10)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("gaugeRefresh");
        assertThatThrownBy(() -> FlowMonkeyMetrics.builder().maxFlowTags(0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxFlowTags");
        FlowMonkeyMetrics metrics = FlowMonkeyMetrics.builder().build();
        SimpleMeterRegistry first = new SimpleMeterRegistry();
        SimpleMeterRegistry second = new SimpleMeterRegistry();
        metrics.bindTo(first);
        metrics.bindTo(second);
        metrics.bindTo(first);
        Engine engine = engine(new InMemoryExecutionStore(), metrics);

        engine.run(engine.create("f1", Map.of()).execution().id());

        assertThat(count(first, FlowMonkeyMetrics.EVENTS, "event", "completed", "flow", "f1")).isEqualTo(1);
        assertThat(count(second, FlowMonkeyMetrics.EVENTS, "event", "completed", "flow", "f1")).isEqualTo(1);
    }

    // --- The listener's own bookkeeping: meters found by index, tag caps without a lock once full ---

    @Test
    void every_store_operation_and_outcome_is_timed_in_its_own_timer() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        FlowMonkeyMetrics metrics = FlowMonkeyMetrics.builder().build();
        metrics.bindTo(registry);
        int n = 0;
        for (StoreCall.Operation operation : StoreCall.Operation.values()) {
            for (StoreCall.Outcome outcome : StoreCall.Outcome.values()) {
                n++;
                for (int i = 0; i < n; i++) {
                    metrics.onStoreCall(new StoreCall(operation, Duration.ofMillis(n), outcome));
                }
            }
        }

        n = 0;
        for (StoreCall.Operation operation : StoreCall.Operation.values()) {
            for (StoreCall.Outcome outcome : StoreCall.Outcome.values()) {
                n++;
                Timer timer = registry.get(FlowMonkeyMetrics.STORE_OPERATION)
                        .tags("operation", operation.tagValue(), "outcome", outcome.tagValue()).timer();
                assertThat(timer.count()).as("%s %s", operation, outcome).isEqualTo(n);
                assertThat(timer.totalTime(TimeUnit.MILLISECONDS)).as("%s %s", operation, outcome)
                        .isEqualTo((double) n * n);
            }
        }
        assertThat(registry.find(FlowMonkeyMetrics.STORE_OPERATION).timers())
                .hasSize(StoreCall.Operation.values().length * StoreCall.Outcome.values().length);
    }

    @Test
    void each_event_type_counts_under_its_own_flow_and_step_outcomes_are_timed_apart() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        FlowMonkeyMetrics metrics = FlowMonkeyMetrics.builder().build();
        metrics.bindTo(registry);
        Instant at = Instant.parse("2026-01-01T00:00:00Z");
        for (String flow : List.of("f1", "f2")) {
            metrics.onEvent(new EngineEvent.StepSucceeded("e", flow, "1", at, "s", 1, Duration.ofMillis(5)));
            metrics.onEvent(new EngineEvent.StepFailed("e", flow, "1", at, "s", 2, "BOOM", Duration.ofMillis(7)));
            metrics.onEvent(new EngineEvent.StepRetrying("e", flow, "1", at, "s", 1, "AGAIN", Duration.ofMillis(3),
                    at.plusSeconds(1)));
            metrics.onEvent(new EngineEvent.ExecutionCompleted("e", flow, "1", at, Duration.ofSeconds(1)));
        }
        metrics.onEvent(new EngineEvent.ExecutionCompleted("e", "f1", "1", at, Duration.ofSeconds(1)));
        metrics.onEvent(new EngineEvent.ExecutionSetAside("e", null, null, at, "context"));

        assertThat(count(registry, FlowMonkeyMetrics.EVENTS, "event", "completed", "flow", "f1")).isEqualTo(2);
        assertThat(count(registry, FlowMonkeyMetrics.EVENTS, "event", "completed", "flow", "f2")).isEqualTo(1);
        assertThat(count(registry, FlowMonkeyMetrics.EVENTS, "event", "step.failed", "flow", "f2")).isEqualTo(1);
        // An event of an execution whose row could not be read has no flow: it counts as _other.
        assertThat(count(registry, FlowMonkeyMetrics.EVENTS, "event", "set.aside", "flow", FlowMonkeyMetrics.OTHER))
                .isEqualTo(1);
        for (String flow : List.of("f1", "f2")) {
            assertThat(registry.get(FlowMonkeyMetrics.STEP_DURATION).tags("flow", flow, "step", "s", "outcome", "success")
                    .timer().totalTime(TimeUnit.MILLISECONDS)).isEqualTo(5);
            assertThat(registry.get(FlowMonkeyMetrics.STEP_DURATION).tags("flow", flow, "step", "s", "outcome", "failure")
                    .timer().totalTime(TimeUnit.MILLISECONDS)).isEqualTo(7);
            assertThat(registry.get(FlowMonkeyMetrics.STEP_DURATION).tags("flow", flow, "step", "s", "outcome", "retry")
                    .timer().totalTime(TimeUnit.MILLISECONDS)).isEqualTo(3);
        }
        assertThat(registry.find(FlowMonkeyMetrics.EVENTS).counters()).hasSize(9);
        assertThat(registry.find(FlowMonkeyMetrics.STEP_DURATION).timers()).hasSize(6);
    }

    @Test
    void many_threads_telling_at_once_lose_no_count_and_register_each_meter_once() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        FlowMonkeyMetrics metrics = FlowMonkeyMetrics.builder().maxFlowTags(2).maxStepTags(3).build();
        metrics.bindTo(registry);
        List<String> flowIds = List.of("f1", "f2", "f3", "f4");
        List<String> stepIds = List.of("a", "b");
        int threads = 8;
        int rounds = 2_000;
        Instant at = Instant.parse("2026-01-01T00:00:00Z");
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> tellers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int offset = t;
            Thread teller = new Thread(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                for (int i = 0; i < rounds; i++) {
                    // Each thread starts at another flow, so that they race for the caps' first places.
                    String flow = flowIds.get((i + offset) % flowIds.size());
                    String step = stepIds.get(i % stepIds.size());
                    metrics.onEvent(new EngineEvent.StepSucceeded("e", flow, "1", at, step, 1, Duration.ofMillis(1)));
                    metrics.onEvent(new EngineEvent.ExecutionClaimed("e", flow, "1", at, "w", ExecutionStatus.PENDING,
                            at.minusMillis(2)));
                    metrics.onStoreCall(new StoreCall(StoreCall.Operation.SAVE, Duration.ofMillis(1),
                            StoreCall.Outcome.OK));
                }
            });
            tellers.add(teller);
            teller.start();
        }

        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            go.countDown();
            for (Thread teller : tellers) {
                teller.join();
            }
        });

        long told = (long) threads * rounds;
        Collection<Counter> succeeded = registry.find(FlowMonkeyMetrics.EVENTS).tags("event", "step.succeeded").counters();
        // Two flows keep their names, the other two are counted as _other: three counters, one each.
        assertThat(succeeded).extracting(c -> c.getId().getTag("flow")).hasSize(3).doesNotHaveDuplicates()
                .contains(FlowMonkeyMetrics.OTHER);
        assertThat(succeeded.stream().mapToDouble(Counter::count).sum()).isEqualTo((double) told);
        assertThat(count(registry, FlowMonkeyMetrics.EVENTS, "event", "step.succeeded", "flow", FlowMonkeyMetrics.OTHER))
                .isEqualTo(told / 2.0);
        Collection<Timer> steps = registry.find(FlowMonkeyMetrics.STEP_DURATION).timers();
        assertThat(steps.stream().mapToLong(Timer::count).sum()).isEqualTo(told);
        // Three (flow, step) pairs keep their step's name; the rest of each flow's steps are _other.
        assertThat(steps).filteredOn(timer -> !FlowMonkeyMetrics.OTHER.equals(timer.getId().getTag("step")))
                .hasSize(3);
        assertThat(steps).extracting(timer -> timer.getId().getTag("flow") + "/" + timer.getId().getTag("step"))
                .doesNotHaveDuplicates();
        assertThat(registry.find(FlowMonkeyMetrics.CLAIM_LATENESS).timers().stream().mapToLong(Timer::count).sum())
                .isEqualTo(told);
        assertThat(timerCount(registry, FlowMonkeyMetrics.STORE_OPERATION, "operation", "save", "outcome", "ok"))
                .isEqualTo(told);
    }
}
