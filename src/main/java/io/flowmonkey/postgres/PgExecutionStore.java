package io.flowmonkey.postgres;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import io.flowmonkey.execution.BulkResult;
import io.flowmonkey.execution.ConcurrentUpdateException;
import com.zaxxer.hikari.HikariConfigMXBean;
import io.flowmonkey.execution.DuplicateExecutionException;
import io.flowmonkey.execution.ExecutionDataException;
import io.flowmonkey.execution.DuplicateIdempotencyKeyException;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionDataException;
import io.flowmonkey.execution.ExecutionNotFoundException;
import io.flowmonkey.execution.ExecutionQuery;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.ExecutionStore;
import io.flowmonkey.execution.LeasingExecutionStore;
import io.flowmonkey.execution.Page;
import io.flowmonkey.execution.Signal;
import io.flowmonkey.execution.SignalStore;
import io.flowmonkey.execution.StoreException;
import io.flowmonkey.execution.WorkerHeartbeat;
import io.flowmonkey.execution.WorkerInfo;
import io.flowmonkey.execution.WorkerRegistry;
import io.flowmonkey.internal.Arguments;
import io.flowmonkey.internal.json.Values;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Types;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.function.Consumer;
import java.util.WeakHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
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
 *
 * <p>As a {@link SignalStore} it keeps signals in the table's side table {@code <table>_signals}
 * (migration V6), and announces executions that end on a LISTEN channel of their own.
 *
 * <p>As a {@link WorkerRegistry} it keeps one heartbeat row per live worker in the side table
 * {@code <table>_workers} (migration V9), stamped and expired by the database's clock.
 */
public final class PgExecutionStore implements LeasingExecutionStore, SignalStore, WorkerRegistry {

    private static final Logger LOG = LoggerFactory.getLogger(PgExecutionStore.class);

