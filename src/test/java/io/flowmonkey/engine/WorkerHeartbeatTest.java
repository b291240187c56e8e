package io.flowmonkey.engine;

import static io.flowmonkey.testing.Await.awaitTrue;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import com.zaxxer.hikari.HikariDataSource;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.LeasingExecutionStore;
import io.flowmonkey.execution.LeasingExecutionStore.FlowVersion;
import io.flowmonkey.execution.SignalStore;
import io.flowmonkey.execution.WorkerHeartbeat.ClaimLateness;
import io.flowmonkey.execution.WorkerInfo;
import io.flowmonkey.execution.WorkerRegistry;
import io.flowmonkey.postgres.PgExecutionStore;
import io.flowmonkey.postgres.PgStoreOptions;
import io.flowmonkey.testing.PostgresExtension;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Workers' heartbeat rows on one PostgreSQL database: who sees whom, what a row says, and how rows go. */
class WorkerHeartbeatTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    private final WorkerFlows flows = new WorkerFlows();

    @BeforeEach
    void emptyTables() throws SQLException {
        PG.truncate("executions", "executions_workers");
    }

    private static List<String> ids(List<WorkerInfo> workers) {
        return workers.stream().map(WorkerInfo::workerId).toList();
    }

    @Test
    void workers_started_together_on_one_database_see_each_other_and_a_closed_one_disappears() {
        HikariDataSource ds = PG.newDataSource(16);
        PgExecutionStore store = new PgExecutionStore(ds);
        Engine engine = flows.engine(store);
        for (int i = 0; i < 300; i++) {
            engine.create(WorkerFlows.THREE_STEPS, Map.of("n", i));
        }
        List<EngineWorker> workers = Collections.synchronizedList(new ArrayList<>());
        ExecutorService starters = Executors.newFixedThreadPool(3);
        try {
            assertTimeoutPreemptively(Duration.ofSeconds(120), () -> {
                CountDownLatch go = new CountDownLatch(1);
                List<Future<?>> started = new ArrayList<>();
                for (int w = 0; w < 3; w++) {
                    String id = "orders-" + w;
                    started.add(starters.submit(() -> {
                        go.await();
                        workers.add(EngineWorker.builder(flows.engine(new PgExecutionStore(ds))).workerId(id)
                                .threads(2).pollInterval(Duration.ofMillis(200)).build().start());
                        return null;
                    }));
                }
                go.countDown();
                for (Future<?> f : started) {
                    f.get();
                }
                // Each start() writes its row before it returns: every worker sees all three at once.
                assertThat(ids(store.workers())).containsExactly("orders-0", "orders-1", "orders-2");

                awaitTrue(Duration.ofSeconds(90), () -> store.count(io.flowmonkey.execution.ExecutionQuery.builder()
                        .status(ExecutionStatus.COMPLETED).build()) == 300);
                WorkerInfo one = store.workers().get(0);
                assertThat(one.reported().host()).isNotBlank();
                assertThat(one.reported().pid()).isEqualTo(ProcessHandle.current().pid());
                assertThat(one.reported().threads()).isEqualTo(2);
                assertThat(one.reported().inFlight()).isBetween(0, 2);
                assertThat(one.serves(WorkerFlows.THREE_STEPS, "1")).isTrue();
                assertThat(one.serves(WorkerFlows.THREE_STEPS, "2")).isFalse();
                assertThat(one.reported().liveFor()).isEqualTo(EngineWorker.DEFAULT_LEASE_TTL);
                assertThat(one.expiresAt()).isEqualTo(one.lastHeartbeat().plus(EngineWorker.DEFAULT_LEASE_TTL));

                EngineWorker closing = workers.stream().filter(w -> w.workerId().equals("orders-1")).findFirst()
                        .orElseThrow();
                closing.close();
                assertThat(ids(store.workers())).containsExactly("orders-0", "orders-2");
            });
        } finally {
            workers.forEach(EngineWorker::close);
            starters.shutdownNow();
            ds.close();
        }
        assertThat(ids(new PgExecutionStore(PG.dataSource()).workers())).isEmpty();
    }

    @Test
    void a_worker_that_stops_heartbeating_expires_and_the_next_heartbeat_of_another_deletes_its_row() throws Exception {
        PgExecutionStore real = new PgExecutionStore(PG.dataSource());
        AtomicBoolean frozen = new AtomicBoolean();
        // The real store, except that heartbeats are dropped once frozen: a process hung, or cut off from
        // the database, while its row stays behind.
        LeasingExecutionStore freezable = (LeasingExecutionStore) Proxy.newProxyInstance(
                LeasingExecutionStore.class.getClassLoader(),
                new Class<?>[] {LeasingExecutionStore.class, SignalStore.class, WorkerRegistry.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("heartbeat") && frozen.get()) {
                        return null;
                    }
                    try {
                        return method.invoke(real, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            try (EngineWorker hung = EngineWorker.builder(flows.engine(freezable)).workerId("hung")
                    .leaseTtl(Duration.ofMillis(600)).build().start();
                 EngineWorker alive = EngineWorker.builder(flows.engine(real)).workerId("alive")
                         .leaseTtl(Duration.ofSeconds(3)).build().start()) {
                assertThat(ids(real.workers())).containsExactly("alive", "hung");

                frozen.set(true);

                awaitTrue(Duration.ofSeconds(20), () -> !ids(real.workers()).contains("hung"));
                awaitTrue(Duration.ofSeconds(20),
                        () -> rows("hung") == 0);
                assertThat(ids(real.workers())).containsExactly("alive");
                assertThat(hung.workerId()).isEqualTo("hung");
            }
        });
    }

    @Test
    void a_heartbeat_carries_the_lateness_of_the_claims_of_the_minute_as_the_workers_clock_measured_it() {
        MutableClock clock = new MutableClock();
        PgExecutionStore store = new PgExecutionStore(PG.dataSource(), PgStoreOptions.builder().clock(clock).build());
        Engine engine = flows.engine(store, ctx -> StepResult.success("b"), Duration.ofMillis(300),
                EngineOptions.builder().clock(clock).build());
        for (int i = 0; i < 20; i++) {
            engine.create(WorkerFlows.THREE_STEPS, Map.of("n", i));
        }
        // Created at t, claimed at t + 5 s by the clocks of the saving store and of the claiming worker.
        clock.advance(Duration.ofSeconds(5));
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            try (EngineWorker worker = EngineWorker.builder(engine).workerId("timed").threads(4)
                    .leaseTtl(Duration.ofMillis(300)).pollInterval(Duration.ofMillis(100)).build().start()) {
                awaitTrue(Duration.ofSeconds(30), () -> lateness(store).stream().mapToLong(ClaimLateness::count)
                        .sum() == 20);
                ClaimLateness minute = lateness(store).get(0);
                assertThat(lateness(store)).hasSize(1);
                assertThat(minute.minute()).isEqualTo(clock.instant().truncatedTo(java.time.temporal.ChronoUnit.MINUTES));
                assertThat(minute.maxMs()).isEqualTo(5_000);
                assertThat(minute.p99Ms()).isEqualTo(5_000);
                assertThat(store.workers().get(0).reported().lastClaim()).isEqualTo(clock.instant());
                assertThat(worker.stats().claimed()).isEqualTo(20);
            }
        });
    }

    @Test
    void a_store_that_keeps_no_heartbeats_runs_workers_all_the_same() throws Exception {
        PgExecutionStore real = new PgExecutionStore(PG.dataSource());
        LeasingExecutionStore plain = (LeasingExecutionStore) Proxy.newProxyInstance(
                LeasingExecutionStore.class.getClassLoader(), new Class<?>[] {LeasingExecutionStore.class, SignalStore.class},
                (proxy, method, args) -> {
                    try {
                        return method.invoke(real, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
        Engine engine = flows.engine(plain);
        String id = engine.create(WorkerFlows.THREE_STEPS, Map.of()).execution().id();
        try (EngineWorker worker = EngineWorker.builder(engine).pollInterval(Duration.ofMillis(100)).build().start()) {
            awaitTrue(Duration.ofSeconds(30), () -> real.load(id).orElseThrow().status() == ExecutionStatus.COMPLETED);
            assertThat(real.workers()).isEmpty();
            assertThat(worker.stats().errors()).isZero();
        }
    }

    private static List<ClaimLateness> lateness(PgExecutionStore store) {
        List<WorkerInfo> live = store.workers();
        return live.isEmpty() ? List.of() : live.get(0).reported().lateness();
    }

    private static long rows(String workerId) {
        try {
            return PG.queryLong("SELECT count(*) FROM executions_workers WHERE worker_id = '" + workerId + "'");
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void flow_versions_a_worker_serves_are_listed_in_its_row() {
        PgExecutionStore store = new PgExecutionStore(PG.dataSource());
        try (EngineWorker worker = EngineWorker.builder(flows.engine(store)).workerId("lister").build().start()) {
            assertThat(store.workers().get(0).reported().serves()).containsExactlyInAnyOrder(
                    new FlowVersion(WorkerFlows.THREE_STEPS, "1"), new FlowVersion(WorkerFlows.TIMED_WAIT, "1"));
            assertThat(worker.workerId()).isEqualTo("lister");
        }
    }
}
