package io.flowmonkey.memory;

import io.flowmonkey.execution.BulkResult;
import io.flowmonkey.execution.ConcurrentUpdateException;
import io.flowmonkey.execution.DuplicateExecutionException;
import io.flowmonkey.execution.DuplicateIdempotencyKeyException;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionNotFoundException;
import io.flowmonkey.execution.ExecutionQuery;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.ExecutionStore;
import io.flowmonkey.execution.LeasingExecutionStore;
import io.flowmonkey.execution.Page;
import io.flowmonkey.execution.Signal;
import io.flowmonkey.execution.SignalStore;
import io.flowmonkey.internal.Arguments;
import io.flowmonkey.internal.json.Values;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArraySet;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

/**
 * An {@link ExecutionStore} in a map: optimistic versions, idempotency keys and ordering as in the
 * PostgreSQL store, nothing persisted. Thread-safe: writes are serialised, reads see the last
 * completed write. Executions are immutable, so what it hands out cannot change what it holds.
 *
 * <p>Unlike the PostgreSQL store it keeps context values as they are given rather than as JSON, so
 * a value that could not be serialised, or that exceeds the PostgreSQL store's JSON limits, is
 * accepted here. What the model itself refuses ({@link Execution.Builder#build()}) is refused here
 * too, and a lookup by a string no execution could have (blank, or with an unpaired surrogate) is
 * refused as the PostgreSQL store refuses it.
 *
 * <p>As a {@link SignalStore} it buffers signals in a list under the same lock as the executions,
 * and tells end listeners on the saving thread, after the save.
 *
 * <p>As a {@link LeasingExecutionStore} it claims, leases and sets aside as the PostgreSQL store does,
 * under the same lock, so that an {@code EngineWorker} runs on it: the same kinds of due work, only
 * the flow versions served, pending executions by {@linkplain Execution#priority() priority} and then
 * age, a claim that increments the version, and saves that leave an execution waiting or ended giving
 * up its lease. Leases are timed by the store's clock (the one given to the constructor), so a test
 * that moves that clock expires them. Due-work listeners are told on the saving thread, after the save.
 */
public final class InMemoryExecutionStore implements LeasingExecutionStore, SignalStore {

    private static final Comparator<Execution> NEWEST_FIRST = Comparator.comparing(Execution::createdAt)
            .thenComparing(Execution::id).reversed();
    private static final Comparator<Execution> OLDEST_FIRST = Comparator.comparing(Execution::createdAt)
            .thenComparing(Execution::id);
    private static final Comparator<Execution> EARLIEST_WAKE_FIRST = Comparator
            .comparing((Execution e) -> e.waitMetadata().wakeAt()).thenComparing(Execution::id);

    private final Clock clock;
    /** Replaced whole by {@link #saveAll}, so that readers see all of a batch or none of it. */
    private volatile Map<String, Execution> rows = new ConcurrentHashMap<>();
    private final Object writeLock = new Object();

    /** Creates an empty store on the system clock. */
    public InMemoryExecutionStore() {
        this(Clock.systemUTC());
    }

    /**
     * Creates an empty store.
     *
     * @param clock the clock for {@code updatedAt}, idempotency-key expiry, leases and due waits
     */
    public InMemoryExecutionStore(Clock clock) {
        this.clock = Objects.requireNonNull(clock, "clock must not be null");
    }

    @Override
    public Execution save(Execution e) {
        Objects.requireNonNull(e, "execution must not be null");
        Execution saved;
        synchronized (writeLock) {
            saved = write(e, rows);
            endLeases(List.of(saved));
            dropUnconsumable(List.of(saved));
        }
        announceDue(List.of(saved), List.of());
        announceEnds(List.of(saved));
        return saved;
    }

