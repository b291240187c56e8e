package io.flowmonkey.bench;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.flowmonkey.postgres.BenchSql;
import io.flowmonkey.postgres.PgStoreOptions;
import io.flowmonkey.postgres.SchemaApplier;
import io.flowmonkey.testing.TestPostgres;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * What it would cost to store {@code running} while a worker runs a step (issue 10 item 8): the
 * claim as shipped (lease columns only, so a HOT update) against the same claim also moving
 * {@code status} to {@code running} (status is indexed, so not a HOT update). Claims every row of a
 * table of pending executions in batches of 10 on one connection, each claimed row followed by the
 * save of its first step (status {@code running}, as the engine writes it), each variant on a fresh
 * copy of the same rows, and prints rows per second and how many updates were HOT. Without the
 * step saves the shipped claim would have to step over every row it leased before, still pending
 * in the status index, which no worker does.
 *
 * <p>Not a test. Run: {@code mvn -B -q test-compile dependency:build-classpath
 * -Dmdep.outputFile=target/cp.txt} then {@code java -cp target/test-classes:target/classes:$(cat
 * target/cp.txt) io.flowmonkey.bench.ClaimStatusCost [rows]}.
 */
public final class ClaimStatusCost {

    private ClaimStatusCost() {
    }

    /**
     * Runs the comparison.
     *
     * @param args optional: rows per variant (default 50,000)
     * @throws SQLException if PostgreSQL fails
     */
    public static void main(String[] args) throws SQLException {
        int rows = args.length > 0 ? Integer.parseInt(args[0]) : 50_000;
        TestPostgres.Database db = TestPostgres.createDatabase();
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(db.jdbcUrl());
        config.setUsername(db.user());
        config.setPassword(db.password());
        config.setMaximumPoolSize(2);
        try (HikariDataSource ds = new HikariDataSource(config)) {
            SchemaApplier.apply(ds);
            String claim = BenchSql.of(PgStoreOptions.defaults()).claimDue();
            String movingStatus = claim.replace("SET lease_owner = ?,",
                    "SET status = CASE WHEN e.status = 'pending' THEN 'running' ELSE e.status END, lease_owner = ?,");
            for (int run = 0; run < 2; run++) {
                measure(ds, "lease only (as shipped)", claim, rows);
                measure(ds, "lease + status running", movingStatus, rows);
            }
        }
    }

    private static void measure(HikariDataSource ds, String name, String claim, int rows) throws SQLException {
        try (Connection c = ds.getConnection(); Statement st = c.createStatement()) {
            st.execute("TRUNCATE executions");
            st.execute("SET flowmonkey.notify = 'off'");
            st.execute("INSERT INTO executions (id, flow_id, flow_version, status, context, created_at, updated_at) "
                    + "SELECT 'e' || n, 'order-flow', '1', 'pending', '{\"n\": 1}', n, n "
                    + "FROM generate_series(1, " + rows + ") n");
            st.execute("VACUUM ANALYZE executions");
            long[] before = updates(c);
            long start = System.nanoTime();
            int claimed = 0;
            try (PreparedStatement ps = c.prepareStatement(claim);
                 PreparedStatement save = c.prepareStatement("UPDATE executions SET status = 'running', "
                         + "step_count = step_count + 1, context = '{\"n\": 2}', updated_at = updated_at + 1, "
                         + "version = version + 1 WHERE id = ? AND version = ?")) {
                while (true) {
                    ps.setArray(1, c.createArrayOf("text", new Object[] {"order-flow"}));
                    ps.setArray(2, c.createArrayOf("text", new Object[] {"1"}));
                    ps.setInt(3, 10);
                    ps.setInt(4, 10);
                    ps.setLong(5, 60_000);
                    ps.setInt(6, 10);
                    ps.setInt(7, 10);
                    ps.setString(8, "bench");
                    // A lease long enough that nothing is claimed twice.
                    ps.setLong(9, 3_600_000);
                    int got = 0;
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            got++;
                            save.setString(1, rs.getString(1));
                            save.setLong(2, rs.getLong(23));
                            save.addBatch();
                        }
                    }
                    save.executeBatch();
                    if (got == 0) {
                        break;
                    }
                    claimed += got;
                }
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            st.execute("SELECT pg_stat_force_next_flush()");
            long[] after = updates(c);
            System.out.printf("%-26s %,8d rows claimed in %5.2f s: %,7.0f rows/s; updates %,d, HOT %,d%n", name,
                    claimed, seconds, claimed / seconds, after[0] - before[0], after[1] - before[1]);
        }
    }

    private static long[] updates(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'executions'")) {
            rs.next();
            return new long[] {rs.getLong(1), rs.getLong(2)};
        }
    }
}
