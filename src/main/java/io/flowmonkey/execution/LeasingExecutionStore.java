package io.flowmonkey.execution;

import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
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
 * An execution whose lease has not expired is never handed out.
 */
public interface LeasingExecutionStore extends ExecutionStore {

    /**
     * Claims up to {@code limit} due executions of the given flows for {@code workerId} in one atomic
     * step, leasing each until the store's clock reaches now plus {@code leaseTtl}. Claiming
     * increments each execution's version, so a previous holder that still runs can no longer save it.
     *
     * @param workerId who claims
     * @param flowIds the flows the worker can run; executions of other flows are left for others
     * @param leaseTtl how long the lease lasts unless renewed
     * @param limit the most executions to claim, at least 1
     * @return the claimed executions, as stored after the claim, in no particular order
     */
    List<Execution> claimDue(String workerId, Collection<String> flowIds, Duration leaseTtl, int limit);

    /**
     * Extends the leases {@code workerId} still holds. Does not change versions.
     *
     * @param workerId the holder
     * @param executionIds the executions it believes it holds
     * @param leaseTtl the new lease length, from now
     * @return the ids whose lease was extended; a missing id's lease was lost to another worker
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
     * Subscribes to prompt notice of due work, delivered on a thread of the store's.
     *
     * @param listener told when an execution became pending or waiting
     * @return a handle whose {@code close()} ends the subscription
     */
    Subscription subscribe(DueWorkListener listener);

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