    @Override
    public List<Execution> saveAll(Collection<Execution> es) {
        Objects.requireNonNull(es, "executions must not be null");
        List<Execution> saved;
        synchronized (writeLock) {
            // Apply to a copy and publish only if every save succeeds: all or nothing.
            Map<String, Execution> staged = new ConcurrentHashMap<>(rows);
            saved = new ArrayList<>(es.size());
            for (Execution e : es) {
                saved.add(write(Objects.requireNonNull(e, "executions must not contain null"), staged));
            }
            rows = staged;
            endLeases(saved);
            dropUnconsumable(saved);
        }
        announceDue(saved, List.of());
        announceEnds(saved);
        return List.copyOf(saved);
    }

    private Execution write(Execution e, Map<String, Execution> table) {
        Instant now = now();
        Execution stored = table.get(e.id());
        if (e.version() == 0) {
            if (stored != null) {
                throw new DuplicateExecutionException(e.id());
            }
        } else if (stored == null) {
            throw new ExecutionNotFoundException(e.id());
        } else if (stored.version() != e.version()) {
            throw new ConcurrentUpdateException(e.id(), e.version(), "execution " + e.id() + " was saved by someone "
                    + "else: expected version " + e.version() + ", found " + stored.version()
                    + "; reload it and apply the change again");
        }
        // Never before createdAt, as the PostgreSQL store stamps it (an updated range bounds the created one).
        Execution.Builder saved = e.toBuilder().updatedAt(now.isBefore(e.createdAt()) ? e.createdAt() : now)
                .version(e.version() + 1);
        if (stored == null) {
            if (e.idempotencyKey() != null) {
                claimKey(e, table, now);
            }
        } else {
            // Keys are set by inserts only, as in the PostgreSQL store: an update must not take back a
            // key that was released from this execution and reused by another.
            saved.idempotencyKey(stored.idempotencyKey()).idempotencyExpiresAt(stored.idempotencyExpiresAt());
        }
        Execution result = withLease(saved, stored == null ? null : leaseAfterSave(e));
        table.put(result.id(), result);
        return result;
    }

    private void claimKey(Execution e, Map<String, Execution> table, Instant now) {
        for (Execution holder : table.values()) {
            if (holder.id().equals(e.id()) || !e.idempotencyKey().equals(holder.idempotencyKey())) {
                continue;
            }
            if (isUnexpired(holder, now)) {
                throw new DuplicateIdempotencyKeyException(e.id(), e.idempotencyKey(), holder.id());
            }
            // An expired key is released, as the PostgreSQL store does, so that it can be reused.
            table.put(holder.id(), holder.toBuilder().idempotencyKey(null).idempotencyExpiresAt(null).build());
        }
    }

    private static boolean isUnexpired(Execution e, Instant now) {
        return e.idempotencyExpiresAt() == null || e.idempotencyExpiresAt().isAfter(now);
    }

    @Override
    public Optional<Execution> load(String id) {
        return Optional.ofNullable(rows.get(requireText(id, "id")));
    }

    @Override
    public boolean delete(String id) {
        requireText(id, "id");
        synchronized (writeLock) {
            return forget(id);
        }
    }

    /** Removes an execution and what hangs on it: its signals go with it, as in the PostgreSQL store. */
    private boolean forget(String id) {
        signals.removeIf(s -> s.executionId().equals(id));
        leases.remove(id);
        setAside.remove(id);
        return rows.remove(id) != null;
    }

    @Override
    public Optional<Execution> findByIdempotencyKey(String key) {
        requireText(key, "idempotency key");
        Instant now = now();
        return rows.values().stream().filter(e -> key.equals(e.idempotencyKey()) && isUnexpired(e, now)).findFirst();
    }

    @Override
    public List<Execution> findByStatus(ExecutionStatus status, int limit) {
        Objects.requireNonNull(status, "status must not be null");
        return find(e -> e.status() == status, NEWEST_FIRST, limit);
    }

    @Override
    public List<Execution> findByTenant(String tenantId, int limit) {
        requireText(Objects.requireNonNull(tenantId, "tenantId must not be null"), "tenantId");
        return find(e -> tenantId.equals(e.tenantId()), NEWEST_FIRST, limit);
    }

