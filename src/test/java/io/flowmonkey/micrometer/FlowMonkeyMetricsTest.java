package io.flowmonkey.micrometer;

import static io.flowmonkey.testing.Await.awaitTrue;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flowmonkey.engine.Engine;
import io.flowmonkey.engine.EngineOptions;
import io.flowmonkey.engine.EngineWorker;
import io.flowmonkey.engine.Flow;
import io.flowmonkey.engine.HandlerRegistry;
import io.flowmonkey.engine.InMemoryFlowRegistry;
import io.flowmonkey.engine.MutableClock;
import io.flowmonkey.engine.RetryPolicy;
import io.flowmonkey.engine.Step;
import io.flowmonkey.engine.StepResult;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.ExecutionStore;
import io.flowmonkey.memory.InMemoryExecutionStore;
import io.flowmonkey.postgres.PgExecutionStore;
import io.flowmonkey.postgres.StoreHealth;
import io.flowmonkey.testing.PostgresExtension;
import io.micrometer.core.instrument.MeterRegistry;
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
import java.util.List;
import java.util.Map;
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
}
