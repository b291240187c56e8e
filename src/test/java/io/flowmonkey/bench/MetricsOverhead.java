package io.flowmonkey.bench;

import com.zaxxer.hikari.HikariDataSource;
import io.flowmonkey.engine.Engine;
import io.flowmonkey.engine.EngineEvent;
import io.flowmonkey.engine.EngineOptions;
import io.flowmonkey.engine.EngineWorker;
import io.flowmonkey.engine.Flow;
import io.flowmonkey.engine.HandlerRegistry;
import io.flowmonkey.engine.InMemoryFlowRegistry;
import io.flowmonkey.engine.Step;
import io.flowmonkey.engine.StepResult;
import io.flowmonkey.engine.StoreCall;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.micrometer.FlowMonkeyMetrics;
import io.flowmonkey.postgres.PgExecutionStore;
import io.flowmonkey.postgres.PgStoreOptions;
import io.flowmonkey.postgres.SchemaApplier;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.management.ManagementFactory;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;

/**
 * {@code -Dbench.ops=metrics}: what {@link FlowMonkeyMetrics} costs an {@link EngineWorker}. The same
 * one-step workload (pending executions with the 1 KB context, a handler that does nothing) is drained
 * by a fresh worker without listeners and by one whose engine reports to a {@link SimpleMeterRegistry},
 * in alternating rounds (plain, metrics, metrics, plain, ...) of the same run, so that a neighbour's load
 * falls on both alike. Before the first round of a thread count, every connection of its pool is open
 * and has been used, and each side has drained a full round unmeasured: the first measured round (a
 * plain one) must not pay for opening connections or compiling code that the others do not. Reported:
 * each side's executions per second over all its rounds, their ratio, the per-pair ratios in run order
 * and their median, and the CPU per execution of the JVM and of the worker's own threads.
 */
final class MetricsOverhead {

