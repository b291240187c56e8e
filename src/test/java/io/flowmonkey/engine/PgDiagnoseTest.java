package io.flowmonkey.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flowmonkey.engine.Diagnosis.Kind;
import io.flowmonkey.execution.Cancellation;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionNotFoundException;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.LeasingExecutionStore.FlowVersion;
import io.flowmonkey.execution.WorkerHeartbeat;
import io.flowmonkey.memory.InMemoryExecutionStore;
import io.flowmonkey.postgres.PgExecutionStore;
import io.flowmonkey.postgres.PgStoreOptions;
import io.flowmonkey.testing.PostgresExtension;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@link Engine#diagnose(String)} on PostgreSQL, one test per sentence it can say. */
class PgDiagnoseTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    private final MutableClock clock = new MutableClock();
    private PgExecutionStore store;
    private Engine engine;
    private final HandlerRegistry handlers = new HandlerRegistry();
    private final InMemoryFlowRegistry flows = new InMemoryFlowRegistry();

    @BeforeEach
    void engineOnAnEmptyTable() throws SQLException {
        PG.truncate("executions", "executions_workers");
        store = new PgExecutionStore(PG.dataSource(), PgStoreOptions.builder().clock(clock).build());
        handlers.register("ok", ctx -> StepResult.success("ok"))
                .register("decline", ctx -> StepResult.failure("CARD_DECLINED", "declined by the test bank"))
                .register("sleep", ctx -> StepResult.waitFor(Duration.ofSeconds(42), "cooling off"))
                .register("approval", ctx -> StepResult.awaitSignal("approval", "needs a manager"))
                .register("hold", ctx -> StepResult.waitForSignal("held by hand"))
                .register("spawn", ctx -> StepResult.startChildren(List.of(ChildSpec.of("held", Map.of()),
                        ChildSpec.of("held", Map.of()))));
        flows.register(Flow.builder("order-flow", "2").initialStep("ship")
                        .step(Step.builder("ship", "ok").build()).build())
                .register(Flow.builder("declined", "1").initialStep("pay")
                        .step(Step.builder("pay", "decline").build()).build())
                .register(Flow.builder("retried", "1").initialStep("pay")
                        .step(Step.builder("pay", "decline").retry(RetryPolicy.builder().maxAttempts(5)
                                .backoff(Duration.ofSeconds(8)).multiplier(1).build()).build()).build())
                .register(Flow.builder("sleepy", "1").initialStep("sleep")
                        .step(Step.builder("sleep", "sleep").onResume("ship").build())
                        .step(Step.builder("ship", "ok").build()).build())
                .register(Flow.builder("approve", "1").initialStep("ask")
                        .step(Step.builder("ask", "approval").onResume("ship").build())
                        .step(Step.builder("ship", "ok").build()).build())
                .register(Flow.builder("held", "1").initialStep("hold")
                        .step(Step.builder("hold", "hold").build()).build())
                .register(Flow.builder("parent", "1").initialStep("spawn")
                        .step(Step.builder("spawn", "spawn").onResume("ship").build())
                        .step(Step.builder("ship", "ok").build()).build());
        engine = new Engine(store, handlers, flows, EngineOptions.builder().clock(clock).build());
    }

    /** A live worker, as its heartbeat row says, serving the given flow versions. */
    private void liveWorker(String id, FlowVersion... serves) {
        store.heartbeat(new WorkerHeartbeat(id, "test-host", 1, List.of(serves), 2, 0, clock.instant(), null,
                Duration.ofMinutes(5), List.of()));
    }

    private String created(String flowId) {
        return engine.create(flowId, Map.of()).execution().id();
    }

    @Test
    void a_pending_execution_a_live_worker_serves_is_due_now_for_as_long_as_it_was_saved_ago() {
        liveWorker("orders-1", new FlowVersion("order-flow", "2"));
        String id = created("order-flow");
        clock.advance(Duration.ofSeconds(12));

        Diagnosis d = engine.diagnose(id);

        assertThat(d.kind()).isEqualTo(Kind.DUE);
        assertThat(d.status()).isEqualTo(ExecutionStatus.PENDING);
        assertThat(d.sentence()).isEqualTo("due now, no worker has claimed it for 12 s");
    }

    @Test
    void a_pending_execution_no_live_worker_serves_says_so_naming_the_flow_version() {
        liveWorker("other-1", new FlowVersion("order-flow", "1"));
        String id = created("order-flow");
        clock.advance(Duration.ofSeconds(3));

        Diagnosis d = engine.diagnose(id);

        assertThat(d.kind()).isEqualTo(Kind.NO_LIVE_WORKER);
        assertThat(d.sentence()).isEqualTo("no live worker serves order-flow@2 (1 live worker serves other flows) "
                + "(due for 3 s)");
    }

    @Test
    void a_worker_whose_heartbeat_expired_does_not_count_as_serving() throws Exception {
        store.heartbeat(new WorkerHeartbeat("gone-1", "test-host", 1, List.of(new FlowVersion("order-flow", "2")), 2,
                0, clock.instant(), null, Duration.ofMillis(1), List.of()));
        String id = created("order-flow");
        io.flowmonkey.testing.Await.awaitTrue(Duration.ofSeconds(10), () -> store.workers().isEmpty());

        assertThat(engine.diagnose(id).sentence()).startsWith("no live worker serves order-flow@2 (no worker is live)");
    }

    @Test
    void a_store_without_heartbeats_says_it_cannot_know_who_serves_the_flow() {
        InMemoryExecutionStore memory = new InMemoryExecutionStore(clock);
        Engine onMemory = new Engine(memory, handlers, flows, EngineOptions.builder().clock(clock).build());
        String id = onMemory.create("order-flow", Map.of()).execution().id();
        clock.advance(Duration.ofSeconds(5));

        assertThat(onMemory.diagnose(id).sentence()).isEqualTo("due now, no worker has claimed it for 5 s; whether a "
                + "live worker serves order-flow@2 cannot be known: this store keeps no worker heartbeats");
    }

    @Test
    void a_timed_wait_is_due_in_the_seconds_left() {
        liveWorker("w", new FlowVersion("sleepy", "1"));
        String id = created("sleepy");
        engine.run(id);

        Diagnosis d = engine.diagnose(id);

        assertThat(d.kind()).isEqualTo(Kind.DUE_LATER);
        assertThat(d.sentence()).isEqualTo("due in 42 s");
        assertThat(d.at()).isEqualTo(clock.instant().plusSeconds(42));
    }

    @Test
    void a_timed_wait_that_no_live_worker_serves_is_due_later_but_unserved() {
        String id = created("sleepy");
        engine.run(id);

        Diagnosis d = engine.diagnose(id);

        assertThat(d.kind()).isEqualTo(Kind.NO_LIVE_WORKER);
        assertThat(d.sentence()).isEqualTo("due in 42 s, but no live worker serves sleepy@1 (no worker is live)");
    }

    @Test
    void a_leased_execution_names_its_worker_and_the_end_of_its_lease() {
        String id = created("order-flow");
        Execution claimed = store.claimDue("orders-3", List.of(new FlowVersion("order-flow", "2")),
                Duration.ofMinutes(5), 1).executions().get(0);

        Diagnosis d = engine.diagnose(id);

        assertThat(d.kind()).isEqualTo(Kind.LEASED);
        assertThat(d.sentence()).as("pending: its first step has not been saved as begun")
                .isEqualTo("leased by orders-3 until " + claimed.leaseExpiresAt() + ", starting with step '"
                + claimed.currentStepId() + "'");
        assertThat(d.at()).isEqualTo(claimed.leaseExpiresAt());
    }

    @Test
    void a_retry_pausing_after_a_failure_counts_its_attempts_and_the_seconds_left() {
        liveWorker("w", new FlowVersion("retried", "1"));
        String id = created("retried");
        engine.run(id);
        clock.advance(Duration.ofSeconds(8));
        assertThat(engine.runWakeReady(10)).hasSize(1);

        Diagnosis d = engine.diagnose(id);

        assertThat(d.kind()).isEqualTo(Kind.RETRY_BACKOFF);
        assertThat(d.sentence()).isEqualTo("retry 3/5 after backoff, due in 8 s");

        clock.advance(Duration.ofSeconds(10));
        assertThat(engine.diagnose(id).sentence()).isEqualTo("retry 3/5 after backoff: due now, no worker has claimed "
                + "it for 2 s");
    }

    @Test
    void a_wait_for_a_signal_names_it_and_when_it_began_until_the_signal_arrives() {
        liveWorker("w", new FlowVersion("approve", "1"));
        String id = created("approve");
        Instant began = clock.instant();
        engine.run(id);

        Diagnosis waiting = engine.diagnose(id);
        assertThat(waiting.kind()).isEqualTo(Kind.WAITING_FOR_SIGNAL);
        assertThat(waiting.sentence()).isEqualTo("waiting for signal 'approval' since " + began);

        engine.signal(id, "approval", Map.of("by", "ann"));
        clock.advance(Duration.ofSeconds(4));
        Diagnosis signalled = engine.diagnose(id);
        assertThat(signalled.kind()).isEqualTo(Kind.DUE);
        assertThat(signalled.sentence()).startsWith("signal 'approval' arrived at ")
                .endsWith("; due now, no worker has claimed it for 4 s");
    }

    @Test
    void a_parent_waiting_for_children_counts_those_that_have_not_ended() {
        String parent = created("parent");
        engine.run(parent);

        assertThat(engine.diagnose(parent).kind()).isEqualTo(Kind.WAITING_FOR_CHILDREN);
        assertThat(engine.diagnose(parent).sentence()).startsWith("waiting for 2 child executions since ");

        Execution child = store.findChildren(parent).get(0);
        engine.cancel(child.id(), Cancellation.Source.USER, "not needed");
        assertThat(engine.diagnose(parent).sentence()).startsWith("waiting for 1 child execution of 2 since ");
    }

    @Test
    void a_wait_for_a_resume_says_so_with_its_reason() {
        String id = created("held");
        engine.run(id);

        Diagnosis d = engine.diagnose(id);

        assertThat(d.kind()).isEqualTo(Kind.WAITING_FOR_RESUME);
        assertThat(d.sentence()).endsWith(" (held by hand)").startsWith("waiting for a resume since ");
    }

    @Test
    void an_unreadable_row_is_reported_before_and_after_a_worker_sets_it_aside() throws SQLException {
        String id = created("order-flow");
        PG.execute("UPDATE executions SET context = '[1, 2]' WHERE id = '" + id + "'");

        Diagnosis unread = engine.diagnose(id);
        assertThat(unread.kind()).isEqualTo(Kind.UNREADABLE);
        assertThat(unread.status()).isNull();
        assertThat(unread.sentence()).startsWith("column context cannot be read (")
                .endsWith("); the next worker that claims it sets it aside");

        assertThat(store.setAside(id, "context", "not a JSON object")).isTrue();
        Diagnosis aside = engine.diagnose(id);
        assertThat(aside.kind()).isEqualTo(Kind.SET_ASIDE);
        assertThat(aside.sentence()).startsWith("set aside at ").contains(": column context cannot be read (not a JSON "
                + "object); no worker claims it until it is repaired and restored with restoreSetAside");
    }

    @Test
    void ended_executions_say_when_they_ended_and_how() {
        String done = created("order-flow");
        engine.run(done);
        String failed = created("declined");
        engine.run(failed);
        String cancelled = created("held");
        engine.cancel(cancelled, Cancellation.Source.ADMIN, "duplicate order");

        assertThat(engine.diagnose(done).kind()).isEqualTo(Kind.COMPLETED);
        assertThat(engine.diagnose(done).sentence()).isEqualTo("completed at " + clock.instant());
        assertThat(engine.diagnose(failed).sentence()).isEqualTo("failed at " + clock.instant() + " with CARD_DECLINED "
                + "at step 'pay': declined by the test bank; retry continues it from the failed step");
        assertThat(engine.diagnose(cancelled).kind()).isEqualTo(Kind.CANCELLED);
        assertThat(engine.diagnose(cancelled).sentence()).isEqualTo("cancelled at " + clock.instant()
                + " by admin: duplicate order");
    }

    @Test
    void a_running_execution_without_a_lease_is_told_apart_from_one_whose_lease_expired() throws SQLException {
        String id = created("order-flow");
        Execution running = store.save(store.load(id).orElseThrow().toBuilder().status(ExecutionStatus.RUNNING).build());
        assertThat(engine.diagnose(id).kind()).isEqualTo(Kind.RUNNING_UNLEASED);
        assertThat(engine.diagnose(id).sentence()).startsWith("running without a worker's lease since its last save at "
                + running.updatedAt());

        PG.execute("UPDATE executions SET lease_owner = 'orders-9', lease_expires_at = "
                + clock.instant().minusSeconds(20).toEpochMilli() + " WHERE id = '" + id + "'");
        liveWorker("w", new FlowVersion("order-flow", "2"));
        assertThat(engine.diagnose(id).sentence()).isEqualTo("the lease of orders-9 expired at "
                + clock.instant().minusSeconds(20) + "; due now, no worker has claimed it for 20 s");
    }

    @Test
    void an_unknown_execution_is_not_found_and_a_blank_id_is_refused() {
        assertThatThrownBy(() -> engine.diagnose("nope")).isInstanceOf(ExecutionNotFoundException.class)
                .hasMessageContaining("nope");
        assertThatThrownBy(() -> engine.diagnose(" ")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("executionId");
    }
}
