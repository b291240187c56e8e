package io.flowmonkey.bench;

import com.sun.management.OperatingSystemMXBean;
import com.zaxxer.hikari.HikariDataSource;
import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;
import java.util.ServiceLoader;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;
import javax.sql.DataSource;
import org.HdrHistogram.Histogram;

/**
 * Enqueue-then-drain beside the peers ({@code -Dbench.ops=peers}): for each peer, workload and
 * thread count, the executions are enqueued, then the peer's workers are started on a fresh pool and
 * timed until all have finished (or {@code bench.peerSeconds} have passed, whichever comes first).
 * Around that window, which takes in the workers' start and stop: the database's
 * {@code pg_stat_database.xact_commit}, {@code pg_current_wal_lsn()}, the CPU time of this JVM and that
 * of the PostgreSQL processes. Each peer has a database of its own; nothing else runs in the window
 * but PostgreSQL's own background work. Before each enqueue: the peer's tables emptied and a
 * {@code CHECKPOINT}, so that every window starts from the same state of its pages: the first change
 * of a page after a checkpoint writes the whole page to the WAL, and here the enqueue pays for that,
 * as it would in a steady state where checkpoints are minutes apart. After the enqueue, an
 * {@code ANALYZE} of the peer's database, so that its statements are planned with statistics of the
 * rows they will find, as on a table in use that autovacuum analyzes. Before each peer's workload is
 * measured, unmeasured drains of the same size at 4 threads warm the JIT and the peer's caches, until one
 * in which the JIT compiled for under {@value #QUIET_JIT_SHARE} of its time (at most {@value #MAX_WARM_UPS}).
 *
 * <p>Each point (workload and thread count) is measured in {@code bench.peerRounds} rounds, in which
 * every peer drains once, in turns whose order rotates by one from one round to the next (each peer
 * first once in as many rounds as there are peers), so that a burst of load from elsewhere on the
 * machine falls on all of them alike. The tables show each figure's median over the rounds, except the
 * wake-ups' lateness, whose percentiles are those of every round's wake-ups together (early ones
 * summed), and FlowMonkey's executions/s over each peer's as the median of the rounds' ratios, each
 * round's drains a minute apart at most, with the lowest and highest.
 */
final class PeerComparison {

    /** What one window measured; {@code round} counts from 1, 0 for a median of rounds. */
    record Row(String peer, Peer.Workload workload, int threads, int round, double executions, double seconds,
               double commits,
               double statements, double walBytes, double clientCpuMicros, Double serverCpuMicros,
               Histogram lateness, long early, long mostEarlyMicros, double enqueueCommits, double enqueueWalBytes,
               Map<String, Long> bySql) {
        double perSecond() {
            return executions / seconds;
        }
    }

    private final BenchServer server;
    private final BenchConfig config;
    private final List<Peer> peers = new ArrayList<>();
    private final List<Row> rows = new ArrayList<>();
    private final Map<String, String> settings = new LinkedHashMap<>();
    /** A warm-up in which the JIT compiled for less than this share of its time ends the warm-up. */
    private static final double QUIET_JIT_SHARE = 0.05;
    private static final int MAX_WARM_UPS = 8;

    private final OperatingSystemMXBean os = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    /** The most warm-up drains a workload of each peer took. */
    private final Map<String, Integer> warmUps = new LinkedHashMap<>();
    private final String payload;
    /** What {@link StatementCost} found in each measured window, when it is enabled. */
    private final List<String> statementReports = new ArrayList<>();

    PeerComparison(BenchServer server, BenchConfig config, EngineScenarios engine, String payload) {
        this.server = server;
        this.config = config;
        this.payload = payload;
        peers.add(new FlowMonkeyPeer(engine));
        ServiceLoader.load(Peer.class).forEach(peers::add);
        // -Dbench.peers=FlowMonkey,db-scheduler: only the peers whose names start with one of these.
        String only = System.getProperty("bench.peers", "").trim();
        if (!only.isEmpty()) {
            List<String> prefixes = List.of(only.split(","));
            peers.removeIf(p -> prefixes.stream().noneMatch(prefix -> p.name().startsWith(prefix.trim())));
        }
    }

