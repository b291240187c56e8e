package io.flowmonkey.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Where the server's time goes in a window of the peer comparison, statement by statement
 * ({@code -Dbench.statementStats=true}, passed with {@code -Dbench.jvmArgs}): the embedded server is
 * started with {@code pg_stat_statements} (nested statements of triggers included, planning timed)
 * and {@code track_functions=all}, and each window reports, per execution, the calls, time and WAL of
 * every statement and trigger function, the CPU of PostgreSQL's background processes, and the
 * autovacuum and autoanalyze runs on the peer's tables, and the window's WAL by record type
 * ({@code pg_walinspect}). Off by default: {@code pg_stat_statements}
 * costs every statement a little, so the figures of a run with it are not the run's headline figures.
 *
 * <p>Statement times are wall-clock time inside the executor and planner (pg_stat_statements does not
 * measure CPU); on an otherwise idle server at one worker thread they are close to CPU time. Trigger
 * functions fired at commit (deferred constraint triggers) run outside any statement: their time is in
 * the function figures only.
 */
final class StatementCost {

    /** Statements below this share of an execution are left out of the printed table. */
    private static final double SHOWN_CALLS = 0.005;
    private static final long NANOS_PER_TICK = 10_000_000L;

    private StatementCost() {
    }

    static boolean enabled() {
        return Boolean.getBoolean("bench.statementStats");
    }

    /** The settings the embedded server needs for it. */
    static void configure(BenchServer.Builder builder) {
        builder.serverConfig("shared_preload_libraries", "pg_stat_statements");
        builder.serverConfig("pg_stat_statements.track", "all");
        builder.serverConfig("pg_stat_statements.track_planning", "on");
        builder.serverConfig("pg_stat_statements.max", "10000");
        builder.serverConfig("track_functions", "all");
    }

    /** What is read before a window, to take differences from. */
    record Before(Map<String, double[]> functions, Map<String, Long> background, long[] vacuums, String walLsn) {
    }

    /** Installs the extension (once per server) and clears its counts; reads the counters kept as totals. */
    static Before start(Connection postgresDb, Connection peerDb, long postmaster) throws SQLException {
        try (Statement st = postgresDb.createStatement()) {
            st.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
            st.execute("CREATE EXTENSION IF NOT EXISTS pg_walinspect");
            st.execute("SELECT pg_stat_statements_reset()");
        }
        return new Before(functions(peerDb), background(postmaster), vacuums(peerDb), lsn(postgresDb));
    }

