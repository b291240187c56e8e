package io.flowmonkey.postgres;

import io.flowmonkey.execution.ConcurrentUpdateException;
import io.flowmonkey.execution.DuplicateExecutionException;
import io.flowmonkey.execution.DuplicateIdempotencyKeyException;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionDataException;
import io.flowmonkey.execution.ExecutionNotFoundException;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.ExecutionStore;
import io.flowmonkey.execution.LeasingExecutionStore;
import io.flowmonkey.execution.StoreException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Array;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Function;
import javax.sql.DataSource;
import org.postgresql.core.BaseConnection;
import org.postgresql.core.TransactionState;

/**
 * An {@link ExecutionStore} in a PostgreSQL table laid out by {@link SchemaApplier}.
 *
 * <p>Each call borrows a connection from the {@link DataSource} for one statement (autocommit) and
 * returns it; a call that needs several statements runs them in one transaction. Thread-safe: share
 * one instance. Use {@link #inTransaction(Function)} to group calls atomically, or
 * {@link #using(Connection)} to join a transaction of your own.
 *
 * <p>Values are bound parameters; JSON columns are sent as JSONB text. A value that cannot be stored
 * fails before any connection is taken, with the execution id and the column.
 *
 * <p><b>Transactions.</b> A store call that fails inside a transaction ({@link #inTransaction},
 * or a caller's transaction joined with {@link #using(Connection)}) leaves that transaction as it was
 * before the call, so that work may catch, say, a {@link DuplicateExecutionException} and go on:
 * an insert without idempotency key is {@code INSERT ... ON CONFLICT (id) DO NOTHING}, which reports
 * a taken id without a database error; an update that lost a race fails without one too; a call of
 * several statements ({@code saveAll}, an insert with an idempotency key) runs under a savepoint of
 * its own, rolled back when it fails. So the common single-row saves in a transaction cost no extra
 * round trip, and a multi-statement call two (its {@code SAVEPOINT} and {@code RELEASE}: 30 to 80 µs
 * on a local server, against 300 to 450 µs for a two-row {@code saveAll}), which pgjdbc's
 * {@code autosave} would instead add to every statement, single-row saves included. Any other failure (a lost
 * connection, a statement timeout, a deadlock) aborts the transaction in PostgreSQL; then
 * {@link #inTransaction} rolls back and throws rather than report a commit that did not happen.
 *
 * <p>As a {@link LeasingExecutionStore} it hands due work to workers with one
 * {@code UPDATE ... FOR UPDATE SKIP LOCKED} statement per claim, leases timed by the database's
 * clock, and LISTEN/NOTIFY for prompt wake-ups.
 */
public final class PgExecutionStore implements LeasingExecutionStore {

    /**
     * The most rows inserted by one statement (23 parameters each, well inside PostgreSQL's 65,535);
     * larger {@code saveAll}s go as a batch in a transaction.
     */
    private static final int MAX_ROWS_PER_INSERT = 1_000;
    /** The longest lease, or grace for a running execution nobody holds, that a claim accepts. */
    private static final Duration MAX_LEASE = Duration.ofDays(365);
    private static final Instant LATEST = Instant.ofEpochMilli(Long.MAX_VALUE);
    private static final Instant EARLIEST = Instant.ofEpochMilli(Long.MIN_VALUE);

    private final DataSource dataSource;
    private final ExecutionSql sql;
    private final ExecutionJson json;
    private final Clock clock;
    /** The caller's connection when this store joins their transaction; null to borrow per call. */
    private final Connection bound;
    /** Told of each row a multi-row finder skipped because it could not be decoded; null to throw instead. */
    private final Consumer<? super ExecutionDataException> skipped;
    /** The last failure of a statement on {@link #bound}, the likely reason a transaction aborted. */
    private StoreException lastFailure;

    /**
     * Creates a store over the default table ({@code public.executions}).
     *
     * @param ds the pool to borrow connections from, e.g. a {@code HikariDataSource}
     */
    public PgExecutionStore(DataSource ds) {
        this(ds, PgStoreOptions.defaults());
    }

    /**
     * Creates a store with the given options.
     *
     * @param ds the pool to borrow connections from, e.g. a {@code HikariDataSource}
     * @param options schema, table name, object mapper and clock
     */
    public PgExecutionStore(DataSource ds, PgStoreOptions options) {
        this.dataSource = Objects.requireNonNull(ds, "dataSource must not be null");
        Objects.requireNonNull(options, "options must not be null");
        this.sql = new ExecutionSql(options);
        this.json = new ExecutionJson(options);
        this.clock = options.clock();
        this.bound = null;
        this.skipped = null;
    }

