package io.flowmonkey.postgres;

/**
 * Every statement {@link PgExecutionStore} runs, with the table name substituted once. The name
 * comes from {@link PgStoreOptions}, which admits only lower-case identifiers, and is quoted here;
 * everything else is a bound parameter.
 */
final class ExecutionSql {

    /**
     * The columns written by insert and update, in bind order; {@link ExecutionRow#bind} follows it.
     * The idempotency key is written by inserts only: an update must not put back a key that was
     * released from this row and reused by another. {@code wake_at} is generated from
     * {@code wait_metadata}, so other writers keep it right too.
     */
    static final String DATA_COLUMNS = """
            flow_id, flow_version, tenant_id, status, current_step_id, step_count, context, history, error, \
            wait_metadata, cancellation, parent_execution_id, metadata, timeout_config, created_at, updated_at, \
            completed_at, failed_at, cancelled_at""";
    static final int DATA_COLUMN_COUNT = 19;

    static final String UNLISTEN = "UNLISTEN *";
    static final String PROBE = "SELECT 1";

    /** The columns read back, in the order {@link ExecutionRow#read} expects. */
    private static final String SELECT_COLUMNS = "id, " + DATA_COLUMNS
            + ", idempotency_key, idempotency_expires_at, version";

    /**
     * The database's clock in whole epoch milliseconds, fixed for the statement: lease expiries are
     * written and compared with it, so workers on machines with skewed clocks agree on them. (A running
     * execution that no worker leased is judged by its {@code updated_at}, which the saving JVM's clock
     * wrote; see the claim below.)
     */
    private static final String DB_NOW = "floor(extract(epoch FROM statement_timestamp()) * 1000)::bigint";

    final String table;
    private final String insertPrefix;
    final String insert;
    final String update;
    final String releaseExpiredKey;
    final String holderOfKey;
    final String versionOf;
    final String load;
    final String delete;
    final String findByIdempotencyKey;
    final String findByStatus;
    final String findByTenant;
    final String findWakeReady;
    final String findChildren;
    final String claimDue;
    final String renewLeases;
    final String releaseLeases;
    final String tableOid;

    // --- hardening (issue 9): statements that must not abort a surrounding transaction ---
    /** An insert of one row that reports a taken id by inserting nothing, rather than by an error. */
    final String insertIfAbsent;

