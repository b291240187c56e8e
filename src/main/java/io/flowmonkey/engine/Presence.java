package io.flowmonkey.engine;

import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.LeasingExecutionStore.FlowVersion;
import io.flowmonkey.execution.WorkerHeartbeat;
import io.flowmonkey.execution.WorkerHeartbeat.ClaimLateness;
import io.flowmonkey.execution.WorkerRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An {@link EngineWorker}'s row in its store's {@link WorkerRegistry}: written on the lease keeper's
 * cadence, removed when the worker stops, and carrying the claim lateness the worker measured over the
 * last hour. A failed heartbeat is logged and never stops the worker: it only makes the worker look
 * dead to readers until the next one succeeds. Thread-safe.
 */
final class Presence {

    private static final Logger LOG = LoggerFactory.getLogger(EngineWorker.class);
    /** Minutes of claim lateness kept and reported. */
    static final int MINUTES = 60;

    private final WorkerRegistry registry;
    private final String workerId;
    private final String host;
    private final long pid;
    private final int threads;
    private final Duration liveFor;
    private final Clock clock;
    private final Supplier<List<FlowVersion>> serves;
    private final IntSupplier inFlight;
    private final Instant startedAt;
    private final LatenessHistogram[] minutes = new LatenessHistogram[MINUTES];
    private Instant lastClaim;
    /**
     * Held while a heartbeat is written and while the row is removed, so that a heartbeat of the timer
     * that is under way as the worker stops cannot write the row again after its removal.
     */
    private final Object writing = new Object();
    private boolean left;
    private boolean failing;

    Presence(WorkerRegistry registry, String workerId, int threads, Duration liveFor, Clock clock,
             Supplier<List<FlowVersion>> serves, IntSupplier inFlight) {
        this.registry = registry;
        this.workerId = workerId;
        this.threads = threads;
        this.liveFor = liveFor;
        this.clock = clock;
        this.serves = serves;
        this.inFlight = inFlight;
        this.host = hostName();
        this.pid = ProcessHandle.current().pid();
        this.startedAt = clock.instant();
    }

    /** Writes this worker's row; logs a failure (once until a heartbeat succeeds again) and carries on. */
    void beat() {
        synchronized (writing) {
            if (left) {
                return;
            }
            try {
                registry.heartbeat(snapshot());
                if (failing) {
                    LOG.info("Worker {}: heartbeats are recorded again", workerId);
                }
                failing = false;
            } catch (RuntimeException e) {
                if (!failing) {
                    LOG.warn("Worker {} could not record its heartbeat: {}; readers see it as dead until one "
                            + "succeeds", workerId, e.getMessage());
                }
                failing = true;
            }
        }
    }

    /** Removes this worker's row as it stops, for good; a failure only leaves the row to expire. */
    void leave() {
        synchronized (writing) {
            left = true;
            try {
                registry.remove(workerId);
            } catch (RuntimeException e) {
                LOG.warn("Worker {} could not remove its heartbeat row: {}; it expires in {}", workerId,
                        e.getMessage(), liveFor);
            }
        }
    }

    /**
     * Records a claim: its time, and the lateness of each execution whose due time the claimed row
     * tells (a pending one: due since its last save; a timed wait: since its {@code wakeAt}). Others
     * (taken over from a dead worker, or woken by a signal) are not measured: their row does not say
     * when they fell due.
     */
    synchronized void claimed(List<Execution> batch) {
        if (batch.isEmpty()) {
            return;
        }
        Instant now = clock.instant();
        lastClaim = now;
        LatenessHistogram minute = minuteOf(now);
        for (Execution e : batch) {
            Instant due = dueAt(e, now);
            if (due != null) {
                minute.add(Math.max(0, Duration.between(due, now).toMillis()));
            }
        }
    }

    /**
     * Since when a claimed execution was due, where its row says: a pending one since its last save (its
     * create, or the retry that made it pending again), a timed wait since its {@code wakeAt}.
     */
    static Instant dueAt(Execution e, Instant now) {
        if (e.status() == ExecutionStatus.PENDING) {
            return e.updatedAt();
        }
        if (e.status() == ExecutionStatus.WAITING && e.waitMetadata() != null && e.waitMetadata().wakeAt() != null
                && !e.waitMetadata().wakeAt().isAfter(now)) {
            return e.waitMetadata().wakeAt();
        }
        return null;
    }

    /** What the heartbeat reports now. */
    synchronized WorkerHeartbeat snapshot() {
        long current = clock.millis() / 60_000;
        List<ClaimLateness> lateness = new ArrayList<>();
        for (long m = current - MINUTES + 1; m <= current; m++) {
            LatenessHistogram h = minutes[(int) Math.floorMod(m, (long) MINUTES)];
            if (h != null && h.minute == m && h.count > 0) {
                lateness.add(new ClaimLateness(Instant.ofEpochMilli(m * 60_000), h.count, h.max, h.p99()));
            }
        }
        return new WorkerHeartbeat(workerId, host, pid, serves.get(), threads, inFlight.getAsInt(), startedAt,
                lastClaim, liveFor, lateness);
    }

    private LatenessHistogram minuteOf(Instant now) {
        long m = now.toEpochMilli() / 60_000;
        int slot = (int) Math.floorMod(m, (long) MINUTES);
        if (minutes[slot] == null || minutes[slot].minute != m) {
            minutes[slot] = new LatenessHistogram(m);
        }
        return minutes[slot];
    }

    private static String hostName() {
        String host = System.getenv("HOSTNAME");
        if (host == null || host.isBlank()) {
            try {
                host = java.net.InetAddress.getLocalHost().getHostName();
            } catch (java.io.IOException | SecurityException e) {
                host = "unknown";
            }
        }
        return host.isBlank() ? "unknown" : host;
    }

    /**
     * Claim lateness of one minute in buckets a fourth of a power of two wide (bound k is 2^((k-1)/4) ms,
     * rounded up), so that a percentile read from it is at most about 19 % high; the maximum is exact.
     */
    static final class LatenessHistogram {
        private static final int BUCKETS = 4 * 63 + 2;
        final long minute;
        private final long[] buckets = new long[BUCKETS];
        long count;
        long max;

        LatenessHistogram(long minute) {
            this.minute = minute;
        }

        void add(long ms) {
            buckets[bucket(ms)]++;
            count++;
            max = Math.max(max, ms);
        }

        /** The 99th percentile: the bound of the bucket holding it, never above the maximum. */
        long p99() {
            long rank = (long) Math.ceil(count * 0.99);
            long seen = 0;
            for (int k = 0; k < BUCKETS; k++) {
                seen += buckets[k];
                if (seen >= rank) {
                    return Math.min(max, bound(k));
                }
            }
            return max;
        }

        static int bucket(long ms) {
            if (ms <= 1) {
                return (int) Math.max(0, ms);
            }
            int k = (int) Math.ceil(4 * (Math.log(ms) / Math.log(2))) + 1;
            // Floating point may put an exact bound one bucket off; settle it on the integers.
            while (k > 1 && bound(k - 1) >= ms) {
                k--;
            }
            while (bound(k) < ms) {
                k++;
            }
            return Math.min(k, BUCKETS - 1);
        }

        static long bound(int k) {
            return k == 0 ? 0 : (long) Math.ceil(Math.pow(2, (k - 1) / 4.0));
        }
    }
}
