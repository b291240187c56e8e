package io.flowmonkey.postgres;

import io.flowmonkey.execution.ConcurrentUpdateException;
import com.zaxxer.hikari.HikariConfigMXBean;
import io.flowmonkey.execution.DuplicateExecutionException;
import io.flowmonkey.execution.ExecutionDataException;
import io.flowmonkey.execution.DuplicateIdempotencyKeyException;
import io.flowmonkey.execution.Execution;
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
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.WeakHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
 * <p>As a {@link LeasingExecutionStore} it hands due work to workers with one
 * {@code UPDATE ... FOR UPDATE SKIP LOCKED} statement per claim, leases timed by the database's
 * clock, and LISTEN/NOTIFY for prompt wake-ups.
 */
public final class PgExecutionStore implements LeasingExecutionStore {

    private static final Logger LOG = LoggerFactory.getLogger(PgExecutionStore.class);

    /**
     * The most rows inserted by one statement (23 parameters each, well inside PostgreSQL's 65,535);
     * larger {@code saveAll}s go as a batch in a transaction.
     */
    private static final int MAX_ROWS_PER_INSERT = 1_000;
    /** The longest lease, or grace for a running execution nobody holds, that a claim accepts. */
    private static final Duration MAX_LEASE = Duration.ofDays(365);
    /** How often an update whose connection was lost is tried in all. */
    private static final int MAX_SAVE_ATTEMPTS = 3;

