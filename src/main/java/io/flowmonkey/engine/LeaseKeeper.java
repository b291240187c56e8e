package io.flowmonkey.engine;

import io.flowmonkey.execution.Cancellation;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.LeasingExecutionStore;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the leases of what an {@link EngineWorker} runs: renews them every heartbeat, tells a lease
 * lost from a run's own final save, revokes the leases of runs still going when the worker stops, and
 * retries revocations that failed. Thread-safe.
 */
final class LeaseKeeper {

    private static final Logger LOG = LoggerFactory.getLogger(EngineWorker.class);

    private final LeasingExecutionStore store;
    private final String workerId;
    private final Duration leaseTtl;
    /** The ids the worker runs now; the worker adds and removes them. */
    private final Set<String> inFlight;
    private final AtomicLong interrupted;
    private final AtomicLong cancelled;
    private final AtomicLong leaseLost;
    private final EngineEvents events;
    /** In flight, and missed one lease renewal: told apart from the run's own final save at the next. */
    private final Set<String> unrenewed = ConcurrentHashMap.newKeySet();
    /** In flight, and its loss already logged. */
    private final Set<String> reported = ConcurrentHashMap.newKeySet();
    /** Revocations that failed, retried by the heartbeat and by {@link EngineWorker#close()}. */
    private final Set<String> pendingRevocations = ConcurrentHashMap.newKeySet();
    /** Set once {@link EngineWorker#close()} gives up waiting and revokes what still runs. */
    private volatile boolean revoking;

    /**
     * Makes the lease keeping of one worker, counting into the worker's counters.
     *
     * @param inFlight the worker's set of ids it runs now, read here, changed by the worker only
     */
    LeaseKeeper(LeasingExecutionStore store, String workerId, Duration leaseTtl, Set<String> inFlight,
                AtomicLong interrupted, AtomicLong cancelled, AtomicLong leaseLost, EngineEvents events) {
        this.store = store;
        this.workerId = workerId;
        this.leaseTtl = leaseTtl;
        this.inFlight = inFlight;
        this.interrupted = interrupted;
        this.cancelled = cancelled;
        this.leaseLost = leaseLost;
        this.events = events;
    }

    /** Renews the leases of what runs, then retries the revocations that failed. */
    void heartbeat() {
        renewLeases();
        retryRevocations();
    }

    /**
     * Whether this worker still holds the lease of an execution about to start after waiting in the
     * buffer, renewing it: a cancel or a takeover meanwhile gave it up. A store that cannot tell is
     * taken at its last word (the run's save is version-checked all the same).
     */
    boolean stillHeld(String id) {
        if (!unrenewed.contains(id)) {
            try {
                if (store.renewLeases(workerId, List.of(id), leaseTtl).contains(id)) {
                    return true;
                }
            } catch (RuntimeException e) {
                LOG.debug("Worker {} could not check its lease on execution {}: {}", workerId, id, e.getMessage());
                return true;
            }
        }
        explainLoss(id, "its step was not run");
        return false;
    }

    /** Forgets what was known of a run that has just ended. */
    void released(String id) {
        unrenewed.remove(id);
        reported.remove(id);
    }

    /**
     * Revokes the leases of runs the worker is about to interrupt; from now on a loss is counted as
     * an interruption. Before the interrupt: a handler that swallows it and returns must find its save
     * refused.
     */
    void revokeStillRunning(Set<String> ids) {
        revoking = true;
        revoke(ids);
    }

    void retryRevocations() {
        revoke(new HashSet<>(pendingRevocations));
    }

    /** How many revocations have failed and are still to be retried. */
    int pendingRevocations() {
        return pendingRevocations.size();
    }

    /**
     * Tells why an execution this worker runs was saved by someone else, counts it and logs it once: a
     * user's cancel is an ordinary event, a lease taken over is not.
     */
    void explainLoss(String id, String consequence) {
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
            events.leaseLost(id, stored, workerId);
        }
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
}
