package io.flowmonkey.engine;

import static io.flowmonkey.testing.Await.awaitTrue;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.flowmonkey.execution.Cancellation;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.ExecutionStore;
import io.flowmonkey.execution.StepHistory;
import io.flowmonkey.memory.InMemoryExecutionStore;
import io.flowmonkey.postgres.PgExecutionStore;
import io.flowmonkey.testing.PostgresExtension;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@link EngineListener}: which events a run, a worker and the operations tell, in which order. */
class EngineListenerTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    /** Every event and store call, in the order told. */
    static final class Recorder implements EngineListener {
        final List<EngineEvent> events = new CopyOnWriteArrayList<>();
        final List<StoreCall> storeCalls = new CopyOnWriteArrayList<>();

        @Override
        public void onEvent(EngineEvent event) {
            events.add(event);
        }

        @Override
        public void onStoreCall(StoreCall call) {
            storeCalls.add(call);
        }

        /** The events of one execution, each in a few words. */
        List<String> of(String executionId) {
            return events.stream().filter(e -> e.executionId().equals(executionId)).map(Recorder::describe).toList();
        }

        List<EngineEvent> all(String executionId) {
            return events.stream().filter(e -> e.executionId().equals(executionId)).toList();
        }

        static String describe(EngineEvent e) {
            String type = e.type().tagValue();
            if (e instanceof EngineEvent.StepStarted s) {
                return type + " " + s.stepId() + "#" + s.attempt();
            } else if (e instanceof EngineEvent.StepSucceeded s) {
                return type + " " + s.stepId() + "#" + s.attempt();
            } else if (e instanceof EngineEvent.StepFailed s) {
                return type + " " + s.stepId() + "#" + s.attempt() + " " + s.errorCode();
            } else if (e instanceof EngineEvent.StepRetrying s) {
                return type + " " + s.stepId() + "#" + s.attempt() + " " + s.errorCode();
            } else if (e instanceof EngineEvent.ExecutionWoken w) {
                return type + " " + w.stepId() + " " + w.cause();
            } else if (e instanceof EngineEvent.ExecutionWaiting w) {
                return type + " " + w.stepId() + (w.signalName() != null ? " for " + w.signalName() : "");
            } else if (e instanceof EngineEvent.ExecutionClaimed c) {
                return type + " " + c.status().wireName();
            } else if (e instanceof EngineEvent.ExecutionFailed f) {
                return type + " " + f.stepId() + " " + f.errorCode();
            } else if (e instanceof EngineEvent.ExecutionCancelled c) {
                return type + " " + c.source();
            } else if (e instanceof EngineEvent.RunEnded r) {
                return type + " " + r.status().wireName() + (r.thrown() != null ? " " + r.thrown() : "");
            } else if (e instanceof EngineEvent.SignalSent s) {
                return type + " " + s.signalName();
            } else if (e instanceof EngineEvent.ExecutionRetried r) {
                return type + " " + r.stepId();
            } else if (e instanceof EngineEvent.LeaseLost l) {
                return type + " to " + l.takenBy();
            } else if (e instanceof EngineEvent.ExecutionSetAside s) {
                return type + " " + s.column();
            }
            return type;
        }
    }

    private final MutableClock clock = new MutableClock();
    private final AtomicInteger declines = new AtomicInteger();
    private final HandlerRegistry handlers = new HandlerRegistry()
            .register("charge", ctx -> declines.getAndDecrement() > 0
                    ? StepResult.failure("DECLINED", "card declined") : StepResult.success("charged"))
            .register("sleep", ctx -> StepResult.waitFor(Duration.ofHours(1), "cool off"))
            .register("ok", ctx -> StepResult.success(ctx.stepId()))
            .register("ask", ctx -> StepResult.awaitSignal("approval", "needs approval"))
            .register("decide", ctx -> declines.getAndDecrement() > 0
                    ? StepResult.failure("REJECTED", "rejected").nonRetryable() : StepResult.success("approved"));
    private final InMemoryFlowRegistry flows = new InMemoryFlowRegistry()
            .register(Flow.builder("order", "1").initialStep("charge")
                    .step(Step.builder("charge", "charge").onSuccess("sleep")
                            .retry(RetryPolicy.builder().maxAttempts(3).backoff(Duration.ofMinutes(1)).build()).build())
                    .step(Step.builder("sleep", "sleep").onResume("ship").build())
                    .step(Step.builder("ship", "ok").build())
                    .build())
            .register(Flow.builder("approval", "2").initialStep("ask")
                    .step(Step.builder("ask", "ask").onResume("decide").build())
                    .step(Step.builder("decide", "decide").build())
                    .build())
            .register(Flow.builder("quick", "1").initialStep("only")
                    .step(Step.builder("only", "ok").build())
                    .build())
            .register(Flow.builder("instant-retry", "1").initialStep("charge")
                    .step(Step.builder("charge", "charge").onSuccess("ship")
                            .retry(RetryPolicy.builder().maxAttempts(3).backoff(Duration.ZERO).build()).build())
                    .step(Step.builder("ship", "ok").build())
                    .build());

    private Engine engine(ExecutionStore store, EngineListener... listeners) {
        EngineOptions.Builder options = EngineOptions.builder().clock(clock);
        for (EngineListener listener : listeners) {
            options.listener(listener);
        }
        return new Engine(store, handlers, flows, options.build());
    }

    @BeforeEach
    void emptyTable() throws Exception {
        PG.truncate("executions");
    }

    @Test
    void a_run_with_a_retry_and_a_timed_wait_tells_exactly_these_events_in_order() {
        Recorder recorder = new Recorder();
        Engine engine = engine(new InMemoryExecutionStore(clock), recorder);
        declines.set(1);

        String id = engine.create("order", Map.of()).execution().id();
        engine.run(id);
        clock.advance(Duration.ofMinutes(2));
        engine.runWakeReady(10);
        clock.advance(Duration.ofHours(2));
        engine.runWakeReady(10);

        assertThat(recorder.of(id)).containsExactly(
                "created",
                "run.started", "step.started charge#1", "step.retrying charge#1 DECLINED", "run.ended waiting",
                "run.started", "woken charge RETRY", "step.started charge#2", "step.succeeded charge#2",
                "step.started sleep#1", "step.succeeded sleep#1", "waiting sleep", "run.ended waiting",
                "run.started", "woken sleep TIMER", "step.started ship#1", "step.succeeded ship#1", "completed",
                "run.ended completed");
        List<EngineEvent> events = recorder.all(id);
        assertThat(events).allSatisfy(e -> {
            assertThat(e.flowId()).isEqualTo("order");
            assertThat(e.flowVersion()).isEqualTo("1");
        });
        Execution created = engine.get(id).orElseThrow();
        assertThat(events.get(3)).isInstanceOfSatisfying(EngineEvent.StepRetrying.class,
                r -> assertThat(r.retryAt()).isEqualTo(created.createdAt().plus(Duration.ofMinutes(1))));
        assertThat(events.get(14)).isInstanceOfSatisfying(EngineEvent.ExecutionWoken.class,
                w -> assertThat(w.wakeAt()).isEqualTo(created.createdAt().plus(Duration.ofMinutes(2)).plusSeconds(3600)));
        assertThat(events.get(17)).isInstanceOfSatisfying(EngineEvent.ExecutionCompleted.class,
                c -> assertThat(c.duration()).isEqualTo(Duration.ofMinutes(122)));
        assertThat(recorder.storeCalls).extracting(StoreCall::operation).contains(StoreCall.Operation.CREATE,
                StoreCall.Operation.LOAD, StoreCall.Operation.SAVE);
        assertThat(recorder.storeCalls).extracting(StoreCall::outcome).containsOnly(StoreCall.Outcome.OK);
    }

    @Test
    void signal_failure_retry_and_cancel_tell_their_events() {
        Recorder recorder = new Recorder();
        Engine engine = engine(new InMemoryExecutionStore(clock), recorder);
        declines.set(1);

        String id = engine.create("approval", Map.of()).execution().id();
        engine.run(id);
        engine.signal(id, "approval", Map.of("by", "ann"));
        engine.run(id);
        engine.retry(id);
        String cancelled = engine.create("approval", Map.of()).execution().id();
        engine.run(cancelled);
        engine.cancel(cancelled, Cancellation.Source.ADMIN, "not needed");

        assertThat(recorder.of(id)).containsExactly(
                "created",
                "run.started", "step.started ask#1", "step.succeeded ask#1", "waiting ask for approval",
                "run.ended waiting",
                "signalled approval",
                "run.started", "woken ask SIGNAL", "step.started decide#1", "step.failed decide#1 REJECTED",
                "failed decide REJECTED", "run.ended failed",
                "retried decide",
                "run.started", "step.started decide#1", "step.succeeded decide#1", "completed", "run.ended completed");
        assertThat(recorder.of(cancelled)).containsExactly("created", "run.started", "step.started ask#1",
                "step.succeeded ask#1", "waiting ask for approval", "run.ended waiting", "cancelled ADMIN");
    }

    @Test
    void a_resume_tells_a_wake_by_resume() {
        Recorder recorder = new Recorder();
        Engine engine = engine(new InMemoryExecutionStore(clock), recorder);
        declines.set(0);

        String id = engine.create("approval", Map.of()).execution().id();
        engine.run(id);
        engine.resume(id, Map.of("by", "admin"));

        assertThat(recorder.of(id)).containsSubsequence("waiting ask for approval", "run.ended waiting",
                "run.started", "woken ask RESUME", "step.started decide#1", "step.succeeded decide#1", "completed",
                "run.ended completed");
        assertThat(recorder.of(id)).filteredOn(e -> e.startsWith("woken")).containsExactly("woken ask RESUME");
    }

    @Test
    void a_listener_that_throws_on_every_event_and_store_call_changes_nothing_the_engine_does_or_stores() {
        AtomicInteger thrown = new AtomicInteger();
        EngineListener hostile = new EngineListener() {
            @Override
            public void onEvent(EngineEvent event) {
                thrown.incrementAndGet();
                throw new IllegalStateException("listener bug on " + event.type());
            }

            @Override
            public void onStoreCall(StoreCall call) {
                thrown.incrementAndGet();
                throw new AssertionError("listener error on " + call.operation());
            }
        };
        Recorder after = new Recorder();
        InMemoryExecutionStore store = new InMemoryExecutionStore(clock);
        Engine engine = engine(store, hostile, EngineListener.logging(), after);
        declines.set(2);

        String id = engine.create("instant-retry", Map.of()).execution().id();
        Execution done = engine.run(id).execution();

        assertThat(done.status()).isEqualTo(ExecutionStatus.COMPLETED);
        assertThat(done.history()).extracting(StepHistory::stepId, StepHistory::outcome).containsExactly(
                org.assertj.core.groups.Tuple.tuple("charge", "failure"),
                org.assertj.core.groups.Tuple.tuple("charge", "failure"),
                org.assertj.core.groups.Tuple.tuple("charge", "success"),
                org.assertj.core.groups.Tuple.tuple("ship", "success"));
        assertThat(store.load(id).orElseThrow().version()).isEqualTo(done.version());
        assertThat(after.of(id)).as("the listener after the hostile one is told everything").containsExactly(
                "created", "run.started",
                "step.started charge#1", "step.retrying charge#1 DECLINED", "woken charge RETRY",
                "step.started charge#2", "step.retrying charge#2 DECLINED", "woken charge RETRY",
                "step.started charge#3", "step.succeeded charge#3",
                "step.started ship#1", "step.succeeded ship#1", "completed", "run.ended completed");
        assertThat(thrown.get()).isEqualTo(after.events.size() + after.storeCalls.size());
    }

    @Test
    void options_keep_listeners_in_order_refuse_null_and_to_builder_copies_every_setting() {
        EngineListener first = event -> { };
        EngineListener second = EngineListener.logging();
        EngineOptions options = EngineOptions.builder().clock(clock).maxSteps(7).recordHistory(false)
                .idempotencyTtl(Duration.ofMinutes(3)).executionTimeout(Duration.ofHours(1))
                .waitTimeout(Duration.ofMinutes(9)).awaitPollInterval(Duration.ofMillis(20))
                .stepTimeout(Duration.ofSeconds(4)).listener(first).listener(second).build();

        EngineOptions copy = options.toBuilder().listener(first).build();

        assertThat(options.listeners()).containsExactly(first, second);
        assertThat(copy.listeners()).containsExactly(first, second, first);
        assertThat(copy.toString()).isEqualTo(options.toString().replace("listeners=2", "listeners=3"));
        assertThat(copy.objectMapper()).isSameAs(options.objectMapper());
        assertThat(EngineOptions.DEFAULTS.listeners()).isEmpty();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> EngineOptions.builder().listener(null))
                .isInstanceOf(NullPointerException.class).hasMessageContaining("listener");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> options.listeners().add(first))
                .isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void a_worker_tells_claims_wakes_and_the_run_events_of_each_execution_on_postgres() throws Exception {
        Recorder recorder = new Recorder();
        PgExecutionStore store = new PgExecutionStore(PG.dataSource());
        WorkerFlows workerFlows = new WorkerFlows();
        Engine engine = workerFlows.engine(store, ctx -> StepResult.success("b"), Duration.ofMillis(1),
                EngineOptions.builder().listener(recorder).build());
        // Created before the worker starts, so that every claim comes after its create.
        String quick = engine.create(WorkerFlows.THREE_STEPS, Map.of()).execution().id();
        String waits = engine.create(WorkerFlows.TIMED_WAIT, Map.of()).execution().id();

        try (EngineWorker worker = EngineWorker.builder(engine).workerId("events-worker").threads(2)
                .pollInterval(Duration.ofMillis(100)).build().start()) {
            awaitTrue(Duration.ofSeconds(60), () -> recorder.of(quick).contains("run.ended completed")
                    && recorder.of(waits).contains("run.ended completed"));
        }

        assertThat(recorder.of(quick)).containsExactly("created", "claimed pending", "run.started",
                "step.started a#1", "step.succeeded a#1", "step.started b#1", "step.succeeded b#1",
                "step.started c#1", "step.succeeded c#1", "completed", "run.ended completed");
        assertThat(recorder.of(waits)).containsExactly("created", "claimed pending", "run.started",
                "step.started sleep#1", "step.succeeded sleep#1", "waiting sleep", "run.ended waiting",
                "claimed waiting", "run.started", "woken sleep TIMER", "step.started done#1", "step.succeeded done#1",
                "completed", "run.ended completed");
        Execution created = store.load(quick).orElseThrow();
        assertThat(recorder.all(quick).get(1)).isInstanceOfSatisfying(EngineEvent.ExecutionClaimed.class, c -> {
            assertThat(c.workerId()).isEqualTo("events-worker");
            // Due since its create's save: stamped by the store's clock, at or just after createdAt.
            assertThat(c.dueAt()).isBetween(created.createdAt(), c.at());
        });
        Execution slept = store.load(waits).orElseThrow();
        EngineEvent.ExecutionWaiting waiting = (EngineEvent.ExecutionWaiting) recorder.all(waits).get(5);
        assertThat(recorder.all(waits).get(7)).isInstanceOfSatisfying(EngineEvent.ExecutionClaimed.class,
                c -> assertThat(c.dueAt()).isEqualTo(waiting.wakeAt()).isNotNull());
        assertThat(slept.status()).isEqualTo(ExecutionStatus.COMPLETED);
        assertThat(recorder.storeCalls).extracting(StoreCall::operation).contains(StoreCall.Operation.CREATE,
                StoreCall.Operation.CLAIM, StoreCall.Operation.SAVE);
    }

    @Test
    void a_worker_tells_a_lost_lease_and_a_row_it_set_aside() throws Exception {
        Recorder recorder = new Recorder();
        PgExecutionStore store = new PgExecutionStore(PG.dataSource());
        String[] stolen = new String[1];
        WorkerFlows workerFlows = new WorkerFlows();
        Engine engine = workerFlows.engine(store, ctx -> {
            // As if this worker had paused past its lease and another had claimed the execution.
            PG.execute("UPDATE executions SET lease_owner = 'ghost', version = version + 1 WHERE id = '"
                    + ctx.executionId() + "'");
            stolen[0] = ctx.executionId();
            return StepResult.success("b");
        }, Duration.ofMillis(1), EngineOptions.builder().listener(recorder).build());
        String lost = engine.create(WorkerFlows.THREE_STEPS, Map.of()).execution().id();
        EngineWorker worker = EngineWorker.builder(engine).workerId("loser").threads(1).build();

        WorkerStats pass = assertTimeoutPreemptively(Duration.ofSeconds(60), worker::runOnce);

        assertThat(pass.leaseLost()).isEqualTo(1);
        assertThat(stolen[0]).isEqualTo(lost);
        assertThat(recorder.of(lost)).containsExactly("created", "claimed pending", "run.started", "step.started a#1",
                "step.succeeded a#1", "step.started b#1",
                "run.ended pending io.flowmonkey.execution.ConcurrentUpdateException", "lease.lost to ghost");
        assertThat(recorder.all(lost).get(7)).isInstanceOfSatisfying(EngineEvent.LeaseLost.class, l -> {
            assertThat(l.workerId()).isEqualTo("loser");
            assertThat(l.flowId()).isEqualTo(WorkerFlows.THREE_STEPS);
        });

        PG.truncate("executions");
        String corrupt = engine.create(WorkerFlows.THREE_STEPS, Map.of()).execution().id();
        PG.execute("UPDATE executions SET context = '\"not an object\"' WHERE id = '" + corrupt + "'");

        assertThat(assertTimeoutPreemptively(Duration.ofSeconds(60), worker::runOnce).setAside()).isEqualTo(1);
        assertThat(recorder.of(corrupt)).containsExactly("created", "set.aside context");
    }
}
