package io.flowmonkey.bench;

import io.flowmonkey.postgres.BenchSql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;

/**
 * The ceiling the store is measured against: the store's own SQL through plain
 * {@code PreparedStatement}s on the same pool, with the JSON already serialised and the result
 * columns read into an array without parsing. Whatever the store costs beyond this is its mapping,
 * JSON and bookkeeping.
 */
final class RawJdbc {

    static final int COLUMNS = 26;

    private final DataSource ds;
    private final BenchSql sql;
    private final Fixtures fixtures;

    RawJdbc(DataSource ds, BenchSql sql, Fixtures fixtures) {
        this.ds = ds;
        this.sql = sql;
        this.fixtures = fixtures;
    }

    /** A row as the raw updater tracks it. */
    static final class Row {
        final String id;
        final String tenantId;
        long version;
        int stepCount;
        final long createdAt;

        Row(String id, String tenantId, long version, int stepCount, long createdAt) {
            this.id = id;
            this.tenantId = tenantId;
            this.version = version;
            this.stepCount = stepCount;
            this.createdAt = createdAt;
        }
    }

    void insert(String id, String tenantId) throws SQLException {
        insert(id, tenantId, "running");
    }

    /** Inserts a new row of the fixture's shape; returns it as the updater tracks it. */
    Row insert(String id, String tenantId, String status) throws SQLException {
        long now = System.currentTimeMillis();
        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(sql.insert())) {
            ps.setString(1, id);
            bindNoKey(ps);
            int next = bindNew(ps, 4, tenantId, status, now);
            ps.setLong(next, 1L);
            ps.executeUpdate();
        }
        return new Row(id, tenantId, 1, Fixtures.STEP_COUNT, now);
    }

    /** Inserts the rows in one multi-row statement, as the store's {@code saveAll} of new executions does. */
    void insertBatch(List<String> ids, String tenantId) throws SQLException {
        long now = System.currentTimeMillis();
        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(sql.insertRows(ids.size()))) {
            int next = 1;
            for (String id : ids) {
                ps.setString(next, id);
                ps.setNull(next + 1, Types.VARCHAR); // idempotency_key
                ps.setNull(next + 2, Types.BIGINT); // idempotency_expires_at
                next = bindNew(ps, next + 3, tenantId, "running", now);
                ps.setLong(next++, 1L); // version
            }
            ps.executeUpdate();
        }
    }

    Row read(long n) throws SQLException {
        try (Connection c = ds.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT version, step_count, created_at FROM " + sql.table()
                     + " WHERE id = ?")) {
            ps.setString(1, DataLoader.id(n));
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw new IllegalStateException("row " + DataLoader.id(n) + " is missing");
                }
                return new Row(DataLoader.id(n), DataLoader.tenant(n), rs.getLong(1), rs.getInt(2), rs.getLong(3));
            }
        }
    }

    /** Writes a row back as running with one more step, as the store's update of the same row would. */
    void update(Row row) throws SQLException {
        long now = System.currentTimeMillis();
        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(sql.update())) {
            int i = 1;
            ps.setString(i++, Fixtures.FLOW_ID);
            ps.setString(i++, Fixtures.FLOW_VERSION);
            ps.setString(i++, row.tenantId);
            ps.setString(i++, "running");
            ps.setString(i++, Fixtures.CURRENT_STEP);
            ps.setInt(i++, row.stepCount + 1);
            i = bindJson(ps, i);
            ps.setLong(i++, row.createdAt);
            ps.setLong(i++, now);
            ps.setNull(i++, Types.BIGINT); // completed_at
            ps.setNull(i++, Types.BIGINT); // failed_at
            ps.setNull(i++, Types.BIGINT); // cancelled_at
            ps.setInt(i++, 0); // priority
            ps.setLong(i++, row.version + 1);
            ps.setBoolean(i++, false); // running: keeps its lease
            ps.setBoolean(i++, false);
            ps.setNull(i++, Types.OTHER); // the error once more, for error_code: none
            ps.setString(i++, row.id);
            ps.setLong(i, row.version);
            if (ps.executeUpdate() != 1) {
                throw new IllegalStateException("raw update of " + row.id + " matched no row");
            }
            row.version++;
            row.stepCount++;
        }
    }

    /** Runs the store's claim statement, bound as the store binds it, and reads what it returns. */
    List<Object[]> claimDue(String workerId, long leaseMillis, int limit) throws SQLException {
        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(sql.claimDue())) {
            ps.setArray(1, c.createArrayOf("text", new Object[] {Fixtures.FLOW_ID}));
            ps.setArray(2, c.createArrayOf("text", new Object[] {Fixtures.FLOW_VERSION}));
            ps.setInt(3, limit);
            ps.setInt(4, limit);
            ps.setLong(5, leaseMillis);
            ps.setInt(6, limit);
            ps.setInt(7, limit); // signalled
            ps.setInt(8, limit);
            ps.setString(9, workerId);
            ps.setLong(10, leaseMillis);
            return readAll(ps);
        }
    }

    Object[] load(String id) throws SQLException {
        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(sql.load())) {
            ps.setString(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? readRow(rs) : null;
            }
        }
    }

    List<Object[]> findByStatus(String status, int limit) throws SQLException {
        return query(sql.findByStatus(), status, limit);
    }

    List<Object[]> findByTenant(String tenantId, int limit) throws SQLException {
        return query(sql.findByTenant(), tenantId, limit);
    }

    List<Object[]> findWakeReady(long nowMillis, int limit) throws SQLException {
        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(sql.findWakeReady())) {
            ps.setLong(1, nowMillis);
            ps.setInt(2, limit);
            return readAll(ps);
        }
    }

    private List<Object[]> query(String statement, String key, int limit) throws SQLException {
        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(statement)) {
            ps.setString(1, key);
            ps.setInt(2, limit);
            return readAll(ps);
        }
    }

    private static List<Object[]> readAll(PreparedStatement ps) throws SQLException {
        try (ResultSet rs = ps.executeQuery()) {
            List<Object[]> rows = new ArrayList<>();
            while (rs.next()) {
                rows.add(readRow(rs));
            }
            return rows;
        }
    }

    /** Every column, as the store reads it, but JSON left as text and times as epoch millis. */
    private static Object[] readRow(ResultSet rs) throws SQLException {
        Object[] row = new Object[COLUMNS];
        for (int i = 1; i <= 6; i++) {
            row[i - 1] = rs.getString(i);
        }
        row[6] = rs.getInt(7);
        for (int i = 8; i <= 15; i++) {
            // JSON as the bytes the store parses from; parent_execution_id as text.
            row[i - 1] = i == 13 ? rs.getString(i) : rs.getBytes(i);
        }
        for (int i = 16; i <= 20; i++) {
            row[i - 1] = millis(rs, i);
        }
        row[20] = rs.getInt(21); // priority
        row[21] = rs.getString(22);
        row[22] = millis(rs, 23);
        row[23] = rs.getLong(24);
        row[24] = rs.getString(25);
        row[25] = millis(rs, 26);
        return row;
    }

    private static Long millis(ResultSet rs, int index) throws SQLException {
        long value = rs.getLong(index);
        return rs.wasNull() ? null : value;
    }

    /** Binds an absent idempotency key and expiry, the insert's second and third parameters. */
    private static void bindNoKey(PreparedStatement ps) throws SQLException {
        ps.setNull(2, Types.VARCHAR);
        ps.setNull(3, Types.BIGINT);
    }

    /** Binds the data columns of a new running execution, in {@link BenchSql#dataColumns()} order. */
    private int bindNew(PreparedStatement ps, int index, String tenantId, String status, long now)
            throws SQLException {
        int i = index;
        ps.setString(i++, Fixtures.FLOW_ID);
        ps.setString(i++, Fixtures.FLOW_VERSION);
        ps.setString(i++, tenantId);
        ps.setString(i++, status);
        ps.setString(i++, Fixtures.CURRENT_STEP);
        ps.setInt(i++, Fixtures.STEP_COUNT);
        i = bindJson(ps, i);
        ps.setLong(i++, now); // created_at
        ps.setLong(i++, now); // updated_at
        ps.setNull(i++, Types.BIGINT); // completed_at
        ps.setNull(i++, Types.BIGINT); // failed_at
        ps.setNull(i++, Types.BIGINT); // cancelled_at
        ps.setInt(i++, 0); // priority
        return i;
    }

    /** Binds context through timeout_config: the JSON columns and what sits between them. */
    private int bindJson(PreparedStatement ps, int index) throws SQLException {
        int i = index;
        ps.setObject(i++, fixtures.contextJson, Types.OTHER);
        ps.setObject(i++, fixtures.historyJson, Types.OTHER);
        ps.setNull(i++, Types.OTHER); // error
        ps.setNull(i++, Types.OTHER); // wait_metadata
        ps.setNull(i++, Types.OTHER); // cancellation
        ps.setNull(i++, Types.VARCHAR); // parent_execution_id
        ps.setObject(i++, "{}", Types.OTHER); // metadata
        ps.setNull(i++, Types.OTHER); // timeout_config
        return i;
    }
}