    private PgExecutionStore(PgExecutionStore parent, Connection bound) {
        this(parent, bound, parent.skipped);
    }

    private PgExecutionStore(PgExecutionStore parent, Connection bound, Consumer<? super ExecutionDataException> skipped) {
        this.dataSource = parent.dataSource;
        this.sql = parent.sql;
        this.json = parent.json;
        this.clock = parent.clock;
        this.bound = bound;
        this.skipped = skipped;
    }

    /**
     * Runs {@code work} in one transaction: commits when it returns, rolls back when it throws. The
     * store passed to {@code work} uses that transaction's connection; do not let it escape, and use
     * it on this thread only.
     *
     * <p>A store exception that {@code work} catches leaves the transaction as it was before the
     * failed call when PostgreSQL allows it (see the class comment): a duplicate id or idempotency
     * key, a lost race, a value that cannot be stored. When PostgreSQL aborted the transaction
     * instead (a lost connection, a timeout, a deadlock), returning normally does not commit: this
     * method rolls back and throws, so it never reports success for writes that were not committed.
     *
     * <p>Nested, on the store handed to {@code work} (or on one from {@link #using(Connection)} whose
     * connection has a transaction open), it runs {@code work} under a savepoint of that transaction:
     * when the inner work throws, its writes are rolled back to the savepoint before the exception
     * reaches the outer work, which may go on; nothing is committed until the outermost transaction
     * is. On a store from {@link #using(Connection)} whose connection is in autocommit mode it runs a
     * transaction of its own on that connection, and restores autocommit.
     *
     * @param work what to do with the transactional store
     * @param <T> what {@code work} returns
     * @return what {@code work} returned, after commit (or after the savepoint was released, nested)
     * @throws StoreException if the transaction cannot begin or commit, or if a statement in it failed
     *     so that PostgreSQL aborted it (the cause is that failure), though {@code work} returned; anything
     *     {@code work} throws is rethrown after rollback
     */
    public <T> T inTransaction(Function<ExecutionStore, T> work) {
        Objects.requireNonNull(work, "work must not be null");
        try {
            if (bound == null) {
                try (Connection c = dataSource.getConnection()) {
                    return transaction(c, new PgExecutionStore(this, c), work);
                }
            }
            return bound.getAutoCommit() ? transaction(bound, this, work) : nested(work);
        } catch (SQLException e) {
            throw SqlErrors.translate(e, null, "transaction", sql.table);
        }
    }

    private static <T> T transaction(Connection c, PgExecutionStore tx, Function<ExecutionStore, T> work)
            throws SQLException {
        c.setAutoCommit(false);
        tx.lastFailure = null;
        T result;
        try {
            result = work.apply(tx);
            tx.refuseIfAborted();
            c.commit();
        } catch (SQLException | RuntimeException | Error e) {
            rollbackQuietly(c, e);
            restoreAutoCommit(c, e);
            throw e;
        }
        c.setAutoCommit(true);
        return result;
    }

    /** A transaction inside the one open on {@link #bound}: a savepoint, undone when {@code work} fails. */
    private <T> T nested(Function<ExecutionStore, T> work) throws SQLException {
        refuseIfAborted();
        Savepoint savepoint = bound.setSavepoint();
        T result;
        try {
            result = work.apply(this);
            refuseIfAborted();
        } catch (RuntimeException | Error e) {
            try {
                bound.rollback(savepoint);
            } catch (SQLException rollbackFailure) {
                e.addSuppressed(rollbackFailure);
            }
            throw e;
        }
        bound.releaseSavepoint(savepoint);
        return result;
    }

    /**
     * Throws when PostgreSQL aborted the transaction on {@link #bound}, so that it cannot commit.
     * pgjdbc tracks the server's own report of the transaction's state after every statement, so this
     * costs no round trip and sees failures of any statement, not only of the store's.
     */
    private void refuseIfAborted() throws SQLException {
        boolean aborted = bound.isWrapperFor(BaseConnection.class)
                ? bound.unwrap(BaseConnection.class).getTransactionState() == TransactionState.FAILED
                : lastFailure != null;
        if (aborted) {
            StoreException cause = lastFailure;
            throw new StoreException(cause == null ? null : cause.executionId(), "transaction rolled back, nothing "
                    + "in it was committed: a statement in it failed"
                    + (cause == null ? "" : " (" + cause.getMessage() + ")")
                    + " and PostgreSQL aborted the transaction, yet work returned normally; let store exceptions "
                    + "other than the duplicate, stale-version and data ones propagate, then retry the "
                    + "whole transaction", cause);
        }
    }

