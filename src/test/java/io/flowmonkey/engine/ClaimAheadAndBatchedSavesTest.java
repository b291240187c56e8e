package io.flowmonkey.engine;

import static io.flowmonkey.testing.Await.awaitTrue;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import com.zaxxer.hikari.HikariDataSource;
import io.flowmonkey.execution.Cancellation;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.LeasingExecutionStore;
import io.flowmonkey.postgres.PgExecutionStore;
import io.flowmonkey.testing.PostgresExtension;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Workers that claim ahead of their free runners and write their runners' step saves in batches, on
 * real PostgreSQL: nothing lost, nothing run twice, nothing held that is not leased.
 */
class ClaimAheadAndBatchedSavesTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    private static final AtomicInteger IDS = new AtomicInteger();

    /** Rows each claim returned, in order. */
    private final List<Integer> claims = new CopyOnWriteArrayList<>();
    /** Rows each batched save held, in order. */
    private final List<Integer> batches = new CopyOnWriteArrayList<>();

    @BeforeEach
    void emptyTable() throws SQLException {
        PG.truncate("executions");
    }

    /** The real store, watched: how many rows each claim returned and each batched save held. */
    private LeasingExecutionStore watched(PgExecutionStore real) {
        return (LeasingExecutionStore) Proxy.newProxyInstance(LeasingExecutionStore.class.getClassLoader(),
                new Class<?>[] {LeasingExecutionStore.class}, (proxy, method, args) -> {
                    try {
                        Object result = method.invoke(real, args);
                        if (method.getName().equals("claimDue")) {
                            claims.add(((LeasingExecutionStore.Claim) result).executions().size());
                        } else if (method.getName().equals("saveAllVersioned")) {
                            batches.add(((List<?>) args[0]).size());
                        }
                        return result;
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    /** A middle step that says it has begun and then holds its runner until released. */
    private static StepHandler heldUntil(CountDownLatch entered, CountDownLatch release) {
        return ctx -> {
            entered.countDown();
            release.await();
            return StepResult.success("b");
        };
    }

    private static List<String> enqueue(PgExecutionStore store, int n) {
        List<Execution> pending = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            pending.add(Execution.builder("ahead-" + IDS.incrementAndGet(), WorkerFlows.THREE_STEPS, "1").build());
        }
        List<String> ids = new ArrayList<>();
        for (int from = 0; from < n; from += 500) {
            store.saveAll(pending.subList(from, Math.min(n, from + 500))).forEach(e -> ids.add(e.id()));
        }
        return ids;
    }


    private static void assertEachStepRanOnce(WorkerFlows flows, List<String> ids) {
        for (String id : ids) {
            for (String step : List.of("a", "b", "c")) {
                assertThat(flows.callsOf(id, step)).as("calls of %s/%s", id, step).isEqualTo(1);
            }
        }
    }

    @Test
    void four_workers_of_six_threads_drain_three_thousand_executions_each_step_once_in_batched_saves() {
        assertTimeoutPreemptively(Duration.ofMinutes(3), () -> {
            HikariDataSource ds = PG.newDataSource(4 * 8);
            PgExecutionStore real = new PgExecutionStore(ds);
            List<String> ids = enqueue(real, 3000);
            WorkerFlows flows = new WorkerFlows();
            LeasingExecutionStore store = watched(real);
            List<EngineWorker> workers = new ArrayList<>();
            try {
                for (int w = 0; w < 4; w++) {
                    workers.add(EngineWorker.builder(flows.engine(store)).workerId("w" + w).threads(6)
                            .pollInterval(Duration.ofMillis(200)).build().start());
                }
                awaitTrue(Duration.ofMinutes(2), () -> PG.countExecutions("status = 'completed'") == 3000);
            } finally {
                workers.forEach(EngineWorker::close);
            }

            assertEachStepRanOnce(flows, ids);
            assertThat(PG.countExecutions("lease_owner IS NOT NULL")).as("nothing left claimed").isZero();
            assertThat(PG.countExecutions("version = 5")).as("one claim and three saves each, none lost").isEqualTo(3000);
            assertThat(workers.stream().mapToLong(w -> w.stats().claimed()).sum()).isEqualTo(3000);
            assertThat(workers).allSatisfy(w -> {
                assertThat(w.stats().errors()).isZero();
                assertThat(w.stats().leaseLost()).isZero();
            });
            assertThat(batches).as("saves of several runners went in one statement").anySatisfy(n ->
                    assertThat(n).isGreaterThan(1));
            assertThat(batches.stream().mapToInt(Integer::intValue).sum()).as("every save of a batch is one of the "
                    + "9,000 step saves").isLessThanOrEqualTo(9000);
        });
    }

    @Test
    void one_runner_claims_ahead_so_that_one_claim_serves_several_executions() {
        assertTimeoutPreemptively(Duration.ofMinutes(2), () -> {
            PgExecutionStore real = new PgExecutionStore(PG.dataSource());
            List<String> ids = enqueue(real, 300);
            WorkerFlows flows = new WorkerFlows();
            try (EngineWorker worker = EngineWorker.builder(flows.engine(watched(real))).workerId("solo").threads(1)
                    .claimAhead(4).pollInterval(Duration.ofMillis(200)).build().start()) {
                awaitTrue(Duration.ofMinutes(1), () -> PG.countExecutions("status = 'completed'") == 300);
                assertThat(worker.stats().claimed()).isEqualTo(300);
            }

            assertEachStepRanOnce(flows, ids);
            long claimsWithWork = claims.stream().filter(n -> n > 0).count();
            assertThat(claimsWithWork).as("claims that found work, for 300 executions on one runner (%s)", claims)
                    .isLessThanOrEqualTo(150);
            assertThat(claims).as("never more than the runner and its buffer").allSatisfy(n ->
                    assertThat(n).isLessThanOrEqualTo(5));
        });
    }

    @Test
    void an_execution_cancelled_while_it_waits_in_the_buffer_never_runs_its_step() {
        assertTimeoutPreemptively(Duration.ofMinutes(2), () -> {
            PgExecutionStore store = new PgExecutionStore(PG.dataSource());
            List<String> ids = enqueue(store, 5);
            CountDownLatch entered = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            WorkerFlows flows = new WorkerFlows();
            Engine engine = flows.engine(store, heldUntil(entered, release), Duration.ofMillis(300));
            String running;
            List<String> buffered;
            try (EngineWorker worker = EngineWorker.builder(engine).workerId("buffering").threads(1).claimAhead(4)
                    .pollInterval(Duration.ofMillis(100)).build().start()) {
                assertThat(entered.await(30, TimeUnit.SECONDS)).isTrue();
                awaitTrue(Duration.ofSeconds(30), () -> PG.countExecutions("lease_owner = 'buffering'") == 5);
                running = ids.stream().filter(id -> flows.callsOf(id, "a") == 1).findFirst().orElseThrow();
                buffered = ids.stream().filter(id -> !id.equals(running)).toList();
                for (String id : buffered) {
                    engine.cancel(id, Cancellation.Source.USER, "not wanted any more");
                }
                // Past the time after which a buffered execution's lease is looked at as it starts.
                long cancelledAt = System.nanoTime();
                awaitTrue(Duration.ofSeconds(5), () -> System.nanoTime() - cancelledAt > Duration.ofMillis(400).toNanos());
                release.countDown();
                awaitTrue(Duration.ofSeconds(30), () -> PG.countExecutions("status = 'completed'") == 1
                        && worker.stats().inFlight() == 0);
                assertThat(worker.stats().cancelled()).as("each told apart from a lost lease").isEqualTo(4);
                assertThat(worker.stats().leaseLost()).isZero();
            } finally {
                release.countDown();
            }
            for (String id : buffered) {
                assertThat(flows.callsOf(id, "a")).as("first step of cancelled %s", id).isZero();
                assertThat(store.load(id).orElseThrow().status()).isEqualTo(ExecutionStatus.CANCELLED);
            }
        });
    }

    @Test
    void executions_claimed_ahead_stay_leased_while_they_wait_and_are_released_when_the_worker_closes() {
        assertTimeoutPreemptively(Duration.ofMinutes(2), () -> {
            PgExecutionStore store = new PgExecutionStore(PG.dataSource());
            List<String> ids = enqueue(store, 6);
            CountDownLatch entered = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            WorkerFlows flows = new WorkerFlows();
            Engine engine = flows.engine(store, heldUntil(entered, release), Duration.ofMillis(300));
            EngineWorker worker = EngineWorker.builder(engine).workerId("holder").threads(1).claimAhead(4)
                    .leaseTtl(Duration.ofMillis(600)).pollInterval(Duration.ofMillis(100))
                    .shutdownTimeout(Duration.ofMinutes(1)).build().start();
            CompletableFuture<Void> closing = null;
            try {
                assertThat(entered.await(30, TimeUnit.SECONDS)).isTrue();
                // One running (its first claim was full), then four claimed ahead; the sixth is left to others.
                awaitTrue(Duration.ofSeconds(30), () -> PG.countExecutions("lease_owner = 'holder'") == 5);
                long firstExpiry = PG.queryLong("SELECT max(lease_expires_at) FROM executions");
                awaitTrue(Duration.ofSeconds(30), () -> {
                    try {
                        return PG.queryLong("SELECT min(lease_expires_at) FROM executions "
                                + "WHERE lease_owner = 'holder'") > firstExpiry;
                    } catch (SQLException e) {
                        throw new IllegalStateException(e);
                    }
                });
                // Past the first leases' end by the database's clock: only the renewals hold them now.
                awaitTrue(Duration.ofSeconds(30), () -> {
                    try {
                        return PG.queryLong("SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint") > firstExpiry;
                    } catch (SQLException e) {
                        throw new IllegalStateException(e);
                    }
                });
                List<Execution> takenByOthers = store.claimDue("other", List.of(new LeasingExecutionStore.FlowVersion(
                        WorkerFlows.THREE_STEPS, "1")), Duration.ofMinutes(1), 10).executions();
                assertThat(takenByOthers).as("only the one not claimed ahead: the others' first leases have ended, their renewals hold")
                        .hasSize(1);
                store.releaseLeases("other", List.of(takenByOthers.get(0).id()));
                assertThat(worker.stats().inFlight()).isEqualTo(5);

                closing = CompletableFuture.runAsync(worker::close);
                awaitTrue(Duration.ofSeconds(30), () -> PG.countExecutions("lease_owner = 'holder'") == 1);
                assertThat(closing).as("close waits for the step that runs").isNotDone();
            } finally {
                release.countDown();
                if (closing != null) {
                    closing.get(60, TimeUnit.SECONDS);
                }
                worker.close();
            }
            assertThat(PG.countExecutions("status = 'completed'")).as("the execution that was running").isEqualTo(1);
            assertThat(PG.countExecutions("status = 'pending' AND lease_owner IS NULL")).as("released, claimable at once")
                    .isEqualTo(5);

            try (EngineWorker next = EngineWorker.builder(flows.engine(store)).workerId("next").threads(2)
                    .pollInterval(Duration.ofMillis(100)).build().start()) {
                awaitTrue(Duration.ofSeconds(60), () -> PG.countExecutions("status = 'completed'") == 6);
            }
            assertEachStepRanOnce(flows, ids);
        });
    }

    @Test
    void a_worker_closed_while_its_runners_save_in_batches_loses_nothing() {
        assertTimeoutPreemptively(Duration.ofMinutes(3), () -> {
            HikariDataSource ds = PG.newDataSource(2 * 10 + 4);
            PgExecutionStore real = new PgExecutionStore(ds);
            List<String> ids = enqueue(real, 1500);
            WorkerFlows flows = new WorkerFlows();
            LeasingExecutionStore store = watched(real);
            EngineWorker first = EngineWorker.builder(flows.engine(store)).workerId("first").threads(8)
                    .pollInterval(Duration.ofMillis(100)).build().start();
            EngineWorker second = EngineWorker.builder(flows.engine(store)).workerId("second").threads(8)
                    .pollInterval(Duration.ofMillis(100)).build().start();
            try {
                awaitTrue(Duration.ofMinutes(1), () -> PG.countExecutions("status = 'completed'") >= 200);
                first.close();
                long doneAtClose = PG.countExecutions("status = 'completed'");
                assertThat(doneAtClose).as("closed mid-drain").isLessThan(1500);
                assertThat(PG.countExecutions("lease_owner = 'first'")).as("nothing the closed worker still holds").isZero();
                awaitTrue(Duration.ofMinutes(2), () -> PG.countExecutions("status = 'completed'") == 1500);
            } finally {
                first.close();
                second.close();
            }

            assertEachStepRanOnce(flows, ids);
            assertThat(first.stats().claimed() + second.stats().claimed())
                    .as("claimed once each, plus the ones the closed worker released unstarted")
                    .isGreaterThanOrEqualTo(1500);
            assertThat(first.stats().errors() + second.stats().errors()).isZero();
            assertThat(first.stats().leaseLost() + second.stats().leaseLost() + first.stats().interrupted()).isZero();
            assertThat(PG.countExecutions("lease_owner IS NOT NULL")).isZero();
            assertThat(batches).anySatisfy(n -> assertThat(n).isGreaterThan(1));
        });
    }

    @Test
    void a_wait_that_falls_due_while_every_runner_is_busy_is_claimed_as_soon_as_one_frees_up_not_at_the_poll() {
        assertTimeoutPreemptively(Duration.ofMinutes(1), () -> {
            PgExecutionStore store = new PgExecutionStore(PG.dataSource());
            CountDownLatch entered = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            WorkerFlows flows = new WorkerFlows();
            Engine engine = flows.engine(store, heldUntil(entered, release), Duration.ofMillis(300));
            try (EngineWorker worker = EngineWorker.builder(engine).workerId("busy").threads(1)
                    .pollInterval(Duration.ofSeconds(60)).build().start()) {
                String waiting = engine.create(WorkerFlows.TIMED_WAIT, java.util.Map.of()).execution().id();
                awaitTrue(Duration.ofSeconds(30), () -> PG.countExecutions("id = '" + waiting + "' AND status = 'waiting'") == 1);
                engine.create(WorkerFlows.THREE_STEPS, java.util.Map.of());
                assertThat(entered.await(30, TimeUnit.SECONDS)).as("the one runner is busy").isTrue();
                // The wait falls due while the runner is held: its wake-up finds no room.
                awaitTrue(Duration.ofSeconds(30), () -> PG.countExecutions("id = '" + waiting
                        + "' AND wake_at < floor(extract(epoch FROM clock_timestamp()) * 1000) - 200") == 1);

                long freed = System.nanoTime();
                release.countDown();
                awaitTrue(Duration.ofSeconds(30), () -> PG.countExecutions("id = '" + waiting + "' AND status = 'completed'") == 1);

                assertThat(Duration.ofNanos(System.nanoTime() - freed)).as("well before the 60 s poll")
                        .isLessThan(Duration.ofSeconds(20));
                assertThat(worker.stats().wakeupsByPoll()).isZero();
            }
        });
    }
}
