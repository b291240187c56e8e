package io.flowmonkey.execution;

import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * A store that many workers, in any number of processes, can share: it hands out due executions
 * under time-limited leases so that no two workers process one execution at once, and tells
 * subscribers promptly when new work is due.
 *
 * <p>Due means: {@link ExecutionStatus#PENDING}; {@link ExecutionStatus#WAITING} with a
 * {@code wakeAt} that has passed; {@link ExecutionStatus#WAITING} for a signal name
 * ({@code waitMetadata.data.signal}) of which the store, as a {@link SignalStore}, holds a signal; or
 * {@link ExecutionStatus#RUNNING} or
 * {@link ExecutionStatus#CANCELLING} whose holder's lease expired (a worker died), or that no worker
 * holds and that was not saved for a lease's length (a process died while running or cancelling it
 * directly; this grace is measured from {@code updatedAt}, which the saving process's clock wrote).
 * An execution whose lease has not expired is never handed out, nor is one that was
 * {@linkplain #setAside set aside}.
 *
 * <p>A save that leaves an execution waiting or ended gives up its lease in the same statement, so
 * that a worker killed after that save leaves no claim behind.
 */
public interface LeasingExecutionStore extends ExecutionStore {

    /**
     * Claims up to {@code limit} due executions of the given flow versions for {@code workerId} in one
     * atomic step, leasing each until the store's clock reaches now plus {@code leaseTtl}. Claiming
     * increments each execution's version, so a previous holder that still runs can no longer save it.
     * When more pending executions are due than it takes, it takes those of higher
     * {@link Execution#priority()} first, and of equal priority the oldest ({@code createdAt}) first;
     * other due work (timed waits by {@code wakeAt}) is not ordered by priority.
     *
     * <p>Each claimed row is read on its own: a row that cannot be read is {@linkplain #setAside set
     * aside} (released for good, and reported in {@link Claim#setAside()}) and the others are returned.
     *
     * @param workerId who claims
     * @param flows the flow versions the worker can run; executions of other flows, or of other
     *     versions of these flows, are left for others
     * @param leaseTtl how long the lease lasts unless renewed
     * @param limit the most executions to claim, at least 1
     * @return the claimed executions, as stored after the claim, in no particular order, and the rows
     *     set aside by this claim
     */
    Claim claimDue(String workerId, Collection<FlowVersion> flows, Duration leaseTtl, int limit);

    /**
     * Tells how long until the earliest timed wait of the given flow versions falls due, as a claim
     * would take it: waiting, not leased, not set aside. Measured by the store's clock, so a caller
     * that sleeps that long by its own monotonic clock wakes on time even when its wall clock is skewed.
     *
     * @param flows the flow versions the caller can run
     * @return the time until the earliest {@code wakeAt}, zero or negative when one is due already;
     *     empty when no such wait exists
     */
    Optional<Duration> untilNextWake(Collection<FlowVersion> flows);

    /**
     * Extends the leases {@code workerId} still holds. Does not change versions.
     *
     * @param workerId the holder
     * @param executionIds the executions it believes it holds
     * @param leaseTtl the new lease length, from now
     * @return the ids whose lease was extended; a missing id's lease was lost to another worker, or
     *     given up by a save that ended the execution
     */
    Set<String> renewLeases(String workerId, Collection<String> executionIds, Duration leaseTtl);

    /**
     * Gives up leases early, so that any worker may claim those executions as soon as they are due,
     * running ones included. Leases held by someone else are left alone.
     *
     * @param workerId the holder
     * @param executionIds the executions to release
     */
    void releaseLeases(String workerId, Collection<String> executionIds);

    /**
     * Gives up leases and makes any save their holder still attempts fail with
     * {@link ConcurrentUpdateException}, by incrementing the version: for a worker that is stopping
     * and interrupted the steps it ran, so that a handler that ignores the interrupt cannot save its
     * step after all. Leases held by someone else are left alone.
     *
     * @param workerId the holder
     * @param executionIds the executions to revoke
     * @return the ids revoked; a missing id had already been saved as ended or waiting, or was
     *     taken over
     */
    Set<String> revokeLeases(String workerId, Collection<String> executionIds);

    /**
     * Sets an execution aside: no worker claims it and {@link #findWakeReady(Instant)} skips it until
     * {@link #restoreSetAside(String)}, whatever its status. For a row that cannot be read, so that it
     * does not block the work behind it. Its lease, if any, is released.
     *
     * @param executionId the execution
     * @param column the column at fault
     * @param reason why, for the operator
     * @return true if this call set it aside; false if there is no such row or it was set aside already
     */
    boolean setAside(String executionId, String column, String reason);

    /**
     * Lists executions set aside, the earliest first.
     *
     * @param limit the most to return, at least 1
     * @return the rows set aside, unmodifiable
     */
    List<SetAside> findSetAside(int limit);

    /**
     * Tells whether one execution is set aside, and why. The default looks through
     * {@link #findSetAside(int)}; stores with an index on the mark look the row up directly.
     *
     * @param executionId the execution
     * @return why and when it was set aside; empty if it is not (or there is no such row)
     */
    default Optional<SetAside> setAsideOf(String executionId) {
        return findSetAside(Integer.MAX_VALUE).stream().filter(s -> s.executionId().equals(executionId)).findFirst();
    }

    /**
     * Lets an execution that was set aside be claimed again, typically after the row was repaired.
     *
     * @param executionId the execution
     * @return true if it was set aside and no longer is
     */
    boolean restoreSetAside(String executionId);

    /**
     * Subscribes to prompt notice of due work, delivered on a thread of the store's.
     *
     * @param listener told when an execution became pending or waiting
     * @return a handle whose {@code close()} ends the subscription
     */
    Subscription subscribe(DueWorkListener listener);

    /**
     * One version of one flow, as stored in an execution's {@code flowId} and {@code flowVersion}.
     *
     * @param flowId the flow id
     * @param version the flow version
     */
    record FlowVersion(String flowId, String version) {
        /**
         * Checks the parts.
         *
         * @param flowId the flow id
         * @param version the flow version
         * @throws NullPointerException if either is null
         */
        public FlowVersion {
            Objects.requireNonNull(flowId, "flowId must not be null");
            Objects.requireNonNull(version, "version must not be null");
        }
    }

    /**
     * What one claim took.
     *
     * @param executions the executions claimed and leased, unmodifiable
     * @param setAside the rows claimed but unreadable, set aside by the claim, unmodifiable
     */
    record Claim(List<Execution> executions, List<SetAside> setAside) {
        /**
         * Copies the lists.
         *
         * @param executions the executions claimed and leased
         * @param setAside the rows set aside by the claim
         */
        public Claim {
            executions = List.copyOf(executions);
            setAside = List.copyOf(setAside);
        }
    }

    /**
     * An execution set aside.
     *
     * @param executionId the execution
     * @param column the column at fault, e.g. {@code "context"}
     * @param reason why it was set aside
     * @param setAsideAt when, by the store's clock
     */
    record SetAside(String executionId, String column, String reason, Instant setAsideAt) {
    }

    /** Receives notice of work that became due, or will be at a known time. */
    interface DueWorkListener {
        /**
         * An execution was saved pending, or waiting with a wake-up time. A store may let one notice
         * stand for other executions saved pending at about the same time, some of which commit just
         * after it: a listener looks for all due work, and looks again shortly after.
         *
         * @param executionId the execution
         * @param wakeAt when it is due; null when it is due now
         */
        void onDue(String executionId, Instant wakeAt);

        /**
         * Notices may have been missed (the subscription started listening, or reconnected): look for
         * due work now.
         */
        void onMissedNotices();
    }

    /** An open subscription. */
    interface Subscription extends AutoCloseable {
        /** Ends the subscription and releases its resources. Never throws. */
        @Override
        void close();
    }
}