    /**
     * Returns a view of this store that runs every statement on {@code c}, inside whatever
     * transaction the caller has open there. It never closes {@code c}. In a transaction the caller
     * opened it never commits or rolls it back: a call that fails leaves the transaction as it was
     * before the call where PostgreSQL allows it, as in {@link #inTransaction}; after any other
     * failure PostgreSQL has aborted the transaction, and the caller must roll back. If {@code c} is in autocommit
     * mode, a call that needs several statements runs them in a transaction of its own, committed or
     * rolled back before it returns, and restores autocommit. Not thread-safe: use it on the
     * caller's thread only.
     *
     * @param c the caller's connection to the same database
     * @return a store bound to {@code c}
     */
    public ExecutionStore using(Connection c) {
        return new PgExecutionStore(this, Objects.requireNonNull(c, "connection must not be null"));
    }

    /**
     * Returns a view of this store whose finders of many rows ({@code findByStatus},
     * {@code findByTenant}, {@code findWakeReady}, {@code findChildren}) skip a row that cannot be
     * decoded, instead of failing the whole page for it, and hand each skipped row's
     * {@link ExecutionDataException} to {@code skipped}: its {@code executionId()} and
     * {@code column()} say which row and which column, so that an operator can fix or delete it. A
     * page that skipped rows holds fewer than {@code limit} executions; the next page (a later
     * {@code now}, a lower limit) is not affected. Lookups of one execution ({@code load},
     * {@code findByIdempotencyKey}) still throw for a corrupt row, since its caller asked for that
     * row. Everything else behaves as on this store; the view is as thread-safe as this store, and
     * {@code skipped} is called on the calling thread.
     *
     * @param skipped told of each skipped row, e.g. to log it; what it throws reaches the caller
     * @return the view
     */
    public PgExecutionStore skippingUnreadableRows(Consumer<? super ExecutionDataException> skipped) {
        return new PgExecutionStore(this, bound, Objects.requireNonNull(skipped, "skipped must not be null"));
    }

    @Override
    public Execution save(Execution e) {
        Objects.requireNonNull(e, "execution must not be null");
        return write(List.of(ExecutionRow.of(e, json))).get(0);
    }

    @Override
    public List<Execution> saveAll(Collection<Execution> es) {
        Objects.requireNonNull(es, "executions must not be null");
        List<ExecutionRow> rows = new ArrayList<>(es.size());
        for (Execution e : es) {
            rows.add(ExecutionRow.of(Objects.requireNonNull(e, "executions must not contain null"), json));
        }
        return rows.isEmpty() ? List.of() : write(rows);
    }

    private List<Execution> write(List<ExecutionRow> rows) {
        Instant now = now();
        List<ExecutionRow> inserts = new ArrayList<>();
        List<ExecutionRow> updates = new ArrayList<>();
        boolean keyed = false;
        for (ExecutionRow row : rows) {
            if (row.execution.version() == 0) {
                inserts.add(row);
                keyed |= row.execution.idempotencyKey() != null;
            } else {
                updates.add(row);
            }
        }
        refuseRepeatsWithin(inserts);
        String firstId = rows.get(0).execution.id();
        // One statement is atomic by itself: no transaction, so no round trip to commit it.
        boolean single = !keyed && (rows.size() == 1 || updates.isEmpty() && inserts.size() <= MAX_ROWS_PER_INSERT);
        boolean hasKeyedInserts = keyed;
        withConnection(firstId, "save", c -> {
            try {
                // In an open transaction a multi-row insert that fails would abort it: guard it with a savepoint.
                return single && (rows.size() == 1 || c.getAutoCommit())
                        ? writeRows(c, inserts, updates, false, now)
                        : atomically(c, () -> writeRows(c, inserts, updates, hasKeyedInserts, now));
            } catch (KeyTaken taken) {
                // Looked up after the rollback, on the same connection: a caller's transaction is usable again.
                throw new DuplicateIdempotencyKeyException(taken.executionId, taken.key, holderOf(c, taken.key));
            }
        });
        List<Execution> saved = new ArrayList<>(rows.size());
        for (ExecutionRow row : rows) {
            saved.add(row.execution.toBuilder().updatedAt(now).version(row.execution.version() + 1).build());
        }
        return List.copyOf(saved);
    }

