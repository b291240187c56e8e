package io.flowmonkey.postgres;

/**
 * Hands the benchmark the exact statements {@link PgExecutionStore} runs, so that its raw-JDBC
 * baseline measures the same SQL rather than a copy that could drift. Test code only.
 */
public final class BenchSql {

    private final ExecutionSql sql;

    private BenchSql(PgStoreOptions options) {
        this.sql = new ExecutionSql(options);
    }

    /**
     * Returns the statements of a store built with {@code options}.
     *
     * @param options the store's options (schema and table name matter)
     * @return the statements
     */
    public static BenchSql of(PgStoreOptions options) {
        return new BenchSql(options);
    }

    /**
     * Returns the quoted, schema-qualified table name.
     *
     * @return the table name as it appears in the statements
     */
    public String table() {
        return sql.table;
    }

    /**
     * Returns the columns bound by insert and update, in bind order.
     *
     * @return the comma-separated column list
     */
    public static String dataColumns() {
        return ExecutionSql.DATA_COLUMNS;
    }

    /**
     * Returns the insert of one execution without idempotency key, as {@code save} runs it
     * ({@code ON CONFLICT (id) DO NOTHING}): {@code id}, the {@link #dataColumns()}, {@code version}.
     *
     * @return the statement
     */
    public String insert() {
        return sql.insertIfAbsent;
    }

    /**
     * Returns the update: the {@link #dataColumns()}, new {@code version}, twice whether the status gives
     * up the lease, {@code id}, expected {@code version}.
     *
     * @return the statement
     */
    public String update() {
        return sql.update;
    }

    /**
     * Returns the load by id.
     *
     * @return the statement
     */
    public String load() {
        return sql.load;
    }

    /**
     * Returns the insert of {@code n} rows in one statement, as {@code saveAll} runs it.
     *
     * @param n the rows
     * @return the statement
     */
    public String insertRows(int n) {
        return sql.insertRows(n);
    }

    /**
     * Returns the claim of due work, bound as {@code PgExecutionStore.claimDue} binds it: flow
     * ids, flow versions, limit, limit, grace ms, limit, limit (signalled), limit, worker id, lease ms.
     *
     * @return the statement
     */
    public String claimDue() {
        return sql.claimDue;
    }

    /**
     * Returns findByStatus: status, limit.
     *
     * @return the statement
     */
    public String findByStatus() {
        return sql.findByStatus;
    }

    /**
     * Returns findByTenant: tenant id, limit.
     *
     * @return the statement
     */
    public String findByTenant() {
        return sql.findByTenant;
    }

    /**
     * Returns findWakeReady: now in epoch millis, limit.
     *
     * @return the statement
     */
    public String findWakeReady() {
        return sql.findWakeReady;
    }
}