    private static final String FLOW_ID = "bench-metrics-one-step";
    private static final int ROUNDS = 12;
    private static final java.lang.management.ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    private static volatile long flushed;
    private static final Duration POLL = Duration.ofMillis(100);
    private static final com.sun.management.OperatingSystemMXBean PROCESS =
            (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

    private final BenchServer server;
    private final BenchConfig config;
    private final Fixtures fixtures;
    private final PgStoreOptions options = PgStoreOptions.builder().schema(Bench.SCHEMA)
            .tableName("metrics_executions").build();
    private final InMemoryFlowRegistry flows = new InMemoryFlowRegistry().register(Flow.builder(FLOW_ID, "1")
            .initialStep("only").step(Step.builder("only", "noop").build()).build());
    private final HandlerRegistry handlers = new HandlerRegistry().register("noop", ctx -> StepResult.success(null));

    MetricsOverhead(BenchServer server, BenchConfig config, Fixtures fixtures) {
        this.server = server;
        this.config = config;
        this.fixtures = fixtures;
    }

    void run(Report report) throws Exception {
        int count = config.workerExecutions();
        List<Map<String, Object>> rows = new ArrayList<>();
        StringBuilder table = new StringBuilder("### FlowMonkeyMetrics overhead: EngineWorker drain, 1 step\n\n"
                + "| threads | executions per drain × drains | without, executions/s | with, executions/s | ratio "
                + "| median of the pairs' ratios | each pair's ratio, in run order "
                + "| JVM CPU µs per execution, without / with | worker threads' CPU µs per execution, without / with |\n"
                + "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
        for (int threads : config.threads()) {
            try (HikariDataSource pool = pool(threads + 2)) {
                SchemaApplier.apply(pool, options);
                PgExecutionStore store = new PgExecutionStore(pool, options);
                // The pool opens its connections in the background, one at a time: at 64 threads a short
                // warm-up left a third of them to open during the first measured round, always a plain one.
                openEveryConnection(pool, threads + 2);
                // Warm-up of both sides, not measured, as long as a round: JIT, each connection's
                // prepared statements, the table's first pages.
                drain(pool, store, threads, count, false);
                drain(pool, store, threads, count, true);
                long plainNanos = 0;
                long metricsNanos = 0;
                long plainCpu = 0;
                long metricsCpu = 0;
                long plainWorkerCpu = 0;
                long metricsWorkerCpu = 0;
                double[] pairRatios = new double[ROUNDS / 2];
                for (int r = 0; r < ROUNDS; r += 2) {
                    boolean metricsFirst = (r / 2) % 2 == 1;
                    long[] first = drain(pool, store, threads, count, metricsFirst);
                    long[] second = drain(pool, store, threads, count, !metricsFirst);
                    long[] plain = metricsFirst ? second : first;
                    long[] measured = metricsFirst ? first : second;
                    plainNanos += plain[0];
                    metricsNanos += measured[0];
                    plainCpu += plain[1];
                    metricsCpu += measured[1];
                    plainWorkerCpu += plain[2];
                    metricsWorkerCpu += measured[2];
                    pairRatios[r / 2] = (double) plain[0] / measured[0];
                }
                int executions = count * (ROUNDS / 2);
                double plainRate = executions * 1e9 / plainNanos;
                double metricsRate = executions * 1e9 / metricsNanos;
                double ratio = metricsRate / plainRate;
                // The JVM's own CPU per execution: what the metrics add, far less at the mercy of the
                // neighbours' load than wall time (the database's CPU is the same on both sides).
                double plainCpuMicros = plainCpu / 1e3 / executions;
                double metricsCpuMicros = metricsCpu / 1e3 / executions;
                // The worker's claim loop and runners alone, where the listener runs: no JIT or GC threads.
                double plainWorkerMicros = plainWorkerCpu / 1e3 / executions;
                double metricsWorkerMicros = metricsWorkerCpu / 1e3 / executions;
                List<Double> inOrder = Arrays.stream(pairRatios).boxed().toList();
                Arrays.sort(pairRatios);
                double median = (pairRatios[(pairRatios.length - 1) / 2] + pairRatios[pairRatios.length / 2]) / 2;
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("threads", threads);
                row.put("executionsPerDrain", count);
                row.put("drainsEach", ROUNDS / 2);
                row.put("plainOpsPerSecond", plainRate);
                row.put("metricsOpsPerSecond", metricsRate);
                row.put("ratio", ratio);
                row.put("plainJvmCpuMicrosPerExecution", plainCpuMicros);
                row.put("metricsJvmCpuMicrosPerExecution", metricsCpuMicros);
                row.put("plainWorkerCpuMicrosPerExecution", plainWorkerMicros);
                row.put("metricsWorkerCpuMicrosPerExecution", metricsWorkerMicros);
                row.put("medianPairRatio", median);
                row.put("pairRatios", inOrder);
                rows.add(row);
                StringBuilder pairs = new StringBuilder();
                for (double r : inOrder) {
                    pairs.append(pairs.length() == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.3f", r));
                }
                table.append(String.format(Locale.ROOT, "| %d | %,d × %d | %,.0f | %,.0f | %.3f | %.3f | %s | %.0f / %.0f "
                                + "| %.1f / %.1f |%n", threads, count, ROUNDS / 2, plainRate, metricsRate, ratio, median,
                        pairs, plainCpuMicros, metricsCpuMicros, plainWorkerMicros, metricsWorkerMicros));
                report.check(String.format(Locale.ROOT, "metrics cost at most 3%% of worker throughput at %d threads",
                        threads), String.format(Locale.ROOT, "%.3f× (pairs %.3f–%.3f)", ratio, pairRatios[0],
                        pairRatios[pairRatios.length - 1]), ratio >= 0.97);
                System.out.printf(Locale.ROOT, "%-46s %3d threads: plain %,8.0f executions/s (%.0f µs CPU each, workers "
                                + "%.1f) | metrics %,8.0f executions/s (%.0f µs CPU each, workers %.1f) | ratio %.3f, "
                                + "median of pairs %.3f (pairs in order %s)%n",
                        "EngineWorker drain, 1 step, metrics", threads, plainRate, plainCpuMicros, plainWorkerMicros,
                        metricsRate, metricsCpuMicros, metricsWorkerMicros, ratio, median, pairs);
            }
        }
        double listenerNanos = listenerNanosPerExecution(1);
        int most = config.threads().stream().mapToInt(Integer::intValue).max().orElse(1);
        double listenerNanosShared = listenerNanosPerExecution(most);
        double listenerNanosCold = listenerNanosPerExecutionCold();
        table.append(String.format(Locale.ROOT, "%nFlowMonkeyMetrics alone, for the events and store calls of one such "
                + "execution (claimed, run started, step started, step succeeded, completed, run ended; a claim and a "
                + "save), events built as the engine builds them: %.2f µs of CPU on one thread, %.2f µs when %d threads "
                + "tell the same meters at once, %.2f µs (median) when 8 MB are read between executions, as a "
                + "worker's database calls do to the caches.%n", listenerNanos / 1e3, listenerNanosShared / 1e3, most,
                listenerNanosCold / 1e3));
        System.out.printf(Locale.ROOT, "FlowMonkeyMetrics alone: %.2f µs per execution on 1 thread, %.2f µs on %d, "
                + "%.2f µs with cold caches%n", listenerNanos / 1e3, listenerNanosShared / 1e3, most, listenerNanosCold / 1e3);
        report.section(table.toString());
        report.json("metricsOverhead", rows);
        report.json("metricsListenerMicrosPerExecution", listenerNanos / 1e3);
        report.json("metricsListenerMicrosPerExecutionShared", listenerNanosShared / 1e3);
        report.json("metricsListenerMicrosPerExecutionCold", listenerNanosCold / 1e3);
    }

    /**
     * What the listener costs per execution, measured without a database: the engine's events of one
     * one-step execution under a worker and its two store calls, built and told to one bound
     * {@link FlowMonkeyMetrics} by {@code threads} threads at once (yielding now and then, as runners
     * waiting on the database do), after a warm-up; the process's CPU over all their executions.
     */
    private static double listenerNanosPerExecution(int threads) throws InterruptedException {
        FlowMonkeyMetrics metrics = FlowMonkeyMetrics.builder().build();
        metrics.bindTo(new SimpleMeterRegistry());
        for (int i = 0; i < 200_000; i++) {
            tellOneExecution(metrics, i);
        }
        int each = 1_000_000 / threads;
        java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
        List<Thread> tellers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            Thread teller = new Thread(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                for (int i = 0; i < each; i++) {
                    tellOneExecution(metrics, i);
                    if (i % 8 == 7) {
                        Thread.yield();
                    }
                }
            }, "bench-metrics-teller-" + t);
            teller.start();
            tellers.add(teller);
        }
        long cpu = PROCESS.getProcessCpuTime();
        go.countDown();
        for (Thread teller : tellers) {
            teller.join();
        }
        return (double) (PROCESS.getProcessCpuTime() - cpu) / ((long) threads * each);
    }

    /**
     * What the listener costs per execution when its meters are no longer in the CPU's caches, as in a
     * worker, where each execution's JDBC, JSON and the other runners pass between two of its events:
     * 8 MB are read before each execution is told, and the median time of the telling is returned.
     */
    private static double listenerNanosPerExecutionCold() {
        FlowMonkeyMetrics metrics = FlowMonkeyMetrics.builder().build();
        metrics.bindTo(new SimpleMeterRegistry());
        for (int i = 0; i < 200_000; i++) {
            tellOneExecution(metrics, i);
        }
        long[] flush = new long[1 << 20];
        long sum = 0;
        long[] took = new long[20_000];
        for (int i = 0; i < took.length; i++) {
            for (int j = 0; j < flush.length; j += 8) {
                sum += flush[j]++;
            }
            long started = System.nanoTime();
            tellOneExecution(metrics, i);
            took[i] = System.nanoTime() - started;
        }
        flushed = sum; // read, so that the reads of the flush are not compiled away
        Arrays.sort(took);
        return took[took.length / 2];
    }

    /** Opens every connection of the pool at once and uses each, so that none opens during a measured drain. */
    private static void openEveryConnection(HikariDataSource pool, int size) throws Exception {
        List<Connection> all = new ArrayList<>();
        try {
            for (int i = 0; i < size; i++) {
                Connection c = pool.getConnection();
                all.add(c);
                try (Statement st = c.createStatement()) {
                    st.execute("SELECT 1");
                }
            }
        } finally {
            for (Connection c : all) {
                c.close();
            }
        }
    }

    private static void tellOneExecution(FlowMonkeyMetrics metrics, int i) {
        String id = Integer.toString(i);
        Instant created = Instant.now();
        Instant now = Instant.now();
        metrics.onStoreCall(new StoreCall(StoreCall.Operation.CLAIM, Duration.ofNanos(400_000), StoreCall.Outcome.OK));
        metrics.onEvent(new EngineEvent.ExecutionClaimed(id, FLOW_ID, "1", now, "bench", ExecutionStatus.PENDING,
                created));
        metrics.onEvent(new EngineEvent.RunStarted(id, FLOW_ID, "1", Instant.now(), ExecutionStatus.PENDING));
        metrics.onEvent(new EngineEvent.StepStarted(id, FLOW_ID, "1", Instant.now(), "only", 1));
        metrics.onStoreCall(new StoreCall(StoreCall.Operation.SAVE, Duration.ofNanos(900_000), StoreCall.Outcome.OK));
        metrics.onEvent(new EngineEvent.StepSucceeded(id, FLOW_ID, "1", Instant.now(), "only", 1,
                Duration.between(now, Instant.now())));
        metrics.onEvent(new EngineEvent.ExecutionCompleted(id, FLOW_ID, "1", Instant.now(),
                Duration.between(created, Instant.now())));
        metrics.onEvent(new EngineEvent.RunEnded(id, FLOW_ID, "1", Instant.now(), ExecutionStatus.COMPLETED,
                Duration.between(now, Instant.now()), null));
    }

    /**
     * Fills the table with {@code count} pending executions and times one worker until it has run them all.
     *
     * @return the wall time, the JVM's CPU time and the CPU time of the worker's threads (its claim loop
     *     and runners) of the drain, in nanoseconds
     */
    private long[] drain(HikariDataSource pool, PgExecutionStore store, int threads, int count, boolean metrics)
            throws Exception {
        try (Connection c = pool.getConnection(); Statement st = c.createStatement()) {
            st.execute("TRUNCATE \"" + options.schema() + "\".\"" + options.tableName() + "\"");
        }
        List<Execution> batch = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            batch.add(Execution.builder(UUID.randomUUID().toString(), FLOW_ID, "1").currentStepId("only")
                    .context(fixtures.context).build());
        }
        for (int done = 0; done < count; done += 500) {
            store.saveAll(batch.subList(done, Math.min(done + 500, count)));
        }
        EngineOptions.Builder engineOptions = EngineOptions.builder();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        if (metrics) {
            FlowMonkeyMetrics flowMetrics = FlowMonkeyMetrics.builder().store(store).build();
            flowMetrics.bindTo(registry);
            engineOptions.listener(flowMetrics);
        }
        Engine engine = new Engine(store, handlers, flows, engineOptions.build());
        long cpuBefore = PROCESS.getProcessCpuTime();
        long started = System.nanoTime();
        try (EngineWorker worker = EngineWorker.builder(engine).workerId("bench-metrics").threads(threads)
                .pollInterval(POLL).build().start()) {
            long deadline = started + Duration.ofMinutes(5).toNanos();
            while (worker.stats().completed() < count) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("worker ran " + worker.stats() + " of " + count + " in 5 minutes");
                }
                Thread.sleep(2);
            }
            long elapsed = System.nanoTime() - started;
            long cpu = PROCESS.getProcessCpuTime() - cpuBefore;
            long workerCpu = workerThreadsCpu();
            System.out.printf(Locale.ROOT, "  drain: %d threads, %-7s %8.1f ms, JVM CPU %6.1f ms, worker threads' CPU %6.1f ms, "
                    + "pool %d connections%n", threads, metrics ? "metrics" : "plain", elapsed / 1e6, cpu / 1e6,
                    workerCpu / 1e6, pool.getHikariPoolMXBean().getTotalConnections());
            if (metrics && registry.get(FlowMonkeyMetrics.EVENTS).tags("event", "completed").counter().count() < count) {
                throw new IllegalStateException("the metrics side counted fewer completions than it ran");
            }
            return new long[] {elapsed, cpu, workerCpu};
        }
    }

    /** The CPU time of the live worker's threads: each drain's worker starts its own, so this is all its. */
    private static long workerThreadsCpu() {
        long total = 0;
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith("flowmonkey-run-bench-metrics") || t.getName().startsWith("flowmonkey-claim-bench-metrics")) {
                long cpu = THREADS.getThreadCpuTime(t.getId());
                total += Math.max(cpu, 0);
            }
        }
        return total;
    }

    private HikariDataSource pool(int size) {
        return server.pool(server.jdbcUrl(), "bench-metrics-" + size, size);
    }
}