    @Override
    public List<Execution> findWakeReady(Instant now, int limit) {
        Objects.requireNonNull(now, "now must not be null");
        return find(e -> e.status() == ExecutionStatus.WAITING && e.waitMetadata() != null
                && e.waitMetadata().wakeAt() != null && !e.waitMetadata().wakeAt().isAfter(now)
                && !setAside.containsKey(e.id()), EARLIEST_WAKE_FIRST, limit);
    }

    @Override
    public List<Execution> findChildren(String parentExecutionId) {
        requireText(parentExecutionId, "parentExecutionId");
        return find(e -> parentExecutionId.equals(e.parentExecutionId()), OLDEST_FIRST, Integer.MAX_VALUE);
    }

    /**
     * The store's clock to the millisecond, as PostgreSQL keeps times (epoch milliseconds): stamps and
     * leases compare here as they do there. One beyond epoch milliseconds is the store's fault, not the
     * execution's.
     */
    private Instant now() {
        return Values.storeNow(clock, "the store");
    }

    /** Refuses, as the PostgreSQL store does, a lookup by a string that no execution could hold. */
    private static String requireText(String value, String field) {
        return Arguments.encodableText(value, field);
    }

    private List<Execution> find(Predicate<Execution> filter, Comparator<Execution> order, int limit) {
        Arguments.atLeastOne(limit, "limit");
        return rows.values().stream().filter(filter).sorted(order).limit(limit).toList();
    }

    // ---- child flows and signals ----

    /** Unconsumed signals, oldest first; guarded by {@code writeLock}. */
    private final List<Signal> signals = new ArrayList<>();
    private final Set<EndListener> endListeners = new CopyOnWriteArraySet<>();
    private long lastSignalId;

    @Override
    public Signal sendSignal(Signal signal) {
        Objects.requireNonNull(signal, "signal must not be null");
        requireUnsent(signal);
        Signal stored;
        synchronized (writeLock) {
            if (!rows.containsKey(signal.executionId())) {
                throw new ExecutionNotFoundException(signal.executionId());
            }
            stored = store(signal);
        }
        announceDue(List.of(), List.of(stored));
        return stored;
    }

    @Override
    public List<Signal> findSignals(String executionId, String name, int limit) {
        requireText(executionId, "executionId");
        requireText(name, "signal name");
        Arguments.atLeastOne(limit, "limit");
        synchronized (writeLock) {
            return signals.stream().filter(s -> s.executionId().equals(executionId) && s.name().equals(name))
                    .limit(limit).toList();
        }
    }

    @Override
    public List<Execution> findSignalled(int limit) {
        if (limit < 1) {
            throw new IllegalArgumentException("limit must be at least 1, got " + limit);
        }
        synchronized (writeLock) {
            Set<String> found = new LinkedHashSet<>();
            for (Signal s : signals) {
                Execution e = rows.get(s.executionId());
                if (found.size() < limit && e != null && awaits(e, s) && !setAside.containsKey(e.id())) {
                    found.add(e.id());
                }
            }
            return found.stream().map(rows::get).toList();
        }
    }

    @Override
    public List<Execution> saveWithSignals(Collection<Execution> executions, Collection<Signal> consumed,
                                           Collection<Signal> sent) {
        Objects.requireNonNull(executions, "executions must not be null");
        Objects.requireNonNull(consumed, "consumed signals must not be null");
        Objects.requireNonNull(sent, "sent signals must not be null");
        sent.forEach(InMemoryExecutionStore::requireUnsent);
        List<Execution> saved = new ArrayList<>(executions.size());
        synchronized (writeLock) {
            Set<Long> ids = new HashSet<>();
            for (Signal s : consumed) {
                ids.add(s.id());
            }
            long present = signals.stream().filter(s -> ids.contains(s.id())).count();
            if (present != ids.size() || ids.size() != consumed.size()) {
                Signal first = consumed.iterator().next();
                throw new ConcurrentUpdateException(first.executionId(), 0, "a signal '" + first.name()
                        + "' of execution " + first.executionId() + " was consumed by someone else; "
                        + "reload the execution and look for signals again");
            }
            // Staged as in saveAll: nothing is published unless every save succeeds.
            Map<String, Execution> staged = new ConcurrentHashMap<>(rows);
            for (Execution e : executions) {
                saved.add(write(Objects.requireNonNull(e, "executions must not contain null"), staged));
            }
            rows = staged;
            endLeases(saved);
            signals.removeIf(s -> ids.contains(s.id()));
            sent.forEach(this::store);
            dropUnconsumable(saved);
        }
        announceDue(saved, sent);
        announceEnds(saved);
        return List.copyOf(saved);
    }

