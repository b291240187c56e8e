package io.flowmonkey.engine;

import io.flowmonkey.execution.ConcurrentUpdateException;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.LeasingExecutionStore;
import io.flowmonkey.execution.WaitMetadata;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
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
 * <p>How it works: one loop thread claims due executions of the engine's flows with
 * {@link LeasingExecutionStore#claimDue} (one statement for a batch, leased to this worker until the
 * database's clock passes the lease) and hands them to a pool of {@code threads} runners. While an
 * execution runs, its lease is renewed every third of {@code leaseTtl}. The loop looks for work when
 * a notice says some is due (LISTEN/NOTIFY; a timed wait is woken at its {@code wakeAt}), when a
 * runner frees up after a full batch, and every {@code pollInterval} in any case. The leases of
 * executions that ended are cleared in one statement per heartbeat.
 *
 * <p>Delivery is at least once per step: if a worker dies after a handler ran but before its step
 * was saved, another worker runs that step again once the lease expires. Handlers make their side
 * effects idempotent with {@link StepContext#executionId()}, {@link StepContext#stepId()} and
 * {@link StepContext#attempt()}.
 *
 * <p>Thread-safe. {@link #start()} once; {@link #close()} stops claiming, lets in-flight steps finish
 * for up to the shutdown timeout, and releases the leases of anything still unfinished.
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

    private final Engine engine;
    private final LeasingExecutionStore store;
    private final String workerId;
    private final int threads;
    private final Duration pollInterval;
    private final Duration leaseTtl;
    private final Duration shutdownTimeout;

    private final Notices notices = new Notices();
    private final Set<String> inFlight = ConcurrentHashMap.newKeySet();
    private final Set<String> lost = ConcurrentHashMap.newKeySet();
    private final Set<String> finished = ConcurrentHashMap.newKeySet();
    private final Object signal = new Object();
    private boolean notified;
    private volatile boolean running;
    private volatile boolean backlog;
    private Thread loop;
    private ExecutorService runners;
    private ScheduledExecutorService timers;
    private LeasingExecutionStore.Subscription subscription;

    private final AtomicLong claimed = new AtomicLong();
    private final AtomicLong completed = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final AtomicLong leaseLost = new AtomicLong();
    private final AtomicLong wakeupsByNotify = new AtomicLong();
    private final AtomicLong wakeupsByPoll = new AtomicLong();

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
     * @throws IllegalStateException if already started
     */
    public synchronized EngineWorker start() {
        if (loop != null) {
            throw new IllegalStateException("worker " + workerId + " was already started");
        }
        // First, so that a store that cannot subscribe leaves no threads behind; notices are ignored
        // until running, and the loop looks for work as it starts anyway.
        subscription = store.subscribe(notices);
        runners = Executors.newFixedThreadPool(threads, named("flowmonkey-run-" + workerId));
        timers = Executors.newSingleThreadScheduledExecutor(named("flowmonkey-timer-" + workerId));
        long renewEvery = Math.max(1, leaseTtl.toMillis() / 3);
        timers.scheduleAtFixedRate(this::heartbeat, renewEvery, renewEvery, TimeUnit.MILLISECONDS);
        running = true;
        loop = named("flowmonkey-claim-" + workerId).newThread(this::claimLoop);
        loop.start();
        LOG.info("Worker {} started: {} threads, poll every {}, lease {}", workerId, threads, pollInterval, leaseTtl);
        return this;
    }

    /**
     * Returns the counters so far.
     *
     * @return a snapshot
     */
    public WorkerStats stats() {
        return new WorkerStats(claimed.get(), completed.get(), failed.get(), leaseLost.get(), wakeupsByNotify.get(),
                wakeupsByPoll.get(), inFlight.size());
    }

    /**
     * Stops gracefully: claims nothing more, waits up to the shutdown timeout for in-flight steps,
     * interrupts those still running (their steps are not saved), and releases their leases so that
     * other workers take them over at once. Safe to call more than once.
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
        wake(false);
        subscription.close();
        join(claimer);
        runners.shutdown();
        Set<String> unfinished = new HashSet<>();
        try {
            if (!runners.awaitTermination(shutdownTimeout.toMillis(), TimeUnit.MILLISECONDS)) {
                unfinished.addAll(inFlight);
                LOG.warn("Worker {}: {} execution(s) still running after {}; interrupting them", workerId,
                        unfinished.size(), shutdownTimeout);
                runners.shutdownNow();
                runners.awaitTermination(shutdownTimeout.toMillis(), TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            unfinished.addAll(inFlight);
            runners.shutdownNow();
            Thread.currentThread().interrupt();
        }
        timers.shutdownNow();
        unfinished.addAll(inFlight);
        // Interrupted steps were not saved: let another worker take them over now, not after the lease.
        release(unfinished);
        releaseFinished();
        LOG.info("Worker {} stopped: {}", workerId, stats());
    }

    private void claimLoop() {
        while (running) {
            int free = threads - inFlight.size();
            if (free > 0) {
                List<Execution> batch;
                try {
                    Set<String> flowIds = engine.flows().flowIds();
                    batch = flowIds.isEmpty() ? List.of() : store.claimDue(workerId, flowIds, leaseTtl, free);
                } catch (RuntimeException e) {
                    LOG.warn("Worker {} could not claim work: {}; trying again in {}", workerId, e.getMessage(),
                            ERROR_BACKOFF);
                    await(ERROR_BACKOFF);
                    continue;
                }
                backlog = batch.size() == free;
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
            }
            if (await(pollInterval)) {
                wakeupsByNotify.incrementAndGet();
            } else {
                wakeupsByPoll.incrementAndGet();
            }
        }
    }

    private void runClaimed(Execution claimedExecution) {
        String id = claimedExecution.id();
        boolean lookAgain = false;
        try {
            Execution result = engine.runClaimed(claimedExecution).execution();
            completed.incrementAndGet();
            if (result.status().isTerminal()) {
                // Released with the next heartbeat, batched, rather than with a statement of its own.
                finished.add(id);
            } else {
                // A waiting execution must be claimable by anyone once it is due, not only after the lease.
                store.releaseLeases(workerId, List.of(id));
                // child flows and signals: a signal or a child's end that came while our lease hid the
                // execution found nothing to claim; look again once the lease is released (see finally).
                lookAgain = Engine.awaitsSignal(result);
                WaitMetadata wait = result.waitMetadata();
                if (wait != null && wait.wakeAt() != null) {
                    // Its notice went out with the save, while our lease still hid it from claims.
                    notices.onDue(id, wait.wakeAt());
                }
            }
        } catch (ConcurrentUpdateException e) {
            if (lost.add(id)) {
                leaseLost.incrementAndGet();
            }
            LOG.warn("Worker {} lost execution {} to another writer; its step result was not saved ({})", workerId,
                    id, e.getMessage());
        } catch (CancellationException e) {
            failed.incrementAndGet();
            LOG.info("Worker {} interrupted execution {} while stopping; its step was not saved", workerId, id);
        } catch (RuntimeException | Error e) {
            failed.incrementAndGet();
            LOG.error("Worker {} failed to run execution {}; it will be claimed again when its lease ends", workerId,
                    id, e);
            if (e instanceof VirtualMachineError fatal) {
                throw fatal;
            }
        } finally {
            inFlight.remove(id);
            lost.remove(id);
            if (backlog) {
                wake(false);
            }
            if (lookAgain) {
                // After inFlight no longer holds it, so that claiming it again here cannot be undone above.
                notices.onDue(id, null);
            }
        }
    }

    private void heartbeat() {
        renewLeases();
        releaseFinished();
    }

    /** Clears the leases of executions that ended, in one statement for all since the last heartbeat. */
    private void releaseFinished() {
        Set<String> ended = new HashSet<>(finished);
        if (!ended.isEmpty()) {
            finished.removeAll(ended);
            release(ended);
        }
    }

    private void release(Set<String> ids) {
        if (ids.isEmpty()) {
            return;
        }
        try {
            store.releaseLeases(workerId, ids);
        } catch (RuntimeException e) {
            LOG.warn("Worker {} could not release {} lease(s); they expire in {}", workerId, ids.size(), leaseTtl, e);
        }
    }

    private void renewLeases() {
        Set<String> held = new HashSet<>(inFlight);
        if (held.isEmpty()) {
            return;
        }
        try {
            Set<String> renewed = store.renewLeases(workerId, held, leaseTtl);
            for (String id : held) {
                if (!renewed.contains(id) && inFlight.contains(id) && lost.add(id)) {
                    leaseLost.incrementAndGet();
                    LOG.warn("Worker {} lost its lease on execution {}; its next save will fail", workerId, id);
                }
            }
        } catch (RuntimeException e) {
            LOG.warn("Worker {} could not renew {} lease(s): {}", workerId, held.size(), e.getMessage());
        }
    }

    /** Waits for a notice or the timeout; returns true when a notice ended the wait. */
    private boolean await(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (signal) {
            try {
                while (!notified && running) {
                    long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                    if (left <= 0) {
                        break;
                    }
                    signal.wait(left);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                running = false;
            }
            boolean byNotice = notified;
            notified = false;
            return byNotice;
        }
    }

    private void awaitFreeRunner() {
        synchronized (signal) {
            try {
                while (running && inFlight.size() >= threads) {
                    signal.wait(pollInterval.toMillis());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                running = false;
            }
        }
    }

    private void wake(boolean notice) {
        synchronized (signal) {
            notified |= notice;
            signal.notifyAll();
        }
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

    /** Turns notices of due work into wake-ups, now or at the work's wake-up time. */
    private final class Notices implements LeasingExecutionStore.DueWorkListener {
        @Override
        public void onDue(String executionId, Instant wakeAt) {
            if (!running) {
                return;
            }
            // Rounded up: a timer that fires before wakeAt finds nothing due, and the work then waits a poll.
            long delay = wakeAt == null ? 0
                    : (Duration.between(engine.clock().instant(), wakeAt).toNanos() + 999_999) / 1_000_000;
            if (delay <= 0) {
                wake(true);
                // One notice may stand for pending executions of transactions that committed beside the
                // one that sent it (the store coalesces them), and just after it: look again for those.
                wakeAfter(LOOK_AGAIN_AFTER.toMillis());
            } else if (delay < pollInterval.toMillis()) {
                wakeAfter(delay);
            }
        }

        private void wakeAfter(long millis) {
            try {
                timers.schedule(() -> wake(true), millis, TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException closing) {
                // The worker is stopping; nothing to wake.
            }
        }

        @Override
        public void onMissedNotices() {
            wake(true);
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
            if (workerId == null || workerId.isBlank()) {
                throw new IllegalArgumentException("workerId must be a non-blank string, got "
                        + (workerId == null ? "null" : "'" + workerId + "'"));
            }
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
            if (threads < 1) {
                throw new IllegalArgumentException("threads must be at least 1, got " + threads);
            }
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
