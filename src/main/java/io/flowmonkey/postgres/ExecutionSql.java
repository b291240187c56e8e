package io.flowmonkey.postgres;

/**
 * Every statement {@link PgExecutionStore} runs, with the table name substituted once. The name
 * comes from {@link PgStoreOptions}, which admits only lower-case identifiers, and is quoted here;
 * everything else is a bound parameter.
 */
final class ExecutionSql {

    /**
     * The columns written by insert and update, in bind order. {@link ExecutionRow#bind} follows it.
     */
    static final String DATA_COLUMNS = """
            flow_id, flow_version, tenant_id, status, current_step_id, step_count, context, history, error, \
            wait_metadata, cancellation, idempotency_key, idempotency_expires_at, parent_execution_id, metadata, \
            timeout_config, wake_at, created_at, updated_at, completed_at, failed_at, cancelled_at""";
    static final int DATA_COLUMN_COUNT = 22;

    /** The columns read back, in the order {@link ExecutionRow#read} expects. */
    private static final String SELECT_COLUMNS = "id, " + DATA_COLUMNS.replace(", wake_at", "") + ", version";

    final String table;
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

    ExecutionSql(PgStoreOptions options) {
        this.table = '"' + options.schema() + "\".\"" + options.tableName() + '"';
        this.insert = "INSERT INTO " + table + " (id, " + DATA_COLUMNS + ", version) VALUES (?, "
                + "?, ".repeat(DATA_COLUMN_COUNT) + "?)";
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
    }
}
