package io.flowmonkey.engine;

import static io.flowmonkey.testing.Await.awaitTrue;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import com.zaxxer.hikari.HikariDataSource;
import io.flowmonkey.execution.Cancellation;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.LeasingExecutionStore;
import io.flowmonkey.execution.StoreException;
import io.flowmonkey.execution.WaitMetadata;
import io.flowmonkey.postgres.PgExecutionStore;
import io.flowmonkey.testing.PostgresExtension;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Workers meeting bad rows, rolling deploys, cancels, kills and dead connections (issue 9; issue 10 item 8). */
class WorkerHardeningTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    private final WorkerFlows flows = new WorkerFlows();

    @BeforeEach
    void emptyTable() throws SQLException {
        PG.truncate("executions");
    }

    @Test
    void a_corrupt_row_in_a_claim_batch_is_set_aside_and_the_rest_of_the_batch_runs() throws Exception {
        PgExecutionStore store = new PgExecutionStore(PG.dataSource());
        Engine engine = flows.engine(store);
        List<String> good = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            good.add(engine.create(WorkerFlows.THREE_STEPS, Map.of()).execution().id());
        }
        String corrupt = engine.create(WorkerFlows.THREE_STEPS, Map.of()).execution().id();
        PG.execute("UPDATE executions SET history = '{\"not\": \"a list\"}' WHERE id = '" + corrupt + "'");

        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            try (EngineWorker worker = EngineWorker.builder(engine).threads(8).pollInterval(Duration.ofMillis(100))
                    .build().start()) {
                awaitTrue(Duration.ofSeconds(50), () -> good.stream()
                        .allMatch(id -> status(store, id) == ExecutionStatus.COMPLETED));
                // Several polls later it has still been claimed (and set aside) once only.
                long polls = worker.stats().wakeupsByPoll();
                awaitTrue(Duration.ofSeconds(20), () -> worker.stats().wakeupsByPoll() >= polls + 3);

                assertThat(worker.stats().setAside()).isEqualTo(1);
                assertThat(worker.stats().claimed()).isEqualTo(4);
                assertThat(worker.stats().errors()).isZero();
            }
        });
        assertThat(store.findSetAside(10)).singleElement().satisfies(row -> {
            assertThat(row.executionId()).isEqualTo(corrupt);
            assertThat(row.column()).isEqualTo("history");
        });
        assertThat(PG.queryLong("SELECT count(*) FROM executions WHERE lease_owner IS NOT NULL")).isZero();
    }

    @Test
    void runWakeReady_runs_past_a_corrupt_row_and_an_unregistered_version_at_the_head_of_the_due_queue()
            throws SQLException {
        PgExecutionStore store = new PgExecutionStore(PG.dataSource());
        Engine engine = flows.engine(store, ctx -> StepResult.success("b"), Duration.ofMinutes(10));
        Instant past = Instant.now().minusSeconds(60);
        Execution corrupt = store.save(dueWait("corrupt", "1", past.minusSeconds(2)));
        PG.execute("UPDATE executions SET context = '\"not an object\"' WHERE id = '" + corrupt.id() + "'");
        store.save(dueWait("unknown-version", "2", past.minusSeconds(1)));
        List<String> good = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            good.add(store.save(dueWait("good-" + i, "1", past.plusSeconds(i))).id());
        }

        List<RunResult> first = engine.runWakeReady(2);
        List<RunResult> second = engine.runWakeReady(2);

        assertThat(first).extracting(r -> r.execution().id()).containsExactly(good.get(0), good.get(1));
        assertThat(second).extracting(r -> r.execution().id()).containsExactly(good.get(2));
        assertThat(status(store, "unknown-version")).as("left for a process that has version 2")
                .isEqualTo(ExecutionStatus.WAITING);
        assertThat(store.findSetAside(10)).extracting(LeasingExecutionStore.SetAside::executionId)
                .containsExactly(corrupt.id());
    }

    @Test
    void a_worker_claims_only_the_flow_versions_its_registry_has_and_leaves_the_rest_unclaimed() throws Exception {
        PgExecutionStore store = new PgExecutionStore(PG.dataSource());
        Engine engine = flows.engine(store);
        List<String> mine = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            mine.add(engine.create(WorkerFlows.THREE_STEPS, Map.of()).execution().id());
        }
        // As if a newer process of a rolling deploy had started these on version 2.
        for (int i = 0; i < 5; i++) {
            store.save(Execution.builder("v2-" + i, WorkerFlows.THREE_STEPS, "2").currentStepId("a").build());
        }

        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            try (EngineWorker worker = EngineWorker.builder(engine).pollInterval(Duration.ofMillis(100))
                    .leaseTtl(Duration.ofMillis(300)).build().start()) {
                awaitTrue(Duration.ofSeconds(50), () -> mine.stream()
                        .allMatch(id -> status(store, id) == ExecutionStatus.COMPLETED));
                long polls = worker.stats().wakeupsByPoll();
                // Several lease periods and polls: version 2 is still never claimed.
                awaitTrue(Duration.ofSeconds(20), () -> worker.stats().wakeupsByPoll() >= polls + 5);

                assertThat(worker.stats().claimed()).isEqualTo(5);
                assertThat(worker.stats().errors()).isZero();
            }
        });
        assertThat(PG.queryLong("SELECT count(*) FROM executions WHERE flow_version = '2' AND status = 'pending' "
                + "AND lease_owner IS NULL AND version = 1")).isEqualTo(5);
    }

    @Test
    void a_finished_execution_holds_no_lease_even_before_the_next_heartbeat() throws Exception {
        PgExecutionStore store = new PgExecutionStore(PG.dataSource());
        Engine engine = flows.engine(store, ctx -> StepResult.success("b"), Duration.ofMinutes(10));
        String done = engine.create(WorkerFlows.THREE_STEPS, Map.of()).execution().id();
        String parked = engine.create(WorkerFlows.TIMED_WAIT, Map.of()).execution().id();

        // Heartbeats every 20 minutes: only the saves themselves can have cleared the leases.
        try (EngineWorker worker = EngineWorker.builder(engine).leaseTtl(Duration.ofHours(1))
                .pollInterval(Duration.ofMillis(100)).build().start()) {
            awaitTrue(Duration.ofSeconds(60), () -> status(store, done) == ExecutionStatus.COMPLETED
                    && status(store, parked) == ExecutionStatus.WAITING);

            assertThat(store.load(done).orElseThrow().leaseOwner()).isNull();
            assertThat(store.load(parked).orElseThrow().leaseOwner()).isNull();
            assertThat(worker.stats().completed()).isEqualTo(1);
            assertThat(worker.stats().waited()).isEqualTo(1);
        }
    }

    @Test
    void a_handler_that_swallows_the_interrupt_does_not_save_its_step_after_close() throws Exception {
        PgExecutionStore store = new PgExecutionStore(PG.dataSource());
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch returned = new CountDownLatch(1);
        CountDownLatch never = new CountDownLatch(1);
        Engine stubborn = flows.engine(store, ctx -> {
            entered.countDown();
            try {
                never.await();
            } catch (InterruptedException swallowed) {
                // A handler that ignores the interrupt and carries on as if it had finished.
            }
            returned.countDown();
            return StepResult.success("saved after close?");
        }, Duration.ofMillis(300));
        String id = stubborn.create(WorkerFlows.THREE_STEPS, Map.of()).execution().id();
        EngineWorker worker = EngineWorker.builder(stubborn).leaseTtl(Duration.ofMinutes(5))
                .shutdownTimeout(Duration.ofMillis(200)).build().start();
        assertThat(entered.await(20, TimeUnit.SECONDS)).isTrue();

        worker.close();

        assertThat(returned.await(20, TimeUnit.SECONDS)).isTrue();
        Execution stored = store.load(id).orElseThrow();
        assertThat(stored.stepCount()).as("step b was not saved").isEqualTo(1);
        assertThat(stored.context()).doesNotContainKey("b");
        assertThat(stored.leaseOwner()).as("revoked, free for another worker at once").isNull();
        assertThat(worker.stats().interrupted()).isEqualTo(1);
        assertThat(worker.stats().leaseLost()).isZero();
    }

    @Test
    void a_revocation_that_fails_at_close_is_retried_before_close_returns() throws Exception {
        PgExecutionStore real = new PgExecutionStore(PG.dataSource());
        AtomicInteger revocations = new AtomicInteger();
        // The real store, except that its first revocation fails as if the database were unreachable.
        LeasingExecutionStore flaky = (LeasingExecutionStore) Proxy.newProxyInstance(
                LeasingExecutionStore.class.getClassLoader(), new Class<?>[] {LeasingExecutionStore.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("revokeLeases") && revocations.incrementAndGet() == 1) {
                        throw new StoreException(null, "lease revocation failed: the connection was lost");
                    }
                    try {
                        return method.invoke(real, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch never = new CountDownLatch(1);
        Engine blocked = flows.engine(flaky, ctx -> {
            entered.countDown();
            never.await();
            return StepResult.success("b");
        }, Duration.ofMillis(300));
        String id = blocked.create(WorkerFlows.THREE_STEPS, Map.of()).execution().id();
        EngineWorker worker = EngineWorker.builder(blocked).workerId("flaky").leaseTtl(Duration.ofMinutes(5))
                .shutdownTimeout(Duration.ofMillis(200)).build().start();
        assertThat(entered.await(20, TimeUnit.SECONDS)).isTrue();

        assertTimeoutPreemptively(Duration.ofSeconds(30), worker::close);

        assertThat(revocations.get()).isGreaterThanOrEqualTo(2);
        assertThat(real.load(id).orElseThrow().leaseOwner()).as("revoked on the retry").isNull();
        assertThat(worker.stats().interrupted()).isEqualTo(1);
    }

    @Test
    void start_fails_fast_when_the_pool_cannot_hold_the_listen_connection_and_a_claim() {
        HikariDataSource one = PG.newDataSource(1);
        Engine engine = flows.engine(new PgExecutionStore(one));
        EngineWorker worker = EngineWorker.builder(engine).workerId("starved").build();

        assertThatThrownBy(worker::start).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("starved").hasMessageContaining("maximumPoolSize to at least 2")
                .hasMessageContaining("threads + 2");
        worker.close();
    }

    @Test
    void a_step_save_on_a_dead_pooled_connection_is_retried_once_and_the_step_runs_once() throws Exception {
        HikariDataSource pool = PG.newDataSource(4,
                config -> config.addDataSourceProperty("ApplicationName", "doomed-pool"));
        PgExecutionStore store = new PgExecutionStore(PG.dataSource());
        AtomicInteger killed = new AtomicInteger();
        Engine engine = flows.engine(new PgExecutionStore(pool), ctx -> {
            // While step b runs, the server drops every idle connection of the worker's pool: again while any
            // is left, since the claim loop's connection, busy at the first look, goes back to the pool idle.
            awaitTrue(Duration.ofSeconds(10), () -> {
                killed.addAndGet((int) queryLong("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        + "WHERE application_name = 'doomed-pool' AND state = 'idle' AND query NOT LIKE 'LISTEN%'"));
                return idleConnectionsOf("doomed-pool") == 0;
            });
            return StepResult.success("b");
        }, Duration.ofMillis(300));
        String id = engine.create(WorkerFlows.THREE_STEPS, Map.of()).execution().id();

        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            // A five-minute lease: without the retry the execution would wait it out and run b again.
            try (EngineWorker worker = EngineWorker.builder(engine).threads(1).leaseTtl(Duration.ofMinutes(5))
                    .pollInterval(Duration.ofMillis(100)).build().start()) {
                awaitTrue(Duration.ofSeconds(50), () -> status(store, id) == ExecutionStatus.COMPLETED);

                assertThat(worker.stats().errors()).isZero();
            }
        });
        assertThat(killed).as("the pool's connections were dropped under the save").hasPositiveValue();
        assertThat(flows.callsOf(id, "b")).isEqualTo(1);
        assertThat(store.load(id).orElseThrow().stepCount()).isEqualTo(3);
    }

    @Test
    void a_users_cancel_of_an_execution_a_worker_runs_counts_as_cancelled_not_as_a_lost_lease() throws Exception {
        PgExecutionStore store = new PgExecutionStore(PG.dataSource());
        CountDownLatch inStep = new CountDownLatch(1);
        CountDownLatch finish = new CountDownLatch(1);
        Engine engine = flows.engine(store, ctx -> {
            inStep.countDown();
            finish.await();
            return StepResult.success("b");
        }, Duration.ofMillis(300));
        String id = engine.create(WorkerFlows.THREE_STEPS, Map.of()).execution().id();

        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            // A short lease, so that renewals find the cancelled execution's lease gone.
            try (EngineWorker worker = EngineWorker.builder(engine).workerId("runner").leaseTtl(Duration.ofMillis(300))
                    .pollInterval(Duration.ofMillis(100)).build().start()) {
                assertThat(inStep.await(20, TimeUnit.SECONDS)).isTrue();
                Execution running = store.load(id).orElseThrow();
                assertThat(running.leaseOwner()).as("what is running is visible").isEqualTo("runner");
                assertThat(running.leaseExpiresAt()).isAfter(Instant.now().minusSeconds(1));

                engine.cancel(id, Cancellation.Source.USER, "customer changed their mind");
                long beats = worker.stats().wakeupsByPoll();
                awaitTrue(Duration.ofSeconds(20), () -> worker.stats().wakeupsByPoll() >= beats + 5);
                finish.countDown();
                awaitTrue(Duration.ofSeconds(20), () -> worker.stats().inFlight() == 0);

                assertThat(worker.stats().cancelled()).isEqualTo(1);
                assertThat(worker.stats().leaseLost()).isZero();
                assertThat(worker.stats().errors()).isZero();
            }
        });
        assertThat(store.load(id).orElseThrow().status()).isEqualTo(ExecutionStatus.CANCELLED);
    }

    @Test
    void stats_count_completed_failed_and_waiting_executions_apart_from_worker_errors() throws Exception {
        PgExecutionStore store = new PgExecutionStore(PG.dataSource());
        AtomicInteger calls = new AtomicInteger();
        Engine engine = flows.engine(store, ctx -> calls.incrementAndGet() % 2 == 0
                ? StepResult.failure("DECLINED", "card declined") : StepResult.success("b"), Duration.ofHours(1));
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            ids.add(engine.create(WorkerFlows.THREE_STEPS, Map.of()).execution().id());
        }
        ids.add(engine.create(WorkerFlows.TIMED_WAIT, Map.of()).execution().id());

        try (EngineWorker worker = EngineWorker.builder(engine).threads(1).pollInterval(Duration.ofMillis(100))
                .build().start()) {
            awaitTrue(Duration.ofSeconds(60), () -> worker.stats().claimed() == 7 && worker.stats().inFlight() == 0);

            WorkerStats stats = worker.stats();
            assertThat(stats.completed()).isEqualTo(3);
            assertThat(stats.failed()).isEqualTo(3);
            assertThat(stats.waited()).isEqualTo(1);
            assertThat(stats.cancelled() + stats.errors() + stats.leaseLost() + stats.interrupted()).isZero();
        }
    }

    private static Execution dueWait(String id, String version, Instant wakeAt) {
        return Execution.builder(id, WorkerFlows.TIMED_WAIT, version).status(ExecutionStatus.WAITING)
                .currentStepId("sleep")
                .waitMetadata(new WaitMetadata(wakeAt, "timer", wakeAt.minusSeconds(1), Map.of("wake", "resume")))
                .build();
    }

    private static long idleConnectionsOf(String application) {
        return queryLong("SELECT count(*) FROM pg_stat_activity WHERE application_name = '" + application
                + "' AND state = 'idle' AND query NOT LIKE 'LISTEN%'");
    }

    private static long queryLong(String query) {
        try {
            return PG.queryLong(query);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private static ExecutionStatus status(PgExecutionStore store, String id) {
        return store.load(id).orElseThrow().status();
    }
}
