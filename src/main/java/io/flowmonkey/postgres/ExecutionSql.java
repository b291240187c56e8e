package io.flowmonkey.postgres;

import io.flowmonkey.execution.ExecutionQuery;
import io.flowmonkey.execution.ExecutionStatus;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

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
     * {@code wait_metadata}, so other writers keep it right too. {@code priority} (V8, flow control)
     * comes last.
     */
    static final String DATA_COLUMNS = """
            flow_id, flow_version, tenant_id, status, current_step_id, step_count, context, history, error, \
            wait_metadata, cancellation, parent_execution_id, metadata, timeout_config, created_at, updated_at, \
            completed_at, failed_at, cancelled_at, priority""";
    static final int DATA_COLUMN_COUNT = 20;

    static final String UNLISTEN = "UNLISTEN *";
    static final String PROBE = "SELECT 1";

    /**
     * The columns read back, in the order {@link ExecutionRow#read} expects. The lease columns come
     * last: they are read, for {@code Execution.leaseOwner()}, but never written by a save.
     */
    private static final String SELECT_COLUMNS = "id, " + DATA_COLUMNS
            + ", idempotency_key, idempotency_expires_at, version, lease_owner, lease_expires_at";

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
    final String renewLeases;
    final String releaseLeases;
    final String tableOid;
    /** The signal table (V6), quoted. */
    final String signals;
    // Worker hardening (V5)
    final String claimDue;
    final String nextWake;
    final String setAside;
    final String findSetAside;
    final String restoreSetAside;
    final String revokeLeases;
    final String writtenAs;

    // --- hardening (issue 9): statements that must not abort a surrounding transaction ---
    /** An insert of one row that reports a taken id by inserting nothing, rather than by an error. */
    final String insertIfAbsent;

    // --- worker heartbeats (V9) and the console's charts (issue 12) ---
    /** The worker table (V9), quoted. */
    final String workers;

    // --- updated ranges (V12) ---
    /** True where V12's BRIN index on (updated_at, created_at) exists: PostgreSQL 16 and later. */
    private final String updatedIndexPresent;

    ExecutionSql(PgStoreOptions options) {
        this.table = '"' + options.schema() + "\".\"" + options.tableName() + '"';
        this.insertPrefix = "INSERT INTO " + table + " (id, idempotency_key, idempotency_expires_at, " + DATA_COLUMNS
                + ", version) VALUES ";
        this.insert = insertRows(1);
        // The two flags: whether the saved status gives the lease up (ExecutionRow#givesUpLease), bound twice;
        // then the error again, for its code.
        this.update = "UPDATE " + table + " SET (" + DATA_COLUMNS + ", version) = ROW("
                + "?, ".repeat(DATA_COLUMN_COUNT) + "?), " + leaseGivenUp("?::boolean", "") + ", "
                + errorCode("?::jsonb") + " WHERE id = ? AND version = ?";
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
                SELECT %s FROM %s WHERE status = 'waiting' AND wake_at <= ? AND set_aside_at IS NULL
                ORDER BY wake_at, id LIMIT ?""".formatted(SELECT_COLUMNS, table);
        this.findChildren = """
                SELECT %s FROM %s WHERE parent_execution_id = ?
                ORDER BY created_at, id""".formatted(SELECT_COLUMNS, table);
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
        this.signals = signalsTable(options);

        // ---- Worker hardening (V5): version-aware claims, rows set aside, the next wake-up ----
        // One statement claims and leases: each kind of due work is found through its own index and
        // locked with SKIP LOCKED, so concurrent claimers never wait for, or take, each other's rows.
        // The CTEs are read lazily up to the final LIMIT, so only rows that are claimed get locked.
        // Only the (flow_id, flow_version) pairs the worker can run are claimed, bound as two arrays;
        // rows set aside are skipped whatever their status.
        // Write path (issue 13): every limit and the flow arrays are sub-selects, (SELECT ?::int), so that
        // no plan depends on their values. A plain LIMIT ? made each claim's plan with its own limit cost
        // less than the generic one, so PostgreSQL planned the statement anew on every call: 0.7 ms, three
        // quarters of a claim's server time at a few rows; bare arrays did the same on large tables (a plan
        // that knew there were 3 flows, not the generic 10, came out cheaper). Now the fifth execution on a
        // connection caches the generic plan (PgLeasingTest). Its shape is the one each call had: the
        // indexes below, read in their order.
        this.claimDue = """
                WITH serves AS (
                  SELECT * FROM unnest((SELECT ?::text[]), (SELECT ?::text[])) AS s(flow_id, flow_version)),
                woken AS (
                  SELECT id FROM %1$s
                  WHERE status = 'waiting' AND wake_at <= %2$s AND coalesce(lease_expires_at, 0) <= %2$s
                    AND set_aside_at IS NULL AND (flow_id, flow_version) IN (SELECT * FROM serves)
                  ORDER BY wake_at LIMIT (SELECT ?::int) FOR UPDATE SKIP LOCKED),
                -- flow control (V8): the most urgent first, then the oldest, read in that order from the
                -- partial index on pending rows (priority DESC, created_at, id): no sort, however many wait.
                pending AS (
                  SELECT id FROM %1$s
                  WHERE status = 'pending' AND coalesce(lease_expires_at, 0) <= %2$s
                    AND set_aside_at IS NULL AND (flow_id, flow_version) IN (SELECT * FROM serves)
                  ORDER BY priority DESC, created_at, id LIMIT (SELECT ?::int) FOR UPDATE SKIP LOCKED),
                abandoned AS (
                  SELECT id FROM %1$s
                  WHERE status IN ('running', 'cancelling') AND coalesce(lease_expires_at, updated_at + ?) <= %2$s
                    AND set_aside_at IS NULL AND (flow_id, flow_version) IN (SELECT * FROM serves)
                  LIMIT (SELECT ?::int) FOR UPDATE SKIP LOCKED),
                -- child flows and signals: a waiting execution is due as well when a signal of the name it
                -- awaits is buffered for it (V6). Driven from the small signals table, one primary-key
                -- look-up per buffered (execution, name): the LIMIT 1 keeps the planner from turning the
                -- look-up into a scan of the executions table.
                signalled AS (
                  SELECT x.id FROM (SELECT DISTINCT execution_id, name FROM %4$s WHERE name <> 'flowmonkey.awaitEnd') s
                  CROSS JOIN LATERAL (
                    SELECT e.id FROM %1$s e
                    WHERE e.id = s.execution_id AND e.status = 'waiting'
                      AND e.wait_metadata -> 'data' ->> 'signal' = s.name
                      AND coalesce(e.lease_expires_at, 0) <= %2$s AND e.set_aside_at IS NULL
                      AND (e.flow_id, e.flow_version) IN (SELECT * FROM serves)
                    LIMIT 1 FOR UPDATE SKIP LOCKED) x
                  LIMIT (SELECT ?::int)),
                due AS (
                  SELECT id FROM woken UNION ALL SELECT id FROM pending UNION ALL SELECT id FROM abandoned
                  UNION ALL SELECT id FROM signalled
                  LIMIT (SELECT ?::int))
                UPDATE %1$s AS e SET lease_owner = ?, lease_expires_at = %2$s + ?, version = e.version + 1
                FROM due WHERE e.id = due.id
                RETURNING %3$s""".formatted(table, DB_NOW, "e." + SELECT_COLUMNS.replace(", ", ", e."),
                signalsTable(options));
        // The earliest wake-up a claim of these flows would take once due, read through the partial wake
        // index, and the database's clock to time it by. Leased rows are being run by someone already.
        this.nextWake = """
                SELECT (SELECT wake_at FROM %1$s
                        WHERE status = 'waiting' AND wake_at IS NOT NULL AND coalesce(lease_expires_at, 0) <= %2$s
                          AND set_aside_at IS NULL
                          AND (flow_id, flow_version) IN (SELECT * FROM unnest(?::text[], ?::text[]))
                        ORDER BY wake_at LIMIT 1), %2$s""".formatted(table, DB_NOW);
        // Released for good: no lease, and a mark that claims skip. Ids, columns and reasons as arrays.
        this.setAside = """
                UPDATE %1$s AS e SET set_aside_at = %2$s, set_aside_column = s.col, set_aside_reason = s.reason,
                  lease_owner = NULL, lease_expires_at = 0
                FROM unnest(?::text[], ?::text[], ?::text[]) AS s(id, col, reason)
                WHERE e.id = s.id AND e.set_aside_at IS NULL
                RETURNING e.id, e.set_aside_at""".formatted(table, DB_NOW);
        // Served by the partial index on set_aside_at, which holds only rows set aside.
        this.findSetAside = """
                SELECT id, set_aside_column, set_aside_reason, set_aside_at FROM %s
                WHERE set_aside_at IS NOT NULL ORDER BY set_aside_at, id LIMIT ?""".formatted(table);
        // A release that also outdates the holder's copy, so that a step still running cannot be saved.
        this.revokeLeases = """
                UPDATE %s SET lease_owner = NULL, lease_expires_at = 0, version = version + 1
                WHERE id = ANY (?) AND lease_owner = ?
                RETURNING id""".formatted(table);
        // Whether the row holds exactly what a save wrote (updated_at aside, which that save's clock
        // chose): JSONB compares by value, so key order and number spelling do not matter.
        this.writtenAs = "SELECT updated_at FROM " + table + " WHERE id = ? AND version = ? AND ("
                + DATA_COLUMNS.replace(" updated_at,", " NULL::bigint,") + ") IS NOT DISTINCT FROM ("
                + "?, ".repeat(DATA_COLUMN_COUNT - 1) + "?)";
        this.restoreSetAside = """
                UPDATE %s SET set_aside_at = NULL, set_aside_column = NULL, set_aside_reason = NULL
                WHERE id = ? AND set_aside_at IS NOT NULL""".formatted(table);
        // --- hardening (issue 9) ---
        // Only the primary key is an arbiter: a taken idempotency key still fails, as its holder is reported.
        this.insertIfAbsent = insert + " ON CONFLICT (id) DO NOTHING";
        this.workers = '"' + options.schema() + "\".\"" + options.tableName() + PgStoreOptions.WORKERS_SUFFIX + '"';
        // --- batched completion (issue 13) ---
        this.updateRows = updateRows(table);
        this.versionsOf = "SELECT id, version FROM " + table + " WHERE id = ANY (?)";
        // --- updated ranges (V12) ---
        this.updatedIndexPresent = "(to_regclass('\"" + options.schema() + "\".\"idx_" + options.tableName()
                + "_updated\"') IS NOT NULL)";
    }

    // ---- Batched completion (issue 13): many executions' saves in one statement ----

    /** The array type each of {@link #DATA_COLUMNS} is bound as in {@link #updateRows}, in that order. */
    static final String[] DATA_COLUMN_ARRAY_TYPES = {
        "text", "text", "text", "text", "text", "int4", // flow_id .. current_step_id, step_count
        "jsonb", "jsonb", "jsonb", "jsonb", "jsonb", // context, history, error, wait_metadata, cancellation
        "text", "jsonb", "jsonb", // parent_execution_id, metadata, timeout_config
        "int8", "int8", "int8", "int8", "int8", // created_at, updated_at, completed_at, failed_at, cancelled_at
        "int4"}; // priority

    /**
     * The update of many rows at once, each still matched on its own expected version, so the statement
     * text is the same for any number of rows. Returns the ids it updated; a row missing from them lost
     * its race (or is gone), and only that row. Bound as the ids, the expected versions, one array per
     * column of {@link #DATA_COLUMNS} that is not JSON, in that order, and then one JSON array per JSON
     * column, its element {@code i} for row {@code i} ({@code null} for SQL NULL, which no JSON value of
     * the model is). A JSON array costs a concatenation of the texts; a text array escaped every quote of
     * every value (a fifth of a worker thread's CPU at 4 threads, JFR), and the server unescaped them.
     */
    final String updateRows;
    /** The stored versions of some rows, to tell a lost race from a row that is gone. */
    final String versionsOf;

    /** The statuses whose save gives up the lease: the V5 trigger's, which other writers rely on. */
    static final Set<ExecutionStatus> LEASE_ENDING = Collections.unmodifiableSet(EnumSet.of(
            ExecutionStatus.WAITING, ExecutionStatus.COMPLETED, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED));
    private static final String LEASE_ENDING_STATUSES = LEASE_ENDING.stream()
            .map(s -> "'" + s.wireName() + "'").collect(Collectors.joining(", ", "(", ")"));

    /**
     * SET clauses that clear the lease where {@code ends} holds, as V5's {@code end_lease} trigger would
     * for a save that leaves the lease columns alone: set here, they make its WHEN clause false, and the
     * PL/pgSQL call it would make (4-15 µs a save, docs/PERFORMANCE.md) is not made. {@code ends} is
     * written twice: once per column. {@code row} qualifies the stored columns.
     */
    private static String leaseGivenUp(String ends, String row) {
        return "lease_owner = CASE WHEN " + ends + " THEN NULL ELSE " + row + "lease_owner END, "
                + "lease_expires_at = CASE WHEN " + ends + " AND " + row + "lease_owner IS NOT NULL THEN NULL ELSE "
                + row + "lease_expires_at END";
    }

    /**
     * The SET clause of {@code error_code}, the code of the {@code error} saved (V11), so that V16's
     * trigger for other writers, whose WHEN clause then is false, does not update the row again.
     */
    private static String errorCode(String error) {
        return "error_code = " + error + " ->> 'code'";
    }

    private static String updateRows(String table) {
        String[] columns = DATA_COLUMNS.split(",\\s*");
        // Each array is a sub-select, so that no plan knows its length: a plan made for a batch's own few
        // rows looked cheaper than the generic plan, and every call was planned anew (139 us of a 372 us
        // call at 4 worker threads); now the generic plan is kept once PostgreSQL has made its five custom
        // plans (pgjdbc prepares on the server at the fifth use, so from about the tenth call on a connection).
        StringBuilder arrays = new StringBuilder("(SELECT ?::text[]), (SELECT ?::int8[])"); // id, expected version
        StringBuilder arrayColumns = new StringBuilder();
        StringBuilder documents = new StringBuilder();
        StringBuilder documentColumns = new StringBuilder();
        StringBuilder values = new StringBuilder();
        for (int i = 0; i < columns.length; i++) {
            String type = DATA_COLUMN_ARRAY_TYPES[i];
            if ("jsonb".equals(type)) {
                documents.append(documents.length() == 0 ? "?::jsonb" : ", ?::jsonb");
                documentColumns.append(documentColumns.length() == 0 ? "" : ", ").append(columns[i]);
                values.append("nullif(j.").append(columns[i]).append(" -> (u.ord::int - 1), 'null'), ");
            } else {
                arrays.append(", (SELECT ?::").append(type).append("[])");
                arrayColumns.append(", ").append(columns[i]);
                values.append("u.").append(columns[i]).append(", ");
            }
        }
        return "UPDATE " + table + " AS e SET (" + DATA_COLUMNS + ", version) = ROW(" + values + "u.expected + 1),\n  "
                + leaseGivenUp("u.status IN " + LEASE_ENDING_STATUSES, "e.") + ",\n  "
                + errorCode("nullif(j.error -> (u.ord::int - 1), 'null')") + "\n"
                + "FROM unnest(" + arrays + ") WITH ORDINALITY AS u(id, expected" + arrayColumns + ", ord),\n"
                + "  (SELECT " + documents + ") AS j(" + documentColumns + ")\n"
                + "WHERE e.id = u.id AND e.version = u.expected\n"
                + "RETURNING e.id";
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

    /**
     * LISTEN for a channel named by {@code "flowmonkey_" + table OID}, as the V3 trigger sends, or by
     * {@code "flowmonkey_end_" + table OID}, as the V6 trigger sends for executions that end.
     */
    String listen(String channel) {
        if (!channel.matches("flowmonkey_(end_)?[0-9]+")) {
            throw new IllegalArgumentException("not a FlowMonkey channel: " + channel);
        }
        return "LISTEN " + channel;
    }

    // ---- child flows and signals (V6) ----

    /** The channel prefix of the notices of executions that end (V6). */
    static final String END_CHANNEL_PREFIX = "flowmonkey_end_";
    /** The columns of a signal, in the order {@link PgExecutionStore} reads them. */
    private static final String SIGNAL_COLUMNS = "id, execution_id, name, data, sent_at";

    /** The signal table of {@code options}' table: its name plus {@link PgStoreOptions#SIGNALS_SUFFIX}, quoted. */
    private static String signalsTable(PgStoreOptions options) {
        return '"' + options.schema() + "\".\"" + options.tableName() + PgStoreOptions.SIGNALS_SUFFIX + '"';
    }

    /** Stores a signal only for an execution that exists, in one statement. */
    String sendSignal() {
        return """
                INSERT INTO %s (execution_id, name, data, sent_at)
                SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM %s WHERE id = ?)
                RETURNING id""".formatted(signals, table);
    }

    /** Stores a signal in a transaction that saves executions too; the target is not checked. */
    String insertSignal() {
        return "INSERT INTO " + signals + " (execution_id, name, data, sent_at) VALUES (?, ?, ?, ?) RETURNING id";
    }

    /** The unconsumed signals of one execution and name, oldest first: served by (execution_id, name, id). */
    String findSignals() {
        return "SELECT " + SIGNAL_COLUMNS + " FROM " + signals + " WHERE execution_id = ? AND name = ? ORDER BY id LIMIT ?";
    }

    /**
     * Waiting executions with a buffered signal of the name they await, as the claim's "signalled"
     * part finds them (one primary-key look-up per buffered signal), without leasing them.
     */
    String findSignalled() {
        return """
                SELECT x.* FROM (SELECT DISTINCT execution_id, name FROM %1$s WHERE name <> 'flowmonkey.awaitEnd') s
                CROSS JOIN LATERAL (
                  SELECT %3$s FROM %2$s e
                  WHERE e.id = s.execution_id AND e.status = 'waiting'
                    AND e.wait_metadata -> 'data' ->> 'signal' = s.name AND e.set_aside_at IS NULL
                  LIMIT 1) x
                LIMIT ?""".formatted(signals, table, SELECT_COLUMNS);
    }

    /** Consumes signals; the caller compares the count with the ids it passed. */
    String consumeSignals() {
        return "DELETE FROM " + signals + " WHERE id = ANY (?)";
    }

    // ---- Query, count, stream, bulk delete and purge (issue 12) ----
    // A query's statement is put together from the fixed fragments below, one per filter that is set,
    // so the set of statements is closed; every value, cursor position included, is a bound parameter.

    /** What a statement built from an {@link ExecutionQuery} is for. */
    enum Shape {
        /** One page: the query's order, {@code limit + 1} rows (the extra one tells that more follow). */
        PAGE,
        /** Every match after the position, in the query's order, read through a cursor. */
        STREAM,
        /** Ids and {@code created_at} of one page, for deleting in batches. */
        KEYS,
        /** {@code count(*)} of the matches, position ignored. */
        COUNT,
        /** The planner's estimate of the count: EXPLAIN of the count's scan, never run. */
        ESTIMATE
    }

    /**
     * A statement and its parameters in bind order: each a {@code String}, {@code Long}, {@code String[]}
     * (a text array) or {@link Jsonb}.
     *
     * @param sql the statement
     * @param params its parameters
     */
    record Bound(String sql, List<Object> params) {
        Bound {
            params = List.copyOf(params);
        }
    }

    /**
     * JSONB text, bound with {@code Types.OTHER}.
     *
     * @param text the JSON
     */
    record Jsonb(String text) {
    }

    private static final String NEWEST_FIRST = " ORDER BY created_at DESC, id DESC";
    private static final String F_STATUS = "status = ?";
    private static final String F_STATUS_ANY = "status = ANY (?)";
    private static final String F_FLOW = "flow_id = ?";
    private static final String F_FLOW_VERSION = "flow_version = ?";
    private static final String F_TENANT = "tenant_id = ?";
    private static final String F_PARENT = "parent_execution_id = ?";
    private static final String F_CREATED_FROM = "created_at >= ?";
    private static final String F_CREATED_BEFORE = "created_at < ?";
    private static final String F_UPDATED_FROM = "updated_at >= ?";
    private static final String F_UPDATED_BEFORE = "updated_at < ?";
    // The column V11 keeps equal to error ->> 'code', so that a count reads its index alone. Implies the
    // partial index's predicate (error_code IS NOT NULL): = is strict.
    private static final String F_ERROR_CODE = "error_code = ?";
    // Containment is what the jsonb_path_ops GIN index answers.
    // A filter is never empty (an empty one is no condition), so it never matches '{}': saying so is what
    // lets PostgreSQL use V15's partial index, which leaves those rows out.
    private static final String F_METADATA = "metadata @> ? AND metadata <> '{}'::jsonb";
    // A row comparison in the index's own column order: a keyset range the B-tree reads directly.
    private static final String F_AFTER = "(created_at, id) < (?, ?)";

    /**
     * Builds the statement of a query.
     *
     * <p>Several statuses are read as one branch per status, each ordered and limited on its own, then
     * merged: each branch reads an index in order and stops after a page, so the first page reads at most
     * {@code limit + 1} rows per status instead of sorting every match. Counts need no order and use
     * {@code status = ANY (?)}.
     *
     * @param q the query
     * @param metadataJson the metadata filter as a JSON object, or null when there is none
     * @param shape what the statement is for
     * @return the statement and its parameters
     */
    Bound select(ExecutionQuery q, String metadataJson, Shape shape) {
        List<Object> params = new ArrayList<>();
        String sql;
        switch (shape) {
            case COUNT -> sql = "SELECT count(*) FROM " + table + where(q, metadataJson, null, false, params);
            case ESTIMATE -> sql = "EXPLAIN (FORMAT JSON) SELECT 1 FROM " + table
                    + where(q, metadataJson, null, false, params);
            default -> {
                String columns = shape == Shape.KEYS ? "id, created_at" : SELECT_COLUMNS;
                if (shape != Shape.STREAM && readsNewestFirstForMetadata(q, metadataJson)) {
                    return newestFirstForMetadata(q, metadataJson, columns,
                            (long) q.limit() + (shape == Shape.PAGE ? 1 : 0));
                }
                List<ExecutionStatus> branches = q.statuses().size() > 1
                        ? List.copyOf(EnumSet.copyOf(q.statuses())) : Collections.singletonList(null);
                String limit = shape == Shape.STREAM ? "" : " LIMIT ?";
                long rows = (long) q.limit() + (shape == Shape.PAGE ? 1 : 0);
                if (q.updatedFrom() != null && shape != Shape.STREAM) {
                    return new Bound(updatedSince(q, metadataJson, columns, branches, rows, params), params);
                }
                if (branches.size() == 1) {
                    sql = "SELECT " + columns + " FROM " + table + where(q, metadataJson, null, true, params)
                            + NEWEST_FIRST + limit;
                } else {
                    // Each branch is ordered and limited by itself, so that it reads its own index in order
                    // and stops after a page; the outer merge takes the page from those.
                    StringBuilder union = new StringBuilder();
                    for (ExecutionStatus status : branches) {
                        union.append(union.length() == 0 ? "(" : " UNION ALL (").append("SELECT ").append(columns)
                                .append(" FROM ").append(table).append(where(q, metadataJson, status, true, params))
                                .append(NEWEST_FIRST).append(limit).append(')');
                        if (!limit.isEmpty()) {
                            params.add(rows);
                        }
                    }
                    sql = "SELECT " + columns + " FROM (" + union + ") AS branches" + NEWEST_FIRST + limit;
                }
                if (!limit.isEmpty()) {
                    params.add(rows);
                }
            }
        }
        return new Bound(sql, params);
    }

    // ---- Updated ranges (V12): a page of "updated since" that never reads the created index to its end ----

    /**
     * A page (or batch of keys) of a query with an updated range's start, {@code from}. Without an index
     * on {@code updated_at} (V7: it would make every save non-HOT), such a page reads an index in order
     * and checks {@code updated_at} on the way; nothing bounds {@code created_at} from below, so a page
     * past the last match reads the rest of that index. Where V12's BRIN index exists (PostgreSQL 16 and
     * later, where a save that changes only BRIN-indexed columns stays HOT), the matches are read in two
     * disjoint parts instead, each with the query's filters and position, merged in the query's order:
     * <ul>
     * <li>rows created since {@code from}, read in order from the same indexes as any query, bounded
     * below by {@code created_at >= from}. {@code updated_at} is checked as {@code updated_at + 0}, which
     * no index answers: else the planner, which takes the two bounds for independent, expects a handful
     * of matches and fetches them all through the BRIN index to sort them;</li>
     * <li>rows created before {@code from} and updated since (those in flight at {@code from}, or touched
     * since): found through the BRIN index, whose block ranges hold their rows' lowest {@code created_at}
     * and highest {@code updated_at}, then checked against the query's filters and sorted. A MATERIALIZED
     * CTE is planned on its own, without the order and limit, so reading the created index in order (and
     * to its end) gains nothing there. Inside it, the candidates are a subquery of those two bounds alone
     * (and {@code created_at <= } the position's, a key the BRIN index can use), fenced by OFFSET 0 so
     * that it is planned by itself: given a status or tenant too, the planner, again taking the bounds
     * for independent, would rather read every row of that status created before {@code from} through
     * its B-tree than the few ranges the BRIN index selects.</li>
     * </ul>
     * Each part is guarded by whether the BRIN index exists (a one-time filter, evaluated when the
     * statement runs): without it the statement is the query's usual one, so that PostgreSQL 15 keeps
     * its plan, and a table whose index is missing is read correctly either way.
     */
    private String updatedSince(ExecutionQuery q, String metadataJson, String columns, List<ExecutionStatus> branches,
                                long rows, List<Object> params) {
        long from = q.updatedFrom().toEpochMilli();
        StringBuilder sql = new StringBuilder("WITH older_updated AS MATERIALIZED (SELECT ").append(columns)
                .append(" FROM (SELECT * FROM ").append(table).append(" WHERE updated_at >= ? AND created_at < ?");
        params.add(from);
        params.add(from);
        if (q.position().isPresent()) {
            sql.append(" AND created_at <= ?");
            params.add(q.position().get().createdAt().toEpochMilli());
        }
        sql.append(" AND ").append(updatedIndexPresent).append(" OFFSET 0) AS candidates")
                .append(where(q, metadataJson, null, true, params)).append(") SELECT ").append(columns).append(" FROM (");
        // Without the index (PostgreSQL 15) the guard runs only these: the plan the statement has always had.
        for (ExecutionStatus status : branches) {
            sql.append('(').append("SELECT ").append(columns).append(" FROM ").append(table)
                    .append(and(where(q, metadataJson, status, true, params), "NOT " + updatedIndexPresent))
                    .append(NEWEST_FIRST).append(" LIMIT ?) UNION ALL ");
            params.add(rows);
        }
        // With it, the two disjoint parts: rows created since from, read in order per status (bounded below
        // by from, so no page reads to the index's end), then the older rows the BRIN ranges found.
        ExecutionQuery createdSince = q.toBuilder().updatedBetween(null, q.updatedBefore()).build()
                .afterPosition(q.position().orElse(null));
        for (ExecutionStatus status : branches) {
            sql.append('(').append("SELECT ").append(columns).append(" FROM ").append(table)
                    .append(and(where(createdSince, metadataJson, status, true, params), "created_at >= ?"))
                    .append(" AND updated_at + 0 >= ? AND ").append(updatedIndexPresent)
                    .append(NEWEST_FIRST).append(" LIMIT ?) UNION ALL ");
            params.add(from);
            params.add(from);
            params.add(rows);
        }
        // Guarded here too, so that without the index the CTE is never run (only planned).
        sql.append("(SELECT ").append(columns).append(" FROM older_updated WHERE ").append(updatedIndexPresent)
                .append(NEWEST_FIRST).append(" LIMIT ?)) AS branches").append(NEWEST_FIRST).append(" LIMIT ?");
        params.add(rows);
        params.add(rows);
        return sql.toString();
    }

    /** {@code where} (" WHERE ..." or empty) with one more condition. */
    private static String and(String where, String condition) {
        return (where.isEmpty() ? " WHERE " : where + " AND ") + condition;
    }

    // ---- Pages of a metadata filter (issue 12, performance): a bounded ordered read, then the GIN index ----

    /**
     * The newest rows a page of a metadata filter reads in order before it turns to the GIN index: a
     * hundred per row of the page (a value held by one row in fifty fills the page from them twice
     * over), at most {@value}.
     */
    static final int METADATA_HEAD_MAX = 10_000;

    /**
     * Whether a page's metadata filter goes with no filter that has an index of its own read in order
     * (tenant, flow, parent, error code): then the page is read by {@link #newestFirstForMetadata}.
     * With one of those, the planner's choice stands: the rows of a tenant, flow, parent or error code
     * bound what either plan reads.
     */
    private static boolean readsNewestFirstForMetadata(ExecutionQuery q, String metadataJson) {
        return metadataJson != null && q.tenantId() == null && q.flowId() == null && q.parentExecutionId() == null
                && q.errorCode() == null;
    }

    /**
     * One page of a metadata filter (statuses, created and updated ranges allowed), in one statement
     * whose plan does not hang on the planner's estimate of jsonb containment.
     *
     * <p>That estimate is rough (a value not among the column's most common ones is judged by whether it
     * happens to be in a histogram of whole metadata objects), and the two plans it chooses between are
     * far apart when it is wrong: the created index read in order, metadata checked on each row, reads
     * about {@code rows x table / matches} rows (a value held by 1,000 rows of a million: 50,000 rows,
     * 16-55 ms); the GIN index, then a sort, reads every match (the same value: 2-8 ms), which for a
     * value held by one row in fifty is 20,000 rows where reading in order takes 2,500. So the statement
     * does both, bounded: first the newest rows in the created order ({@code head}: 100 per row of the
     * page, at most {@link #METADATA_HEAD_MAX}, after the position and in the created range), with every
     * filter checked on them; if that fills the page, it is the page, since any match it missed would
     * be older than all of them. Only if it does not, the matches are fetched by every filter (the GIN
     * index, for a value too rare to fill a page from the newest rows) and the page is sorted from them,
     * which then are few. The {@code OFFSET 0} keeps the planner from reading in order again there.
     */
    private Bound newestFirstForMetadata(ExecutionQuery q, String metadataJson, String columns, long rows) {
        List<Object> params = new ArrayList<>();
        // Only the conditions the created index reads as a range bound the head; every filter is checked
        // on the rows it read.
        List<String> window = new ArrayList<>();
        add(window, params, F_CREATED_FROM, q.createdFrom() == null ? null : q.createdFrom().toEpochMilli());
        add(window, params, F_CREATED_BEFORE, q.createdBefore() == null ? null : q.createdBefore().toEpochMilli());
        if (q.position().isPresent()) {
            window.add(F_AFTER);
            params.add(q.position().get().createdAt().toEpochMilli());
            params.add(q.position().get().id());
        }
        params.add(Math.min(rows * 100, METADATA_HEAD_MAX));
        String filters = where(q, metadataJson, null, true, params);
        params.add(rows);
        params.add(rows);
        String again = where(q, metadataJson, null, true, params);
        params.add(rows);
        params.add(rows);
        String sql = "WITH head AS MATERIALIZED (SELECT " + columns + " FROM (SELECT * FROM " + table
                + (window.isEmpty() ? "" : " WHERE " + String.join(" AND ", window)) + NEWEST_FIRST + " LIMIT ?) h"
                + filters + NEWEST_FIRST + " LIMIT ?) "
                + "SELECT " + columns + " FROM (SELECT " + columns + " FROM head WHERE (SELECT count(*) FROM head) = ? "
                + "UNION ALL SELECT " + columns + " FROM (SELECT " + columns + " FROM " + table + again + " OFFSET 0) m "
                + "WHERE (SELECT count(*) FROM head) < ?) page" + NEWEST_FIRST + " LIMIT ?";
        return new Bound(sql, params);
    }

    /**
     * Builds the delete of one batch: the ids found by a {@link Shape#KEYS} statement, of which only
     * those that still match the filters are deleted.
     *
     * @param q the query
     * @param metadataJson the metadata filter as a JSON object, or null
     * @param ids the batch
     * @return the statement and its parameters
     */
    Bound deleteMatching(ExecutionQuery q, String metadataJson, List<String> ids) {
        List<Object> params = new ArrayList<>();
        params.add(ids.toArray(new String[0]));
        String filters = where(q, metadataJson, null, false, params);
        return new Bound("DELETE FROM " + table + " WHERE id = ANY (?)"
                + (filters.isEmpty() ? "" : " AND" + filters.substring(" WHERE".length())), params);
    }

    private static String where(ExecutionQuery q, String metadataJson, ExecutionStatus branch, boolean position,
                                List<Object> params) {
        List<String> conditions = new ArrayList<>();
        if (branch != null) {
            conditions.add(F_STATUS);
            params.add(branch.wireName());
        } else if (q.statuses().size() == 1) {
            conditions.add(F_STATUS);
            params.add(q.statuses().iterator().next().wireName());
        } else if (!q.statuses().isEmpty()) {
            conditions.add(F_STATUS_ANY);
            params.add(q.statuses().stream().map(ExecutionStatus::wireName).sorted().toArray(String[]::new));
        }
        add(conditions, params, F_FLOW, q.flowId());
        add(conditions, params, F_FLOW_VERSION, q.flowVersion());
        add(conditions, params, F_TENANT, q.tenantId());
        add(conditions, params, F_PARENT, q.parentExecutionId());
        add(conditions, params, F_CREATED_FROM, q.createdFrom() == null ? null : q.createdFrom().toEpochMilli());
        add(conditions, params, F_CREATED_BEFORE, q.createdBefore() == null ? null : q.createdBefore().toEpochMilli());
        add(conditions, params, F_UPDATED_FROM, q.updatedFrom() == null ? null : q.updatedFrom().toEpochMilli());
        add(conditions, params, F_UPDATED_BEFORE, q.updatedBefore() == null ? null : q.updatedBefore().toEpochMilli());
        // Issue 12, performance of updated ranges: every save stamps updated_at no earlier than
        // created_at, so a row updated before the range's end was created before it too. Said outright,
        // that bound lets the created index start reading at the range's end instead of at the newest
        // row, which is what makes an updated range quick without an index on updated_at.
        add(conditions, params, F_CREATED_BEFORE, q.updatedBefore() == null ? null : q.updatedBefore().toEpochMilli());
        add(conditions, params, F_ERROR_CODE, q.errorCode());
        add(conditions, params, F_METADATA, metadataJson == null ? null : new Jsonb(metadataJson));
        if (position && q.position().isPresent()) {
            conditions.add(F_AFTER);
            params.add(q.position().get().createdAt().toEpochMilli());
            params.add(q.position().get().id());
        }
        return conditions.isEmpty() ? "" : " WHERE " + String.join(" AND ", conditions);
    }

    private static void add(List<String> conditions, List<Object> params, String fragment, Object value) {
        if (value != null) {
            conditions.add(fragment);
            params.add(value);
        }
    }

    /**
     * One batch of a purge, in its own statement: ended rows whose end (by their status's own time
     * column) is before the cutoff, found through the partial index on that end time and locked with
     * SKIP LOCKED, so a purge never waits for, or blocks, a writer of some row. The CASE is the V7
     * index's expression, word for word, which is what lets the planner use it.
     */
    String purgeBatch() {
        return """
                DELETE FROM %1$s WHERE id IN (
                  SELECT id FROM %1$s
                  WHERE status IN ('completed', 'failed', 'cancelled') AND status = ANY (?)
                    AND (CASE status WHEN 'completed' THEN completed_at WHEN 'failed' THEN failed_at
                         ELSE cancelled_at END) < ?
                  LIMIT ? FOR UPDATE SKIP LOCKED)""".formatted(table);
    }

    // ---- Worker heartbeats (V9), set-aside look-up, and the console's charts (issue 12) ----

    /** The columns of a worker row, in the order {@link PgExecutionStore} reads them. */
    private static final String WORKER_COLUMNS = """
            worker_id, host, pid, serves, threads, in_flight, started_at, last_heartbeat, last_claim, expires_at, \
            lateness""";

    /**
     * One heartbeat, in one statement: the upsert of the worker's row, stamped with the database's clock,
     * and the deletion of the rows of workers that are dead (the table holds a row per worker, so this
     * reads a handful of rows). Parameters: worker_id (whose own row is not deleted: it is upserted), then
     * worker_id, host, pid, serves (JSONB), threads, in_flight, started_at, last_claim, live-for millis,
     * lateness (JSONB).
     */
    String heartbeat() {
        return """
                WITH dead AS (DELETE FROM %1$s WHERE expires_at < %2$s AND worker_id <> ?)
                INSERT INTO %1$s (worker_id, host, pid, serves, threads, in_flight, started_at, last_heartbeat,
                                  last_claim, expires_at, lateness)
                VALUES (?, ?, ?, ?, ?, ?, ?, %2$s, ?, %2$s + ?, ?)
                ON CONFLICT (worker_id) DO UPDATE SET host = EXCLUDED.host, pid = EXCLUDED.pid,
                  serves = EXCLUDED.serves, threads = EXCLUDED.threads, in_flight = EXCLUDED.in_flight,
                  started_at = EXCLUDED.started_at, last_heartbeat = EXCLUDED.last_heartbeat,
                  last_claim = EXCLUDED.last_claim, expires_at = EXCLUDED.expires_at, lateness = EXCLUDED.lateness"""
                .formatted(workers, DB_NOW);
    }

    /** The live workers: rows whose expiry the database's clock has not passed. */
    String liveWorkers() {
        return "SELECT " + WORKER_COLUMNS + " FROM " + workers + " WHERE expires_at >= " + DB_NOW + " ORDER BY worker_id";
    }

    /** A stopping worker's row goes with it. */
    String removeWorker() {
        return "DELETE FROM " + workers + " WHERE worker_id = ?";
    }

    /** Whether one execution is set aside: a primary-key look-up. */
    String setAsideOf() {
        return "SELECT id, set_aside_column, set_aside_reason, set_aside_at FROM " + table
                + " WHERE id = ? AND set_aside_at IS NOT NULL";
    }

    /**
     * Executions that ended in {@code [from, before)}, per status and minute of their end: a range of
     * the V7 partial index of end times (its CASE, word for word), each row's status read from the heap.
     * What it reads grows with the executions that ended in the range, not with the table.
     */
    String endedPerMinute() {
        String end = "(CASE status WHEN 'completed' THEN completed_at WHEN 'failed' THEN failed_at ELSE cancelled_at END)";
        return """
                SELECT status, %2$s / 60000 AS minute, count(*) FROM %1$s
                WHERE status IN ('completed', 'failed', 'cancelled') AND %2$s >= ? AND %2$s < ?
                GROUP BY 1, 2""".formatted(table, end);
    }

    /** Executions created in {@code [from, before)} per minute: a range of the V7 created index, read index-only. */
    String createdPerMinute() {
        return """
                SELECT created_at / 60000 AS minute, count(*) FROM %s
                WHERE created_at >= ? AND created_at < ?
                GROUP BY 1""".formatted(table);
    }

    // ---- Metrics and store health (issue 12, item 5): FlowMonkeyMetrics' gauges, PgExecutionStore.health() ----

    /**
     * One look at the table's health, in one statement: its live and dead tuples and last autovacuum and
     * autoanalyze (pg_stat_user_tables, bound by the table's name as a regclass, so a missing statistics
     * row reads as nulls), the oldest transaction of this database that holds back VACUUM (a session
     * with a backend_xmin: a long transaction, an open cursor, an idle session in a transaction; this
     * one excluded), and the due work no worker has claimed, each count stopped at a bound so that a
     * large backlog costs no more than the bound. Bound: the bound twice, then the table name.
     */
    String health() {
        return """
                SELECT s.n_live_tup, s.n_dead_tup,
                  floor(extract(epoch FROM s.last_autovacuum) * 1000)::bigint,
                  floor(extract(epoch FROM s.last_autoanalyze) * 1000)::bigint,
                  (SELECT floor(extract(epoch FROM (statement_timestamp() - min(a.xact_start))) * 1000)::bigint
                     FROM pg_stat_activity a
                     WHERE a.backend_xmin IS NOT NULL AND a.pid <> pg_backend_pid() AND a.datname = current_database()),
                  (SELECT max(age(a.backend_xmin)) FROM pg_stat_activity a
                     WHERE a.backend_xmin IS NOT NULL AND a.pid <> pg_backend_pid() AND a.datname = current_database()),
                  (SELECT count(*) FROM (SELECT 1 FROM %1$s
                     WHERE status = 'pending' AND coalesce(lease_expires_at, 0) <= %2$s AND set_aside_at IS NULL
                     LIMIT ?) pending),
                  (SELECT count(*) FROM (SELECT 1 FROM %1$s
                     WHERE status = 'waiting' AND wake_at <= %2$s AND coalesce(lease_expires_at, 0) <= %2$s
                       AND set_aside_at IS NULL
                     LIMIT ?) woken)
                FROM (SELECT ?::regclass AS relid) t
                LEFT JOIN pg_stat_user_tables s ON s.relid = t.relid""".formatted(table, DB_NOW);
    }
}