    ExecutionSql(PgStoreOptions options) {
        this.table = '"' + options.schema() + "\".\"" + options.tableName() + '"';
        this.insertPrefix = "INSERT INTO " + table + " (id, idempotency_key, idempotency_expires_at, " + DATA_COLUMNS
                + ", version) VALUES ";
        this.insert = insertRows(1);
        this.update = "UPDATE " + table + " SET (" + DATA_COLUMNS + ", version) = ROW("
                + "?, ".repeat(DATA_COLUMN_COUNT) + "?) WHERE id = ? AND version = ?";
        // An expired key is handed back before an insert that wants it; the row keeps everything else.
        this.releaseExpiredKey = """
                UPDATE %s SET idempotency_key = NULL, idempotency_expires_at = NULL
                WHERE idempotency_key = ? AND idempotency_expires_at <= ?""".formatted(table);
        this.holderOfKey = "SELECT id FROM " + table + " WHERE idempotency_key = ?";
        this.versionOf = "SELECT version FROM " + table + " WHERE id = ?";
        this.load = "SELECT " + SELECT_COLUMNS + " FROM " + table + " WHERE id = ?";
        this.delete = "DELETE FROM " + table + " WHERE id = ?";
        this.findByIdempotencyKey = """
                SELECT %s FROM %s
                WHERE idempotency_key = ? AND (idempotency_expires_at IS NULL OR idempotency_expires_at > ?)"""
                .formatted(SELECT_COLUMNS, table);
        // Served by (status, created_at, id): a backward index scan, no sort.
        this.findByStatus = """
                SELECT %s FROM %s WHERE status = ?
                ORDER BY created_at DESC, id DESC LIMIT ?""".formatted(SELECT_COLUMNS, table);
        // Served by (tenant_id, created_at, id).
        this.findByTenant = """
                SELECT %s FROM %s WHERE tenant_id = ?
                ORDER BY created_at DESC, id DESC LIMIT ?""".formatted(SELECT_COLUMNS, table);
        // The literal status matches the partial index's predicate, which a bound parameter would not.
        this.findWakeReady = """
                SELECT %s FROM %s WHERE status = 'waiting' AND wake_at <= ?
                ORDER BY wake_at, id LIMIT ?""".formatted(SELECT_COLUMNS, table);
        this.findChildren = """
                SELECT %s FROM %s WHERE parent_execution_id = ?
                ORDER BY created_at, id""".formatted(SELECT_COLUMNS, table);
        // One statement claims and leases: each kind of due work is found through its own index and
        // locked with SKIP LOCKED, so concurrent claimers never wait for, or take, each other's rows.
        // The CTEs are read lazily up to the final LIMIT, so only rows that are claimed get locked.
        this.claimDue = """
                WITH woken AS (
                  SELECT id FROM %1$s
                  WHERE status = 'waiting' AND flow_id = ANY (?) AND wake_at <= %2$s
                    AND coalesce(lease_expires_at, 0) <= %2$s
                  ORDER BY wake_at LIMIT ? FOR UPDATE SKIP LOCKED),
                pending AS (
                  SELECT id FROM %1$s
                  WHERE status = 'pending' AND flow_id = ANY (?) AND coalesce(lease_expires_at, 0) <= %2$s
                  ORDER BY created_at LIMIT ? FOR UPDATE SKIP LOCKED),
                abandoned AS (
                  SELECT id FROM %1$s
                  WHERE status IN ('running', 'cancelling') AND flow_id = ANY (?)
                    AND coalesce(lease_expires_at, updated_at + ?) <= %2$s
                  LIMIT ? FOR UPDATE SKIP LOCKED),
                due AS (
                  SELECT id FROM woken UNION ALL SELECT id FROM pending UNION ALL SELECT id FROM abandoned
                  LIMIT ?)
                UPDATE %1$s AS e SET lease_owner = ?, lease_expires_at = %2$s + ?, version = e.version + 1
                FROM due WHERE e.id = due.id
                RETURNING %3$s""".formatted(table, DB_NOW, "e." + SELECT_COLUMNS.replace(", ", ", e."));
        this.renewLeases = """
                UPDATE %s SET lease_expires_at = %s + ?
                WHERE id = ANY (?) AND lease_owner = ?
                RETURNING id""".formatted(table, DB_NOW);
        // Expired rather than absent: a running execution released by its worker is claimable at once,
        // while one that no worker ever held waits out a lease's length (someone may be running it).
        this.releaseLeases = """
                UPDATE %s SET lease_owner = NULL, lease_expires_at = 0
                WHERE id = ANY (?) AND lease_owner = ?""".formatted(table);
        this.tableOid = "SELECT to_regclass(?)::oid";
        // --- hardening (issue 9) ---
        // Only the primary key is an arbiter: a taken idempotency key still fails, as its holder is reported.
        this.insertIfAbsent = insert + " ON CONFLICT (id) DO NOTHING";
    }

    /**
     * An insert of {@code n} rows in one statement: atomic without a transaction and one round trip,
     * where a batch needs a transaction and so a second round trip for its commit.
     */
    String insertRows(int n) {
        String row = "(?, ?, ?, " + "?, ".repeat(DATA_COLUMN_COUNT) + "?)";
        StringBuilder statement = new StringBuilder(insertPrefix.length() + n * (row.length() + 2))
                .append(insertPrefix);
        for (int i = 0; i < n; i++) {
            statement.append(i == 0 ? "" : ", ").append(row);
        }
        return statement.toString();
    }

    /** LISTEN for a channel named by {@code "flowmonkey_" + table OID}, as the V3 trigger sends. */
    String listen(String channel) {
        if (!channel.matches("flowmonkey_[0-9]+")) {
            throw new IllegalArgumentException("not a FlowMonkey channel: " + channel);
        }
        return "LISTEN " + channel;
    }
}