    @Override
    public LeasingExecutionStore.Subscription subscribeToEnds(EndListener listener) {
        EndListener l = Objects.requireNonNull(listener, "listener must not be null");
        endListeners.add(l);
        // Nothing can have been missed before this point that a look at the store would not find.
        l.onMissedNotices();
        return () -> endListeners.remove(l);
    }

    /** Stores a signal; the caller holds {@code writeLock}. */
    private Signal store(Signal signal) {
        Signal stored = new Signal(++lastSignalId, signal.executionId(), signal.name(), signal.data(), clock.instant());
        signals.add(stored);
        return stored;
    }

    private static void requireUnsent(Signal signal) {
        if (signal.id() != 0) {
            throw new IllegalArgumentException("signal " + signal.id() + " of execution " + signal.executionId()
                    + " is stored already; send Signal.of(...) instead");
        }
    }

    /**
     * Drops the signals of executions that ended, which nothing can consume any more, as the
     * PostgreSQL store's V6 trigger does; callers' watches stay. Under {@code writeLock}.
     */
    private void dropUnconsumable(List<Execution> saved) {
        if (signals.isEmpty()) {
            return;
        }
        Set<String> ended = new HashSet<>();
        for (Execution e : saved) {
            if (e.status().isTerminal()) {
                ended.add(e.id());
            }
        }
        if (!ended.isEmpty()) {
            signals.removeIf(s -> ended.contains(s.executionId()) && !WATCH_END_SIGNAL.equals(s.name()));
        }
    }

    /** Called after the write lock is released, so that a listener may read the store. */
    private void announceEnds(List<Execution> saved) {
        if (endListeners.isEmpty()) {
            return;
        }
        for (Execution e : saved) {
            if (e.status().isTerminal()) {
                endListeners.forEach(l -> l.onEnded(e.id()));
            }
        }
    }

    // ---- Query, count, stream and bulk delete (issue 12) ----

    @Override
    public Page<Execution> query(ExecutionQuery q) {
        return q.page(matching(q).limit(q.limit() + 1L).toList());
    }

    @Override
    public long count(ExecutionQuery q) {
        Objects.requireNonNull(q, "query must not be null");
        return rows.values().stream().filter(q::matches).count();
    }

    /**
     * {@inheritDoc}
     *
     * <p>Here: the matches as of the call, sorted; memory is not a concern of a store that holds every
     * execution in memory already. Closing is optional.
     */
    @Override
    public Stream<Execution> stream(ExecutionQuery q) {
        return matching(q).toList().stream();
    }

    /**
     * {@inheritDoc}
     *
     * <p>Here: one step under the write lock, so nothing can change in between and nothing is skipped.
     */
    @Override
    public BulkResult deleteAll(ExecutionQuery q) {
        synchronized (writeLock) {
            List<String> ids = matching(q).map(Execution::id).toList();
            ids.forEach(this::forget);
            return new BulkResult(ids.size(), ids.size(), 0);
        }
    }

    private Stream<Execution> matching(ExecutionQuery q) {
        Objects.requireNonNull(q, "query must not be null");
        Optional<ExecutionQuery.Position> after = q.position();
        return rows.values().stream()
                .filter(e -> q.matches(e) && after.map(p -> p.comesBefore(e)).orElse(true))
                .sorted(NEWEST_FIRST);
    }
    // ---- Leasing (issue 11): claims, leases, rows set aside, due-work notices ----

