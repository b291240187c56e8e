package io.flowmonkey.engine;

import io.flowmonkey.execution.ConcurrentUpdateException;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionDataException;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.LeasingExecutionStore;
import io.flowmonkey.execution.LeasingExecutionStore.FlowVersion;
import io.flowmonkey.execution.WorkerRegistry;
import io.flowmonkey.internal.Arguments;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
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
 * the database's clock passes the lease) and hands them to its runners, {@code threads} of them. While an
 * execution runs, its lease is renewed every third of {@code leaseTtl}; the save that leaves it
 * waiting or ended gives the lease up. The loop looks for work when a notice says some is due
 * (LISTEN/NOTIFY), when the earliest timed wait of its flows falls due (it always knows when that is,
 * by the database's clock, and sleeps until then), when a runner frees up after a full batch, and
 * every {@code pollInterval} in any case.
 *
 * <p>Claiming ahead: while claims come back full (more is due than the runners take), the loop also
 * claims up to {@code claimAhead} executions beyond the free runners, kept in a local buffer that the
 * runners take from as they free up, so that one claim serves several executions even with one
 * runner. Buffered executions are leased and renewed like running ones, the buffer is refilled only
 * once less than half of it is left, and {@link #close()} gives back the leases of those that never
 * started. The step saves of the runners are written together: saves that are waiting while another
 * runner's batch commits go in the next batch, one statement and one commit for all of them, each
 * checked against its own version ({@link LeasingExecutionStore#saveAllVersioned}); the writer of a
 * batch first waits, up to a millisecond, for the runners the last batch released, when they usually
 * come back that soon; a runner goes on only once its own save committed. A runner whose execution's
 * plain save ends the run (the execution ends or waits) lends its place while that save commits:
 * another runner thread starts the next claimed execution meanwhile, so the worker keeps up to twice
 * {@code threads} runner threads, and never runs more than {@code threads} steps at once.
 *
 * <p>A claimed row that cannot be read is set aside for good ({@link WorkerStats#setAside()},
 * {@link LeasingExecutionStore#findSetAside(int)}), and the rest of its batch runs.
 *
 * <p>Delivery is at least once per step: if a worker dies after a handler ran but before its step
 * was saved, another worker runs that step again once the lease expires. Handlers make their side
 * effects idempotent with {@link StepContext#executionId()}, {@link StepContext#stepId()} and
 * {@link StepContext#attempt()}.
 *
 * <p>On a store that is a {@link WorkerRegistry} (such as {@code PgExecutionStore}), the worker keeps a
 * heartbeat row there from {@link #start()} to {@link #close()}: its id, host, process, the flow versions
 * it serves, threads, executions in flight, last claim and the claim lateness of its last hour,
 * written with each lease renewal (no thread of its own) and counted live for {@code leaseTtl} after
 * each. {@link Engine#diagnose(String)} and the admin console read them.
 *
 * <p>Thread-safe. {@link #start()} once; {@link #close()} stops claiming, lets in-flight steps finish
 * for up to the shutdown timeout, and revokes the leases of anything still unfinished.
 */
public final class EngineWorker implements AutoCloseable {

    /** Default number of runners: how many executions' steps run at once. */
    public static final int DEFAULT_THREADS = 4;
    /** Default time between looks for due work when no notice arrives. */
    public static final Duration DEFAULT_POLL_INTERVAL = Duration.ofSeconds(5);
    /** Default lease length; renewed every third of it while an execution runs. */
    public static final Duration DEFAULT_LEASE_TTL = Duration.ofSeconds(30);
    /** Default time {@link #close()} lets in-flight steps finish. */
    public static final Duration DEFAULT_SHUTDOWN_TIMEOUT = Duration.ofSeconds(30);
    /** Default most executions claimed ahead of the free runners, while claims come back full. */
    public static final int DEFAULT_CLAIM_AHEAD = 4;
    /** Default most step saves written in one statement. */
    public static final int DEFAULT_SAVE_BATCH_SIZE = 64;
    /** The largest claim-ahead buffer or save batch a worker accepts. */
    public static final int MAX_BATCH = 1_000;
    /** How long a claimed execution may wait in the buffer before its lease is checked as it starts. */
    private static final long BUFFERED_CHECK_AFTER_NANOS = Duration.ofMillis(200).toNanos();
    /** The longest poll interval, lease or shutdown timeout a worker accepts: 365 days. */
    public static final Duration MAX_SETTING = Duration.ofDays(365);

    private static final Logger LOG = LoggerFactory.getLogger(EngineWorker.class);
    /** How long the loop waits before looking again after the store failed. */
    private static final Duration ERROR_BACKOFF = Duration.ofSeconds(1);

    private final Engine engine;
    private final LeasingExecutionStore store;
    private final String workerId;
    private final int threads;
    private final Duration pollInterval;
    private final Duration leaseTtl;
    private final Duration shutdownTimeout;
    private final int claimAhead;
    private final SaveCommitter committer;
    /** A slot per runner; a runner whose run's last save commits lends its slot to the next execution. */
    private final StepSlots slots;

    /** What this worker holds a lease on: running, its last save committing, or in the claim-ahead buffer. */
    private final Set<String> inFlight = ConcurrentHashMap.newKeySet();
    private final WakeSignals schedule = new WakeSignals(() -> this.running, () -> this.running = false);
    private final LeaseKeeper leases;
    /** The worker's heartbeat row, when the store keeps them (a {@link WorkerRegistry}); else null. */
    private final Presence presence;
    private volatile boolean running;
    private volatile boolean backlog;
    private Thread loop;
    private ThreadPoolExecutor runners;
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
        this.claimAhead = b.claimAhead;
        this.committer = new SaveCommitter(store, b.saveBatchSize);
        this.slots = new StepSlots(threads, threads, () -> schedule.wake(null));
        this.leases = new LeaseKeeper(store, workerId, leaseTtl, inFlight, interrupted, cancelled, leaseLost,
                engine.events());
        // Live for a lease's length after each heartbeat: a worker silent that long has lost its leases too.
        this.presence = store instanceof WorkerRegistry registry ? new Presence(registry, workerId, threads, leaseTtl,
                b.engine.clock(), this::served, inFlight::size) : null;
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
            subscription = store.subscribe(schedule);
        } catch (IllegalStateException e) {
            throw new IllegalStateException("worker " + workerId + " (" + threads + " threads) cannot start: "
                    + e.getMessage(), e);
        }
        // The runners' queue is the claim-ahead buffer. Twice as many threads as runners: one more for
        // each slot a runner may lend while its run's last save commits (StepSlots).
        runners = new ThreadPoolExecutor(2 * threads, 2 * threads, 0, TimeUnit.MILLISECONDS,
                new LinkedBlockingQueue<>(), named("flowmonkey-run-" + workerId));
        timers = Executors.newSingleThreadScheduledExecutor(named("flowmonkey-timer-" + workerId));
        long renewEvery = Math.max(1, leaseTtl.toMillis() / 3);
        timers.scheduleAtFixedRate(this::heartbeat, renewEvery, renewEvery, TimeUnit.MILLISECONDS);
        if (presence != null) {
            presence.beat(); // visible from the moment start() returns
        }
        running = true;
        loop = named("flowmonkey-claim-" + workerId).newThread(this::claimLoop);
        loop.start();
        LOG.info("Worker {} started: {} threads, claim ahead {}, poll every {}, lease {}, flows {}", workerId, threads,
                claimAhead, pollInterval, leaseTtl, served());
        return this;
    }

    /**
     * Runs one pass on the calling thread, for tests (db-scheduler's {@code ManualScheduler} idea):
     * claims up to {@code threads} due executions in one statement, as the background loop would, runs
     * each one it claimed on the calling thread in turn (until it waits, ends, or reaches the engine's
     * step limit), and returns what the pass did. Due work claimed by nobody else is all a pass sees:
     * call it again to run what a pass made due, such as a timed wait whose time has come.
     *
     * <p>Nothing runs in the background: no notices, no poll, no lease renewal. A step that takes
     * longer than {@code leaseTtl} may lose its lease, and then its save is refused and counted in
     * {@link WorkerStats#leaseLost()}. For a worker that is not started; synchronized with
     * {@link #start()}.
     *
     * @return the counters of this pass alone ({@code wakeupsBy*} and {@code inFlight} are 0)
     * @throws IllegalStateException if the worker was started
     * @throws io.flowmonkey.execution.StoreException if the claim fails
     */
    public synchronized WorkerStats runOnce() {
        if (loop != null) {
            throw new IllegalStateException("worker " + workerId + " was started; runOnce() is for a worker that is "
                    + "not, so that no background pass claims beside it");
        }
        WorkerStats before = stats();
        LeasingExecutionStore.Claim claim = engine.events().timed(StoreCall.Operation.CLAIM,
                () -> store.claimDue(workerId, served(), leaseTtl, threads));
        reportSetAside(claim.setAside());
        for (Execution e : claim.executions()) {
            claimed.incrementAndGet();
            inFlight.add(e.id());
            engine.events().claimed(e, workerId);
            runClaimed(e, null);
        }
        WorkerStats after = stats();
        return new WorkerStats(after.claimed() - before.claimed(), after.completed() - before.completed(),
                after.failed() - before.failed(), after.cancelled() - before.cancelled(),
                after.waited() - before.waited(), after.interrupted() - before.interrupted(),
                after.errors() - before.errors(), after.leaseLost() - before.leaseLost(),
                after.setAside() - before.setAside(), 0, 0, 0, 0);
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
        schedule.wake(WakeSignals.Wake.NOTICE);
        subscription.close();
        join(claimer);
        releaseBuffered();
        runners.shutdown();
        try {
            if (!runners.awaitTermination(shutdownTimeout.toMillis(), TimeUnit.MILLISECONDS)) {
                Set<String> unfinished = new HashSet<>(inFlight);
                LOG.warn("Worker {}: {} execution(s) still running after {}; revoking their leases and interrupting "
                        + "them", workerId, unfinished.size(), shutdownTimeout);
                leases.revokeStillRunning(unfinished);
                runners.shutdownNow();
                runners.awaitTermination(shutdownTimeout.toMillis(), TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            leases.revokeStillRunning(new HashSet<>(inFlight));
            runners.shutdownNow();
            Thread.currentThread().interrupt();
        }
        timers.shutdownNow();
        if (presence != null) {
            presence.leave();
        }
        leases.retryRevocations();
        if (leases.pendingRevocations() > 0) {
            LOG.warn("Worker {} could not revoke {} lease(s); they expire in {}", workerId, leases.pendingRevocations(),
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
            int free = roomToClaim();
            if (free <= 0) {
                // Woken (a notice, a wake-up time, the poll) while the runners and the buffer are all taken:
                // look as soon as there is room, not at the next notice, which may be a poll interval away.
                awaitRoom();
                free = roomToClaim();
            }
            if (free > 0) {
                List<FlowVersion> flows = served();
                int limit = free;
                LeasingExecutionStore.Claim claim;
                try {
                    claim = engine.events().timed(StoreCall.Operation.CLAIM,
                            () -> store.claimDue(workerId, flows, leaseTtl, limit));
                } catch (RuntimeException e) {
                    LOG.warn("Worker {} could not claim work: {}; trying again in {}", workerId, e.getMessage(),
                            ERROR_BACKOFF);
                    schedule.await(System.nanoTime() + ERROR_BACKOFF.toNanos());
                    continue;
                }
                reportSetAside(claim.setAside());
                List<Execution> batch = claim.executions();
                if (presence != null) {
                    presence.claimed(batch);
                }
                backlog = batch.size() + claim.setAside().size() == free;
                for (Execution e : batch) {
                    if (!inFlight.add(e.id())) {
                        // Still running here on a lease that expired (a long pause); the claim won it back,
                        // but a second run beside the first would repeat its step. Give it up at once:
                        // the first run's save is refused on version, and another claim takes it.
                        LOG.debug("Worker {} claimed execution {} while still running it; released", workerId, e.id());
                        try {
                            store.releaseLeases(workerId, List.of(e.id()));
                        } catch (RuntimeException notReleased) {
                            LOG.debug("Worker {} could not release execution {}; its lease will expire", workerId,
                                    e.id(), notReleased);
                        }
                        continue;
                    }
                    claimed.incrementAndGet();
                    engine.events().claimed(e, workerId);
                    runners.execute(new ClaimedRun(e));
                }
                if (backlog) {
                    // More may be due: look again as soon as there is room, without waiting for a notice.
                    awaitRoom();
                    continue;
                }
                dueButNotClaimed = batch.isEmpty() ? dueButNotClaimed : 0;
                dueButNotClaimed = refreshNextWake(flows, batch.isEmpty(), dueButNotClaimed);
            }
            long pollAt = System.nanoTime() + pollInterval.toNanos();
            WakeSignals.Wake reason = schedule.await(pollAt);
            while (reason == WakeSignals.Wake.REFRESH && running) {
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
            schedule.armDeadline(WakeSignals.NEVER);
            return 0;
        }
        if (until.get().compareTo(pollInterval) > 0) {
            // Not before the next poll, which looks again anyway.
            schedule.armDeadline(WakeSignals.NEVER);
            return 0;
        }
        long delay = until.get().toNanos();
        if (delay > 0) {
            schedule.armDeadline(now + delay);
            return 0;
        }
        int streak = claimedNothing ? dueButNotClaimed + 1 : 0;
        schedule.armDeadline(streak > 1 ? now + WakeSignals.LOOK_AGAIN_AFTER.toNanos() : now);
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
            engine.events().setAside(row.executionId(), null, row.column());
        }
    }

    /**
     * How many executions to claim now: one per free runner; while claims come back full, also enough
     * to fill the claim-ahead buffer, once less than half of it is left.
     */
    private int roomToClaim() {
        // An execution whose runner lent its slot takes no room: only its last save is left.
        int held = inFlight.size() - slots.lent();
        if (backlog && claimAhead > 0) {
            return buffered() * 2 < claimAhead ? threads + claimAhead - held : 0;
        }
        return threads - held;
    }

    /** Claimed and not started: in the runners' queue, or taken by a runner that waits for a slot. */
    private int buffered() {
        return runners.getQueue().size() + slots.waiting();
    }

    /** Claimed ahead and not started: gives their leases back, so that any worker may run them at once. */
    private void releaseBuffered() {
        slots.stopStarting();
        List<Runnable> unstarted = new ArrayList<>();
        runners.getQueue().drainTo(unstarted);
        List<String> ids = new ArrayList<>(unstarted.size());
        for (Runnable r : unstarted) {
            ids.add(((ClaimedRun) r).execution.id());
        }
        if (!ids.isEmpty() && giveBack(ids)) {
            LOG.info("Worker {} released {} execution(s) it had claimed ahead and not started", workerId, ids.size());
        }
    }

    /**
     * Gives back the leases of claimed executions that will not start here, so that any worker may run
     * them at once.
     *
     * @return whether the store took them back; if not, their leases expire
     */
    private boolean giveBack(List<String> ids) {
        for (String id : ids) {
            inFlight.remove(id);
            leases.released(id);
        }
        try {
            store.releaseLeases(workerId, ids);
            return true;
        } catch (RuntimeException e) {
            LOG.warn("Worker {} could not release {} execution(s) it had claimed ahead: {}; their leases expire in {}",
                    workerId, ids.size(), e.getMessage(), leaseTtl);
            return false;
        }
    }

    /** A claimed execution handed to the runners, waiting in their queue (the buffer) until one is free. */
    private final class ClaimedRun implements Runnable {
        final Execution execution;
        final long claimedAt = System.nanoTime();

        ClaimedRun(Execution execution) {
            this.execution = execution;
        }

        @Override
        public void run() {
            try {
                if (!slots.take()) {
                    // Taken from the buffer before close() gave the rest of it back: give this one back too.
                    giveBack(List.of(execution.id()));
                    return;
                }
            } catch (InterruptedException stopping) {
                // Stopping (shutdownNow): it never started, so any worker may run it at once.
                giveBack(List.of(execution.id()));
                Thread.currentThread().interrupt();
                return;
            }
            try {
                start();
            } finally {
                slots.done();
            }
        }

        private void start() {
            if (backlog && buffered() * 2 < claimAhead) {
                schedule.wake(null); // the buffer runs low: the loop may claim ahead again
            }
            // A row that sat in the buffer may have been cancelled or taken over meanwhile: its copy is
            // stale, and its step must not run on it (the save after would be refused, but the handler
            // would have run). One renewal tells; rows started at once are not asked, to keep claims cheap.
            if (System.nanoTime() - claimedAt > BUFFERED_CHECK_AFTER_NANOS && !leases.stillHeld(execution.id())) {
                finished(execution.id(), false);
                return;
            }
            runClaimed(execution, slots);
        }
    }

    private void runClaimed(Execution claimedExecution, StepSlots stepSlots) {
        String id = claimedExecution.id();
        boolean lookAgain = false;
        try {
            Execution result = engine.runClaimed(claimedExecution, committer, stepSlots).execution();
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
            leases.explainLoss(id, "its step result was not saved");
        } catch (CancellationException e) {
            interrupted.incrementAndGet();
            LOG.info("Worker {} interrupted execution {} while stopping; its step was not saved", workerId, id);
        } catch (ExecutionDataException unreadable) {
            // Something the run had to read (a buffered signal, a child's row) cannot be decoded; the
            // claim would hand this execution out again every lease, so set it aside for an operator.
            if (store.setAside(id, unreadable.column(), String.valueOf(unreadable.getMessage()))) {
                setAside.incrementAndGet();
                LOG.error("Worker {} set aside execution {}: {} cannot be read ({}); it is not claimed again until "
                        + "repaired and restored with restoreSetAside", workerId, id, unreadable.column(),
                        unreadable.getMessage());
                engine.events().setAside(id, claimedExecution, unreadable.column());
            } else {
                errors.incrementAndGet();
            }
        } catch (RuntimeException | Error e) {
            errors.incrementAndGet();
            LOG.error("Worker {} failed to run execution {}; it will be claimed again when its lease ends", workerId,
                    id, e);
            if (e instanceof VirtualMachineError fatal) {
                throw fatal;
            }
        } finally {
            finished(id, lookAgain);
        }
    }

    private void finished(String id, boolean lookAgain) {
        // First, so that the claim loop never counts a lent slot of an execution no longer in flight.
        slots.done();
        inFlight.remove(id);
        leases.released(id);
        schedule.wake(null); // there is room: a loop waiting for some may claim
        if (lookAgain) {
            // After inFlight no longer holds it, so that claiming it again here cannot be undone above.
            schedule.onDue(id, null);
        }
    }

    /** The timer's beat: lease renewals, then this worker's heartbeat row, which never throws. */
    private void heartbeat() {
        leases.heartbeat();
        if (presence != null) {
            presence.beat();
        }
    }

    private void awaitRoom() {
        schedule.awaitUntil(() -> !running || roomToClaim() > 0, pollInterval.toNanos());
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

    /** Configures an {@link EngineWorker}. Each setter checks its argument. Not thread-safe. */
    public static final class Builder {
        private final Engine engine;
        private String workerId = defaultWorkerId();
        private int threads = DEFAULT_THREADS;
        private Duration pollInterval = DEFAULT_POLL_INTERVAL;
        private Duration leaseTtl = DEFAULT_LEASE_TTL;
        private Duration shutdownTimeout = DEFAULT_SHUTDOWN_TIMEOUT;
        private int claimAhead = DEFAULT_CLAIM_AHEAD;
        private int saveBatchSize = DEFAULT_SAVE_BATCH_SIZE;

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
            // Refused here, not by every claim of a worker that would then never run anything.
            this.workerId = Options.storableText(Arguments.nonBlank(workerId, "workerId"), "workerId");
            return this;
        }

        /**
         * Sets how many executions run at once; one claim takes at most the free runners plus
         * {@link #claimAhead(int)}. While the save that ends a run commits (the execution ended or
         * waits), its runner lends its place to the next claimed execution, so the worker keeps up to
         * twice as many runner threads; never more than {@code threads} steps run at once.
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
         * Sets how many executions the worker may claim beyond its free runners, while claims come back
         * full: a local buffer, leased and renewed like running executions, that lets one claim serve
         * several executions. It is refilled once less than half of it is left, and only while more is
         * due than the worker takes, so an idle worker elsewhere is not starved of work this one holds;
         * still, a buffered execution waits for a runner of this worker, so keep it small when steps are
         * slow. {@link EngineWorker#close()} releases what never started. Default
         * {@value EngineWorker#DEFAULT_CLAIM_AHEAD}; 0 claims only for free runners.
         *
         * @param claimAhead 0 to {@value EngineWorker#MAX_BATCH}
         * @return this builder
         */
        public Builder claimAhead(int claimAhead) {
            this.claimAhead = within("claimAhead", claimAhead, 0);
            return this;
        }

        /**
         * Sets the most step saves of this worker's runners written in one statement and commit. A
         * batch holds the saves that waited while the previous one was written, and its writer first
         * waits, at most 1 ms, for the runners the previous batch released, while they usually come
         * back that soon. Default {@value EngineWorker#DEFAULT_SAVE_BATCH_SIZE}; 1 writes each save by
         * itself, at once.
         *
         * @param saveBatchSize 1 to {@value EngineWorker#MAX_BATCH}
         * @return this builder
         */
        public Builder saveBatchSize(int saveBatchSize) {
            this.saveBatchSize = within("saveBatchSize", saveBatchSize, 1);
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

        private static int within(String name, int value, int min) {
            if (value < min || value > MAX_BATCH) {
                throw new IllegalArgumentException(name + " must be between " + min + " and " + MAX_BATCH + ", got "
                        + value);
            }
            return value;
        }

        private static Duration atLeast(String name, Duration value, Duration min) {
            Objects.requireNonNull(value, name + " must not be null");
            if (value.compareTo(min) < 0) {
                throw new IllegalArgumentException(name + " must be at least " + min + ", got " + value);
            }
            // The worker times its sleeps in nanoseconds, which hold about 292 years.
            if (value.compareTo(MAX_SETTING) > 0) {
                throw new IllegalArgumentException(name + " must be at most " + MAX_SETTING.toDays() + " days, got "
                        + value);
            }
            return value;
        }

        private static String defaultWorkerId() {
            String host = System.getenv().getOrDefault("HOSTNAME", "host");
            return host + "-" + ProcessHandle.current().pid() + "-" + UUID.randomUUID().toString().substring(0, 8);
        }
    }
}