    /**
     * Refuses, before any statement, an id or an idempotency key that two inserts of one batch share:
     * PostgreSQL would refuse the batch for it too, but could not say which execution holds the key.
     * The later one loses to the earlier, as if they were saved one after the other.
     */
    private static void refuseRepeatsWithin(List<ExecutionRow> inserts) {
        if (inserts.size() < 2) {
            return;
        }
        Set<String> ids = new HashSet<>();
        Map<String, String> keyHolders = new HashMap<>();
        for (ExecutionRow row : inserts) {
            Execution e = row.execution;
            if (!ids.add(e.id())) {
                throw new DuplicateExecutionException(e.id());
            }
            String holder = e.idempotencyKey() == null ? null : keyHolders.putIfAbsent(e.idempotencyKey(), e.id());
            if (holder != null) {
                throw new DuplicateIdempotencyKeyException(e.id(), e.idempotencyKey(), holder);
            }
        }
    }

    /** Runs in a transaction (or a savepoint) when {@code keyed}: a taken key throws {@link KeyTaken}. */
    private Void writeRows(Connection c, List<ExecutionRow> inserts, List<ExecutionRow> updates,
                           boolean keyed, Instant now) throws SQLException {
        if (keyed) {
            releaseExpiredKeys(c, inserts, now);
        }
        if (inserts.size() == 1 && !keyed) {
            insertIfAbsent(c, inserts.get(0), now);
        } else if (!inserts.isEmpty()) {
            insert(c, inserts, now);
        }
        if (!updates.isEmpty()) {
            update(c, updates, now);
        }
        return null;
    }