    /**
     * A lease as the PostgreSQL store keeps it in {@code lease_owner} and {@code lease_expires_at}: an
     * owner with an expiry; no owner but expired at the epoch (released: claimable at once, running or
     * not); or no entry at all (never held, or given up by a save that parked or ended the execution).
     */
    private record Lease(String owner, Instant expiresAt) {
        static final Lease RELEASED = new Lease(null, Instant.EPOCH);

        /** Whether a claim may take the row: the lease ended, or it has no owner. */
        boolean over(Instant now) {
            return !expiresAt.isAfter(now);
        }
    }

    /** Leases by execution id; guarded by {@code writeLock}. */
    private final Map<String, Lease> leases = new ConcurrentHashMap<>();
    /** Rows set aside, by execution id; guarded by {@code writeLock}. */
    private final Map<String, SetAside> setAside = new ConcurrentHashMap<>();
    private final Set<DueWorkListener> dueListeners = new CopyOnWriteArraySet<>();

    private static final Comparator<Execution> PRIORITY_THEN_OLDEST = Comparator
            .comparingInt(Execution::priority).reversed().thenComparing(OLDEST_FIRST);

    /**
     * {@inheritDoc}
     *
     * <p>Here: one step under the store's lock, so concurrent claimers never take the same execution.
     * Rows cannot be unreadable in memory, so nothing is set aside by a claim.
     */
    @Override
    public Claim claimDue(String workerId, Collection<FlowVersion> flows, Duration leaseTtl, int limit) {
        requireText(workerId, "workerId");
        Set<FlowVersion> served = requireFlows(flows);
        Duration ttl = Arguments.leaseTtl(leaseTtl);
        Arguments.atLeastOne(limit, "limit");
        if (served.isEmpty()) {
            return new Claim(List.of(), List.of());
        }
        synchronized (writeLock) {
            Instant now = now();
            Predicate<Execution> claimable = e -> served.contains(new FlowVersion(e.flowId(), e.flowVersion()))
                    && !setAside.containsKey(e.id());
            Predicate<Execution> free = e -> leaseOf(e.id()).map(l -> l.over(now)).orElse(true);
            // The kinds of due work of the PostgreSQL claim, each in its own order and limit, then together.
            Set<Execution> due = new LinkedHashSet<>();
            rows.values().stream().filter(claimable.and(free)).filter(e -> isWakeDue(e, now))
                    .sorted(EARLIEST_WAKE_FIRST).limit(limit).forEach(due::add);
            rows.values().stream().filter(claimable.and(free)).filter(e -> e.status() == ExecutionStatus.PENDING)
                    .sorted(PRIORITY_THEN_OLDEST).limit(limit).forEach(due::add);
            rows.values().stream().filter(claimable).filter(e -> isAbandoned(e, now, ttl)).limit(limit)
                    .forEach(due::add);
            signals.stream().filter(s -> !WATCH_END_SIGNAL.equals(s.name())).map(s -> {
                Execution e = rows.get(s.executionId());
                return e != null && awaits(e, s) ? e : null;
            }).filter(Objects::nonNull).filter(claimable.and(free)).distinct().limit(limit).forEach(due::add);
            Instant expiresAt = now.plus(ttl);
            List<Execution> claimed = new ArrayList<>();
            for (Execution e : due) {
                if (claimed.size() == limit) {
                    break;
                }
                Lease lease = new Lease(workerId, expiresAt);
                leases.put(e.id(), lease);
                Execution taken = withLease(e.toBuilder().version(e.version() + 1), lease);
                rows.put(taken.id(), taken);
                claimed.add(taken);
            }
            return new Claim(claimed, List.of());
        }
    }