    void run(Report report) throws Exception {
        if (peers.size() == 1) {
            System.out.println("No peers on the class path (they are compiled by the bench profile only): "
                    + "measuring FlowMonkey alone");
        }
        ServerCpu serverCpu;
        try (Connection c = server.connect()) {
            serverCpu = ServerCpu.of(c);
        }
        int threadsForSettings = config.threads().get(config.threads().size() - 1);
        for (Peer peer : peers) {
            settings.put(peer.name(), peer.settings(threadsForSettings));
            createDatabase(peer.database());
            try (HikariDataSource setup = pool(peer.database(), 2)) {
                peer.install(setup);
            }
        }
        for (Peer.Workload workload : Peer.Workload.values()) {
            List<Peer> taking = peers.stream().filter(p -> p.supports(workload) && asked(workload)).toList();
            for (Peer peer : taking) {
                warmUp(peer, workload, serverCpu);
            }
            for (int threads : config.threads()) {
                for (int round = 1; round <= config.peerRounds(); round++) {
                    List<Peer> turns = new ArrayList<>(taking);
                    Collections.rotate(turns, -(round - 1));
                    for (Peer peer : turns) {
                        Row row = window(peer, workload, threads, round, executions(workload), serverCpu, true);
                        rows.add(row);
                        print(row);
                    }
                }
            }
        }
        report.section(markdown() + String.join("", statementReports));
        report.json("peers", json());
    }

    /**
     * Unmeasured drains of the measured size at 4 threads until the JIT is quiet: until one in which it
     * compiled for less than {@value #QUIET_JIT_SHARE} of the drain's time, at most {@value #MAX_WARM_UPS}.
     * With a single short warm-up, the JIT compiled through the first measured window (1 thread): 1.6 s
     * of its 2.4 s of client CPU (JFR's CompilerStatistics), counted as the peer's and taken from the 2
     * cores the peer and PostgreSQL share, and more so for the first peer measured, whose run compiles the
     * driver and pool code the others then find compiled.
     */
    private void warmUp(Peer peer, Peer.Workload workload, ServerCpu serverCpu) throws Exception {
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        for (int round = 1; round <= MAX_WARM_UPS; round++) {
            long compiledBefore = jit.getTotalCompilationTime();
            long started = System.nanoTime();
            window(peer, workload, 4, 0, executions(workload), serverCpu, false);
            double share = (jit.getTotalCompilationTime() - compiledBefore) / ((System.nanoTime() - started) / 1e6);
            if (share < QUIET_JIT_SHARE) {
                warmUps.merge(peer.name(), round, Math::max);
                return;
            }
        }
        warmUps.merge(peer.name(), MAX_WARM_UPS, Math::max);
    }

    /** {@code -Dbench.workloads=1-step,3-step}: only these workloads (by label); all when unset. */
    private static boolean asked(Peer.Workload workload) {
        String only = System.getProperty("bench.workloads", "").trim();
        return only.isEmpty() || List.of(only.split(",")).stream().anyMatch(w -> w.trim().equals(workload.label()));
    }

    private int executions(Peer.Workload workload) {
        // Fewer timed waits: they should measure waking, not a queue of woken work behind busy runners.
        return workload == Peer.Workload.TIMED_WAIT ? Math.max(100, config.peerExecutions() / 4)
                : config.peerExecutions();
    }