    private void releaseExpiredKeys(Connection c, List<ExecutionRow> inserts, Instant now) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql.releaseExpiredKey)) {
            for (ExecutionRow row : inserts) {
                if (row.execution.idempotencyKey() != null) {
                    ps.setString(1, row.execution.idempotencyKey());
                    ps.setLong(2, now.toEpochMilli());
                    ps.addBatch();
                }
            }
            ps.executeBatch();
        }
    }

    private void insert(Connection c, List<ExecutionRow> rows, Instant now) throws SQLException {
        try {
            if (rows.size() <= MAX_ROWS_PER_INSERT) {
                try (PreparedStatement ps = c.prepareStatement(rows.size() == 1 ? sql.insert
                        : sql.insertRows(rows.size()))) {
                    int next = 1;
                    for (ExecutionRow row : rows) {
                        next = bindInsert(ps, next, row, now);
                    }
                    ps.executeUpdate();
                }
            } else {
                try (PreparedStatement ps = c.prepareStatement(sql.insert)) {
                    for (ExecutionRow row : rows) {
                        bindInsert(ps, 1, row, now);
                        ps.addBatch();
                    }
                    ps.executeBatch();
                }
            }
        } catch (SQLException e) {
            throw duplicateOr(e, rows);
        }
    }

    /**
     * Inserts one row that has no idempotency key, reporting a taken id without a database error, so
     * that a transaction around it stays usable without the round trips of a savepoint.
     */
    private void insertIfAbsent(Connection c, ExecutionRow row, Instant now) throws SQLException {
        int inserted;
        try (PreparedStatement ps = c.prepareStatement(sql.insertIfAbsent)) {
            bindInsert(ps, 1, row, now);
            inserted = ps.executeUpdate();
        }
        if (inserted == 0) {
            throw new DuplicateExecutionException(row.execution.id());
        }
    }

    /** Binds one row of the insert from {@code index} on; returns the index after it. */
    private static int bindInsert(PreparedStatement ps, int index, ExecutionRow row, Instant now) throws SQLException {
        ps.setString(index, row.execution.id());
        row.bindKey(ps, index + 1);
        int next = row.bind(ps, index + 3, now);
        ps.setLong(next, 1L); // version
        return next + 1;
    }

    private SQLException duplicateOr(SQLException e, List<ExecutionRow> rows) {
        if (!SqlErrors.UNIQUE_VIOLATION.equals(SqlErrors.state(e))) {
            return e;
        }
        String value = SqlErrors.conflictingValue(e);
        if (SqlErrors.constraint(e).endsWith("_pkey")) {
            throw new DuplicateExecutionException(value != null ? value : rows.get(0).execution.id());
        }
        for (ExecutionRow row : rows) {
            String key = row.execution.idempotencyKey();
            if (key != null && (value == null || key.equals(value))) {
                throw new KeyTaken(row.execution.id(), key);
            }
        }
        return e;
    }

    private void update(Connection c, List<ExecutionRow> rows, Instant now) throws SQLException {
        int[] counts;
        try (PreparedStatement ps = c.prepareStatement(sql.update)) {
            for (ExecutionRow row : rows) {
                int next = row.bind(ps, 1, now);
                ps.setLong(next++, row.execution.version() + 1); // version
                ps.setString(next++, row.execution.id());
                ps.setLong(next, row.execution.version()); // expected version
                if (rows.size() == 1) {
                    counts = new int[] {ps.executeUpdate()};
                    checkUpdated(c, rows, counts);
                    return;
                }
                ps.addBatch();
            }
            counts = ps.executeBatch();
        } catch (SQLException e) {
            throw duplicateOr(e, rows);
        }
        checkUpdated(c, rows, counts);
    }

    private void checkUpdated(Connection c, List<ExecutionRow> rows, int[] counts) throws SQLException {
        for (int i = 0; i < counts.length; i++) {
            if (counts[i] == 0) {
                Execution e = rows.get(i).execution;
                Long stored = storedVersion(c, e.id());
                if (stored == null) {
                    throw new ExecutionNotFoundException(e.id());
                }
                throw new ConcurrentUpdateException(e.id(), e.version(), "execution " + e.id() + " was saved by "
                        + "someone else: expected version " + e.version() + ", found " + stored
                        + "; reload it and apply the change again");
            }
        }
    }

    private Long storedVersion(Connection c, String id) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql.versionOf)) {
            ps.setString(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getLong(1) : null;
            }
        }
    }

    private String holderOf(Connection c, String key) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql.holderOfKey)) {
            ps.setString(1, key);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    @Override
    public Optional<Execution> load(String id) {
        requireId(id, "id");
        return rows(id, "load", sql.load, ps -> ps.setString(1, id), null).stream().findFirst();
    }

    @Override
    public boolean delete(String id) {
        requireId(id, "id");
        return withConnection(id, "delete", c -> {
            try (PreparedStatement ps = c.prepareStatement(sql.delete)) {
                ps.setString(1, id);
                return ps.executeUpdate() > 0;
            }
        });
    }

    @Override
    public Optional<Execution> findByIdempotencyKey(String key) {
        requireId(key, "idempotency key");
        long now = now().toEpochMilli();
        return rows(null, "findByIdempotencyKey", sql.findByIdempotencyKey, ps -> {
            ps.setString(1, key);
            ps.setLong(2, now);
        }, null).stream().findFirst();
    }

    @Override
    public List<Execution> findByStatus(ExecutionStatus status, int limit) {
        Objects.requireNonNull(status, "status must not be null");
        requireLimit(limit);
        return query(null, "findByStatus", sql.findByStatus, ps -> {
            ps.setString(1, status.wireName());
            ps.setInt(2, limit);
        });
    }

    @Override
    public List<Execution> findByTenant(String tenantId, int limit) {
        Objects.requireNonNull(tenantId, "tenantId must not be null");
        requireNoNul(tenantId, "tenantId");
        requireLimit(limit);
        return query(null, "findByTenant", sql.findByTenant, ps -> {
            ps.setString(1, tenantId);
            ps.setInt(2, limit);
        });
    }

    @Override
    public List<Execution> findWakeReady(Instant now, int limit) {
        Objects.requireNonNull(now, "now must not be null");
        requireLimit(limit);
        // Stored times are epoch millis, so a later or earlier instant compares as the end of that range.
        long nowMillis = now.isAfter(LATEST) ? Long.MAX_VALUE : now.isBefore(EARLIEST) ? Long.MIN_VALUE
                : now.toEpochMilli();
        return query(null, "findWakeReady", sql.findWakeReady, ps -> {
            ps.setLong(1, nowMillis);
            ps.setInt(2, limit);
        });
    }

    @Override
    public List<Execution> findChildren(String parentExecutionId) {
        requireId(parentExecutionId, "parentExecutionId");
        return query(parentExecutionId, "findChildren", sql.findChildren, ps -> ps.setString(1, parentExecutionId));
    }

    @Override
    public List<Execution> claimDue(String workerId, Collection<String> flowIds, Duration leaseTtl, int limit) {
        requireId(workerId, "workerId");
        requireIds(flowIds, "flowIds");
        long ttl = requireLease(leaseTtl);
        requireLimit(limit);
        return query(null, "claim of due executions", sql.claimDue, ps -> {
            Array flows = textArray(ps.getConnection(), flowIds);
            ps.setArray(1, flows); // woken
            ps.setInt(2, limit);
            ps.setArray(3, flows); // pending
            ps.setInt(4, limit);
            ps.setArray(5, flows); // abandoned
            ps.setLong(6, ttl); // grace of running rows no worker holds
            ps.setInt(7, limit);
            ps.setInt(8, limit); // due
            ps.setString(9, workerId); // lease_owner
            ps.setLong(10, ttl); // lease length
        });
    }

    @Override
    public Set<String> renewLeases(String workerId, Collection<String> executionIds, Duration leaseTtl) {
        requireId(workerId, "workerId");
        requireIds(executionIds, "executionIds");
        long ttl = requireLease(leaseTtl);
        if (executionIds.isEmpty()) {
            return Set.of();
        }
        return withConnection(null, "lease renewal", c -> {
            try (PreparedStatement ps = c.prepareStatement(sql.renewLeases)) {
                ps.setLong(1, ttl);
                ps.setArray(2, textArray(c, executionIds));
                ps.setString(3, workerId);
                Set<String> renewed = new HashSet<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        renewed.add(rs.getString(1));
                    }
                }
                return Set.copyOf(renewed);
            }
        });
    }

    @Override
    public void releaseLeases(String workerId, Collection<String> executionIds) {
        requireId(workerId, "workerId");
        requireIds(executionIds, "executionIds");
        if (executionIds.isEmpty()) {
            return;
        }
        withConnection(null, "lease release", c -> {
            try (PreparedStatement ps = c.prepareStatement(sql.releaseLeases)) {
                ps.setArray(1, textArray(c, executionIds));
                ps.setString(2, workerId);
                return ps.executeUpdate();
            }
        });
    }

    /**
     * {@inheritDoc}
     *
     * <p>Holds one connection of the pool for as long as the subscription is open, and reconnects by
     * itself when that connection fails. Size the pool with one connection to spare per subscription.
     */
    @Override
    public Subscription subscribe(DueWorkListener listener) {
        DueWorkNotices notices = new DueWorkNotices(dataSource, sql,
                Objects.requireNonNull(listener, "listener must not be null"));
        notices.start();
        return notices;
    }

    private static Array textArray(Connection c, Collection<String> values) throws SQLException {
        return c.createArrayOf("text", values.toArray());
    }

    private static long requireLease(Duration leaseTtl) {
        Objects.requireNonNull(leaseTtl, "leaseTtl must not be null");
        // An upper bound keeps "now + lease" inside a bigint, in SQL as in Java.
        if (leaseTtl.compareTo(Duration.ofMillis(1)) < 0 || leaseTtl.compareTo(MAX_LEASE) > 0) {
            throw new IllegalArgumentException("leaseTtl must be between 1 ms and " + MAX_LEASE.toDays()
                    + " days, got " + leaseTtl);
        }
        return leaseTtl.toMillis();
    }

    /** Reads many rows; on a view from {@link #skippingUnreadableRows} a row that cannot be decoded is skipped. */
    private List<Execution> query(String id, String action, String statement, Binder binder) {
        return rows(id, action, statement, binder, skipped);
    }

    private List<Execution> rows(String id, String action, String statement, Binder binder,
                                 Consumer<? super ExecutionDataException> skip) {
        return withConnection(id, action, c -> {
            try (PreparedStatement ps = c.prepareStatement(statement)) {
                binder.bind(ps);
                try (ResultSet rs = ps.executeQuery()) {
                    List<Execution> found = new ArrayList<>();
                    while (rs.next()) {
                        try {
                            found.add(ExecutionRow.read(rs, json));
                        } catch (ExecutionDataException unreadable) {
                            if (skip == null) {
                                throw unreadable;
                            }
                            skip.accept(unreadable);
                        }
                    }
                    return found;
                }
            }
        });
    }

    /**
     * The store's clock, in the whole milliseconds times are stored as.
     *
     * @throws StoreException if the clock is beyond what epoch milliseconds can hold
     */
    private Instant now() {
        Instant now = clock.instant();
        try {
            return Instant.ofEpochMilli(now.toEpochMilli());
        } catch (ArithmeticException e) {
            throw new StoreException(null, "the store's clock says " + now + ", beyond what epoch milliseconds can "
                    + "hold; give PgStoreOptions a clock that tells the time", e);
        }
    }

    private <T> T withConnection(String id, String action, SqlWork<T> work) {
        try {
            if (bound != null) {
                return work.apply(bound);
            }
            try (Connection c = dataSource.getConnection()) {
                return work.apply(c);
            }
        } catch (SQLException e) {
            StoreException failure = SqlErrors.translate(e, id, action, sql.table);
            if (bound != null) {
                lastFailure = failure;
            }
            throw failure;
        }
    }

    /**
     * Runs several statements as one unit: in a new transaction, or under a savepoint when a
     * transaction is open, so that a failure leaves that transaction as it was.
     */
    private static <T> T atomically(Connection c, SqlBlock<T> block) throws SQLException {
        if (!c.getAutoCommit()) {
            Savepoint savepoint = c.setSavepoint();
            T result;
            try {
                result = block.run();
            } catch (SQLException | RuntimeException | Error e) {
                try {
                    c.rollback(savepoint);
                } catch (SQLException rollbackFailure) {
                    e.addSuppressed(rollbackFailure);
                }
                throw e;
            }
            c.releaseSavepoint(savepoint);
            return result;
        }
        c.setAutoCommit(false);
        T result;
        try {
            result = block.run();
            c.commit();
        } catch (SQLException | RuntimeException | Error e) {
            // No finally: on a broken connection restoring autocommit fails too, and must not hide e.
            rollbackQuietly(c, e);
            restoreAutoCommit(c, e);
            throw e;
        }
        c.setAutoCommit(true);
        return result;
    }

    /** Keeps the failure that matters when a broken connection also refuses to leave the transaction. */
    private static void restoreAutoCommit(Connection c, Throwable failure) {
        try {
            c.setAutoCommit(true);
        } catch (SQLException restoreFailure) {
            failure.addSuppressed(restoreFailure);
        }
    }

    private static void rollbackQuietly(Connection c, Throwable failure) {
        try {
            c.rollback();
        } catch (SQLException rollbackFailure) {
            failure.addSuppressed(rollbackFailure);
        }
    }

    private static void requireId(String value, String field) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException(field + " must be a non-blank string, got "
                    + (value == null ? "null" : "'" + value + "'"));
        }
        requireNoNul(value, field);
    }

    /**
     * PostgreSQL text cannot hold NUL: say so here rather than let the driver fail the query. Nor can
     * UTF-8 hold an unpaired surrogate, which pgjdbc would send as '?', finding another row's value.
     */
    private static void requireNoNul(String value, String field) {
        if (value.indexOf('\0') >= 0) {
            throw new IllegalArgumentException(field + " must not contain the NUL character U+0000, got '"
                    + value.replace("\0", "\\u0000") + "'");
        }
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < value.length() && Character.isLowSurrogate(value.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                throw new IllegalArgumentException(field + " must not contain an unpaired surrogate, got one at index "
                        + i + "; UTF-8 cannot encode it, and no execution can hold it");
            }
        }
    }

    private static Collection<String> requireIds(Collection<String> ids, String field) {
        Objects.requireNonNull(ids, field + " must not be null");
        for (String id : ids) {
            requireId(id, field + " element");
        }
        return ids;
    }

    private static void requireLimit(int limit) {
        if (limit < 1) {
            throw new IllegalArgumentException("limit must be at least 1, got " + limit);
        }
    }

    @FunctionalInterface
    private interface SqlWork<T> {
        T apply(Connection c) throws SQLException;
    }

    @FunctionalInterface
    private interface SqlBlock<T> {
        T run() throws SQLException;
    }

    @FunctionalInterface
    private interface Binder {
        void bind(PreparedStatement ps) throws SQLException;
    }

    /** Carries a taken idempotency key from the failed insert to the savepoint that handles it. */
    private static final class KeyTaken extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final String executionId;
        private final String key;

        KeyTaken(String executionId, String key) {
            super(null, null, false, false);
            this.executionId = executionId;
            this.key = key;
        }
    }
}