    /** The per-execution report of one window, as markdown. */
    static String finish(Connection postgresDb, Connection peerDb, long postmaster, Before before, String db,
                         String title, double executions) throws SQLException {
        StringBuilder md = new StringBuilder("\n#### Server time by statement: ").append(title).append("\n\n");
        md.append("| calls / execution | µs per call: plan + exec | WAL bytes per call | rows per call | shared blocks "
                + "hit per call | µs per execution | statement |\n| ---: | ---: | ---: | ---: | ---: | ---: | --- |\n");
        double statementMicros = 0;
        try (PreparedStatement ps = postgresDb.prepareStatement("""
                SELECT s.calls, s.total_plan_time + s.total_exec_time, s.wal_bytes, s.rows, s.toplevel,
                       regexp_replace(s.query, '\\s+', ' ', 'g'), s.total_plan_time, s.shared_blks_hit + s.shared_blks_read
                FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
                WHERE d.datname = ? ORDER BY s.total_plan_time + s.total_exec_time DESC""")) {
            ps.setString(1, db);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    long calls = rs.getLong(1);
                    double millis = rs.getDouble(2);
                    if (rs.getBoolean(5)) {
                        statementMicros += millis * 1e3;
                    }
                    if (calls / executions < SHOWN_CALLS) {
                        continue;
                    }
                    String sql = rs.getString(6).replace('|', '/').replace('`', '\'');
                    md.append(String.format(Locale.ROOT, "| %.3f | %,.1f + %,.1f | %,.0f | %.2f | %,.0f | %,.1f | %s`%s` |%n",
                            calls / executions, rs.getDouble(7) * 1e3 / calls, (millis - rs.getDouble(7)) * 1e3 / calls,
                            rs.getDouble(3) / calls, rs.getDouble(4) / calls, rs.getDouble(8) / calls, millis * 1e3 / executions, rs.getBoolean(5) ? "" : "(nested) ",
                            sql.length() <= 110 ? sql : sql.substring(0, 110) + " …"));
                }
            }
        }
        md.append(String.format(Locale.ROOT, "%nTop-level statements: %,.1f µs per execution.%n", statementMicros / executions));
        Map<String, double[]> after = functions(peerDb);
        md.append("\n| function | calls / execution | µs per call (self) |\n| --- | ---: | ---: |\n");
        after.forEach((name, a) -> {
            double[] b = before.functions().getOrDefault(name, new double[2]);
            double calls = a[0] - b[0];
            if (calls > 0) {
                md.append(String.format(Locale.ROOT, "| %s | %.3f | %,.1f |%n", name, calls / executions,
                        (a[1] - b[1]) * 1e3 / calls));
            }
        });
        Map<String, Long> background = background(postmaster);
        md.append("\nBackground processes, CPU µs per execution:");
        background.forEach((kind, ticks) -> {
            long delta = ticks - before.background().getOrDefault(kind, 0L);
            if (delta > 0) {
                md.append(String.format(Locale.ROOT, " %s %,.1f;", kind, delta * NANOS_PER_TICK / 1e3 / executions));
            }
        });
        long[] vacuums = vacuums(peerDb);
        md.append(String.format(Locale.ROOT, " autovacuum runs %d, autoanalyze runs %d in the window.%n",
                vacuums[0] - before.vacuums()[0], vacuums[1] - before.vacuums()[1]));
        md.append("\n| WAL record | records / execution | bytes / execution (of which full-page images) |\n"
                + "| --- | ---: | ---: |\n");
        // Server-wide, from the window's first LSN on: the peer's work and PostgreSQL's own.
        try (PreparedStatement ps = postgresDb.prepareStatement("""
                SELECT "resource_manager/record_type", count, record_size + fpi_size, fpi_size
                FROM pg_get_wal_stats(?::pg_lsn, pg_current_wal_lsn(), true)
                WHERE count > 0 ORDER BY record_size + fpi_size DESC""")) {
            ps.setString(1, before.walLsn());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    if (rs.getDouble(3) / executions >= 1) {
                        md.append(String.format(Locale.ROOT, "| %s | %.2f | %,.0f (%,.0f) |%n", rs.getString(1),
                                rs.getDouble(2) / executions, rs.getDouble(3) / executions, rs.getDouble(4) / executions));
                    }
                }
            }
        }
        return md.toString();
    }

    private static Map<String, double[]> functions(Connection c) throws SQLException {
        Map<String, double[]> out = new LinkedHashMap<>();
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT schemaname || '.' || funcname, calls, self_time "
                     + "FROM pg_stat_user_functions ORDER BY 1")) {
            while (rs.next()) {
                out.put(rs.getString(1), new double[] {rs.getLong(2), rs.getDouble(3)});
            }
        }
        return out;
    }

    private static String lsn(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT pg_current_wal_lsn()::text")) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static long[] vacuums(Connection c) throws SQLException {
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT coalesce(sum(autovacuum_count), 0), coalesce(sum(autoanalyze_count), 0) "
                     + "FROM pg_stat_user_tables")) {
            rs.next();
            return new long[] {rs.getLong(1), rs.getLong(2)};
        }
    }

    /**
     * CPU ticks of the postmaster's live children that are not client backends, by their process title
     * ("walwriter", "checkpointer", "autovacuum launcher", ...). Short-lived autovacuum workers that
     * exited between two readings are missed here (their runs are counted instead).
     */
    private static Map<String, Long> background(long postmaster) {
        Map<String, Long> out = new HashMap<>();
        if (postmaster <= 0) {
            return out;
        }
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit)).toList()) {
                try {
                    String stat = Files.readString(p.resolve("stat"));
                    List<String> f = new ArrayList<>(List.of(stat.substring(stat.lastIndexOf(')') + 2).split(" ")));
                    if (Long.parseLong(f.get(1)) != postmaster) {
                        continue;
                    }
                    String title = Files.readString(p.resolve("cmdline")).replace('\0', ' ').trim();
                    if (title.contains("[local]") || title.contains("127.0.0.1") || title.contains("(")) {
                        continue; // a client backend
                    }
                    String kind = title.startsWith("postgres: ") ? title.substring("postgres: ".length()) : title;
                    out.merge(kind, Long.parseLong(f.get(11)) + Long.parseLong(f.get(12)), Long::sum);
                } catch (IOException | RuntimeException e) {
                    // The process ended while it was read: it is not a background process we can follow.
                }
            }
        } catch (IOException e) {
            return out;
        }
        return out;
    }
}