    @Override
    public Optional<Duration> untilNextWake(Collection<FlowVersion> flows) {
        Set<FlowVersion> served = requireFlows(flows);
        synchronized (writeLock) {
            Instant now = now();
            return rows.values().stream()
                    .filter(e -> e.status() == ExecutionStatus.WAITING && e.waitMetadata() != null
                            && e.waitMetadata().wakeAt() != null && !setAside.containsKey(e.id())
                            && served.contains(new FlowVersion(e.flowId(), e.flowVersion()))
                            && leaseOf(e.id()).map(l -> l.over(now)).orElse(true))
                    .map(e -> e.waitMetadata().wakeAt()).min(Comparator.naturalOrder())
                    .map(wakeAt -> Duration.between(now, wakeAt));
        }
    }

    @Override
    public Set<String> renewLeases(String workerId, Collection<String> executionIds, Duration leaseTtl) {
        requireText(workerId, "workerId");
        requireIds(executionIds);
        Duration ttl = Arguments.leaseTtl(leaseTtl);
        synchronized (writeLock) {
            Instant expiresAt = now().plus(ttl);
            return changeLeases(workerId, executionIds, e -> withLease(e.toBuilder(), new Lease(workerId, expiresAt)));
        }
    }

    @Override
    public void releaseLeases(String workerId, Collection<String> executionIds) {
        requireText(workerId, "workerId");
        requireIds(executionIds);
        synchronized (writeLock) {
            changeLeases(workerId, executionIds, e -> withLease(e.toBuilder(), Lease.RELEASED));
        }
    }

    @Override
    public Set<String> revokeLeases(String workerId, Collection<String> executionIds) {
        requireText(workerId, "workerId");
        requireIds(executionIds);
        synchronized (writeLock) {
            return changeLeases(workerId, executionIds,
                    e -> withLease(e.toBuilder().version(e.version() + 1), Lease.RELEASED));
        }
    }

    @Override
    public boolean setAside(String executionId, String column, String reason) {
        requireText(executionId, "executionId");
        Objects.requireNonNull(column, "column must not be null");
        Objects.requireNonNull(reason, "reason must not be null");
        synchronized (writeLock) {
            Execution e = rows.get(executionId);
            if (e == null || setAside.containsKey(executionId)) {
                return false;
            }
            setAside.put(executionId, new SetAside(executionId, column, reason, now()));
            // Released for good, as in the PostgreSQL store: claims skip it until it is restored.
            leases.put(executionId, Lease.RELEASED);
            rows.put(executionId, withLease(e.toBuilder(), Lease.RELEASED));
            return true;
        }
    }

    @Override
    public List<SetAside> findSetAside(int limit) {
        Arguments.atLeastOne(limit, "limit");
        return setAside.values().stream()
                .sorted(Comparator.comparing(SetAside::setAsideAt).thenComparing(SetAside::executionId))
                .limit(limit).toList();
    }

    @Override
    public boolean restoreSetAside(String executionId) {
        requireText(executionId, "executionId");
        synchronized (writeLock) {
            return setAside.remove(executionId) != null;
        }
    }

    /**
     * {@inheritDoc}
     *
     * <p>Here: the listener is told at once that notices may have been missed, then on the saving
     * thread, after each save that leaves an execution pending or waiting with a {@code wakeAt}, and
     * after each signal sent (a watch of {@code Engine.awaitEnd} aside). Nothing can be missed later.
     */
    @Override
    public Subscription subscribe(DueWorkListener listener) {
        DueWorkListener l = Objects.requireNonNull(listener, "listener must not be null");
        dueListeners.add(l);
        l.onMissedNotices();
        return () -> dueListeners.remove(l);
    }

    private Optional<Lease> leaseOf(String id) {
        return Optional.ofNullable(leases.get(id));
    }

    /** The lease columns of PostgreSQL as {@link Execution#leaseOwner()} reports them. */
    private static Execution withLease(Execution.Builder b, Lease lease) {
        return lease == null ? b.build() : b.lease(lease.owner(), lease.expiresAt()).build();
    }

    /** Whether a save leaves the execution waiting or ended, which gives up its lease (V5's trigger). */
    private static boolean parks(Execution e) {
        return e.status() == ExecutionStatus.WAITING || e.status().isTerminal();
    }

