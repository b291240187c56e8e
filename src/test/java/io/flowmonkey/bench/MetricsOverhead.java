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
 * falls on both alike. Reported: each side's executions per second over all its rounds, their ratio, and
 * the spread of the per-pair ratios.
 */
final class MetricsOverhead {

    private static final String FLOW_ID = "bench-metrics-one-step";
    private static final int ROUNDS = 12;
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
                + "| ratio of each pair of drains | JVM CPU µs per execution, without / with |\n"
                + "| --- | --- | --- | --- | --- | --- | --- |\n");
        for (int threads : config.threads()) {
            try (HikariDataSource pool = pool(threads + 2)) {
                SchemaApplier.apply(pool, options);
                PgExecutionStore store = new PgExecutionStore(pool, options);
                // Warm-up of both sides, not measured: JIT, the pool, the table's first pages.
                drain(pool, store, threads, Math.max(threads * 4, count / 10), false);
                drain(pool, store, threads, Math.max(threads * 4, count / 10), true);
                long plainNanos = 0;
                long metricsNanos = 0;
                long plainCpu = 0;
                long metricsCpu = 0;
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
                Arrays.sort(pairRatios);
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("threads", threads);
                row.put("executionsPerDrain", count);
                row.put("drainsEach", ROUNDS / 2);
                row.put("plainOpsPerSecond", plainRate);
                row.put("metricsOpsPerSecond", metricsRate);
                row.put("ratio", ratio);
                row.put("plainJvmCpuMicrosPerExecution", plainCpuMicros);
                row.put("metricsJvmCpuMicrosPerExecution", metricsCpuMicros);
                row.put("pairRatios", Arrays.stream(pairRatios).boxed().toList());
                rows.add(row);
                table.append(String.format(Locale.ROOT, "| %d | %,d × %d | %,.0f | %,.0f | %.3f | %.3f–%.3f | %.0f / %.0f "
                                + "|%n", threads, count, ROUNDS / 2, plainRate, metricsRate, ratio, pairRatios[0],
                        pairRatios[pairRatios.length - 1], plainCpuMicros, metricsCpuMicros));
                report.check(String.format(Locale.ROOT, "metrics cost at most 3%% of worker throughput at %d threads",
                        threads), String.format(Locale.ROOT, "%.3f× (pairs %.3f–%.3f)", ratio, pairRatios[0],
                        pairRatios[pairRatios.length - 1]), ratio >= 0.97);
                System.out.printf(Locale.ROOT, "%-46s %3d threads: plain %,8.0f executions/s (%.0f µs CPU each) | "
                                + "metrics %,8.0f executions/s (%.0f µs CPU each) | ratio %.3f (pairs %s)%n",
                        "EngineWorker drain, 1 step, metrics", threads, plainRate, plainCpuMicros, metricsRate,
                        metricsCpuMicros, ratio, Arrays.toString(pairRatios));
            }
        }
        double listenerNanos = listenerNanosPerExecution();
        table.append(String.format(Locale.ROOT, "%nFlowMonkeyMetrics alone, on one thread, for the events and store "
                + "calls of one such execution (claimed, run started, step started, step succeeded, completed, run "
                + "ended; a claim and a save), events built as the engine builds them: %.1f µs of CPU.%n",
                listenerNanos / 1e3));
        System.out.printf(Locale.ROOT, "FlowMonkeyMetrics alone: %.1f µs per execution%n", listenerNanos / 1e3);
        report.section(table.toString());
        report.json("metricsOverhead", rows);
        report.json("metricsListenerMicrosPerExecution", listenerNanos / 1e3);
    }

    /**
     * What the listener costs per execution, measured without a database: the engine's events of one
     * one-step execution under a worker and its two store calls, built and told to a bound
     * {@link FlowMonkeyMetrics}, in a loop on one thread after a warm-up.
     */
    private static double listenerNanosPerExecution() {
        FlowMonkeyMetrics metrics = FlowMonkeyMetrics.builder().build();
        metrics.bindTo(new SimpleMeterRegistry());
        for (int i = 0; i < 200_000; i++) {
            tellOneExecution(metrics, i);
        }
        int n = 1_000_000;
        long cpu = java.lang.management.ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
        for (int i = 0; i < n; i++) {
            tellOneExecution(metrics, i);
        }
        return (double) (java.lang.management.ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime() - cpu) / n;
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
     * @return the wall time and the JVM's CPU time of the drain, in nanoseconds
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
            if (metrics && registry.get(FlowMonkeyMetrics.EVENTS).tags("event", "completed").counter().count() < count) {
                throw new IllegalStateException("the metrics side counted fewer completions than it ran");
            }
            return new long[] {elapsed, cpu};
        }
    }

    private HikariDataSource pool(int size) {
        return server.pool(server.jdbcUrl(), "bench-metrics-" + size, size);
    }
}
