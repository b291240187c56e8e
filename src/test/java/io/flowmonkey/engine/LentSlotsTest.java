package io.flowmonkey.engine;

import static io.flowmonkey.testing.Await.awaitTrue;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.flowmonkey.execution.Cancellation;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.postgres.PgExecutionStore;
import io.flowmonkey.testing.PostgresExtension;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A runner whose execution's last save of the run is being written lends its slot to the next claimed
 * execution, on real PostgreSQL: the next one starts before that save commits, yet no more steps than
 * runners ever run at once, and a runner that must run a step after all takes a slot back first.
 */
class LentSlotsTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    private static final AtomicInteger IDS = new AtomicInteger();

    /** Handlers running now, and the most ever at once. */
    private final AtomicInteger running = new AtomicInteger();
    private final AtomicInteger mostAtOnce = new AtomicInteger();
    private final Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();

    @BeforeEach
    void emptyTable() throws SQLException {
        PG.truncate("executions");
    }

    @AfterEach
    void dropSlowEnd() throws SQLException {
        PG.execute("DROP TRIGGER IF EXISTS slow_end ON executions");
        PG.execute("DROP FUNCTION IF EXISTS slow_end()");
    }

    /** A handler that counts its calls and how many handlers run at once, then does {@code then}. */
    private StepHandler counted(StepHandler then) {
        return ctx -> {
            calls.computeIfAbsent(ctx.executionId() + "/" + ctx.stepId(), k -> new AtomicInteger()).incrementAndGet();
            mostAtOnce.accumulateAndGet(running.incrementAndGet(), Math::max);
            try {
                return then.execute(ctx);
            } finally {
                running.decrementAndGet();
            }
        };
    }

    private static List<String> enqueue(PgExecutionStore store, String flowId, int n) {
        List<Execution> pending = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            pending.add(Execution.builder("lent-" + IDS.incrementAndGet(), flowId, "1").build());
        }
        return store.saveAll(pending).stream().map(Execution::id).toList();
    }


    /** A flow of one step of {@code handlerType}. */
    private static InMemoryFlowRegistry oneStep(String flowId, String handlerType) {
        return new InMemoryFlowRegistry().register(Flow.builder(flowId, "1").initialStep("s")
                .step(Step.builder("s", handlerType).outputKey("out").build()).build());
    }

    /** Runs a worker of one runner until {@code n} executions are {@code status} and none is in flight. */
    private static WorkerStats drainOnOneRunner(Engine engine, String workerId, String status, long n)
            throws InterruptedException {
        try (EngineWorker w = EngineWorker.builder(engine).workerId(workerId).threads(1).claimAhead(4)
                .pollInterval(Duration.ofMillis(100)).build().start()) {
            awaitTrue(Duration.ofSeconds(90), () -> PG.countExecutions("status = '" + status + "'") == n && w.stats().inFlight() == 0);
            return w.stats();
        }
    }

    @Test
    void executions_start_while_the_last_saves_of_others_commit_but_no_more_steps_than_runners_run_at_once()
            throws SQLException {
        // Every save that completes an execution takes 300 ms per row to commit.
        PG.execute("CREATE FUNCTION slow_end() RETURNS trigger LANGUAGE plpgsql AS "
                + "$$ BEGIN PERFORM pg_sleep(0.3); RETURN NULL; END $$");
        PG.execute("CREATE TRIGGER slow_end AFTER UPDATE ON executions FOR EACH ROW "
                + "WHEN (NEW.status = 'completed' AND OLD.status <> 'completed') EXECUTE FUNCTION slow_end()");
        assertTimeoutPreemptively(Duration.ofMinutes(2), () -> {
            PgExecutionStore store = new PgExecutionStore(PG.dataSource());
            AtomicReference<EngineWorker> worker = new AtomicReference<>();
            // How many executions had started their step and not yet ended, as each step started.
            AtomicInteger mostStartedNotEnded = new AtomicInteger();
            AtomicInteger started = new AtomicInteger();
            HandlerRegistry handlers = new HandlerRegistry().register("one", counted(ctx -> {
                // Counted as started first, so that an execution ending meanwhile cannot inflate the gap.
                int startedSoFar = started.incrementAndGet();
                long ended = worker.get().stats().completed();
                mostStartedNotEnded.accumulateAndGet((int) (startedSoFar - ended), Math::max);
                Thread.sleep(20); // long enough for a third step beside two to be seen
                return StepResult.success("done");
            }));
            InMemoryFlowRegistry flows = oneStep("one-step", "one");
            List<String> ids = enqueue(store, "one-step", 12);
            Engine engine = new Engine(store, handlers, flows);
            try (EngineWorker w = EngineWorker.builder(engine).workerId("lending").threads(2).claimAhead(4)
                    .pollInterval(Duration.ofMillis(100)).build()) {
                worker.set(w);
                w.start();
                awaitTrue(Duration.ofSeconds(90), () -> PG.countExecutions("status = 'completed'") == 12 && w.stats().inFlight() == 0);
                assertThat(w.stats().completed()).isEqualTo(12);
                assertThat(w.stats().errors()).isZero();
            }

            for (String id : ids) {
                assertThat(calls.get(id + "/s")).as("calls of %s", id).hasValue(1);
            }
            assertThat(mostAtOnce).as("steps at once, on 2 runners").hasValueLessThanOrEqualTo(2);
            // More than the 2 runners: slots were lent while last saves committed (4 runner threads at most).
            assertThat(mostStartedNotEnded).as("executions started and not ended").hasValueGreaterThanOrEqualTo(3);
            assertThat(PG.countExecutions("lease_owner IS NOT NULL")).as("nothing left claimed").isZero();
        });
    }

    @Test
    void a_save_a_step_makes_through_its_engine_does_not_lend_the_slot_of_the_step() {
        assertTimeoutPreemptively(Duration.ofMinutes(2), () -> {
            PgExecutionStore store = new PgExecutionStore(PG.dataSource());
            // Each step cancels an execution scheduled for later (a save that ends it, on the runner's
            // thread), then goes on for a while: its slot must stay its own meanwhile.
            HandlerRegistry handlers = new HandlerRegistry().register("canceller", counted(ctx -> {
                ctx.engine().cancel("victim-of-" + ctx.executionId(), Cancellation.Source.USER,
                        "not wanted");
                Thread.sleep(20);
                return StepResult.success("cancelled");
            })).register("never", ctx -> StepResult.success("ran"));
            InMemoryFlowRegistry flows = oneStep("canceller", "canceller")
                    .register(Flow.builder("later", "1").initialStep("s")
                            .step(Step.builder("s", "never").outputKey("out").build()).build());
            Engine engine = new Engine(store, handlers, flows);
            List<String> ids = enqueue(store, "canceller", 20);
            for (String id : ids) {
                engine.create("later", Map.of(), CreateOptions.builder().executionId("victim-of-" + id)
                        .startAt(Instant.now().plus(Duration.ofHours(1))).build());
            }
            assertThat(drainOnOneRunner(engine, "nested", "completed", 20).errors()).isZero();

            assertThat(PG.countExecutions("status = 'cancelled'")).isEqualTo(20);
            assertThat(mostAtOnce).as("steps at once, on 1 runner").hasValue(1);
        });
    }

    @Test
    void a_step_that_cancels_its_own_execution_keeps_its_slot_until_it_returns() {
        assertTimeoutPreemptively(Duration.ofMinutes(2), () -> {
            PgExecutionStore store = new PgExecutionStore(PG.dataSource());
            // The cancel ends the execution with a save of its own id on the runner's thread while the step
            // still runs; the step's result is then refused (the execution is cancelled).
            HandlerRegistry handlers = new HandlerRegistry().register("self", counted(ctx -> {
                ctx.engine().cancel(ctx.executionId(), Cancellation.Source.USER, "not wanted");
                Thread.sleep(20);
                return StepResult.success("too late");
            }));
            List<String> ids = enqueue(store, "self-cancel", 20);
            drainOnOneRunner(new Engine(store, handlers, oneStep("self-cancel", "self")), "self", "cancelled", 20);

            for (String id : ids) {
                assertThat(calls.get(id + "/s")).as("calls of %s", id).hasValue(1);
            }
            assertThat(mostAtOnce).as("steps at once, on 1 runner").hasValue(1);
        });
    }

    @Test
    void a_runner_whose_lent_last_save_is_refused_takes_a_slot_back_before_the_failure_step_runs() {
        assertTimeoutPreemptively(Duration.ofMinutes(2), () -> {
            PgExecutionStore store = new PgExecutionStore(PG.dataSource());
            // The first step's output cannot be stored: its completing save is refused, and its failure
            // goes on to step "recover" on the same runner, while the next execution's first step, which
            // takes a while, holds the slot lent for that save.
            HandlerRegistry handlers = new HandlerRegistry()
                    .register("unstorable", counted(ctx -> {
                        Thread.sleep(20); // long enough for the refused save and its failure step to overlap it
                        return StepResult.success("a\u0000b");
                    }))
                    .register("recover", counted(ctx -> StepResult.success("recovered")));
            InMemoryFlowRegistry flows = new InMemoryFlowRegistry().register(Flow.builder("refused", "1")
                    .initialStep("s")
                    .step(Step.builder("s", "unstorable").outputKey("out").onFailure("recover").build())
                    .step(Step.builder("recover", "recover").outputKey("recovered").build())
                    .build());
            List<String> ids = enqueue(store, "refused", 40);
            Engine engine = new Engine(store, handlers, flows);
            assertThat(drainOnOneRunner(engine, "refused", "completed", 40).errors()).isZero();

            for (String id : ids) {
                assertThat(calls.get(id + "/s")).as("first step of %s", id).hasValue(1);
                assertThat(calls.get(id + "/recover")).as("failure step of %s", id).hasValue(1);
                Execution ended = store.load(id).orElseThrow();
                assertThat(ended.status()).isEqualTo(ExecutionStatus.COMPLETED);
                assertThat(ended.context()).containsEntry("recovered", "recovered").doesNotContainKey("out");
            }
            assertThat(mostAtOnce).as("steps at once, on 1 runner").hasValue(1);
        });
    }
}