    /**
     * The most rows inserted by one statement (24 parameters each, well inside PostgreSQL's 65,535);
     * larger {@code saveAll}s go as a batch in a transaction.
     */
    private static final int MAX_ROWS_PER_INSERT = 1_000;
    /** How often an update whose connection was lost is tried in all. */
    private static final int MAX_SAVE_ATTEMPTS = 3;
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
    /** Whether findByStatus and findByTenant leave context and history to be decoded on first access. */
    private final boolean decodingOnAccess;
    /** The last failure of a statement on {@link #bound}, the likely reason a transaction aborted. */
    private StoreException lastFailure;
    /**
     * On a store bound to a transaction it opened itself: whether that transaction's work is still
     * running, its commit not yet asked for. A lost connection then leaves nothing committed.
     */
    private boolean uncommitted;

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
        this.decodingOnAccess = false;
    }

    private PgExecutionStore(PgExecutionStore parent, Connection bound) {
        this(parent, bound, parent.skipped);
    }

    private PgExecutionStore(PgExecutionStore parent, Connection bound, Consumer<? super ExecutionDataException> skipped) {
        this(parent, bound, skipped, skipped == null && parent.decodingOnAccess);
    }

    private PgExecutionStore(PgExecutionStore parent, Connection bound,
                             Consumer<? super ExecutionDataException> skipped, boolean decodingOnAccess) {
        this.dataSource = parent.dataSource;
        this.sql = parent.sql;
        this.json = parent.json;
        this.clock = parent.clock;
        this.bound = bound;
        this.skipped = skipped;
        this.decodingOnAccess = decodingOnAccess;
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
                    // A connection that comes in a transaction (Spring's, through a transaction-aware data
                    // source) is joined under a savepoint: committing it here would end the caller's.
                    PgExecutionStore tx = new PgExecutionStore(this, c);
                    return c.getAutoCommit() ? transaction(c, tx, work) : tx.nested(work);
                }
            }
            return bound.getAutoCommit() ? transaction(bound, this, work) : nested(work);
        } catch (SQLException e) {
            throw SqlErrors.translate(e, null, "transaction", sql.table);
        }
    }

    private static <T> T transaction(Connection c, PgExecutionStore tx, Function<ExecutionStore, T> work)
            throws SQLException {
        tx.lastFailure = null;
        tx.uncommitted = true;
        return committed(c, () -> {
            T result = work.apply(tx);
            tx.refuseIfAborted();
            tx.uncommitted = false; // the commit follows: once asked for, its outcome may be unknown
            return result;
        });
    }

    /** A transaction inside the one open on {@link #bound}: a savepoint, undone when {@code work} fails. */
    private <T> T nested(Function<ExecutionStore, T> work) throws SQLException {
        refuseIfAborted();
        return underSavepoint(bound, () -> {
            T result = work.apply(this);
            refuseIfAborted();
            return result;
        });
    }

    /** Runs {@code block} under a savepoint of {@code c}'s open transaction, rolled back to when it fails. */
    private static <T> T underSavepoint(Connection c, SqlBlock<T> block) throws SQLException {
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
     * {@code skipped} is called on the calling thread. Keyset queries ({@code query}, {@code stream}
     * and the bulk operations built on them) do not skip: a page's cursor depends on every row it read,
     * so there a corrupt row throws its {@link ExecutionDataException}, which names it for repair.
     *
     * @param skipped told of each skipped row, e.g. to log it; what it throws reaches the caller
     * @return the view
     */
    public PgExecutionStore skippingUnreadableRows(Consumer<? super ExecutionDataException> skipped) {
        return new PgExecutionStore(this, bound, Objects.requireNonNull(skipped, "skipped must not be null"));
    }

    /**
     * Returns a view of this store whose {@code findByStatus} and {@code findByTenant} leave each
     * execution's {@code context} and {@code history}, the large JSON columns, to be decoded when
     * first used, for callers that list many executions and look at few of their fields: decoding
     * them is most of the client's work per row. Such an execution is immutable and thread-safe like
     * any other (its columns are decoded at most once, by whichever thread first uses them), and equal
     * to one read eagerly. The difference is where a corrupt column is reported: the finder returns
     * the row, and the first use of that column (a method of {@code context()} or {@code history()},
     * {@code equals}, a save) throws the {@link ExecutionDataException} that the finder of this store
     * would have thrown, naming the execution and the column, and so does every later use. Every
     * other column is read as on this store, and every other call behaves as on this store: lookups
     * of one execution, {@code findWakeReady}, {@code findChildren}, keyset queries and claims decode
     * each row as they read it, since what they do next depends on every row being readable.
     * Combined with {@link #skippingUnreadableRows} (in either order), which must decode a row to know
     * whether to skip it, the finders skip as that view says and decode every row as they read it.
     * Views made from this one ({@link #using}, {@link #inTransaction}) keep deferring.
     *
     * @return the view, as thread-safe as this store
     */
    public PgExecutionStore decodingOnAccess() {
        return new PgExecutionStore(this, bound, skipped, skipped == null);
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
        return saveRow(ExecutionRow.of(e, json));
    }

    private Execution saveRow(ExecutionRow row) {
        try {
            return write(List.of(row)).get(0);
        } catch (StoreException failure) {
            if (bound != null || row.execution.version() == 0 || !connectionLost(failure)) {
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
            saved.add(row.execution.toBuilder().updatedAt(row.updatedAt(now)).version(row.execution.version() + 1).build());
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
                ps.setBoolean(next++, row.givesUpLease()); // lease_owner cleared
                ps.setBoolean(next++, row.givesUpLease()); // lease_expires_at cleared
                ps.setObject(next++, row.errorJson(), Types.OTHER); // error_code
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
                throw lostRace(e, stored);
            }
        }
    }

    private static ConcurrentUpdateException lostRace(Execution e, long found) {
        return new ConcurrentUpdateException(e.id(), e.version(), "execution " + e.id() + " was saved by "
                + "someone else: expected version " + e.version() + ", found " + found
                + "; reload it and apply the change again");
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
        return rows(id, "load", sql.load, ps -> ps.setString(1, id), null, ExecutionRow.Reading.KEEPING_TEXT).stream()
                .findFirst();
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
        Arguments.atLeastOne(limit, "limit");
        return rows(null, "findByStatus", sql.findByStatus, ps -> {
            ps.setString(1, status.wireName());
            ps.setInt(2, limit);
        }, skipped, decodingOnAccess ? ExecutionRow.Reading.DEFERRED : ExecutionRow.Reading.EAGER);
    }

    @Override
    public List<Execution> findByTenant(String tenantId, int limit) {
        Objects.requireNonNull(tenantId, "tenantId must not be null");
        requireNoNul(tenantId, "tenantId");
        Arguments.atLeastOne(limit, "limit");
        return rows(null, "findByTenant", sql.findByTenant, ps -> {
            ps.setString(1, tenantId);
            ps.setInt(2, limit);
        }, skipped, decodingOnAccess ? ExecutionRow.Reading.DEFERRED : ExecutionRow.Reading.EAGER);
    }

    @Override
    public List<Execution> findWakeReady(Instant now, int limit) {
        Objects.requireNonNull(now, "now must not be null");
        Arguments.atLeastOne(limit, "limit");
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

    // ---- Batched completion (issue 13): many executions' saves in one statement ----

    /**
     * {@inheritDoc}
     *
     * <p>Here: every execution whose values can be stored is written by one
     * {@code UPDATE ... FROM unnest(...)} statement, one round trip and one commit, each row matched on
     * its own expected version; the rows it did not update are then told apart (lost race or gone) by
     * one look-up of their versions. What {@link #save} guarantees holds row by row: values are checked
     * before any connection is taken (a refused one fails only its own execution); a statement whose
     * connection was lost is tried again, up to three attempts in all, and a row found at the next
     * version holding exactly what was written counts as saved; the triggers of migrations V4 to V6 run
     * for each row as for a single save. If PostgreSQL refuses the statement for any other reason, each
     * execution is saved on its own, so that whatever it refused fails only its own row. A single
     * execution, a list that names an id twice, and a store bound to a caller's transaction
     * ({@link #inTransaction}, {@link #using}), where a failed statement would abort that transaction,
     * save one by one.
     */
    @Override
    public List<SaveOutcome> saveAllVersioned(List<Execution> executions) {
        Objects.requireNonNull(executions, "executions must not be null");
        Set<String> ids = new HashSet<>();
        boolean repeats = false;
        for (Execution e : executions) {
            Objects.requireNonNull(e, "executions must not contain null");
            if (e.version() == 0) {
                // Through the default, whose check says what is wrong before anything is saved.
                return LeasingExecutionStore.super.saveAllVersioned(executions);
            }
            repeats |= !ids.add(e.id());
        }
        if (bound != null || repeats || executions.size() < 2) {
            return LeasingExecutionStore.super.saveAllVersioned(executions);
        }
        SaveOutcome[] outcomes = new SaveOutcome[executions.size()];
        List<ExecutionRow> rows = new ArrayList<>(executions.size());
        List<Integer> positions = new ArrayList<>(executions.size());
        for (int i = 0; i < outcomes.length; i++) {
            try {
                rows.add(ExecutionRow.of(executions.get(i), json));
                positions.add(i);
            } catch (ExecutionDataException refused) {
                outcomes[i] = SaveOutcome.failed(refused);
            }
        }
        List<SaveOutcome> written = rows.isEmpty() ? List.of()
                : rows.size() == 1 || !batchable(rows) ? oneByOne(rows) : writeBatch(rows);
        for (int j = 0; j < written.size(); j++) {
            outcomes[positions.get(j)] = written.get(j);
        }
        return List.of(outcomes);
    }

    /**
     * Whether every JSON text of the rows is one object or array, as the model's encoders and PostgreSQL
     * write them: then in one JSON array each is one element. A caller's raw JSON ({@code @JsonRawValue})
     * may not be; such a batch is saved row by row, where PostgreSQL parses each text by itself.
     */
    private static boolean batchable(List<ExecutionRow> rows) {
        for (ExecutionRow row : rows) {
            if (!row.jsonIsBracketed()) {
                return false;
            }
        }
        return true;
    }

    private List<SaveOutcome> writeBatch(List<ExecutionRow> rows) {
        Instant now = now();
        Set<String> updated = null;
        StoreException lost = null;
        for (int attempt = 1; updated == null; attempt++) {
            try {
                updated = updateRows(rows, now);
            } catch (StoreException failure) {
                if (!connectionLost(failure)) {
                    // One row PostgreSQL refuses fails the whole statement: alone, it fails only itself.
                    return oneByOne(rows);
                }
                if (lost != null) {
                    failure.addSuppressed(lost);
                }
                lost = failure;
                if (attempt == MAX_SAVE_ATTEMPTS) {
                    List<SaveOutcome> failed = new ArrayList<>(rows.size());
                    for (int i = 0; i < rows.size(); i++) {
                        failed.add(SaveOutcome.failed(lost));
                    }
                    return failed;
                }
            }
        }
        List<SaveOutcome> outcomes = new ArrayList<>(rows.size());
        List<ExecutionRow> missed = new ArrayList<>();
        for (ExecutionRow row : rows) {
            Execution e = row.execution;
            boolean saved = updated.contains(e.id());
            outcomes.add(saved ? SaveOutcome.saved(e.toBuilder().updatedAt(row.updatedAt(now)).version(e.version() + 1).build()) : null);
            if (!saved) {
                missed.add(row);
            }
        }
        if (!missed.isEmpty()) {
            Map<String, SaveOutcome> why = whyNotUpdated(missed, lost);
            for (int i = 0; i < outcomes.size(); i++) {
                if (outcomes.get(i) == null) {
                    outcomes.set(i, why.get(rows.get(i).execution.id()));
                }
            }
        }
        return outcomes;
    }

    /** Saves each row by itself, as {@link #save} would, collecting each outcome. */
    private List<SaveOutcome> oneByOne(List<ExecutionRow> rows) {
        List<SaveOutcome> outcomes = new ArrayList<>(rows.size());
        for (ExecutionRow row : rows) {
            try {
                outcomes.add(SaveOutcome.saved(saveRow(row)));
            } catch (StoreException failure) {
                outcomes.add(SaveOutcome.failed(failure));
            }
        }
        return outcomes;
    }

    /** The ids the batched update changed. */
    private Set<String> updateRows(List<ExecutionRow> rows, Instant now) {
        return withConnection(null, "batched save", c -> {
            Object[][] columns = new Object[ExecutionSql.DATA_COLUMN_COUNT][rows.size()];
            String[] ids = new String[rows.size()];
            Long[] expected = new Long[rows.size()];
            for (int r = 0; r < rows.size(); r++) {
                ExecutionRow row = rows.get(r);
                ids[r] = row.execution.id();
                expected[r] = row.execution.version();
                Object[] values = row.values(now);
                for (int column = 0; column < values.length; column++) {
                    columns[column][r] = values[column];
                }
            }
            // In a transaction the caller opened (Spring's), a refused statement must not abort it: under a
            // savepoint it fails alone, and the row-by-row saves that follow still run.
            SqlBlock<Set<String>> update = () -> {
                try (PreparedStatement ps = c.prepareStatement(sql.updateRows)) {
                    ps.setArray(1, c.createArrayOf("text", ids));
                    ps.setArray(2, c.createArrayOf("int8", expected)); // expected versions
                    int index = 3;
                    for (int column = 0; column < columns.length; column++) {
                        String type = ExecutionSql.DATA_COLUMN_ARRAY_TYPES[column];
                        if (!"jsonb".equals(type)) {
                            ps.setArray(index++, c.createArrayOf(type, columns[column]));
                        }
                    }
                    for (int column = 0; column < columns.length; column++) {
                        if ("jsonb".equals(ExecutionSql.DATA_COLUMN_ARRAY_TYPES[column])) {
                            ps.setObject(index++, jsonArray(columns[column]), Types.OTHER);
                        }
                    }
                    Set<String> updated = new HashSet<>();
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            updated.add(rs.getString(1));
                        }
                    }
                    return updated;
                }
            };
            return c.getAutoCommit() ? update.run() : underSavepoint(c, update);
        });
    }

    /**
     * One JSON array of the texts, {@code null} for a null; each text is one bracketed value
     * ({@link #batchable}), so each is one element.
     */
    private static String jsonArray(Object[] texts) {
        int length = 2;
        for (Object text : texts) {
            length += (text == null ? 4 : ((String) text).length()) + 1;
        }
        StringBuilder array = new StringBuilder(length).append('[');
        for (int i = 0; i < texts.length; i++) {
            array.append(i == 0 ? "" : ",").append(texts[i] == null ? "null" : (String) texts[i]);
        }
        return array.append(']').toString();
    }

    /**
     * Why rows were not updated: gone, or saved by someone else, unless a retry after a lost
     * connection ({@code lost} set) finds a row holding exactly what the first attempt wrote.
     */
    private Map<String, SaveOutcome> whyNotUpdated(List<ExecutionRow> missed, StoreException lost) {
        Map<String, SaveOutcome> why = new HashMap<>();
        Map<String, Long> stored;
        try {
            stored = storedVersions(missed);
        } catch (StoreException failure) {
            for (ExecutionRow row : missed) {
                why.put(row.execution.id(), SaveOutcome.failed(failure));
            }
            return why;
        }
        for (ExecutionRow row : missed) {
            Execution e = row.execution;
            Long version = stored.get(e.id());
            StoreException failure = version == null ? new ExecutionNotFoundException(e.id()) : lostRace(e, version);
            if (lost != null && version != null && version == e.version() + 1) {
                try {
                    Instant updatedAt = writtenAs(row);
                    if (updatedAt != null) {
                        LOG.info("Batched save of execution {} lost its connection after it committed; the stored row "
                                + "holds what it wrote, so it stands ({})", e.id(), lost.getMessage());
                        why.put(e.id(), SaveOutcome.saved(e.toBuilder().updatedAt(updatedAt).version(version).build()));
                        continue;
                    }
                } catch (StoreException unchecked) {
                    failure = unchecked;
                }
            }
            why.put(e.id(), SaveOutcome.failed(failure));
        }
        return why;
    }

    private Map<String, Long> storedVersions(List<ExecutionRow> rows) {
        List<String> ids = new ArrayList<>(rows.size());
        for (ExecutionRow row : rows) {
            ids.add(row.execution.id());
        }
        return withConnection(null, "version look-up after a batched save", c -> {
            try (PreparedStatement ps = c.prepareStatement(sql.versionsOf)) {
                ps.setArray(1, textArray(c, ids));
                Map<String, Long> versions = new HashMap<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        versions.put(rs.getString(1), rs.getLong(2));
                    }
                }
                return versions;
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
        Arguments.atLeastOne(limit, "limit");
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
                ps.setInt(7, limit); // signalled (child flows and signals, V6)
                ps.setInt(8, limit); // due
                ps.setString(9, workerId); // lease_owner
                ps.setLong(10, ttl); // lease length
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        try {
                            claimed.add(ExecutionRow.read(rs, json, ExecutionRow.Reading.KEEPING_TEXT));
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
        requireId(column, "column");
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
        Arguments.atLeastOne(limit, "limit");
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
     * per subscription: when the {@code DataSource} is (or unwraps to) a HikariCP pool, a subscription that would
     * leave none is refused. Other pools are not checked.
     *
     * @throws IllegalStateException if the HikariCP pool is too small to hold this subscription's
     *     connection and one more for claims and saves
     */
    @Override
    public Subscription subscribe(DueWorkListener listener) {
        Objects.requireNonNull(listener, "listener must not be null");
        return listen(listener, "flowmonkey_");
    }

    /** Opens a LISTEN subscription on one channel kind, counted against the pool like every other. */
    private DueWorkNotices listen(DueWorkListener listener, String channelPrefix) {
        ListenerCount count = ListenerCount.of(dataSource);
        int held = count.acquire();
        HikariConfigMXBean hikari = PgDataSources.hikariBehind(dataSource);
        if (hikari != null && hikari.getMaximumPoolSize() < held + 1) {
            count.release();
            throw new IllegalStateException("the connection pool" + (hikari.getPoolName() == null ? ""
                    : " '" + hikari.getPoolName() + "'") + " allows " + hikari.getMaximumPoolSize()
                    + " connection(s), too few for " + held + " LISTEN subscription(s), which hold one each, "
                    + "plus one to claim and save work; set maximumPoolSize to at least " + (held + 1)
                    + " (an EngineWorker needs threads + 2 to run its threads at once)");
        }
        DueWorkNotices notices = new DueWorkNotices(dataSource, sql, listener, channelPrefix, count::release);
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
        return Arguments.leaseTtl(leaseTtl).toMillis();
    }

    /** Reads many rows; on a view from {@link #skippingUnreadableRows} a row that cannot be decoded is skipped. */
    private List<Execution> query(String id, String action, String statement, Binder binder) {
        return rows(id, action, statement, binder, skipped);
    }

    private List<Execution> rows(String id, String action, String statement, Binder binder,
                                 Consumer<? super ExecutionDataException> skip) {
        return rows(id, action, statement, binder, skip, ExecutionRow.Reading.EAGER);
    }

    /** As above, each row read as {@code reading} says. */
    private List<Execution> rows(String id, String action, String statement, Binder binder,
                                 Consumer<? super ExecutionDataException> skip, ExecutionRow.Reading reading) {
        return withConnection(id, action, c -> {
            try (PreparedStatement ps = c.prepareStatement(statement)) {
                binder.bind(ps);
                try (ResultSet rs = ps.executeQuery()) {
                    List<Execution> found = new ArrayList<>();
                    while (rs.next()) {
                        try {
                            found.add(ExecutionRow.read(rs, json, reading));
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
        return Values.storeNow(clock, "PgStoreOptions");
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
        return c.getAutoCommit() ? committed(c, block) : underSavepoint(c, block);
    }

    /** Runs {@code block} in a transaction of its own on {@code c}, in autocommit mode before and after. */
    private static <T> T committed(Connection c, SqlBlock<T> block) throws SQLException {
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
        Arguments.nonBlank(value, field);
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
        int bad = Arguments.unpairedSurrogate(value);
        if (bad >= 0) {
            throw new IllegalArgumentException(field + " must not contain an unpaired surrogate, got one at index "
                    + bad + "; UTF-8 cannot encode it, and no execution can hold it");
        }
    }

    private static Collection<String> requireIds(Collection<String> ids, String field) {
        Objects.requireNonNull(ids, field + " must not be null");
        for (String id : ids) {
            requireId(id, field + " element");
        }
        return ids;
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
    private interface SqlRead<T> {
        T apply(ResultSet rs) throws SQLException;
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

    // ---- child flows and signals (V6) ----

    /**
     * {@inheritDoc}
     *
     * <p>One statement, which inserts only when the execution exists; it never touches the
     * execution's row, so it neither waits for nor disturbs a step that is running.
     */
    @Override
    public Signal sendSignal(Signal signal) {
        String data = signalData(requireUnsent(signal));
        long now = now().toEpochMilli();
        return withConnection(signal.executionId(), "sendSignal", c -> {
            try (PreparedStatement ps = c.prepareStatement(sql.sendSignal())) {
                int next = bindSignal(ps, signal, data, now);
                ps.setString(next, signal.executionId()); // the execution that must exist
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        throw new ExecutionNotFoundException(signal.executionId());
                    }
                    return new Signal(rs.getLong(1), signal.executionId(), signal.name(), signal.data(),
                            Instant.ofEpochMilli(now));
                }
            }
        });
    }

    @Override
    public List<Signal> findSignals(String executionId, String name, int limit) {
        requireId(executionId, "executionId");
        requireId(name, "signal name");
        Arguments.atLeastOne(limit, "limit");
        return withConnection(executionId, "findSignals", c -> {
            try (PreparedStatement ps = c.prepareStatement(sql.findSignals())) {
                ps.setString(1, executionId);
                ps.setString(2, name);
                ps.setInt(3, limit);
                List<Signal> found = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        found.add(readSignal(rs));
                    }
                }
                return List.copyOf(found);
            }
        });
    }

    @Override
    public List<Execution> findSignalled(int limit) {
        Arguments.atLeastOne(limit, "limit");
        return query(null, "findSignalled", sql.findSignalled(), ps -> ps.setInt(1, limit));
    }

    /**
     * {@inheritDoc}
     *
     * <p>One transaction (or the caller's, on a store from {@link #using(Connection)}): the saves as
     * {@link #saveAll(Collection)} does them, then one DELETE of the consumed signals, then a batch
     * of inserts for the sent ones. A transaction of its own whose pooled connection is lost before
     * its commit is asked for (a dead connection, say) is rolled back by the server and tried again on
     * another connection, up to three attempts in all; one lost while committing is not tried again,
     * since it may have committed.
     */
    @Override
    public List<Execution> saveWithSignals(Collection<Execution> executions, Collection<Signal> consumed,
                                           Collection<Signal> sent) {
        List<Execution> saves = List.copyOf(Objects.requireNonNull(executions, "executions must not be null"));
        List<Signal> consumes = List.copyOf(Objects.requireNonNull(consumed, "consumed signals must not be null"));
        List<Signal> sends = List.copyOf(Objects.requireNonNull(sent, "sent signals must not be null"));
        for (Signal s : consumes) {
            if (s.id() == 0) {
                throw new IllegalArgumentException("signal '" + s.name() + "' of execution " + s.executionId()
                        + " was never stored, so it cannot be consumed");
            }
        }
        List<String> sentData = new ArrayList<>(sends.size());
        for (Signal s : sends) {
            sentData.add(signalData(requireUnsent(s)));
        }
        if (bound != null) {
            return inTransaction(tx -> ((PgExecutionStore) tx).writeWithSignals(saves, consumes, sends, sentData));
        }
        StoreException previous = null;
        for (int attempt = 1; ; attempt++) {
            PgExecutionStore[] used = new PgExecutionStore[1];
            try {
                return inTransaction(tx -> {
                    used[0] = (PgExecutionStore) tx;
                    return used[0].writeWithSignals(saves, consumes, sends, sentData);
                });
            } catch (StoreException failure) {
                if (previous != null) {
                    failure.addSuppressed(previous);
                }
                // Only a transaction of our own that lost its connection before its commit was asked for:
                // the server rolled it back, so nothing of it is written. After the commit, it may be.
                if (attempt == MAX_SAVE_ATTEMPTS || used[0] == null || !used[0].uncommitted
                        || !connectionLost(failure)) {
                    throw failure;
                }
                LOG.info("saveWithSignals of execution {} lost its connection before it committed; trying again on "
                        + "another connection ({})", saves.isEmpty() ? null : saves.get(0).id(), failure.getMessage());
                previous = failure;
            }
        }
    }

    /** The body of {@link #saveWithSignals}, on a store bound to the transaction's connection. */
    private List<Execution> writeWithSignals(List<Execution> saves, List<Signal> consumes, List<Signal> sends,
                                             List<String> sentData) {
        List<Execution> saved = saves.isEmpty() ? List.of() : saveAll(saves);
        String firstId = saves.isEmpty() ? null : saves.get(0).id();
        long now = now().toEpochMilli();
        withConnection(firstId, "saveWithSignals", c -> {
            if (!consumes.isEmpty()) {
                try (PreparedStatement ps = c.prepareStatement(sql.consumeSignals())) {
                    ps.setArray(1, c.createArrayOf("bigint", consumes.stream().map(Signal::id).toArray()));
                    if (ps.executeUpdate() != consumes.size()) {
                        Signal first = consumes.get(0);
                        // Rolled back with the rest: a signal is consumed by one save only.
                        throw new ConcurrentUpdateException(first.executionId(), 0, "a signal '" + first.name()
                                + "' of execution " + first.executionId() + " was consumed by someone else; "
                                + "reload the execution and look for signals again");
                    }
                }
            }
            if (!sends.isEmpty()) {
                try (PreparedStatement ps = c.prepareStatement(sql.insertSignal())) {
                    for (int i = 0; i < sends.size(); i++) {
                        bindSignal(ps, sends.get(i), sentData.get(i), now);
                        ps.addBatch();
                    }
                    ps.executeBatch();
                }
            }
            return null;
        });
        return saved;
    }

    /**
     * {@inheritDoc}
     *
     * <p>Holds one connection of the pool while open, like {@link #subscribe(DueWorkListener)}.
     */
    @Override
    public Subscription subscribeToEnds(EndListener listener) {
        Objects.requireNonNull(listener, "listener must not be null");
        return listen(new DueWorkListener() {
            @Override
            public void onDue(String executionId, Instant wakeAt) {
                listener.onEnded(executionId);
            }

            @Override
            public void onMissedNotices() {
                listener.onMissedNotices();
            }
        }, ExecutionSql.END_CHANNEL_PREFIX);
    }

    private static Signal requireUnsent(Signal signal) {
        Objects.requireNonNull(signal, "signal must not be null");
        if (signal.id() != 0) {
            throw new IllegalArgumentException("signal " + signal.id() + " of execution " + signal.executionId()
                    + " is stored already; send Signal.of(...) instead");
        }
        requireId(signal.executionId(), "signal executionId");
        requireId(signal.name(), "signal name");
        return signal;
    }

    private String signalData(Signal signal) {
        String text;
        try {
            text = json.writeValues(signal.data());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new ExecutionDataException(signal.executionId(), "signals.data", "value cannot be written as JSON: "
                    + e.getOriginalMessage(), e);
        }
        if (ExecutionJson.containsNulEscape(text)) {
            throw new ExecutionDataException(signal.executionId(), "signals.data", "text contains the NUL character "
                    + "U+0000, which PostgreSQL JSONB cannot store; remove it or encode the value", null);
        }
        return text;
    }

    /** Binds execution_id, name, data and sent_at; returns the next index. */
    private static int bindSignal(PreparedStatement ps, Signal signal, String data, long now) throws SQLException {
        ps.setString(1, signal.executionId());
        ps.setString(2, signal.name());
        ps.setObject(3, data, Types.OTHER);
        ps.setLong(4, now); // sent_at
        return 5;
    }

    private Signal readSignal(ResultSet rs) throws SQLException {
        String executionId = rs.getString(2);
        try {
            return new Signal(rs.getLong(1), executionId, rs.getString(3), json.readValues(rs.getBytes(4)),
                    Instant.ofEpochMilli(rs.getLong(5)));
        } catch (java.io.IOException | RuntimeException e) {
            throw new ExecutionDataException(executionId, "signals.data", "stored signal cannot be read ("
                    + e.getMessage() + "); fix or delete the row", e);
        }
    }

    // ---- Query, count, stream, bulk delete and purge (issue 12) ----

    /** Rows a {@link #stream(ExecutionQuery)} reads from the server at a time: its memory bound. */
    public static final int STREAM_FETCH_SIZE = 500;
    /** Rows one purge batch deletes at most, unless given. */
    public static final int DEFAULT_PURGE_BATCH = 1_000;
    /** The largest purge batch accepted: one statement should stay short. */
    public static final int MAX_PURGE_BATCH = 100_000;
    /** The statuses {@link #purge(Duration)} removes: every ended one. */
    public static final Set<ExecutionStatus> ENDED = Set.copyOf(EnumSet.of(ExecutionStatus.COMPLETED,
            ExecutionStatus.FAILED, ExecutionStatus.CANCELLED));
    private static final ObjectReader PLAN_READER = new ObjectMapper().readerFor(JsonNode.class);

    /**
     * {@inheritDoc}
     *
     * <p>One statement on a pooled connection. Which index serves which filters, and why
     * {@code updatedAt} ranges have no B-tree but, from PostgreSQL 16, a BRIN index, is in the README's
     * "Operating" section and in migrations V7 and V12.
     */
    @Override
    public Page<Execution> query(ExecutionQuery q) {
        ExecutionSql.Bound s = statementOf(q, ExecutionSql.Shape.PAGE);
        // Never skipping: whether another page follows, and where it starts, depend on every row read.
        return q.page(rows(null, "query", s.sql(), ps -> bindAll(ps, s.params()), null));
    }

    @Override
    public long count(ExecutionQuery q) {
        return firstRow("count", statementOf(q, ExecutionSql.Shape.COUNT), rs -> rs.getLong(1));
    }

    /** Runs a statement of one result row and reads it. */
    private <T> T firstRow(String operation, ExecutionSql.Bound s, SqlRead<T> read) {
        return withConnection(null, operation, c -> {
            try (PreparedStatement ps = c.prepareStatement(s.sql())) {
                bindAll(ps, s.params());
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    return read.apply(rs);
                }
            }
        });
    }

    /**
     * {@inheritDoc}
     *
     * <p>Here: the planner's row estimate for the query's filters (EXPLAIN, nothing is read), from the
     * table's statistics as of its last ANALYZE (autovacuum keeps them fresh; see migration V7). About
     * as cheap for a million matches as for ten; off by a factor of several for combined filters whose
     * columns are correlated.
     */
    @Override
    public long countEstimate(ExecutionQuery q) {
        return firstRow("count estimate", statementOf(q, ExecutionSql.Shape.ESTIMATE), rs -> {
            try {
                JsonNode plan = PLAN_READER.readValue(rs.getString(1));
                return Math.max(0L, Math.round(plan.path(0).path("Plan").path("Plan Rows").asDouble()));
            } catch (java.io.IOException e) {
                throw new StoreException(null, "the plan PostgreSQL returned for a count estimate cannot be "
                        + "read: " + e.getMessage(), e);
            }
        });
    }

    /**
     * {@inheritDoc}
     *
     * <p>Here: one connection of the pool, in a transaction of its own, read through a server-side
     * cursor {@value #STREAM_FETCH_SIZE} rows at a time; closing the stream rolls the (read-only)
     * transaction back and returns the connection. The stream sees one snapshot: rows written after it
     * opened do not appear. While it is open, that snapshot holds back VACUUM on the whole database, so
     * export, then close promptly. On a store from {@link #using(Connection)} it reads in the caller's
     * transaction and leaves it open; that connection must not be in autocommit mode (the driver would
     * read every row at once).
     *
     * @throws IllegalStateException on a store from {@link #using(Connection)} whose connection is in
     *     autocommit mode
     */
    @Override
    public Stream<Execution> stream(ExecutionQuery q) {
        ExecutionSql.Bound s = statementOf(q, ExecutionSql.Shape.STREAM);
        Connection c = null;
        PreparedStatement ps = null;
        ResultSet rs = null;
        boolean own = bound == null;
        boolean ownTransaction = false;
        try {
            c = own ? dataSource.getConnection() : bound;
            if (own && c.getAutoCommit()) {
                // The cursor needs a transaction: one of the stream's own, unless the connection came in
                // one (Spring's), whose reads it then shares and which it leaves open.
                c.setAutoCommit(false);
                ownTransaction = true;
            } else if (!own && c.getAutoCommit()) {
                throw new IllegalStateException("stream on a store from using(Connection) needs that connection "
                        + "in a transaction (autocommit off), or the driver reads every row at once");
            }
            ps = c.prepareStatement(s.sql(), ResultSet.TYPE_FORWARD_ONLY, ResultSet.CONCUR_READ_ONLY);
            ps.setFetchSize(STREAM_FETCH_SIZE);
            bindAll(ps, s.params());
            rs = ps.executeQuery();
        } catch (SQLException | RuntimeException e) {
            closeStream(own, ownTransaction, c, ps, rs, e);
            throw e instanceof SQLException sqlFailure ? SqlErrors.translate(sqlFailure, null, "stream", sql.table)
                    : (RuntimeException) e;
        }
        Connection connection = c;
        boolean endTransaction = ownTransaction;
        PreparedStatement statement = ps;
        ResultSet rows = rs;
        Spliterator<Execution> reader = new Spliterators.AbstractSpliterator<>(Long.MAX_VALUE,
                Spliterator.ORDERED | Spliterator.NONNULL) {
            @Override
            public boolean tryAdvance(Consumer<? super Execution> action) {
                try {
                    if (!rows.next()) {
                        return false;
                    }
                    action.accept(ExecutionRow.read(rows, json, ExecutionRow.Reading.EAGER));
                    return true;
                } catch (SQLException e) {
                    throw SqlErrors.translate(e, null, "stream", sql.table);
                }
            }
        };
        return StreamSupport.stream(reader, false).onClose(() -> {
            RuntimeException failure = new StoreException(null, "closing the stream of " + sql.table + " failed");
            closeStream(own, endTransaction, connection, statement, rows, failure);
            if (failure.getSuppressed().length > 0) {
                throw failure;
            }
        });
    }

    /** Closes what a stream opened, in reverse; what fails is added to {@code failure}. */
    private static void closeStream(boolean own, boolean ownTransaction, Connection c, PreparedStatement ps,
                                    ResultSet rs, Throwable failure) {
        for (AutoCloseable resource : new AutoCloseable[] {rs, ps}) {
            try {
                if (resource != null) {
                    resource.close();
                }
            } catch (Exception e) {
                failure.addSuppressed(e);
            }
        }
        if (own && c != null) {
            if (ownTransaction) {
                rollbackQuietly(c, failure);
                restoreAutoCommit(c, failure);
            }
            try {
                c.close();
            } catch (SQLException e) {
                failure.addSuppressed(e);
            }
        }
    }

    /**
     * {@inheritDoc}
     *
     * <p>Here: each batch is two autocommitted statements (find the keys, then
     * {@code DELETE ... WHERE id = ANY (?) AND <the filters>}), so no transaction outlives a batch; on a
     * store from {@link #using(Connection)} they run in the caller's transaction instead.
     */
    @Override
    public BulkResult deleteAll(ExecutionQuery q) {
        requireQuery(q);
        String metadata = metadataJson(q);
        BulkResult total = BulkResult.EMPTY;
        ExecutionQuery batch = q;
        while (true) {
            ExecutionSql.Bound find = sql.select(batch, metadata, ExecutionSql.Shape.KEYS);
            List<ExecutionQuery.Position> keys = withConnection(null, "deleteAll", c -> {
                try (PreparedStatement ps = c.prepareStatement(find.sql())) {
                    bindAll(ps, find.params());
                    List<ExecutionQuery.Position> found = new ArrayList<>();
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            found.add(new ExecutionQuery.Position(Instant.ofEpochMilli(rs.getLong(2)), rs.getString(1)));
                        }
                    }
                    return found;
                }
            });
            if (keys.isEmpty()) {
                return total;
            }
            ExecutionSql.Bound delete = sql.deleteMatching(q, metadata, keys.stream().map(ExecutionQuery.Position::id)
                    .toList());
            int deleted = withConnection(null, "deleteAll", c -> {
                try (PreparedStatement ps = c.prepareStatement(delete.sql())) {
                    bindAll(ps, delete.params());
                    return ps.executeUpdate();
                }
            });
            total = total.plus(new BulkResult(keys.size(), deleted, keys.size() - deleted));
            if (keys.size() < q.limit()) {
                return total;
            }
            batch = q.afterPosition(keys.get(keys.size() - 1));
        }
    }

    /**
     * Deletes every ended execution (completed, failed or cancelled) that ended more than
     * {@code olderThan} ago, by the store's clock, in batches of {@value #DEFAULT_PURGE_BATCH}.
     *
     * @param olderThan how long ago an execution must have ended, not negative
     * @return how many executions were deleted (at most {@code Integer.MAX_VALUE} is reported)
     * @throws StoreException if the store fails; batches deleted before stay deleted
     * @see #purge(Duration, Set, int)
     */
    public int purge(Duration olderThan) {
        return purge(olderThan, ENDED, DEFAULT_PURGE_BATCH);
    }

    /**
     * Deletes ended executions of the given statuses whose end is older than {@code olderThan}. The end
     * is the status's own time: {@code completedAt}, {@code failedAt} or {@code cancelledAt} (a row
     * without one is kept). Runs batch after batch, each one statement of its own (its own short
     * transaction) that locks its rows with {@code FOR UPDATE SKIP LOCKED}: it takes no table lock,
     * never waits for a writer, and a row someone holds is left for the next purge. Stops at the first
     * batch that deletes fewer than {@code batchSize} rows. Deleted rows become dead tuples until
     * (auto)vacuum reclaims them; see the README's "Operating" section.
     *
     * <p>On a store from {@link #using(Connection)}, the batches run in the caller's transaction.
     *
     * @param olderThan how long ago an execution must have ended, not negative
     * @param statuses which ended statuses to purge, a non-empty subset of {@link #ENDED}
     * @param batchSize rows per batch, 1 to {@value #MAX_PURGE_BATCH}
     * @return how many executions were deleted (at most {@code Integer.MAX_VALUE} is reported)
     * @throws IllegalArgumentException if an argument is out of range, or a status is not ended
     * @throws StoreException if the store fails; batches deleted before stay deleted
     */
    public int purge(Duration olderThan, Set<ExecutionStatus> statuses, int batchSize) {
        requireOlderThan(olderThan);
        requireEndedStatuses(statuses);
        requireBatchSize(batchSize);
        Instant end = now();
        // Nothing ended longer ago than epoch milliseconds reach: the cutoff is then before every stored time.
        long cutoff = olderThan.compareTo(Duration.between(EARLIEST, end)) >= 0
                ? Long.MIN_VALUE : end.minus(olderThan).toEpochMilli();
        String[] wire = statuses.stream().map(ExecutionStatus::wireName).sorted().toArray(String[]::new);
        String statement = sql.purgeBatch();
        long total = 0;
        while (true) {
            int deleted = withConnection(null, "purge", c -> {
                try (PreparedStatement ps = c.prepareStatement(statement)) {
                    ps.setArray(1, c.createArrayOf("text", wire));
                    ps.setLong(2, cutoff); // ended before
                    ps.setInt(3, batchSize);
                    return ps.executeUpdate();
                }
            });
            total += deleted;
            if (deleted < batchSize) {
                return (int) Math.min(total, Integer.MAX_VALUE);
            }
        }
    }

    static Duration requireOlderThan(Duration olderThan) {
        Objects.requireNonNull(olderThan, "olderThan must not be null");
        if (olderThan.isNegative()) {
            throw new IllegalArgumentException("olderThan must not be negative, got " + olderThan);
        }
        return olderThan;
    }

    static Set<ExecutionStatus> requireEndedStatuses(Set<ExecutionStatus> statuses) {
        Objects.requireNonNull(statuses, "statuses must not be null");
        if (statuses.isEmpty() || !ENDED.containsAll(statuses)) {
            throw new IllegalArgumentException("statuses must be a non-empty set of ended statuses (completed, "
                    + "failed, cancelled), got " + statuses);
        }
        return Set.copyOf(statuses);
    }

    static int requireBatchSize(int batchSize) {
        if (batchSize < 1 || batchSize > MAX_PURGE_BATCH) {
            throw new IllegalArgumentException("batchSize must be between 1 and " + MAX_PURGE_BATCH + ", got " + batchSize);
        }
        return batchSize;
    }

    private static ExecutionQuery requireQuery(ExecutionQuery q) {
        return Objects.requireNonNull(q, "query must not be null");
    }

    private String metadataJson(ExecutionQuery q) {
        if (q.metadata().isEmpty()) {
            return null;
        }
        try {
            return json.writeModel(q.metadata());
        } catch (JsonProcessingException e) {
            // The query admits strings, booleans and integers only, which always serialise.
            throw new IllegalArgumentException("metadata filter cannot be written as JSON: " + e.getOriginalMessage(), e);
        }
    }

    /** The statement a query of this shape runs, as built for this store's table; bind it with {@link #bindAll}. */
    ExecutionSql.Bound statementOf(ExecutionQuery q, ExecutionSql.Shape shape) {
        return sql.select(requireQuery(q), metadataJson(q), shape);
    }

    static void bindAll(PreparedStatement ps, List<Object> params) throws SQLException {
        int i = 1;
        for (Object p : params) {
            if (p instanceof String text) {
                ps.setString(i++, text);
            } else if (p instanceof Long number) {
                ps.setLong(i++, number);
            } else if (p instanceof String[] texts) {
                ps.setArray(i++, textArray(ps.getConnection(), List.of(texts)));
            } else if (p instanceof ExecutionSql.Jsonb jsonb) {
                ps.setObject(i++, jsonb.text(), Types.OTHER);
            } else {
                throw new IllegalStateException("no binding for a parameter of type " + p.getClass().getName());
            }
        }
    }

    // ---- Worker heartbeats (V9), set-aside look-up and the console's charts (issue 12) ----

    /**
     * {@inheritDoc}
     *
     * <p>One statement: an upsert of the worker's row and a delete of the rows whose expiry the
     * database's clock has passed (other workers' only).
     */
    @Override
    public void heartbeat(WorkerHeartbeat heartbeat) {
        Objects.requireNonNull(heartbeat, "heartbeat must not be null");
        requireId(heartbeat.workerId(), "workerId");
        requireId(heartbeat.host(), "host");
        requireFlows(heartbeat.serves());
        withConnection(null, "heartbeat of worker " + heartbeat.workerId(), c -> {
            try (PreparedStatement ps = c.prepareStatement(sql.heartbeat())) {
                WorkerRows.bind(ps, heartbeat);
                return ps.executeUpdate();
            }
        });
    }

    @Override
    public List<WorkerInfo> workers() {
        return withConnection(null, "listing workers", c -> {
            try (PreparedStatement ps = c.prepareStatement(sql.liveWorkers()); ResultSet rs = ps.executeQuery()) {
                List<WorkerInfo> live = new ArrayList<>();
                while (rs.next()) {
                    live.add(WorkerRows.read(rs));
                }
                return List.copyOf(live);
            }
        });
    }

    @Override
    public boolean remove(String workerId) {
        requireId(workerId, "workerId");
        return withConnection(null, "removing worker " + workerId, c -> {
            try (PreparedStatement ps = c.prepareStatement(sql.removeWorker())) {
                ps.setString(1, workerId);
                return ps.executeUpdate() > 0;
            }
        });
    }

    /** {@inheritDoc} A primary-key look-up. */
    @Override
    public Optional<SetAside> setAsideOf(String executionId) {
        requireId(executionId, "executionId");
        return withConnection(executionId, "setAsideOf", c -> {
            try (PreparedStatement ps = c.prepareStatement(sql.setAsideOf())) {
                ps.setString(1, executionId);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? Optional.of(new SetAside(rs.getString(1), rs.getString(2), rs.getString(3),
                            Instant.ofEpochMilli(rs.getLong(4)))) : Optional.<SetAside>empty();
                }
            }
        });
    }

    /**
     * Executions created, completed, failed and cancelled in one minute.
     *
     * @param minute the start of the minute
     * @param created created in it (by {@code createdAt})
     * @param completed completed in it (by {@code completedAt})
     * @param failed failed in it (by {@code failedAt})
     * @param cancelled cancelled in it (by {@code cancelledAt})
     */
    public record MinuteCounts(Instant minute, long created, long completed, long failed, long cancelled) {
    }

    /**
     * Counts executions created and ended per minute over whole minutes, in two statements: a range of
     * the created index (read index-only) and a range of the partial index of end times, whose rows'
     * statuses are read from the table. Both cost what the range holds, not what the table holds: for
     * the console's last hour, the executions created and ended in that hour. Ended executions are
     * counted while they exist: purged ones are not.
     *
     * @param from the first minute (rounded down to a whole minute)
     * @param minutes how many minutes, 1 to 1,440
     * @return one entry per minute, the earliest first, zeros included
     * @throws IllegalArgumentException if {@code minutes} is out of range
     * @throws StoreException if the store fails
     */
    public List<MinuteCounts> countsPerMinute(Instant from, int minutes) {
        Objects.requireNonNull(from, "from must not be null");
        if (minutes < 1 || minutes > 1_440) {
            throw new IllegalArgumentException("minutes must be between 1 and 1440, got " + minutes);
        }
        long first = Math.floorDiv(from.toEpochMilli(), 60_000L);
        long[][] counts = new long[minutes][4];
        withConnection(null, "counts per minute", c -> {
            try (PreparedStatement ps = c.prepareStatement(sql.createdPerMinute())) {
                ps.setLong(1, first * 60_000);
                ps.setLong(2, (first + minutes) * 60_000);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        counts[(int) (rs.getLong(1) - first)][0] = rs.getLong(2);
                    }
                }
            }
            try (PreparedStatement ps = c.prepareStatement(sql.endedPerMinute())) {
                ps.setLong(1, first * 60_000);
                ps.setLong(2, (first + minutes) * 60_000);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        int column = switch (rs.getString(1)) {
                            case "completed" -> 1;
                            case "failed" -> 2;
                            default -> 3;
                        };
                        counts[(int) (rs.getLong(2) - first)][column] = rs.getLong(3);
                    }
                }
            }
            return null;
        });
        List<MinuteCounts> out = new ArrayList<>(minutes);
        for (int i = 0; i < minutes; i++) {
            out.add(new MinuteCounts(Instant.ofEpochMilli((first + i) * 60_000), counts[i][0], counts[i][1],
                    counts[i][2], counts[i][3]));
        }
        return List.copyOf(out);
    }

    // ---- Metrics and store health (issue 12, item 5) ----

    /**
     * Looks at the table's health in one statement: its live and dead tuples, when autovacuum last
     * vacuumed and analysed it, the oldest transaction of the database that holds back VACUUM, and the
     * due work no worker holds (pending executions, and timed waits past their {@code wakeAt}), each
     * count bounded by {@link StoreHealth#DUE_COUNT_LIMIT}. It reads statistics views and two index
     * ranges; cheap, but meant for a gauge refreshed every few seconds, not for every request.
     *
     * @return the look
     * @throws StoreException if the store fails
     */
    public StoreHealth health() {
        return withConnection(null, "health look", c -> {
            try (PreparedStatement ps = c.prepareStatement(sql.health())) {
                ps.setInt(1, StoreHealth.DUE_COUNT_LIMIT);
                ps.setInt(2, StoreHealth.DUE_COUNT_LIMIT);
                ps.setString(3, sql.table);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    long lastVacuum = rs.getLong(3);
                    Instant vacuumed = rs.wasNull() ? null : Instant.ofEpochMilli(lastVacuum);
                    long lastAnalyze = rs.getLong(4);
                    Instant analysed = rs.wasNull() ? null : Instant.ofEpochMilli(lastAnalyze);
                    return new StoreHealth(rs.getLong(1), rs.getLong(2), vacuumed, analysed,
                            Duration.ofMillis(Math.max(0, rs.getLong(5))), rs.getLong(6), rs.getLong(7), rs.getLong(8));
                }
            }
        });
    }
}
