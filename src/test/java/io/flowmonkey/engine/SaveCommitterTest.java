package io.flowmonkey.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.flowmonkey.execution.ConcurrentUpdateException;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionDataException;
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
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Many threads' saves through one {@link SaveCommitter}: batched, and each failing only for itself. */
class SaveCommitterTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    private static final int THREADS = 16;

    private PgExecutionStore real;

    @BeforeEach
    void emptyTable() throws SQLException {
        PG.truncate("executions");
        real = new PgExecutionStore(PG.newDataSource(THREADS + 2));
    }

    /**
     * The real store, whose first batched save waits until every thread has handed its save in, so
     * that the others queue behind it and go in the next batch.
     */
    private LeasingExecutionStore holdingTheFirstBatch(CountDownLatch allHandedIn) {
        AtomicBoolean first = new AtomicBoolean(true);
        return (LeasingExecutionStore) Proxy.newProxyInstance(LeasingExecutionStore.class.getClassLoader(),
                new Class<?>[] {LeasingExecutionStore.class}, (proxy, method, args) -> {
                    if (method.getName().equals("saveAllVersioned") && first.compareAndSet(true, false)) {
                        allHandedIn.await();
                    }
                    try {
                        return method.invoke(real, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    private List<Execution> stored() {
        List<Execution> fresh = new ArrayList<>();
        for (int i = 0; i < THREADS; i++) {
            fresh.add(Execution.builder("commit-" + i, "flow", "1").build());
        }
        return real.saveAll(fresh);
    }

    /** Each thread saves its execution, the whole lot at once; returns each thread's outcome. */
    private List<Future<Execution>> saveConcurrently(SaveCommitter committer, List<Execution> next,
                                                     CountDownLatch allHandedIn) {
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        CountDownLatch start = new CountDownLatch(1);
        List<Future<Execution>> futures = new ArrayList<>();
        for (Execution e : next) {
            futures.add(pool.submit(() -> {
                start.await();
                allHandedIn.countDown();
                return committer.save(e, false);
            }));
        }
        start.countDown();
        pool.shutdown();
        return futures;
    }

    private static Throwable failureOf(Future<Execution> future) throws InterruptedException {
        try {
            future.get(60, TimeUnit.SECONDS);
            return null;
        } catch (java.util.concurrent.ExecutionException e) {
            return e.getCause();
        } catch (java.util.concurrent.TimeoutException e) {
            throw new AssertionError("a save did not return", e);
        }
    }

    @Test
    void a_save_that_lost_a_race_fails_only_its_own_thread_and_the_others_commit_in_batches() {
        assertTimeoutPreemptively(Duration.ofMinutes(1), () -> {
            List<Execution> before = stored();
            Execution raced = real.save(before.get(5).toBuilder().context(Map.of("by", "someone else")).build());
            CountDownLatch allHandedIn = new CountDownLatch(THREADS);
            SaveCommitter committer = new SaveCommitter(holdingTheFirstBatch(allHandedIn), 64);
            List<Execution> next = before.stream().map(e -> e.toBuilder().status(ExecutionStatus.COMPLETED)
                    .stepCount(1).context(Map.of("saved", e.id())).build()).toList();

            List<Future<Execution>> outcomes = saveConcurrently(committer, next, allHandedIn);

            for (int i = 0; i < THREADS; i++) {
                Throwable failure = failureOf(outcomes.get(i));
                if (i == 5) {
                    assertThat(failure).isInstanceOf(ConcurrentUpdateException.class).hasMessageContaining(raced.id());
                    assertThat(real.load(raced.id()).orElseThrow()).isEqualTo(raced);
                } else {
                    assertThat(failure).as("thread %d", i).isNull();
                    Execution saved = outcomes.get(i).get();
                    assertThat(real.load(saved.id()).orElseThrow()).as("committed before save returned")
                            .isEqualTo(saved);
                }
            }
            assertThat(committer.saves()).isEqualTo(THREADS);
            assertThat(committer.batches()).as("the saves that queued behind the first went together")
                    .isLessThan(THREADS);
        });
    }

    @Test
    void an_unstorable_save_fails_only_its_own_thread() {
        assertTimeoutPreemptively(Duration.ofMinutes(1), () -> {
            List<Execution> before = stored();
            CountDownLatch allHandedIn = new CountDownLatch(THREADS);
            SaveCommitter committer = new SaveCommitter(holdingTheFirstBatch(allHandedIn), 64);
            List<Execution> next = new ArrayList<>(before.stream().map(e -> e.toBuilder()
                    .status(ExecutionStatus.RUNNING).stepCount(1).build()).toList());
            next.set(9, next.get(9).toBuilder().context(Map.of("bad", "\0")).build());

            List<Future<Execution>> outcomes = saveConcurrently(committer, next, allHandedIn);

            for (int i = 0; i < THREADS; i++) {
                Throwable failure = failureOf(outcomes.get(i));
                if (i == 9) {
                    assertThat(failure).isInstanceOf(ExecutionDataException.class).hasMessageContaining("commit-9");
                    assertThat(real.load("commit-9").orElseThrow()).isEqualTo(before.get(9));
                } else {
                    assertThat(failure).as("thread %d", i).isNull();
                    assertThat(real.load("commit-" + i).orElseThrow().stepCount()).isEqualTo(1);
                }
            }
        });
    }

    /** {@code runners} threads, each saving its own execution {@code rounds} times, one after another. */
    private void saveInRounds(SaveCommitter committer, int runners, int rounds, long pauseMillis) throws Exception {
        List<Execution> fresh = new ArrayList<>();
        for (int i = 0; i < runners; i++) {
            fresh.add(Execution.builder("round-" + i, "flow", "1").build());
        }
        ExecutorService pool = Executors.newFixedThreadPool(runners);
        List<Future<Execution>> last = new ArrayList<>();
        for (Execution e : real.saveAll(fresh)) {
            last.add(pool.submit(() -> {
                Execution current = e;
                for (int round = 1; round <= rounds; round++) {
                    Thread.sleep(pauseMillis);
                    current = committer.save(current.toBuilder().stepCount(round).build(), false);
                }
                return current;
            }));
        }
        pool.shutdown();
        for (Future<Execution> f : last) {
            Execution saved = f.get(60, TimeUnit.SECONDS);
            assertThat(real.load(saved.id()).orElseThrow()).as("every round committed, the last one stored")
                    .isEqualTo(saved).extracting(Execution::stepCount).isEqualTo(rounds);
        }
        assertThat(committer.saves()).isEqualTo((long) runners * rounds);
    }

    @Test
    void runners_released_by_a_batch_are_gathered_into_the_next_one() {
        assertTimeoutPreemptively(Duration.ofMinutes(1), () -> {
            // Each wait 50 ms, so that runners slowed by a loaded machine are still waited for.
            SaveCommitter committer = new SaveCommitter(real, 64, Duration.ofMillis(50), Duration.ofMillis(50));

            saveInRounds(committer, 4, 100, 0);

            // Without gathering, the runners released by one batch miss the next, which the others already
            // fill: batches alternate between them, two saves or fewer each (224 to 334 batches in four runs
            // here); with it, each batch waits for the four, 100 batches.
            assertThat(committer.batches()).as("batches for 400 saves of 4 runners").isLessThanOrEqualTo(130);
            // Each wait ends as the last of them hands its save in, not at its deadline.
            assertThat(committer.gathersToDeadline()).as("waits that ran to their deadline").isLessThanOrEqualTo(10);
        });
    }

    @Test
    void a_runner_that_lent_its_slot_for_its_save_is_not_waited_for_by_the_next_batch() {
        assertTimeoutPreemptively(Duration.ofMinutes(1), () -> {
            List<Execution> before = stored();
            for (boolean lent : List.of(true, false)) {
                SaveCommitter committer = new SaveCommitter(real, 64, Duration.ofMillis(300), Duration.ofMillis(300));
                int offset = lent ? 0 : 2;
                // One runner's save, a batch by itself; then another runner's, on another thread.
                ExecutorService first = Executors.newSingleThreadExecutor();
                ExecutorService second = Executors.newSingleThreadExecutor();
                try {
                    first.submit(() -> committer.save(before.get(offset).toBuilder().stepCount(1).build(), lent))
                            .get(30, TimeUnit.SECONDS);
                    second.submit(() -> committer.save(before.get(offset + 1).toBuilder().stepCount(1).build(), false))
                            .get(30, TimeUnit.SECONDS);
                } finally {
                    first.shutdownNow();
                    second.shutdownNow();
                }

                assertThat(committer.batches()).isEqualTo(2);
                // The first runner never hands in another save: waited for, it holds the second batch back.
                assertThat(committer.gathersToDeadline()).as("waits for the first runner, its slot lent: %s", lent)
                        .isEqualTo(lent ? 0 : 1);
            }
        });
    }

    @Test
    void runners_of_slow_steps_are_not_waited_for() {
        assertTimeoutPreemptively(Duration.ofMinutes(1), () -> {
            SaveCommitter committer = new SaveCommitter(real, 64);

            // Each of 16 runners spends 20 ms between saves: far longer than a batch takes to write, and
            // batches follow one another closely.
            saveInRounds(committer, 16, 10, 20);

            assertThat(committer.gathers()).as("batches whose writer waited for the others").isLessThanOrEqualTo(5);
        });
    }

    @Test
    void a_writer_interrupted_while_it_gathers_writes_nothing_and_the_next_save_goes_on() {
        assertTimeoutPreemptively(Duration.ofMinutes(1), () -> {
            List<Execution> before = stored();
            SaveCommitter committer = new SaveCommitter(real, 64, Duration.ofSeconds(30), Duration.ofSeconds(30));
            // The first save's runner is then the one the next writer waits for.
            Execution first = committer.save(before.get(0).toBuilder().stepCount(1).build(), false);
            AtomicReference<Throwable> outcome = new AtomicReference<>();
            Thread other = new Thread(() -> {
                try {
                    committer.save(before.get(1).toBuilder().stepCount(1).build(), false);
                } catch (Throwable t) {
                    outcome.set(t);
                }
            });
            other.start();
            while (committer.gathers() == 0) {
                Thread.sleep(1);
            }
            other.interrupt();
            other.join();

            assertThat(outcome.get()).isInstanceOf(CancellationException.class).hasMessageContaining("commit-1");
            assertThat(real.load("commit-1").orElseThrow()).as("nothing of it written").isEqualTo(before.get(1));
            assertThat(committer.save(first.toBuilder().stepCount(2).build(), false).stepCount()).isEqualTo(2);
        });
    }
}
