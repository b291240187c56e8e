package io.flowmonkey.engine;

import static io.flowmonkey.testing.Await.awaitTrue;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariDataSource;
import io.flowmonkey.execution.Cancellation;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.LeasingExecutionStore;
import io.flowmonkey.memory.InMemoryExecutionStore;
import io.flowmonkey.postgres.PgExecutionStore;
import io.flowmonkey.testing.PostgresExtension;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Workers in this JVM sharing one PostgreSQL database. */
class EngineWorkerTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    private final WorkerFlows flows = new WorkerFlows();

    @BeforeEach
    void emptyTable() throws SQLException {
        PG.truncate("executions");
    }

    @Test
    void four_workers_of_two_threads_run_two_thousand_executions_each_step_exactly_once() throws Exception {
        HikariDataSource ds = PG.newDataSource(24);
        PgExecutionStore store = new PgExecutionStore(ds);
        Engine engine = flows.engine(store);
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 2000; i++) {
            ids.add(engine.create(WorkerFlows.THREE_STEPS, Map.of("n", i)).execution().id());
        }
        List<EngineWorker> workers = new ArrayList<>();
        try {
            for (int w = 0; w < 4; w++) {
                workers.add(EngineWorker.builder(flows.engine(store)).workerId("w" + w).threads(2)
                        .pollInterval(Duration.ofMillis(200)).build().start());
            }

            awaitTrue(Duration.ofSeconds(120), () -> PG.countExecutions("status = 'completed'") == 2000);
            // Cleared by the running workers' heartbeats (every 10 s with the default lease), not by close().
            awaitTrue(Duration.ofSeconds(30), () -> PG.countExecutions("lease_owner IS NOT NULL") == 0);
        } finally {
            workers.forEach(EngineWorker::close);
        }

        for (String id : ids) {
            for (String step : List.of("a", "b", "c")) {
                assertThat(flows.callsOf(id, step)).as("calls of %s/%s", id, step).isEqualTo(1);
            }
        }
        assertThat(PG.countExecutions("lease_owner IS NOT NULL")).as("nothing left claimed").isZero();
        long claimed = workers.stream().mapToLong(w -> w.stats().claimed()).sum();
        assertThat(claimed).isEqualTo(2000);
        assertThat(workers).allSatisfy(w -> assertThat(w.stats().claimed()).isPositive());
        assertThat(workers).allSatisfy(w -> assertThat(w.stats().errors()).isZero());
        assertThat(workers.stream().mapToLong(w -> w.stats().completed()).sum()).isEqualTo(2000);
    }

    @Test
    void a_timed_wait_is_woken_at_its_deadline_long_before_the_poll_interval() throws Exception {
        PgExecutionStore store = new PgExecutionStore(PG.dataSource());
        Engine engine = flows.engine(store);
        try (EngineWorker worker = EngineWorker.builder(engine).pollInterval(Duration.ofSeconds(60)).build().start()) {
            awaitListening(store);
            long start = System.nanoTime();
            String id = engine.create(WorkerFlows.TIMED_WAIT, Map.of()).execution().id();

            awaitTrue(Duration.ofSeconds(60), () -> status(store, id) == ExecutionStatus.COMPLETED);

            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
            assertThat(worker.stats().wakeupsByPoll()).isZero();
            assertThat(worker.stats().wakeupsByNotify()).as("the pending execution").isPositive();
            assertThat(worker.stats().wakeupsByDeadline()).as("its wait").isPositive();
        }
    }

    @Test
    void a_notice_of_work_due_now_is_followed_by_a_second_look_a_moment_later() throws Exception {
        PgExecutionStore real = new PgExecutionStore(PG.dataSource());
        List<Long> claims = new CopyOnWriteArrayList<>();
        AtomicReference<LeasingExecutionStore.DueWorkListener> listener = new AtomicReference<>();
        // The real store, watched: when the worker claims, and the listener it subscribes.
        LeasingExecutionStore watched = (LeasingExecutionStore) Proxy.newProxyInstance(
                LeasingExecutionStore.class.getClassLoader(), new Class<?>[] {LeasingExecutionStore.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("claimDue")) {
                        claims.add(System.nanoTime());
                    } else if (method.getName().equals("subscribe")) {
                        listener.set((LeasingExecutionStore.DueWorkListener) args[0]);
                    }
                    try {
                        return method.invoke(real, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
        try (EngineWorker worker = EngineWorker.builder(flows.engine(watched)).pollInterval(Duration.ofSeconds(60))
                .build().start()) {
            awaitListening(real);
            TimeUnit.MILLISECONDS.sleep(200);
            int before = claims.size();
            long noticed = System.nanoTime();

            listener.get().onDue("announced-elsewhere", null);

            awaitTrue(Duration.ofSeconds(10), () -> claims.size() >= before + 2);
            assertThat(claims.get(before + 1) - noticed).isGreaterThanOrEqualTo(Duration.ofMillis(100).toNanos());
            assertThat(worker.stats().wakeupsByPoll()).isZero();
        }
    }

    @Test
    void with_notices_lost_polling_still_wakes_a_timed_wait() throws Exception {
        HikariDataSource silent = PG.newDataSource(8,
                config -> config.setConnectionInitSql("SET flowmonkey.notify = 'off'"));
        PgExecutionStore store = new PgExecutionStore(silent);
        Engine engine = flows.engine(store, ctx -> StepResult.success("b"), Duration.ofSeconds(2));
        // Run to the wait here, not on the worker, so that no part of the worker knows when it is due.
        String id = engine.create(WorkerFlows.TIMED_WAIT, Map.of()).execution().id();
        engine.run(id);
        try (EngineWorker worker = EngineWorker.builder(engine).pollInterval(Duration.ofMillis(500)).build().start()) {
            PG.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'");

            awaitTrue(Duration.ofSeconds(60), () -> status(store, id) == ExecutionStatus.COMPLETED);

            assertThat(worker.stats().wakeupsByPoll()).isPositive();
        }
    }

    @Test
    void close_with_work_in_flight_leaves_nothing_stuck_and_a_new_worker_finishes_it() throws Exception {
        PgExecutionStore store = new PgExecutionStore(PG.dataSource());
        CountDownLatch entered = new CountDownLatch(3);
        CountDownLatch never = new CountDownLatch(1);
        Engine blocking = flows.engine(store, ctx -> {
            entered.countDown();
            never.await();
            return StepResult.success("b");
        }, Duration.ofMillis(300));
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            ids.add(blocking.create(WorkerFlows.THREE_STEPS, Map.of()).execution().id());
        }
        EngineWorker first = EngineWorker.builder(blocking).workerId("first").threads(3)
                .leaseTtl(Duration.ofMinutes(5)).shutdownTimeout(Duration.ofMillis(200)).build().start();
        assertThat(entered.await(20, TimeUnit.SECONDS)).isTrue();

        first.close();

        assertThat(first.stats().inFlight()).isZero();
        for (String id : ids) {
            Execution interrupted = store.load(id).orElseThrow();
            assertThat(interrupted.stepCount()).as("the interrupted step b of %s was not saved", id).isEqualTo(1);
            assertThat(interrupted.context()).doesNotContainKey("b");
        }
        try (EngineWorker second = EngineWorker.builder(flows.engine(store)).workerId("second")
                .pollInterval(Duration.ofMillis(200)).leaseTtl(Duration.ofMinutes(5)).build().start()) {
            // Far sooner than the five-minute lease: close() released it.
            awaitTrue(Duration.ofSeconds(60), () -> ids.stream().allMatch(id -> status(store, id)
                    == ExecutionStatus.COMPLETED));
        }
    }

    @Test
    void a_step_longer_than_the_lease_keeps_it_by_renewal() throws Exception {
        PgExecutionStore store = new PgExecutionStore(PG.dataSource());
        CountDownLatch inStep = new CountDownLatch(1);
        Engine slow = flows.engine(store, ctx -> {
            inStep.countDown();
            TimeUnit.SECONDS.sleep(3);
            return StepResult.success("b");
        }, Duration.ofMillis(300));
        String id = slow.create(WorkerFlows.THREE_STEPS, Map.of()).execution().id();
        try (EngineWorker holder = EngineWorker.builder(slow).workerId("holder").leaseTtl(Duration.ofSeconds(1))
                .pollInterval(Duration.ofMillis(100)).build().start()) {
            assertThat(inStep.await(20, TimeUnit.SECONDS)).isTrue();
            try (EngineWorker rival = EngineWorker.builder(flows.engine(store)).workerId("rival")
                    .leaseTtl(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(100)).build().start()) {

                awaitTrue(Duration.ofSeconds(30), () -> status(store, id) == ExecutionStatus.COMPLETED);

                assertThat(rival.stats().claimed()).isZero();
            }

            assertThat(holder.stats().leaseLost()).isZero();
        }
        assertThat(flows.callsOf(id, "b")).isEqualTo(1);
    }

    @Test
    void a_worker_that_lost_its_lease_saves_nothing_and_counts_it() throws Exception {
        PgExecutionStore store = new PgExecutionStore(PG.dataSource());
        CountDownLatch inStep = new CountDownLatch(1);
        CountDownLatch finish = new CountDownLatch(1);
        Engine stalled = flows.engine(store, ctx -> {
            inStep.countDown();
            finish.await();
            return StepResult.success("stale");
        }, Duration.ofMillis(300));
        String id = stalled.create(WorkerFlows.THREE_STEPS, Map.of()).execution().id();
        // The loser polls often: it may claim the execution back while its stalled run still holds a
        // runner, and must then give it up rather than start a second run beside the first.
        try (EngineWorker loser = EngineWorker.builder(stalled).workerId("loser").pollInterval(Duration.ofMillis(100))
                .build().start()) {
            assertThat(inStep.await(20, TimeUnit.SECONDS)).isTrue();
            // As if the loser had paused past its lease and someone else had claimed the execution.
            PG.execute("UPDATE executions SET lease_owner = 'ghost', lease_expires_at = 0 WHERE id = '" + id + "'");
            try (EngineWorker taker = EngineWorker.builder(flows.engine(store)).workerId("taker")
                    .pollInterval(Duration.ofMillis(100)).build().start()) {
                awaitTrue(Duration.ofSeconds(60), () -> status(store, id) == ExecutionStatus.COMPLETED);
            }
            finish.countDown();
            awaitTrue(Duration.ofSeconds(60), () -> loser.stats().inFlight() == 0);

            assertThat(loser.stats().leaseLost()).isEqualTo(1);
        }
        assertThat(store.load(id).orElseThrow().context()).containsEntry("b", "b");
    }

    @Test
    void a_wait_already_due_when_saved_is_woken_without_waiting_for_a_poll() throws Exception {
        PgExecutionStore store = new PgExecutionStore(PG.dataSource());
        Engine engine = flows.engine(store, ctx -> StepResult.success("b"), Duration.ofMillis(1));
        try (EngineWorker worker = EngineWorker.builder(engine).pollInterval(Duration.ofSeconds(60)).build().start()) {
            String id = engine.create(WorkerFlows.TIMED_WAIT, Map.of()).execution().id();

            awaitTrue(Duration.ofSeconds(60), () -> status(store, id) == ExecutionStatus.COMPLETED);

            assertThat(worker.stats().wakeupsByPoll()).isZero();
        }
    }

    @Test
    void a_worker_whose_clock_lags_the_database_still_wakes_due_waits() throws Exception {
        PgExecutionStore store = new PgExecutionStore(PG.dataSource());
        EngineOptions anHourBehind = EngineOptions.builder()
                .clock(Clock.offset(Clock.systemUTC(), Duration.ofHours(-1))).build();
        Engine lagging = flows.engine(store, ctx -> StepResult.success("b"), Duration.ofMinutes(1), anHourBehind);
        String id = lagging.create(WorkerFlows.TIMED_WAIT, Map.of()).execution().id();
        lagging.run(id);
        assertThat(status(store, id)).as("waits until a minute past the lagging clock").isEqualTo(ExecutionStatus.WAITING);

        try (EngineWorker worker = EngineWorker.builder(lagging).pollInterval(Duration.ofMillis(200)).build().start()) {
            awaitTrue(Duration.ofSeconds(60), () -> status(store, id) == ExecutionStatus.COMPLETED);

            assertThat(worker.stats().claimed()).isEqualTo(1);
        }
    }

    @Test
    void a_cancel_cut_short_by_a_crash_is_finished_by_a_worker() throws Exception {
        PgExecutionStore store = new PgExecutionStore(PG.dataSource());
        Engine engine = flows.engine(store);
        String id = engine.create(WorkerFlows.THREE_STEPS, Map.of()).execution().id();
        Execution crashedMidCancel = store.save(store.load(id).orElseThrow().toBuilder()
                .status(ExecutionStatus.CANCELLING)
                .cancellation(new Cancellation(Cancellation.Source.USER, "changed mind", Instant.now())).build());
        PG.execute("UPDATE executions SET updated_at = 0 WHERE id = '" + crashedMidCancel.id() + "'");

        try (EngineWorker worker = EngineWorker.builder(engine).pollInterval(Duration.ofMillis(200)).build().start()) {
            awaitTrue(Duration.ofSeconds(60), () -> status(store, id) == ExecutionStatus.CANCELLED);
        }
        assertThat(store.load(id).orElseThrow().cancelledAt()).isNotNull();
        assertThat(flows.callsOf(id, "a")).isZero();
    }

    @Test
    void the_builder_checks_its_arguments() {
        Engine memory = flows.engine(new PgExecutionStore(PG.dataSource()));
        assertThatThrownBy(() -> EngineWorker.builder(memory).threads(0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("threads");
        assertThatThrownBy(() -> EngineWorker.builder(memory).leaseTtl(Duration.ofMillis(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("leaseTtl");
        assertThatThrownBy(() -> EngineWorker.builder(memory).workerId(" "))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("workerId");
        // FaultyStore is a plain ExecutionStore: it cannot lease (the in-memory store itself can).
        assertThatThrownBy(() -> EngineWorker.builder(new Engine(new FaultyStore(new InMemoryExecutionStore()),
                new HandlerRegistry(), new InMemoryFlowRegistry()))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("lease");
        FlowRegistry unlisted = new FlowRegistry() {
            @Override
            public java.util.Optional<Flow> get(String flowId) {
                return java.util.Optional.empty();
            }

            @Override
            public java.util.Optional<Flow> get(String flowId, String version) {
                return java.util.Optional.empty();
            }
        };
        assertThatThrownBy(() -> EngineWorker.builder(new Engine(new PgExecutionStore(PG.dataSource()),
                new HandlerRegistry(), unlisted))).isInstanceOf(UnsupportedOperationException.class)
                .hasMessageContaining("flowIds");
    }


    private static ExecutionStatus status(PgExecutionStore store, String id) {
        return store.load(id).orElseThrow().status();
    }

    private static void awaitListening(PgExecutionStore store) throws Exception {
        awaitTrue(Duration.ofSeconds(10), () -> {
            try (Connection c = PG.dataSource().getConnection(); Statement st = c.createStatement();
                 var rs = st.executeQuery("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN%' "
                         + "AND state = 'idle' AND backend_type = 'client backend'")) {
                rs.next();
                return rs.getInt(1) > 0;
            } catch (SQLException e) {
                throw new IllegalStateException(e);
            }
        });
    }

}
