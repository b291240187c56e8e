package io.flowmonkey.bench;

import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.postgres.BenchSql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * Fills the table server-side with {@code INSERT ... SELECT generate_series}, which loads a million
 * rows in a minute or two where a million round trips would take far longer. Row {@code i} is
 * {@code bench-i}; its shape follows from {@code i} alone, so that the scenarios can pick rows of a
 * known status without asking the database:
 * <ul>
 *   <li>status by {@code i % 10}: 0-3 completed, 4-5 running, 6-7 waiting, 8 failed, 9 pending;</li>
 *   <li>tenant {@code tenant-(i % 1000)}; created {@code base + 10 ms * i};</li>
 *   <li>waiting rows with {@code i % 20 < 10} are due now, the others a day later.</li>
 * </ul>
 */
final class DataLoader {

    static final int CHUNK = 50_000;

    private DataLoader() {
    }

    static String id(long i) {
        return "bench-" + i;
    }

    static String tenant(long i) {
        return "tenant-" + (i % Fixtures.TENANTS);
    }

    static ExecutionStatus status(long i) {
        int r = (int) (i % 10);
        if (r <= 3) {
            return ExecutionStatus.COMPLETED;
        }
        if (r <= 5) {
            return ExecutionStatus.RUNNING;
        }
        if (r <= 7) {
            return ExecutionStatus.WAITING;
        }
        return r == 8 ? ExecutionStatus.FAILED : ExecutionStatus.PENDING;
    }

    /** The row number of the {@code k}-th running row. */
    static long runningRow(long k) {
        return (k / 2) * 10 + 4 + (k % 2);
    }

    static long runningRows(long rows) {
        return rows / 10 * 2;
    }

    /** Loads {@code rows} rows created before {@code now}, then vacuums, analyzes and checkpoints. */
    static void load(Connection c, BenchSql sql, Fixtures fixtures, long rows, long createdBase) throws SQLException {
        String insert = """
                INSERT INTO %s (id, %s, version)
                SELECT 'bench-' || i, ?, ?, 'tenant-' || (i %% %d), status, ?, ?, CAST(? AS jsonb), CAST(? AS jsonb),
                       CASE WHEN status = 'failed' THEN jsonb_build_object('code', 'PAYMENT_DECLINED',
                            'message', 'card declined', 'stepId', 'charge', 'timestamp', created) END,
                       CASE WHEN status = 'waiting' THEN jsonb_build_object('wakeAt', wake, 'reason', 'timer',
                            'waitStartedAt', created) END,
                       NULL, NULL, '{}'::jsonb, NULL,
                       created, created,
                       CASE WHEN status = 'completed' THEN created END,
                       CASE WHEN status = 'failed' THEN created END,
                       NULL, 0, 1
                FROM (SELECT i,
                             CASE WHEN i %% 10 <= 3 THEN 'completed' WHEN i %% 10 <= 5 THEN 'running'
                                  WHEN i %% 10 <= 7 THEN 'waiting' WHEN i %% 10 = 8 THEN 'failed'
                                  ELSE 'pending' END AS status,
                             CAST(? AS bigint) + i * 10 AS created,
                             CAST(? AS bigint) + i * 10 + CASE WHEN i %% 20 < 10 THEN 0 ELSE 86400000 END AS wake
                      FROM generate_series(CAST(? AS bigint), CAST(? AS bigint)) AS i) AS g"""
                .formatted(sql.table(), BenchSql.dataColumns(), Fixtures.TENANTS);
        long started = System.nanoTime();
        try (Statement st = c.createStatement()) {
            // The schema's trigger would queue a NOTIFY for each of the 400,000 pending and waiting rows.
            st.execute("SET flowmonkey.notify = 'off'");
        }
        try (PreparedStatement ps = c.prepareStatement(insert)) {
            for (long from = 0; from < rows; from += CHUNK) {
                long to = Math.min(rows, from + CHUNK) - 1;
                int p = 1;
                ps.setString(p++, Fixtures.FLOW_ID);
                ps.setString(p++, Fixtures.FLOW_VERSION);
                ps.setString(p++, Fixtures.CURRENT_STEP);
                ps.setInt(p++, Fixtures.STEP_COUNT);
                ps.setString(p++, fixtures.contextJson);
                ps.setString(p++, fixtures.historyJson);
                ps.setLong(p++, createdBase);
                ps.setLong(p++, createdBase);
                ps.setLong(p++, from);
                ps.setLong(p, to);
                ps.executeUpdate();
                System.out.printf("  loaded %,d of %,d rows (%.0f s)%n", to + 1, rows,
                        (System.nanoTime() - started) / 1e9);
            }
        }
        try (Statement st = c.createStatement()) {
            // A steady-state table: visibility map set and statistics fresh, as autovacuum would leave it.
            st.execute("VACUUM ANALYZE " + sql.table());
            try {
                st.execute("CHECKPOINT");
            } catch (SQLException notAllowed) {
                // Only superusers and pg_checkpoint may; the run then starts with the load's WAL unflushed.
                System.out.println("  CHECKPOINT not allowed for this role: " + notAllowed.getMessage());
            }
        }
    }
}