    private Row window(Peer peer, Peer.Workload workload, int threads, int round, int count, ServerCpu serverCpu,
                       boolean measured) throws Exception {
        String db = peer.database();
        try (HikariDataSource setup = pool(db, 2)) {
            peer.clear(setup);
        }
        // Before the enqueue, so that the pages it writes are not written whole again in the window.
        try (Connection c = server.connect(); Statement st = c.createStatement()) {
            st.execute("CHECKPOINT");
        }
        Stats beforeEnqueue = stats(db, serverCpu);
        try (HikariDataSource setup = pool(db, 2)) {
            peer.enqueue(setup, workload, count, payload);
            // Statistics of the tables as they are now, as autovacuum keeps them for a table in use: without,
            // a table just emptied by TRUNCATE and filled by the enqueue is planned for on guesses.
            // -Dbench.analyzeAfterEnqueue=false measures that state instead.
            if (!"false".equals(System.getProperty("bench.analyzeAfterEnqueue", "true").trim())) {
                try (Connection c = setup.getConnection(); Statement st = c.createStatement()) {
                    st.execute("ANALYZE");
                }
            }
        }
        StatementCost.Before statementsBefore = null;
        if (measured && StatementCost.enabled()) {
            try (Connection postgres = server.connect(); Connection peerDb = DriverManager.getConnection(jdbcUrl(db),
                    server.user(), server.password())) {
                statementsBefore = StatementCost.start(postgres, peerDb, serverCpu.postmaster());
            }
        }
        Stats before = stats(db, serverCpu);
        peer.wakeups().reset();
        long cpuBefore = os.getProcessCpuTime();
        long started = System.nanoTime();
        long deadline = started + Duration.ofSeconds(config.peerSeconds()).toNanos();
        long finished;
        long steps;
        long elapsed;
        long cpuAfter;
        RoundTripCounter counter;
        try (HikariDataSource pool = pool(db, threads + 2)) {
            counter = new RoundTripCounter(pool);
            try (Peer.Running running = peer.start(counter.dataSource(), workload, threads)) {
                while ((finished = running.finished()) < count && System.nanoTime() < deadline) {
                    Thread.sleep(1);
                }
                elapsed = System.nanoTime() - started;
                cpuAfter = os.getProcessCpuTime();
                steps = running.steps();
            }
        }
        Stats after = stats(db, serverCpu);
        // Cut short by the time limit: the steps run, in executions, so that a peer that runs the first step of
        // every execution before the second of any is not counted as having done nothing.
        double done = finished >= count ? count : steps / (double) workload.steps();
        if (done == 0) {
            throw new IllegalStateException(peer.name() + " ran no " + workload.label() + " step in "
                    + config.peerSeconds() + " s at " + threads + " threads");
        }
        Double serverMicros = before.serverCpuNanos.isPresent() && after.serverCpuNanos.isPresent()
                ? (after.serverCpuNanos.getAsLong() - before.serverCpuNanos.getAsLong()) / 1e3 / done : null;
        if (statementsBefore != null) {
            try (Connection postgres = server.connect(); Connection peerDb = DriverManager.getConnection(jdbcUrl(db),
                    server.user(), server.password())) {
                String md = StatementCost.finish(postgres, peerDb, serverCpu.postmaster(), statementsBefore, db,
                        peer.name() + ", " + workload.label() + ", " + threads + " threads, round " + round, done);
                System.out.println(md);
                statementReports.add(md);
            }
        }
        Lateness lateness = peer.wakeups();
        return new Row(peer.name(), workload, threads, round, done, elapsed / 1e9,
                (after.commits - before.commits) / done, counter.statements() / done,
                (after.walBytes - before.walBytes) / done, (cpuAfter - cpuBefore) / 1e3 / done,
                serverMicros, workload == Peer.Workload.TIMED_WAIT ? lateness.micros() : null, lateness.early(),
                lateness.mostEarlyMicros(), (before.commits - beforeEnqueue.commits) / (double) count,
                (before.walBytes - beforeEnqueue.walBytes) / (double) count, counter.bySql());
    }

    /** The database's counters once every connection to it has closed, so that all have been reported. */
    private record Stats(long commits, long walBytes, OptionalLong serverCpuNanos) {
    }