    private final DataSource dataSource;
    private final ExecutionSql sql;
    private final ExecutionJson json;
    private final Clock clock;
    /** The caller's connection when this store joins their transaction; null to borrow per call. */
    private final Connection bound;

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
        this.json = new ExecutionJson(options.objectMapper());
        this.clock = options.clock();
        this.bound = null;
    }

    private PgExecutionStore(PgExecutionStore parent, Connection bound) {
        this.dataSource = parent.dataSource;
        this.sql = parent.sql;
        this.json = parent.json;
        this.clock = parent.clock;
        this.bound = bound;
    }

    /**
     * Runs {@code work} in one transaction: commits when it returns, rolls back when it throws. The
     * store passed to {@code work} uses that transaction's connection; do not let it escape. Called
     * on a store from {@link #using(Connection)}, {@code work} joins that transaction instead.
     *
     * @param work what to do with the transactional store
     * @param <T> what {@code work} returns
     * @return what {@code work} returned, after commit
     * @throws StoreException if the transaction cannot begin or commit; anything {@code work} throws
     *     is rethrown after rollback
     */
    public <T> T inTransaction(Function<ExecutionStore, T> work) {
        Objects.requireNonNull(work, "work must not be null");
        if (bound != null) {
            return work.apply(this);
        }
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            T result;
            try {
                result = work.apply(new PgExecutionStore(this, c));
                c.commit();
            } catch (SQLException | RuntimeException | Error e) {
                rollbackQuietly(c, e);
                restoreAutoCommit(c, e);
                throw e;
            }
            c.setAutoCommit(true);
            return result;
        } catch (SQLException e) {
            throw SqlErrors.translate(e, null, "transaction", sql.table);
        }
    }

    /**
     * Returns a view of this store that runs every statement on {@code c}, inside whatever
     * transaction the caller has open there. It never closes {@code c}. In a transaction the caller
     * opened it never commits or rolls it back (a refused idempotency key rolls back only to a
     * savepoint of its own); after a failure the caller rolls back. If {@code c} is in autocommit
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
     * {@inheritDoc}
     *
     * <p>An update that fails because its pooled connection was dead is tried again on another
     * connection, up to three attempts in all while the failure is a lost connection (not inside
     * {@link #inTransaction} or {@link #using}, whose connection is the caller's). If a retry finds the version already incremented, the first attempt may have committed
     * with its acknowledgement lost: the row is compared with what was written, and when it holds
     * exactly that, the save succeeded and is returned as such; otherwise it is a
     * {@link ConcurrentUpdateException} as usual.
     */
    @Override
    public Execution save(Execution e) {
        Objects.requireNonNull(e, "execution must not be null");
        ExecutionRow row = ExecutionRow.of(e, json);
        try {
            return write(List.of(row)).get(0);
        } catch (StoreException failure) {
            if (bound != null || e.version() == 0 || !connectionLost(failure)) {
                throw failure;
            }
            return saveAgain(row, failure);
        }
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
        Instant now = clock.instant();
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
        String firstId = rows.get(0).execution.id();
        // One statement is atomic by itself: no transaction, so no round trip to commit it.
        boolean single = !keyed && (rows.size() == 1 || updates.isEmpty() && inserts.size() <= MAX_ROWS_PER_INSERT);
        boolean hasKeyedInserts = keyed;
        withConnection(firstId, "save", c -> single
                ? writeRows(c, inserts, updates, false, now)
                : atomically(c, () -> writeRows(c, inserts, updates, hasKeyedInserts, now)));
        List<Execution> saved = new ArrayList<>(rows.size());
        for (ExecutionRow row : rows) {
            saved.add(row.execution.toBuilder().updatedAt(now).version(row.execution.version() + 1).build());
        }
        return List.copyOf(saved);
    }

    /** Runs in a transaction when {@code keyed}: the savepoint that reports a taken key needs one. */
    private Void writeRows(Connection c, List<ExecutionRow> inserts, List<ExecutionRow> updates,
                           boolean keyed, Instant now) throws SQLException {
        if (keyed) {
            releaseExpiredKeys(c, inserts, now);
            // Rolling back to here after a taken key keeps the transaction usable, so the holder is
            // looked up on this same connection, and a caller's transaction is not left aborted.
            Savepoint beforeInsert = c.setSavepoint();
            try {
                insert(c, inserts, now);
            } catch (KeyTaken taken) {
                c.rollback(beforeInsert);
                throw new DuplicateIdempotencyKeyException(taken.executionId, taken.key, holderOf(c, taken.key));
            }
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
        return query(id, "load", sql.load, ps -> ps.setString(1, id)).stream().findFirst();
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
        long now = clock.millis();
        return query(null, "findByIdempotencyKey", sql.findByIdempotencyKey, ps -> {
            ps.setString(1, key);
            ps.setLong(2, now);
        }).stream().findFirst();
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
        return query(null, "findWakeReady", sql.findWakeReady, ps -> {
            ps.setLong(1, now.toEpochMilli());
            ps.setInt(2, limit);
        });
    }

    @Override
    public List<Execution> findChildren(String parentExecutionId) {
        requireId(parentExecutionId, "parentExecutionId");
        return query(parentExecutionId, "findChildren", sql.findChildren, ps -> ps.setString(1, parentExecutionId));
    }

    @Override
    public Set<String> renewLeases(String workerId, Collection<String> executionIds, Duration leaseTtl) {
        requireId(workerId, "workerId");
        requireIds(executionIds, "executionIds");
        long ttl = requireLease(leaseTtl);
        return leaseUpdate("lease renewal", sql.renewLeases, executionIds, ps -> {
            ps.setLong(1, ttl);
            ps.setArray(2, textArray(ps.getConnection(), executionIds));
            ps.setString(3, workerId);
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

    // ---- Worker hardening: one retry of an update whose connection was lost ----

    private static boolean connectionLost(StoreException failure) {
        return failure.getCause() instanceof SQLException cause
                && (SqlErrors.state(cause).startsWith("08") || SqlErrors.state(cause).startsWith("57P0"));
    }

    /**
     * Tries a save whose connection was lost again, on the next connections the pool gives: a pool may
     * hold several connections the server dropped at once, and each failure makes it discard one.
     */
    private Execution saveAgain(ExecutionRow row, StoreException firstFailure) {
        Execution e = row.execution;
        StoreException last = firstFailure;
        for (int retry = 1; retry < MAX_SAVE_ATTEMPTS; retry++) {
            try {
                return write(List.of(row)).get(0);
            } catch (ConcurrentUpdateException raced) {
                Instant updatedAt = writtenAs(row);
                if (updatedAt == null) {
                    throw raced;
                }
                LOG.info("Save of execution {} lost its connection after it committed; the stored row holds what it "
                        + "wrote, so it stands ({})", e.id(), firstFailure.getMessage());
                return e.toBuilder().updatedAt(updatedAt).version(e.version() + 1).build();
            } catch (StoreException again) {
                again.addSuppressed(last);
                last = again;
                if (!connectionLost(again)) {
                    break;
                }
            }
        }
        throw last;
    }

    /** The {@code updated_at} of the row if it holds exactly what {@code row} writes, at the next version. */
    private Instant writtenAs(ExecutionRow row) {
        return withConnection(row.execution.id(), "check of an unacknowledged save", c -> {
            try (PreparedStatement ps = c.prepareStatement(sql.writtenAs)) {
                ps.setString(1, row.execution.id());
                ps.setLong(2, row.execution.version() + 1);
                row.bind(ps, 3, null);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? Instant.ofEpochMilli(rs.getLong(1)) : null;
                }
            }
        });
    }

    // ---- Worker hardening: version-aware claims, rows set aside, revocation, the next wake-up ----

    /**
     * {@inheritDoc}
     *
     * <p>One statement claims and leases; its rows are then read one by one, and those that cannot be
     * read are set aside by a second statement, with the column at fault, so that a corrupt row is
     * neither handed out nor claimed again, and does not spoil the rest of the batch.
     */
    @Override
    public Claim claimDue(String workerId, Collection<FlowVersion> flows, Duration leaseTtl, int limit) {
        requireId(workerId, "workerId");
        requireFlows(flows);
        long ttl = requireLease(leaseTtl);
        requireLimit(limit);
        if (flows.isEmpty()) {
            return new Claim(List.of(), List.of());
        }
        return withConnection(null, "claim of due executions", c -> {
            List<Execution> claimed = new ArrayList<>();
            List<ExecutionDataException> unreadable = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement(sql.claimDue)) {
                bindFlows(ps, 1, flows);
                ps.setInt(3, limit); // woken
                ps.setInt(4, limit); // pending
                ps.setLong(5, ttl); // grace of running rows no worker holds
                ps.setInt(6, limit); // abandoned
                ps.setInt(7, limit); // due
                ps.setString(8, workerId); // lease_owner
                ps.setLong(9, ttl); // lease length
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        try {
                            claimed.add(ExecutionRow.read(rs, json));
                        } catch (ExecutionDataException e) {
                            unreadable.add(e);
                        }
                    }
                }
            }
            return new Claim(claimed, unreadable.isEmpty() ? List.of() : setAside(c, unreadable));
        });
    }

    private List<SetAside> setAside(Connection c, List<ExecutionDataException> unreadable) throws SQLException {
        List<String> ids = new ArrayList<>();
        List<String> columns = new ArrayList<>();
        List<String> reasons = new ArrayList<>();
        for (ExecutionDataException e : unreadable) {
            ids.add(e.executionId());
            columns.add(e.column());
            reasons.add(storable(e.getMessage()));
        }
        List<SetAside> result = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(sql.setAside)) {
            ps.setArray(1, textArray(c, ids));
            ps.setArray(2, textArray(c, columns));
            ps.setArray(3, textArray(c, reasons));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    int i = ids.indexOf(rs.getString(1));
                    result.add(new SetAside(ids.get(i), columns.get(i), reasons.get(i),
                            Instant.ofEpochMilli(rs.getLong(2))));
                }
            }
        }
        return result;
    }

    @Override
    public Optional<Duration> untilNextWake(Collection<FlowVersion> flows) {
        requireFlows(flows);
        if (flows.isEmpty()) {
            return Optional.empty();
        }
        return withConnection(null, "look-up of the next wake-up", c -> {
            try (PreparedStatement ps = c.prepareStatement(sql.nextWake)) {
                bindFlows(ps, 1, flows);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    long wakeAt = rs.getLong(1);
                    if (rs.wasNull()) {
                        return Optional.<Duration>empty();
                    }
                    long now = rs.getLong(2);
                    // A wake_at near either end of bigint, written by some other program, saturates.
                    long until = wakeAt >= now ? (wakeAt - now < 0 ? Long.MAX_VALUE : wakeAt - now)
                            : (wakeAt - now > 0 ? Long.MIN_VALUE : wakeAt - now);
                    return Optional.of(Duration.ofMillis(until));
                }
            }
        });
    }

    @Override
    public Set<String> revokeLeases(String workerId, Collection<String> executionIds) {
        requireId(workerId, "workerId");
        requireIds(executionIds, "executionIds");
        return leaseUpdate("lease revocation", sql.revokeLeases, executionIds, ps -> {
            ps.setArray(1, textArray(ps.getConnection(), executionIds));
            ps.setString(2, workerId);
        });
    }

    @Override
    public boolean setAside(String executionId, String column, String reason) {
        requireId(executionId, "executionId");
        Objects.requireNonNull(column, "column must not be null");
        Objects.requireNonNull(reason, "reason must not be null");
        return withConnection(executionId, "setting aside", c -> {
            try (PreparedStatement ps = c.prepareStatement(sql.setAside)) {
                ps.setArray(1, textArray(c, List.of(executionId)));
                ps.setArray(2, textArray(c, List.of(column)));
                ps.setArray(3, textArray(c, List.of(storable(reason))));
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next();
                }
            }
        });
    }

    @Override
    public List<SetAside> findSetAside(int limit) {
        requireLimit(limit);
        return withConnection(null, "findSetAside", c -> {
            try (PreparedStatement ps = c.prepareStatement(sql.findSetAside)) {
                ps.setInt(1, limit);
                List<SetAside> found = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        found.add(new SetAside(rs.getString(1), rs.getString(2), rs.getString(3),
                                Instant.ofEpochMilli(rs.getLong(4))));
                    }
                }
                return List.copyOf(found);
            }
        });
    }

    @Override
    public boolean restoreSetAside(String executionId) {
        requireId(executionId, "executionId");
        return withConnection(executionId, "restoring", c -> {
            try (PreparedStatement ps = c.prepareStatement(sql.restoreSetAside)) {
                ps.setString(1, executionId);
                return ps.executeUpdate() > 0;
            }
        });
    }

    /**
     * {@inheritDoc}
     *
     * <p>Holds one connection of the pool for as long as the subscription is open, and reconnects by
     * itself when that connection fails. The pool must keep one connection free for work besides one
     * per subscription: when the {@code DataSource} is a HikariCP pool, a subscription that would
     * leave none is refused. Other pools are not checked.
     *
     * @throws IllegalStateException if the HikariCP pool is too small to hold this subscription's
     *     connection and one more for claims and saves
     */
    @Override
    public Subscription subscribe(DueWorkListener listener) {
        Objects.requireNonNull(listener, "listener must not be null");
        ListenerCount count = ListenerCount.of(dataSource);
        int held = count.acquire();
        if (dataSource instanceof HikariConfigMXBean hikari && hikari.getMaximumPoolSize() < held + 1) {
            count.release();
            throw new IllegalStateException("the connection pool" + (hikari.getPoolName() == null ? ""
                    : " '" + hikari.getPoolName() + "'") + " allows " + hikari.getMaximumPoolSize()
                    + " connection(s), too few for " + held + " LISTEN subscription(s), which hold one each, "
                    + "plus one to claim and save work; set maximumPoolSize to at least " + (held + 1)
                    + " (an EngineWorker needs threads + 2 to run its threads at once)");
        }
        DueWorkNotices notices = new DueWorkNotices(dataSource, sql, listener, count::release);
        notices.start();
        return notices;
    }

    /** How many subscriptions hold a connection of one pool, over every store on that pool. */
    private static final class ListenerCount {
        private static final Map<DataSource, ListenerCount> BY_POOL = new WeakHashMap<>();
        private final AtomicInteger held = new AtomicInteger();

        static synchronized ListenerCount of(DataSource ds) {
            return BY_POOL.computeIfAbsent(ds, k -> new ListenerCount());
        }

        int acquire() {
            return held.incrementAndGet();
        }

        void release() {
            held.decrementAndGet();
        }
    }

    private Set<String> leaseUpdate(String action, String statement, Collection<String> ids, Binder binder) {
        if (ids.isEmpty()) {
            return Set.of();
        }
        return withConnection(null, action, c -> {
            try (PreparedStatement ps = c.prepareStatement(statement)) {
                binder.bind(ps);
                Set<String> changed = new HashSet<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        changed.add(rs.getString(1));
                    }
                }
                return Set.copyOf(changed);
            }
        });
    }

    private static void bindFlows(PreparedStatement ps, int index, Collection<FlowVersion> flows) throws SQLException {
        List<String> ids = new ArrayList<>(flows.size());
        List<String> versions = new ArrayList<>(flows.size());
        for (FlowVersion f : flows) {
            ids.add(f.flowId());
            versions.add(f.version());
        }
        ps.setArray(index, textArray(ps.getConnection(), ids));
        ps.setArray(index + 1, textArray(ps.getConnection(), versions));
    }

    /** A reason as text PostgreSQL can hold, short enough to read in a listing. */
    private static String storable(String reason) {
        String text = String.valueOf(reason).replace("\0", "\\u0000");
        return text.length() > 2_000 ? text.substring(0, 2_000) + "..." : text;
    }

    private static void requireFlows(Collection<FlowVersion> flows) {
        Objects.requireNonNull(flows, "flows must not be null");
        for (FlowVersion f : flows) {
            Objects.requireNonNull(f, "flows must not contain null");
            requireNoNul(f.flowId(), "flowId");
            requireNoNul(f.version(), "flow version");
        }
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

    private List<Execution> query(String id, String action, String statement, Binder binder) {
        return withConnection(id, action, c -> {
            try (PreparedStatement ps = c.prepareStatement(statement)) {
                binder.bind(ps);
                try (ResultSet rs = ps.executeQuery()) {
                    List<Execution> found = new ArrayList<>();
                    while (rs.next()) {
                        found.add(ExecutionRow.read(rs, json));
                    }
                    return found;
                }
            }
        });
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
            throw SqlErrors.translate(e, id, action, sql.table);
        }
    }

    /** Runs several statements as one unit: in the caller's transaction if one is open, else in a new one. */
    private static <T> T atomically(Connection c, SqlBlock<T> block) throws SQLException {
        if (!c.getAutoCommit()) {
            return block.run();
        }
        c.setAutoCommit(false);
        try {
            T result = block.run();
            c.commit();
            return result;
        } catch (SQLException | RuntimeException | Error e) {
            rollbackQuietly(c, e);
            restoreAutoCommit(c, e);
            throw e;
        } finally {
            if (!c.getAutoCommit()) {
                c.setAutoCommit(true);
            }
        }
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

    /** PostgreSQL text cannot hold NUL: say so here rather than let the driver fail the query. */
    private static void requireNoNul(String value, String field) {
        if (value.indexOf('\0') >= 0) {
            throw new IllegalArgumentException(field + " must not contain the NUL character U+0000, got '"
                    + value.replace("\0", "\\u0000") + "'");
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
