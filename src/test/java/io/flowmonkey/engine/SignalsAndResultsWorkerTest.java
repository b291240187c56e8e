package io.flowmonkey.engine;

import static io.flowmonkey.testing.Await.awaitTrue;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import com.zaxxer.hikari.HikariDataSource;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.postgres.PgExecutionStore;
import io.flowmonkey.testing.PostgresExtension;
import io.flowmonkey.testing.RecordedEnds;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Signals, child flows and {@link Engine#awaitEnd} with {@link EngineWorker}s on PostgreSQL: what
 * continues an execution is a worker woken by a notice, never the caller's thread. Poll intervals are
 * a minute wherever a test claims that a notice did the waking, so that polling cannot pass for it.
 */
class SignalsAndResultsWorkerTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    private static final Duration BOUND = Duration.ofSeconds(60);
    private static final Duration NO_POLLING = Duration.ofMinutes(1);

    private final List<EngineWorker> workers = new ArrayList<>();
    private HikariDataSource ds;
    private HandlerRegistry handlers;
    private InMemoryFlowRegistry flows;

    @BeforeEach
    void setUp() throws SQLException {
        PG.truncate("executions", "executions_signals");
        ds = PG.newDataSource(16);
        handlers = new HandlerRegistry()
                .register("await.go", ctx -> StepResult.awaitSignal("go", "waiting for go"))
                .register("record", ctx -> StepResult.success(ctx.input()))
                .register("count", ctx -> {
                    List<Object> seen = new ArrayList<>((List<?>) ctx.context().getOrDefault("seen", List.of()));
                    seen.add(((Map<?, ?>) ctx.context().get(Engine.RESUME_DATA_KEY)).get("n"));
                    return StepResult.success(seen);
                })
                .register("child.work", ctx -> StepResult.success(((Number) ((Map<?, ?>) ctx.input()).get("n"))
                        .intValue() * 10))
                .register("parent.spawn", ctx -> StepResult.startChildren(List.of(
                        ChildSpec.of("child", Map.of("n", 1)), ChildSpec.of("child", Map.of("n", 2)))));
        flows = new InMemoryFlowRegistry()
                .register(Flow.builder("await-go", "1").initialStep("wait")
                        .step(Step.builder("wait", "await.go").onResume("after").build())
                        .step(Step.builder("after", "record").input(InputSelector.key(Engine.RESUME_DATA_KEY))
                                .outputKey("got").build())
                        .build())
                .register(Flow.builder("counter", "1").initialStep("wait")
                        .step(Step.builder("wait", "await.go").onResume("count").build())
                        .step(Step.builder("count", "count").outputKey("seen").onSuccess("wait").build())
                        .build())
                .register(Flow.builder("child", "1").initialStep("work")
                        .step(Step.builder("work", "child.work").input(InputSelector.full()).outputKey("value").build())
                        .build())
                .register(Flow.builder("parent", "1").initialStep("spawn")
                        .step(Step.builder("spawn", "parent.spawn").onResume("collect").build())
                        .step(Step.builder("collect", "record").input(InputSelector.key(Engine.CHILDREN_KEY))
                                .outputKey("collected").build())
                        .build());
    }

    @AfterEach
    void stopWorkers() {
        workers.forEach(EngineWorker::close);
    }

    private Engine engine(Duration awaitPollInterval) {
        return new Engine(new PgExecutionStore(ds), handlers, flows,
                EngineOptions.builder().awaitPollInterval(awaitPollInterval).build());
    }

    private void startWorker(Engine engine, String id) {
        workers.add(EngineWorker.builder(engine).workerId(id).threads(4).pollInterval(NO_POLLING).build().start());
    }

    @Test
    void a_signal_wakes_a_worker_which_runs_the_steps_after_the_wait() {
        Engine engine = engine(NO_POLLING);
        startWorker(engine, "w1");
        String id = engine.create("await-go", Map.of()).execution().id();
        awaitStatus(engine, id, ExecutionStatus.WAITING);

        Execution done = assertTimeoutPreemptively(BOUND, () -> {
            engine.signal(id, "go", Map.of("from", "http"));
            return engine.awaitEnd(id, Duration.ofSeconds(30));
        });

        assertThat(done.status()).isEqualTo(ExecutionStatus.COMPLETED);
        assertThat(done.context()).containsEntry("got", Map.of("from", "http"));
    }

    @Test
    void thirty_two_threads_signalling_an_execution_that_a_worker_runs_lose_nothing() {
        int senders = 32;
        Engine engine = engine(NO_POLLING);
        startWorker(engine, "w1");
        startWorker(engine, "w2");
        String id = engine.create("counter", Map.of()).execution().id();

        assertTimeoutPreemptively(BOUND, () -> {
            ExecutorService pool = Executors.newFixedThreadPool(senders);
            try {
                CountDownLatch go = new CountDownLatch(1);
                List<Future<?>> sends = new ArrayList<>();
                for (int i = 0; i < senders; i++) {
                    int n = i;
                    sends.add(pool.submit(() -> {
                        go.await();
                        engine.signal(id, "go", Map.of("n", n));
                        engine.signal(id, "other", Map.of("n", n));
                        return null;
                    }));
                }
                go.countDown();
                for (Future<?> send : sends) {
                    send.get();
                }
            } finally {
                pool.shutdownNow();
            }
            awaitTrue(Duration.ofSeconds(50), () -> seen(engine, id).size() >= senders);
        });

        List<?> seen = seen(engine, id);
        assertThat(seen.stream().map(n -> ((Number) n).intValue()).sorted().toList())
                .isEqualTo(IntStream.range(0, senders).boxed().toList());
        PgExecutionStore store = new PgExecutionStore(ds);
        assertThat(store.findSignals(id, "go", 100)).isEmpty();
        assertThat(store.findSignals(id, "other", 100)).hasSize(senders);
    }

    @Test
    void workers_run_the_children_and_then_the_parent_at_once() {
        Engine engine = engine(NO_POLLING);
        startWorker(engine, "w1");
        startWorker(engine, "w2");

        Execution done = assertTimeoutPreemptively(BOUND, () -> {
            String id = engine.create("parent", Map.of()).execution().id();
            return engine.awaitEnd(id, Duration.ofSeconds(30));
        });

        assertThat(done.status()).isEqualTo(ExecutionStatus.COMPLETED);
        List<Object> statuses = ((List<?>) done.context().get("collected")).stream()
                .map(o -> (Object) ((Map<?, ?>) o).get("status")).toList();
        assertThat(statuses).containsExactly("completed", "completed");
    }

    @Test
    void await_end_returns_within_100_ms_of_the_stored_end_when_notices_flow() {
        Engine engine = engine(NO_POLLING);
        PgExecutionStore store = new PgExecutionStore(ds);
        List<Long> latencies = new ArrayList<>();
        assertTimeoutPreemptively(BOUND, () -> {
            ExecutorService pool = Executors.newSingleThreadExecutor();
            try {
                for (int round = 0; round < 10; round++) {
                    String id = engine.create("await-go", Map.of()).execution().id();
                    engine.run(id);
                    Future<Instant> returned = pool.submit(() -> {
                        engine.awaitEnd(id, Duration.ofSeconds(30));
                        return Instant.now();
                    });
                    // The bound is for a caller already waiting: its watch is in place before the end.
                    awaitTrue(Duration.ofSeconds(10), () -> !store.findSignals(id,
                            io.flowmonkey.execution.SignalStore.WATCH_END_SIGNAL, 1).isEmpty());
                    engine.signal(id, "go", Map.of("round", round));
                    Execution ended = engine.run(id).execution();
                    assertThat(ended.status()).isEqualTo(ExecutionStatus.COMPLETED);
                    latencies.add(Duration.between(ended.completedAt(), returned.get()).toMillis());
                }
            } finally {
                pool.shutdownNow();
            }
        });

        // completedAt is stamped before the save, so each latency includes the save's own round trip.
        assertThat(latencies).allSatisfy(ms -> assertThat(ms).isLessThan(100));
    }

    @Test
    void await_end_returns_by_polling_when_no_notice_is_sent() throws Exception {
        Duration poll = Duration.ofMillis(200);
        Engine waiter = engine(poll);
        // The ending side's sessions send no notices: only polling can tell the waiter.
        HikariDataSource silent = PG.newDataSource(4, c -> c.setConnectionInitSql("SET flowmonkey.notify = 'off'"));
        Engine ender = new Engine(new PgExecutionStore(silent), handlers, flows);
        String id = ender.create("await-go", Map.of()).execution().id();
        ender.run(id);

        long waited = assertTimeoutPreemptively(BOUND, () -> {
            ExecutorService pool = Executors.newSingleThreadExecutor();
            try {
                CountDownLatch started = new CountDownLatch(1);
                Future<Long> returned = pool.submit(() -> {
                    started.countDown();
                    long t0 = System.nanoTime();
                    Execution ended = waiter.awaitEnd(id, Duration.ofSeconds(30));
                    assertThat(ended.status()).isEqualTo(ExecutionStatus.COMPLETED);
                    return (System.nanoTime() - t0) / 1_000_000;
                });
                started.await();
                ender.signal(id, "go", Map.of());
                ender.run(id);
                return returned.get();
            } finally {
                pool.shutdownNow();
            }
        });

        assertThat(waited).isLessThan(poll.toMillis() + 5_000);
    }

    @Test
    void only_the_ends_of_watched_executions_are_announced_and_a_returned_wait_leaves_no_watch() throws Exception {
        Engine engine = engine(NO_POLLING);
        PgExecutionStore store = new PgExecutionStore(ds);
        String unwatched = engine.create("await-go", Map.of()).execution().id();
        String watched = engine.create("await-go", Map.of()).execution().id();
        engine.run(unwatched);
        engine.run(watched);
        RecordedEnds ends = new RecordedEnds();
        try (var subscription = store.subscribeToEnds(ends)) {
            assertThat(ends.awaitListening(Duration.ofSeconds(30))).isTrue();
            ExecutorService pool = Executors.newSingleThreadExecutor();
            try {
                Future<Execution> waiter = pool.submit(() -> engine.awaitEnd(watched, Duration.ofSeconds(30)));
                awaitTrue(Duration.ofSeconds(10), () -> !store.findSignals(watched,
                        io.flowmonkey.execution.SignalStore.WATCH_END_SIGNAL, 1).isEmpty());
                engine.signal(unwatched, "go", Map.of());
                engine.run(unwatched);   // ends first, unwatched
                engine.signal(watched, "go", Map.of());
                engine.run(watched);
                assertThat(waiter.get(30, java.util.concurrent.TimeUnit.SECONDS).status())
                        .isEqualTo(ExecutionStatus.COMPLETED);
            } finally {
                pool.shutdownNow();
            }
            // Notices arrive in commit order: the watched end's notice came, and none before it.
            assertThat(ends.next(Duration.ofSeconds(30))).isEqualTo(watched);
        }
        assertThat(store.findSignals(watched, io.flowmonkey.execution.SignalStore.WATCH_END_SIGNAL, 10)).isEmpty();
    }

    private static List<?> seen(Engine engine, String id) {
        return (List<?>) engine.get(id).orElseThrow().context().getOrDefault("seen", List.of());
    }

    private static void awaitStatus(Engine engine, String id, ExecutionStatus status) {
        assertTimeoutPreemptively(BOUND, () -> awaitTrue(Duration.ofSeconds(30),
                () -> engine.get(id).orElseThrow().status() == status));
    }
}
