package io.flowmonkey.engine;

import io.flowmonkey.execution.Cancellation;
import io.flowmonkey.execution.ConcurrentUpdateException;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.LeasingExecutionStore;
import io.flowmonkey.execution.LeasingExecutionStore.FlowVersion;
import io.flowmonkey.internal.Arguments;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs an {@link Engine}'s due work in the background: executions created with
 * {@link Engine#create}, timed waits whose wake-up time has passed, and executions abandoned by a
 * worker that died. Any number of workers, in any number of JVMs, may share one database.
 *
 * <p>How it works: one loop thread claims due executions of the flow versions the engine's
 * {@link FlowRegistry} lists ({@link FlowRegistry#flowIds()}, {@link FlowRegistry#versions(String)})
 * with {@link LeasingExecutionStore#claimDue} (one statement for a batch, leased to this worker until
 * the database's clock passes the lease) and hands them to a pool of {@code threads} runners. While an
 * execution runs, its lease is renewed every third of {@code leaseTtl}; the save that leaves it
 * waiting or ended gives the lease up. The loop looks for work when a notice says some is due
 * (LISTEN/NOTIFY), when the earliest timed wait of its flows falls due (it always knows when that is,
 * by the database's clock, and sleeps until then), when a runner frees up after a full batch, and
 * every {@code pollInterval} in any case.
 *
 * <p>A claimed row that cannot be read is set aside for good ({@link WorkerStats#setAside()},
 * {@link LeasingExecutionStore#findSetAside(int)}), and the rest of its batch runs.
 *
 * <p>Delivery is at least once per step: if a worker dies after a handler ran but before its step
 * was saved, another worker runs that step again once the lease expires. Handlers make their side
 * effects idempotent with {@link StepContext#executionId()}, {@link StepContext#stepId()} and
 * {@link StepContext#attempt()}.
 *
 * <p>Thread-safe. {@link #start()} once; {@link #close()} stops claiming, lets in-flight steps finish
 * for up to the shutdown timeout, and revokes the leases of anything still unfinished.
 */
public final class EngineWorker implements AutoCloseable {

    /** Default runner threads. */
    public static final int DEFAULT_THREADS = 4;
    /** Default time between looks for due work when no notice arrives. */
    public static final Duration DEFAULT_POLL_INTERVAL = Duration.ofSeconds(5);
    /** Default lease length; renewed every third of it while an execution runs. */
    public static final Duration DEFAULT_LEASE_TTL = Duration.ofSeconds(30);
    /** Default time {@link #close()} lets in-flight steps finish. */
    public static final Duration DEFAULT_SHUTDOWN_TIMEOUT = Duration.ofSeconds(30);

    private static final Logger LOG = LoggerFactory.getLogger(EngineWorker.class);
    /** How long the loop waits before looking again after the store failed. */
    private static final Duration ERROR_BACKOFF = Duration.ofSeconds(1);
    /** How long after a notice of work due now the loop looks again, for work the notice stood for. */
    private static final Duration LOOK_AGAIN_AFTER = Duration.ofMillis(100);
    private static final long NEVER = Long.MAX_VALUE;

    private final Engine engine;
    private final LeasingExecutionStore store;
    private final String workerId;
    private final int threads;
    private final Duration pollInterval;
    private final Duration leaseTtl;
    private final Duration shutdownTimeout;

    private final Notices notices = new Notices();
    private final Set<String> inFlight = ConcurrentHashMap.newKeySet();
    /** In flight, and missed one lease renewal: told apart from the run's own final save at the next. */
    private final Set<String> unrenewed = ConcurrentHashMap.newKeySet();
    /** In flight, and its loss already logged. */
    private final Set<String> reported = ConcurrentHashMap.newKeySet();
    /** Revocations that failed, retried by the heartbeat and by {@link #close()}. */
    private final Set<String> pendingRevocations = ConcurrentHashMap.newKeySet();
    private final WakeSchedule schedule = new WakeSchedule();
    private volatile boolean running;
    /** Set once {@link #close()} gives up waiting and revokes what still runs. */
    private volatile boolean revoking;
    private volatile boolean backlog;
    private Thread loop;
    private ExecutorService runners;
    private ScheduledExecutorService timers;
    private LeasingExecutionStore.Subscription subscription;

    private final AtomicLong claimed = new AtomicLong();
    private final AtomicLong completed = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final AtomicLong cancelled = new AtomicLong();
    private final AtomicLong waited = new AtomicLong();
    private final AtomicLong interrupted = new AtomicLong();
    private final AtomicLong errors = new AtomicLong();
    private final AtomicLong leaseLost = new AtomicLong();
    private final AtomicLong setAside = new AtomicLong();
    private final AtomicLong wakeupsByNotify = new AtomicLong();
    private final AtomicLong wakeupsByPoll = new AtomicLong();
    private final AtomicLong wakeupsByDeadline = new AtomicLong();

    private EngineWorker(Builder b) {
        this.engine = b.engine;
        this.store = (LeasingExecutionStore) b.engine.store();
        this.workerId = b.workerId;
        this.threads = b.threads;
        this.pollInterval = b.pollInterval;
        this.leaseTtl = b.leaseTtl;
        this.shutdownTimeout = b.shutdownTimeout;
    }

    /**
     * Starts configuring a worker for {@code engine}, whose store must be a
     * {@link LeasingExecutionStore} (such as {@code PgExecutionStore}).
     *
     * @param engine the engine whose work to run
     * @return a builder with the defaults
     * @throws IllegalArgumentException if the engine's store cannot lease work
     * @throws UnsupportedOperationException if the engine's {@link FlowRegistry} cannot list its flow ids
     */
    public static Builder builder(Engine engine) {
        return new Builder(engine);
    }

    /**
     * Returns this worker's id, as written to {@code lease_owner}.
     *
     * @return the id
     */
    public String workerId() {
        return workerId;
    }

    /**
     * Starts claiming and running due work in the background.
     *
     * @return this worker
     * @throws IllegalStateException if already started, or if the store's connection pool is too small
     *     to hold this worker's LISTEN connection and one more to claim and save (checked for HikariCP
     *     pools; the message gives the rule)
     */
    public synchronized EngineWorker start() {
        if (loop != null) {
            throw new IllegalStateException("worker " + workerId + " was already started");
        }
        // First, so that a store that cannot subscribe leaves no threads behind; notices are ignored
        // until running, and the loop looks for work as it starts anyway.
        try {
            subscription = store.subscribe(notices);
        } catch (IllegalStateException e) {
            throw new IllegalStateException("worker " + workerId + " (" + threads + " threads) cannot start: "
                    + e.getMessage(), e);
        }
        runners = Executors.newFixedThreadPool(threads, named("flowmonkey-run-" + workerId));
        timers = Executors.newSingleThreadScheduledExecutor(named("flowmonkey-timer-" + workerId));
        long renewEvery = Math.max(1, leaseTtl.toMillis() / 3);
        timers.scheduleAtFixedRate(this::heartbeat, renewEvery, renewEvery, TimeUnit.MILLISECONDS);
        running = true;
        loop = named("flowmonkey-claim-" + workerId).newThread(this::claimLoop);
        loop.start();
        LOG.info("Worker {} started: {} threads, poll every {}, lease {}, flows {}", workerId, threads, pollInterval,
                leaseTtl, served());
        return this;
    }

    /**
     * Returns the counters so far.
     *
     * @return a snapshot
     */
    public WorkerStats stats() {
        return new WorkerStats(claimed.get(), completed.get(), failed.get(), cancelled.get(), waited.get(),
                interrupted.get(), errors.get(), leaseLost.get(), setAside.get(), wakeupsByNotify.get(),
                wakeupsByPoll.get(), wakeupsByDeadline.get(), inFlight.size());
    }

    /**
     * Stops gracefully: claims nothing more, waits up to the shutdown timeout for in-flight steps, then
     * revokes the leases of those still running and interrupts them. A revoked lease lets another
     * worker take the execution over at once, and makes the step's save fail even when its handler
     * ignores the interrupt and returns: the step is not saved and runs again elsewhere. A revocation
     * that fails (the database is unreachable) is tried once more before {@code close()} returns;
     * if that fails too, the lease simply expires. Safe to call more than once.
     */
    @Override
    public void close() {
        Thread claimer;
        synchronized (this) {
            if (!running) {
                return;
            }
            running = false;
            claimer = loop;
        }
        schedule.wake(Wake.NOTICE);
        subscription.close();
        join(claimer);
        runners.shutdown();
        try {
            if (!runners.awaitTermination(shutdownTimeout.toMillis(), TimeUnit.MILLISECONDS)) {
                Set<String> unfinished = new HashSet<>(inFlight);
                LOG.warn("Worker {}: {} execution(s) still running after {}; revoking their leases and interrupting "
                        + "them", workerId, unfinished.size(), shutdownTimeout);
                // Before the interrupt: a handler that swallows it and returns must find its save refused.
                revoking = true;
                revoke(unfinished);
                runners.shutdownNow();
                runners.awaitTermination(shutdownTimeout.toMillis(), TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            revoking = true;
            revoke(new HashSet<>(inFlight));
            runners.shutdownNow();
            Thread.currentThread().interrupt();
        }
        timers.shutdownNow();
        retryRevocations();
        if (!pendingRevocations.isEmpty()) {
            LOG.warn("Worker {} could not revoke {} lease(s); they expire in {}", workerId, pendingRevocations.size(),
                    leaseTtl);
        }
        LOG.info("Worker {} stopped: {}", workerId, stats());
    }

    private void claimLoop() {
        while (running) {
            try {
                claimUntilStopped();
            } catch (RuntimeException e) {
                // A bug here must not leave the worker deaf: say so, and carry on after a pause.
                LOG.error("Worker {}: claim loop failed; looking again in {}", workerId, ERROR_BACKOFF, e);
                schedule.await(System.nanoTime() + ERROR_BACKOFF.toNanos());
            }
        }
    }

    private void claimUntilStopped() {
        int dueButNotClaimed = 0;
        while (running) {
            int free = threads - inFlight.size();
            if (free > 0) {
                List<FlowVersion> flows = served();
                LeasingExecutionStore.Claim claim;
                try {
                    claim = store.claimDue(workerId, flows, leaseTtl, free);
                } catch (RuntimeException e) {
                    LOG.warn("Worker {} could not claim work: {}; trying again in {}", workerId, e.getMessage(),
                            ERROR_BACKOFF);
                    schedule.await(System.nanoTime() + ERROR_BACKOFF.toNanos());
                    continue;
                }
                reportSetAside(claim.setAside());
                List<Execution> batch = claim.executions();
                backlog = batch.size() + claim.setAside().size() == free;
                for (Execution e : batch) {
                    claimed.incrementAndGet();
                    inFlight.add(e.id());
                    runners.execute(() -> runClaimed(e));
                }
                if (backlog) {
                    // More may be due: look again as soon as a runner is free, without waiting for a notice.
                    awaitFreeRunner();
                    continue;
                }
                dueButNotClaimed = batch.isEmpty() ? dueButNotClaimed : 0;
                dueButNotClaimed = refreshNextWake(flows, batch.isEmpty(), dueButNotClaimed);
            }
            long pollAt = System.nanoTime() + pollInterval.toNanos();
            Wake reason = schedule.await(pollAt);
            while (reason == Wake.REFRESH && running) {
                // A wait was saved: only the time to sleep until may have changed.
                dueButNotClaimed = refreshNextWake(served(), false, 0);
                reason = schedule.await(pollAt);
            }
            switch (reason) {
                case NOTICE -> wakeupsByNotify.incrementAndGet();
                case DEADLINE -> wakeupsByDeadline.incrementAndGet();
                default -> wakeupsByPoll.incrementAndGet();
            }
        }
    }

    /**
     * Asks the store when the next timed wait of our flows falls due and sleeps until then. A wait that
     * is due already but was not claimed just now (it fell due between claim and look-up) is claimed at
     * once; if that happens twice in a row, the next look is put off a little rather than spun on.
     *
     * @return how many times in a row a due wait went unclaimed
     */
    private int refreshNextWake(List<FlowVersion> flows, boolean claimedNothing, int dueButNotClaimed) {
        Optional<Duration> until;
        try {
            until = store.untilNextWake(flows);
        } catch (RuntimeException e) {
            LOG.debug("Worker {} could not look up its next wake-up: {}; the poll covers it", workerId,
                    e.getMessage());
            return dueButNotClaimed;
        }
        long now = System.nanoTime();
        if (until.isEmpty()) {
            schedule.armDeadline(NEVER);
            return 0;
        }
        if (until.get().compareTo(pollInterval) > 0) {
            // Not before the next poll, which looks again anyway.
            schedule.armDeadline(NEVER);
            return 0;
        }
        long delay = until.get().toNanos();
        if (delay > 0) {
            schedule.armDeadline(now + delay);
            return 0;
        }
        int streak = claimedNothing ? dueButNotClaimed + 1 : 0;
        schedule.armDeadline(streak > 1 ? now + LOOK_AGAIN_AFTER.toNanos() : now);
        return streak;
    }

    /** The flow versions this worker's engine can run, as its registry lists them now. */
    private List<FlowVersion> served() {
        FlowRegistry flows = engine.flows();
        List<FlowVersion> served = new ArrayList<>();
        for (String flowId : flows.flowIds()) {
            for (String version : flows.versions(flowId)) {
                served.add(new FlowVersion(flowId, version));
            }
        }
        return served;
    }

    private void reportSetAside(List<LeasingExecutionStore.SetAside> rows) {
        for (LeasingExecutionStore.SetAside row : rows) {
            setAside.incrementAndGet();
            // Once per row: a row set aside is never claimed again.
            LOG.error("Worker {} set aside execution {}: column {} cannot be read ({}); it is not claimed again "
                    + "until repaired and restored with restoreSetAside", workerId, row.executionId(), row.column(),
                    row.reason());
        }
    }

    private void runClaimed(Execution claimedExecution) {
        String id = claimedExecution.id();
        boolean lookAgain = false;
        try {
            Execution result = engine.runClaimed(claimedExecution).execution();
            switch (result.status()) {
                case COMPLETED -> completed.incrementAndGet();
                case FAILED -> failed.incrementAndGet();
                case CANCELLED -> cancelled.incrementAndGet();
                default -> waited.incrementAndGet();
            }
            // child flows and signals: a signal or a child's end that came while our lease hid the
            // execution found nothing to claim; look again once it has left inFlight (see finally).
            lookAgain = result.status() == ExecutionStatus.WAITING && Engine.awaitsSignal(result);
        } catch (ConcurrentUpdateException e) {
            explainLoss(id, "its step result was not saved");
        } catch (CancellationException e) {
            interrupted.incrementAndGet();
            LOG.info("Worker {} interrupted execution {} while stopping; its step was not saved", workerId, id);
        } catch (RuntimeException | Error e) {
            errors.incrementAndGet();
            LOG.error("Worker {} failed to run execution {}; it will be claimed again when its lease ends", workerId,
                    id, e);
            if (e instanceof VirtualMachineError fatal) {
                throw fatal;
            }
        } finally {
            inFlight.remove(id);
            unrenewed.remove(id);
            reported.remove(id);
            if (backlog) {
                schedule.wake(null);
            }
            if (lookAgain) {
                // After inFlight no longer holds it, so that claiming it again here cannot be undone above.
                notices.onDue(id, null);
            }
        }
    }

    /**
     * Tells why an execution this worker runs was saved by someone else, counts it and logs it once: a
     * user's cancel is an ordinary event, a lease taken over is not.
     */
    private void explainLoss(String id, String consequence) {
        if (revoking) {
            interrupted.incrementAndGet();
            LOG.info("Worker {} revoked its lease on execution {} while stopping; {}", workerId, id, consequence);
            return;
        }
        Execution stored;
        try {
            stored = store.load(id).orElse(null);
        } catch (RuntimeException e) {
            stored = null;
        }
        Cancellation cancel = stored == null ? null : stored.cancellation();
        boolean alreadyReported = !reported.add(id);
        if (cancel != null && (stored.status() == ExecutionStatus.CANCELLING
                || stored.status() == ExecutionStatus.CANCELLED)) {
            if (!alreadyReported) {
                cancelled.incrementAndGet();
                LOG.info("Worker {}: execution {} was cancelled ({}: {}) while this worker ran it; {}", workerId, id,
                        cancel.source(), cancel.reason(), consequence);
            }
        } else if (!alreadyReported) {
            leaseLost.incrementAndGet();
            LOG.warn("Worker {} lost execution {} to {}; {}", workerId, id, stored != null
                    && stored.leaseOwner() != null ? "worker " + stored.leaseOwner() : "another writer", consequence);
        }
    }

    private void heartbeat() {
        renewLeases();
        retryRevocations();
    }

    private void revoke(Set<String> ids) {
        if (ids.isEmpty()) {
            return;
        }
        try {
            store.revokeLeases(workerId, ids);
            pendingRevocations.removeAll(ids);
        } catch (RuntimeException e) {
            pendingRevocations.addAll(ids);
            LOG.warn("Worker {} could not revoke {} lease(s) yet: {}", workerId, ids.size(), e.getMessage());
        }
    }

    private void retryRevocations() {
        revoke(new HashSet<>(pendingRevocations));
    }

    private void renewLeases() {
        Set<String> held = new HashSet<>(inFlight);
        if (held.isEmpty()) {
            return;
        }
        Set<String> renewed;
        try {
            renewed = store.renewLeases(workerId, held, leaseTtl);
        } catch (RuntimeException e) {
            LOG.warn("Worker {} could not renew {} lease(s): {}", workerId, held.size(), e.getMessage());
            return;
        }
        for (String id : held) {
            // A run's own final save gives its lease up too; one still in flight a heartbeat later has lost it.
            if (renewed.contains(id) || !inFlight.contains(id)) {
                unrenewed.remove(id);
            } else if (!unrenewed.add(id)) {
                explainLoss(id, "its next save will fail");
            }
        }
    }

    private void awaitFreeRunner() {
        schedule.awaitUntil(() -> !running || inFlight.size() < threads, pollInterval.toNanos());
    }

    private void join(Thread thread) {
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static ThreadFactory named(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    /** Why the claim loop woke up. */
    private enum Wake {
        /** A notice of work due now, or the look again shortly after one. */
        NOTICE,
        /** A wait was saved: the next wake-up may be sooner. */
        REFRESH,
        /** The earliest known wake-up time came. */
        DEADLINE,
        /** The poll interval passed. */
        POLL
    }

    /**
     * What the claim loop sleeps until: a notice, the next known wake-up time, a second look after a
     * notice, or the poll interval, whichever comes first. Times are {@link System#nanoTime()}.
     */
    private final class WakeSchedule {
        // A lock and condition rather than a monitor: Condition.awaitNanos parks for the time asked,
        // where Object.wait rounds up to the next millisecond.
        private final ReentrantLock lock = new ReentrantLock();
        private final Condition changed = lock.newCondition();
        private Wake pending;
        private long deadline = NEVER;
        private long lookAgain = NEVER;

        void armDeadline(long at) {
            lock.lock();
            try {
                deadline = at;
            } finally {
                lock.unlock();
            }
        }

        void lookAgainAt(long at) {
            lock.lock();
            try {
                lookAgain = Math.min(lookAgain, at);
            } finally {
                lock.unlock();
            }
        }

        /** Wakes the loop; a null reason only lets it re-check what it waits for. */
        void wake(Wake reason) {
            lock.lock();
            try {
                if (reason != null && (pending == null || reason.ordinal() < pending.ordinal())) {
                    pending = reason;
                }
                changed.signalAll();
            } finally {
                lock.unlock();
            }
        }

        /** Sleeps until woken, a known time comes, or {@code pollAt}; returns why. */
        Wake await(long pollAt) {
            lock.lock();
            try {
                while (running) {
                    if (pending != null) {
                        Wake why = pending;
                        pending = null;
                        return why;
                    }
                    long now = System.nanoTime();
                    if (deadline != NEVER && now - deadline >= 0) {
                        deadline = NEVER;
                        return Wake.DEADLINE;
                    }
                    if (lookAgain != NEVER && now - lookAgain >= 0) {
                        lookAgain = NEVER;
                        return Wake.NOTICE;
                    }
                    if (now - pollAt >= 0) {
                        return Wake.POLL;
                    }
                    changed.awaitNanos(Math.min(pollAt, Math.min(deadline, lookAgain)) - now);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                running = false;
            } finally {
                lock.unlock();
            }
            return Wake.POLL;
        }

        /** Sleeps until {@code done} holds, re-checked whenever woken and at least every {@code pollNanos}. */
        void awaitUntil(BooleanSupplier done, long pollNanos) {
            lock.lock();
            try {
                while (!done.getAsBoolean()) {
                    changed.awaitNanos(pollNanos);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                running = false;
            } finally {
                lock.unlock();
            }
        }
    }

    /** Turns notices of due work into wake-ups of the claim loop. */
    private final class Notices implements LeasingExecutionStore.DueWorkListener {
        @Override
        public void onDue(String executionId, Instant wakeAt) {
            if (!running) {
                return;
            }
            if (wakeAt == null) {
                // One notice may stand for pending executions of transactions that committed beside the
                // one that sent it (the store coalesces them), and just after it: look again for those.
                schedule.lookAgainAt(System.nanoTime() + LOOK_AGAIN_AFTER.toNanos());
                schedule.wake(Wake.NOTICE);
            } else {
                // The loop asks the store, whose clock decides when it is due, how long to sleep now.
                schedule.wake(Wake.REFRESH);
            }
        }

        @Override
        public void onMissedNotices() {
            schedule.wake(Wake.NOTICE);
        }
    }

    /** Configures an {@link EngineWorker}. Each setter checks its argument. Not thread-safe. */
    public static final class Builder {
        private final Engine engine;
        private String workerId = defaultWorkerId();
        private int threads = DEFAULT_THREADS;
        private Duration pollInterval = DEFAULT_POLL_INTERVAL;
        private Duration leaseTtl = DEFAULT_LEASE_TTL;
        private Duration shutdownTimeout = DEFAULT_SHUTDOWN_TIMEOUT;

        private Builder(Engine engine) {
            this.engine = Objects.requireNonNull(engine, "engine must not be null");
            if (!(engine.store() instanceof LeasingExecutionStore)) {
                throw new IllegalArgumentException("EngineWorker needs a store that can lease work to workers, such as "
                        + "PgExecutionStore; the engine's store is a " + engine.store().getClass().getName());
            }
            engine.flows().flowIds(); // a registry that cannot list its flows fails here, not in the claim loop
        }

        /**
         * Sets the id written to {@code lease_owner}. Default: host name, process id and a random suffix.
         *
         * @param workerId a non-blank id, unique among live workers
         * @return this builder
         */
        public Builder workerId(String workerId) {
            Arguments.nonBlank(workerId, "workerId");
            this.workerId = workerId;
            return this;
        }

        /**
         * Sets how many executions run at once; also the most claimed by one statement.
         *
         * @param threads at least 1
         * @return this builder
         */
        public Builder threads(int threads) {
            Arguments.atLeastOne(threads, "threads");
            this.threads = threads;
            return this;
        }

        /**
         * Sets how often the worker looks for due work when no notice arrives. A timed wait is woken
         * within this of its {@code wakeAt} even when notices are lost.
         *
         * @param pollInterval at least 10 ms
         * @return this builder
         */
        public Builder pollInterval(Duration pollInterval) {
            this.pollInterval = atLeast("pollInterval", pollInterval, Duration.ofMillis(10));
            return this;
        }

        /**
         * Sets how long a claim lasts without renewal: how soon another worker takes over the
         * executions of a worker that died.
         *
         * @param leaseTtl at least 100 ms
         * @return this builder
         */
        public Builder leaseTtl(Duration leaseTtl) {
            this.leaseTtl = atLeast("leaseTtl", leaseTtl, Duration.ofMillis(100));
            return this;
        }

        /**
         * Sets how long {@link EngineWorker#close()} lets in-flight steps finish before interrupting them.
         *
         * @param shutdownTimeout zero or more
         * @return this builder
         */
        public Builder shutdownTimeout(Duration shutdownTimeout) {
            this.shutdownTimeout = atLeast("shutdownTimeout", shutdownTimeout, Duration.ZERO);
            return this;
        }

        /**
         * Builds the worker; call {@link EngineWorker#start()} to run it.
         *
         * @return the worker, not yet started
         */
        public EngineWorker build() {
            return new EngineWorker(this);
        }

        private static Duration atLeast(String name, Duration value, Duration min) {
            Objects.requireNonNull(value, name + " must not be null");
            if (value.compareTo(min) < 0) {
                throw new IllegalArgumentException(name + " must be at least " + min + ", got " + value);
            }
            return value;
        }

        private static String defaultWorkerId() {
            String host = System.getenv().getOrDefault("HOSTNAME", "host");
            return host + "-" + ProcessHandle.current().pid() + "-" + UUID.randomUUID().toString().substring(0, 8);
        }
    }
}