    /**
     * The lease a save of {@code e} leaves: the one it had, unless the save parks or ends a held
     * execution, which gives the lease up (V5's trigger, which fires only on a row with an owner).
     */
    private Lease leaseAfterSave(Execution e) {
        Lease lease = leases.get(e.id());
        return lease != null && lease.owner() != null && parks(e) ? null : lease;
    }

    /** Drops the leases the saves just written gave up; under {@code writeLock}, after {@link #write}. */
    private void endLeases(List<Execution> saved) {
        for (Execution e : saved) {
            if (leaseAfterSave(e) == null) {
                leases.remove(e.id());
            }
        }
    }

    private static boolean isWakeDue(Execution e, Instant now) {
        return e.status() == ExecutionStatus.WAITING && e.waitMetadata() != null && e.waitMetadata().wakeAt() != null
                && !e.waitMetadata().wakeAt().isAfter(now);
    }

    /**
     * Running or cancelling, and either its holder's lease expired, or no worker ever held it and it
     * was not saved for a lease's length (a process died while running it directly).
     */
    private boolean isAbandoned(Execution e, Instant now, Duration ttl) {
        if (e.status() != ExecutionStatus.RUNNING && e.status() != ExecutionStatus.CANCELLING) {
            return false;
        }
        Lease lease = leases.get(e.id());
        Instant until = lease != null ? lease.expiresAt() : e.updatedAt().plus(ttl);
        return !until.isAfter(now);
    }

    /** Whether {@code e} waits for the signal {@code s}'s name (or for the children it tells of). */
    private static boolean awaits(Execution e, Signal s) {
        return e.status() == ExecutionStatus.WAITING && e.waitMetadata() != null
                && s.name().equals(e.waitMetadata().data().get("signal"));
    }

    /** Applies {@code change} to the rows {@code workerId} holds; under {@code writeLock}. */
    private Set<String> changeLeases(String workerId, Collection<String> ids,
                                     UnaryOperator<Execution> change) {
        Set<String> changed = new HashSet<>();
        for (String id : ids) {
            Lease lease = leases.get(id);
            Execution e = rows.get(id);
            if (e != null && lease != null && workerId.equals(lease.owner())) {
                Execution next = change.apply(e);
                leases.put(id, next.leaseOwner() == null ? Lease.RELEASED : new Lease(next.leaseOwner(),
                        next.leaseExpiresAt()));
                rows.put(id, next);
                changed.add(id);
            }
        }
        return Set.copyOf(changed);
    }

    private static Set<FlowVersion> requireFlows(Collection<FlowVersion> flows) {
        Objects.requireNonNull(flows, "flows must not be null");
        Set<FlowVersion> served = new HashSet<>();
        for (FlowVersion f : flows) {
            served.add(Objects.requireNonNull(f, "flows must not contain null"));
        }
        return served;
    }

    private static void requireIds(Collection<String> ids) {
        Objects.requireNonNull(ids, "executionIds must not be null");
        ids.forEach(id -> requireText(id, "executionIds element"));
    }

    /** Tells due-work listeners of what was just saved and sent; called after the write lock is released. */
    private void announceDue(List<Execution> saved, Collection<Signal> sent) {
        if (dueListeners.isEmpty()) {
            return;
        }
        for (Execution e : saved) {
            if (e.status() == ExecutionStatus.PENDING) {
                dueListeners.forEach(l -> l.onDue(e.id(), null));
            } else if (e.status() == ExecutionStatus.WAITING && e.waitMetadata() != null
                    && e.waitMetadata().wakeAt() != null) {
                dueListeners.forEach(l -> l.onDue(e.id(), e.waitMetadata().wakeAt()));
            }
        }
        for (Signal s : sent) {
            if (!WATCH_END_SIGNAL.equals(s.name())) {
                dueListeners.forEach(l -> l.onDue(s.executionId(), null));
            }
        }
    }
}