    private Stats stats(String db, ServerCpu serverCpu) throws SQLException, InterruptedException {
        try (Connection c = server.connect()) {
            // A backend reports its counts to pg_stat_database at the latest as it exits.
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (clientBackends(c, db) > 0) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("connections to " + db + " still open 30 s after the pool closed");
                }
                Thread.sleep(20);
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT d.xact_commit, "
                    + "pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint FROM pg_stat_database d WHERE d.datname = ?")) {
                ps.setString(1, db);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    return new Stats(rs.getLong(1), rs.getLong(2), serverCpu.total());
                }
            }
        }
    }

    private static int clientBackends(Connection c, String db) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = ? AND backend_type = 'client backend'")) {
            ps.setString(1, db);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    private void createDatabase(String db) throws SQLException {
        if (!db.matches("[a-z0-9_]+")) {
            throw new IllegalArgumentException("a peer's database name must be lower-case letters, digits and "
                    + "underscores, got " + db);
        }
        try (Connection c = server.connect(); Statement st = c.createStatement()) {
            st.execute("DROP DATABASE IF EXISTS " + db + " WITH (FORCE)");
            st.execute("CREATE DATABASE " + db);
        }
    }

    /** The server's URL with {@code db} for its database (the URL must name one, as the embedded server's does). */
    private String jdbcUrl(String db) {
        String url = server.jdbcUrl();
        int dbStart = url.indexOf('/', url.indexOf("//") + 2);
        if (dbStart < 0) {
            throw new IllegalStateException("the benchmark's JDBC URL names no database: " + url);
        }
        int query = url.indexOf('?', dbStart);
        return url.substring(0, dbStart + 1) + db + (query < 0 ? "" : url.substring(query));
    }

    private HikariDataSource pool(String db, int size) {
        return server.pool(jdbcUrl(db), "peer-" + db + "-" + size, size);
    }

    private static void print(Row r) {
        System.out.printf(Locale.ROOT, "%-22s %-15s %3d threads, round %d: %,8.1f executions, %,8.0f /s, %.2f commits, "
                        + "%.2f statements, %,6.0f WAL B, client %,5.0f µs, server %s µs per execution%s%n", r.peer(),
                r.workload().label(), r.threads(), r.round(), r.executions(), r.perSecond(), r.commits(), r.statements(),
                r.walBytes(), r.clientCpuMicros(), r.serverCpuMicros() == null ? "n/a"
                        : String.format(Locale.ROOT, "%,.0f", r.serverCpuMicros()), lateness(r, ", wake lateness "));
    }

    private static String lateness(Row r, String prefix) {
        if (r.lateness() == null) {
            return "";
        }
        return String.format(Locale.ROOT, "%s%.1f / %.1f ms%s", prefix, r.lateness().getValueAtPercentile(50) / 1e3,
                r.lateness().getValueAtPercentile(99) / 1e3, r.early() > 0 ? String.format(Locale.ROOT,
                        " (%d early, by up to %.1f ms)", r.early(), r.mostEarlyMicros() / 1e3) : "");
    }

    /** Each point's figures as medians over its rounds, in the order the points were first measured. */
    private List<Row> medians() {
        Map<String, List<Row>> byPoint = new LinkedHashMap<>();
        for (Row r : rows) {
            byPoint.computeIfAbsent(r.peer() + "|" + r.workload() + "|" + r.threads(), k -> new ArrayList<>()).add(r);
        }
        List<Row> out = new ArrayList<>();
        byPoint.values().forEach(rounds -> out.add(median(rounds)));
        out.sort(Comparator.comparingInt((Row r) -> peers.stream().map(Peer::name).toList().indexOf(r.peer()))
                .thenComparing(Row::workload).thenComparingInt(r -> config.threads().indexOf(r.threads())));
        return out;
    }

    /**
     * The median of each figure over the rounds of one point (the lower middle one of an even count);
     * the wake-ups of every round in one histogram; the statements of the round of median executions/s.
     */
    private static Row median(List<Row> rounds) {
        Row first = rounds.get(0);
        double perSecond = median(rounds, Row::perSecond);
        double executions = median(rounds, Row::executions);
        Histogram lateness = null;
        if (first.lateness() != null) {
            lateness = new Histogram(first.lateness().getHighestTrackableValue(),
                    first.lateness().getNumberOfSignificantValueDigits());
            for (Row r : rounds) {
                lateness.add(r.lateness());
            }
        }
        Double server = rounds.stream().allMatch(r -> r.serverCpuMicros() != null)
                ? median(rounds, Row::serverCpuMicros) : null;
        Row middle = rounds.stream().filter(r -> r.perSecond() == perSecond).findFirst().orElseThrow();
        return new Row(first.peer(), first.workload(), first.threads(), 0, executions, executions / perSecond,
                median(rounds, Row::commits), median(rounds, Row::statements), median(rounds, Row::walBytes),
                median(rounds, Row::clientCpuMicros), server, lateness,
                rounds.stream().mapToLong(Row::early).sum(),
                rounds.stream().mapToLong(Row::mostEarlyMicros).max().orElse(0),
                median(rounds, Row::enqueueCommits), median(rounds, Row::enqueueWalBytes), middle.bySql());
    }

    private static double median(List<Row> rounds, ToDoubleFunction<Row> figure) {
        double[] values = rounds.stream().mapToDouble(figure).sorted().toArray();
        return values[(values.length - 1) / 2];
    }

    /**
     * FlowMonkey's executions/s over {@code peer}'s at one point: the median of the rounds' ratios, with
     * the lowest and the highest; empty where either has no round there.
     */
    private String ratio(Peer peer, Peer.Workload w, int threads) {
        double[] ratios = rows.stream().filter(r -> r.peer().equals(FlowMonkeyPeer.NAME) && r.workload() == w
                        && r.threads() == threads)
                .flatMap(mine -> rows.stream().filter(r -> r.peer().equals(peer.name()) && r.workload() == w
                        && r.threads() == threads && r.round() == mine.round())
                        .map(theirs -> mine.perSecond() / theirs.perSecond()))
                .mapToDouble(Double::doubleValue).sorted().toArray();
        if (ratios.length == 0) {
            return "";
        }
        return ratios.length == 1 ? String.format(Locale.ROOT, "%.2f", ratios[0])
                : String.format(Locale.ROOT, "%.2f (%.2f–%.2f)", ratios[(ratios.length - 1) / 2], ratios[0],
                        ratios[ratios.length - 1]);
    }

    String markdown() {
        List<Row> medians = medians();
        StringBuilder md = new StringBuilder("\n### Beside the peers\n\n");
        md.append(config.peerRounds()).append(config.peerRounds() == 1 ? " round" : " rounds")
                .append(" per point, the peers taking turns; each figure is the median over the rounds, but for the "
                        + "wake-ups' lateness: percentiles of all rounds' wake-ups together, early ones summed.\n\n");
        List<String> names = peers.stream().map(Peer::name).toList();
        md.append("| workload | threads | ").append(String.join(" | ", names)).append(" |\n| --- | ---: |");
        md.append(" ---: |".repeat(names.size())).append('\n');
        for (Peer.Workload w : Peer.Workload.values()) {
            for (int threads : config.threads()) {
                md.append("| ").append(w.label()).append(" executions/s | ").append(threads).append(" |");
                for (Peer p : peers) {
                    md.append(' ').append(cell(medians, p, w, threads, r -> String.format(Locale.ROOT, "%,.0f",
                            r.perSecond()))).append(" |");
                }
                md.append('\n');
            }
        }
        List<Peer> others = peers.stream().filter(p -> !p.name().equals(FlowMonkeyPeer.NAME)).toList();
        if (!others.isEmpty()) {
            md.append("\n| workload | threads | ").append(String.join(" | ",
                    others.stream().map(p -> "FlowMonkey ÷ " + p.name()).toList())).append(" |\n| --- | ---: |")
                    .append(" ---: |".repeat(others.size())).append('\n');
            for (Peer.Workload w : Peer.Workload.values()) {
                for (int threads : config.threads()) {
                    md.append("| ").append(w.label()).append(" executions/s | ").append(threads).append(" |");
                    for (Peer p : others) {
                        md.append(' ').append(p.supports(w) ? ratio(p, w, threads) : "—").append(" |");
                    }
                    md.append('\n');
                }
            }
            md.append("\nEach ratio: the median over the rounds of FlowMonkey's executions/s over the peer's in the "
                    + "same round, with the lowest and highest.\n");
        }
        md.append("\n| peer | workload | threads | executions | executions/s | commits / execution | statements / "
                + "execution | WAL bytes / execution | client CPU µs / execution | server CPU µs / execution | wake "
                + "lateness p50 / p99 | enqueue: commits, WAL bytes / execution |\n"
                + "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        for (Row r : medians) {
            md.append(String.format(Locale.ROOT, "| %s | %s | %d | %,.0f | %,.0f | %.2f | %.2f | %,.0f | %,.0f | %s | %s "
                            + "| %.3f, %,.0f |%n",
                    r.peer(), r.workload().label(), r.threads(), r.executions(), r.perSecond(), r.commits(),
                    r.statements(), r.walBytes(), r.clientCpuMicros(), r.serverCpuMicros() == null ? "n/a"
                            : String.format(Locale.ROOT, "%,.0f", r.serverCpuMicros()), lateness(r, ""),
                    r.enqueueCommits(), r.enqueueWalBytes()));
        }
        md.append("\n| peer | 1-step: round trips per execution by statement |\n| --- | --- |\n");
        for (Row r : medians) {
            if (r.workload() != Peer.Workload.ONE_STEP || (r.threads() != 1 && r.threads() != 16)) {
                continue;
            }
            // Statements that differ only past their start (a LIMIT, an IN list) are shown as one.
            Map<String, Long> byStart = new LinkedHashMap<>();
            r.bySql().forEach((sql, n) -> byStart.merge(abbreviate(sql), n, Long::sum));
            StringBuilder kinds = new StringBuilder();
            byStart.entrySet().stream().sorted((a, b) -> Long.compare(b.getValue(), a.getValue())).forEach(e -> {
                if (e.getValue() / r.executions() >= 0.01) {
                    kinds.append(kinds.length() == 0 ? "" : "<br>").append(String.format(Locale.ROOT, "%.2f `%s`",
                            e.getValue() / r.executions(), e.getKey()));
                }
            });
            md.append("| ").append(r.peer()).append(", ").append(r.threads()).append(r.threads() == 1 ? " thread | "
                    : " threads | ").append(kinds).append(" |\n");
        }
        md.append("\n| peer | settings |\n| --- | --- |\n");
        settings.forEach((k, v) -> md.append("| ").append(k).append(" | ").append(v).append(" |\n"));
        md.append("\nEvery pool: HikariCP of worker threads + 2 connections. At most ")
                .append(config.peerExecutions()).append(" executions per drain (a quarter as many timed waits) or ")
                .append(config.peerSeconds()).append(" s, whichever ends first. A drain cut short counts its steps run "
                        + "as executions (3 steps of a 3-step flow are one): some peers run the first step of every "
                        + "execution before the second of any. Figures are per execution. Before each peer's "
                        + "workload, unmeasured drains of the same size at 4 threads until one in which the JIT "
                        + "compiled for under 5 % of its time (at most 8); the most any workload took: ");
        md.append(String.join(", ", warmUps.entrySet().stream().map(e -> e.getKey() + " " + e.getValue()).toList()))
                .append(".\n");
        return md.toString();
    }

    /** The start of a statement, enough to tell which it is, with nothing that breaks a table cell. */
    private static String abbreviate(String sql) {
        String s = sql.replace('|', '/').replace('`', '\'');
        return s.length() <= 100 ? s : s.substring(0, 100) + " …";
    }

    private static String cell(List<Row> medians, Peer peer, Peer.Workload w, int threads,
                               Function<Row, String> value) {
        if (!peer.supports(w)) {
            return "—";
        }
        return medians.stream().filter(r -> r.peer().equals(peer.name()) && r.workload() == w && r.threads() == threads)
                .findFirst().map(value).orElse("");
    }

    /** Every round's figures (round 1 on), then each point's medians (round 0). */
    private List<Map<String, Object>> json() {
        List<Map<String, Object>> out = new ArrayList<>();
        List<Row> all = new ArrayList<>(rows);
        all.addAll(medians());
        for (Row r : all) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("peer", r.peer());
            m.put("workload", r.workload().label());
            m.put("threads", r.threads());
            m.put("round", r.round());
            m.put("executions", r.executions());
            m.put("seconds", r.seconds());
            m.put("executionsPerSecond", r.perSecond());
            m.put("commitsPerExecution", r.commits());
            m.put("statementsPerExecution", r.statements());
            m.put("walBytesPerExecution", r.walBytes());
            m.put("clientCpuMicrosPerExecution", r.clientCpuMicros());
            m.put("serverCpuMicrosPerExecution", r.serverCpuMicros());
            m.put("enqueueCommitsPerExecution", r.enqueueCommits());
            m.put("enqueueWalBytesPerExecution", r.enqueueWalBytes());
            m.put("roundTripsBySql", r.bySql());
            if (r.lateness() != null) {
                m.put("wakeLatenessP50Micros", r.lateness().getValueAtPercentile(50));
                m.put("wakeLatenessP99Micros", r.lateness().getValueAtPercentile(99));
                m.put("earlyWakeups", r.early());
                m.put("mostEarlyMicros", r.mostEarlyMicros());
            }
            out.add(m);
        }
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("settings", settings);
        out.add(s);
        return out;
    }
}
