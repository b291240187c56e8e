package io.flowmonkey.execution;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
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

    // ---- Batched completion (issue 13) ----

    /**
     * Saves many stored executions, each as {@link #save} would and each checked against its own
     * version, and tells for each one whether its save succeeded. Unlike {@link #saveAll}, this is not
     * all-or-nothing: a row that lost a race fails with {@link ConcurrentUpdateException}, a row that is
     * gone with {@link ExecutionNotFoundException}, a value that cannot be stored with
     * {@link ExecutionDataException}, and only that row fails; the others are saved. For callers that
     * collect the saves of many independent executions, such as an {@code EngineWorker}'s runners.
     *
     * <p>This default saves them one by one. A store may write them in fewer statements and commits
     * ({@code PgExecutionStore} writes them in one), as long as each outcome is what its own
     * {@link #save} would have had.
     *
     * @param executions stored executions (version 1 or more), each id at most once; a repeated id
     *     fails as a lost race, as if saved after the first
     * @return one outcome per execution, in the order given, unmodifiable
     * @throws NullPointerException if the list or an element is null
     * @throws IllegalArgumentException if an execution was never stored (version 0), before anything is saved
     */
    default List<SaveOutcome> saveAllVersioned(List<Execution> executions) {
        SaveOutcome.requireStored(executions);
        List<SaveOutcome> outcomes = new ArrayList<>(executions.size());
        Set<String> seen = new HashSet<>();
        for (Execution e : executions) {
            if (!seen.add(e.id())) {
                outcomes.add(SaveOutcome.failed(SaveOutcome.repeated(e)));
                continue;
            }
            try {
                outcomes.add(SaveOutcome.saved(save(e)));
            } catch (StoreException failure) {
                outcomes.add(SaveOutcome.failed(failure));
            }
        }
        return List.copyOf(outcomes);
    }

    /**
     * What became of one save of {@link #saveAllVersioned}: exactly one of the two is set.
     *
     * @param saved the execution as stored, at its new version; null if the save failed
     * @param failure why the save failed; null if it succeeded
     */
    record SaveOutcome(Execution saved, StoreException failure) {
        /**
         * Checks that exactly one part is set.
         *
         * @param saved the execution as stored, or null
         * @param failure the failure, or null
         * @throws IllegalArgumentException if both or neither are set
         */
        public SaveOutcome {
            if ((saved == null) == (failure == null)) {
                throw new IllegalArgumentException("a save outcome is either the saved execution or a failure");
            }
        }

        /**
         * A save that succeeded.
         *
         * @param saved the execution as stored
         * @return the outcome
         */
        public static SaveOutcome saved(Execution saved) {
            return new SaveOutcome(Objects.requireNonNull(saved, "saved must not be null"), null);
        }

        /**
         * A save that failed.
         *
         * @param failure why
         * @return the outcome
         */
        public static SaveOutcome failed(StoreException failure) {
            return new SaveOutcome(null, Objects.requireNonNull(failure, "failure must not be null"));
        }

        /**
         * Returns the saved execution, or throws the failure, as {@link #save} would have.
         *
         * @return the execution as stored
         * @throws StoreException the failure of this save
         */
        public Execution orThrow() {
            if (failure != null) {
                throw failure;
            }
            return saved;
        }

        /** Refuses a null list or element, and an execution that was never stored, naming it. */
        static void requireStored(List<Execution> executions) {
            Objects.requireNonNull(executions, "executions must not be null");
            for (Execution e : executions) {
                Objects.requireNonNull(e, "executions must not contain null");
                if (e.version() == 0) {
                    throw new IllegalArgumentException("execution " + e.id() + " was never stored (version 0); "
                            + "saveAllVersioned saves stored executions only, insert it with save or saveAll");
                }
            }
        }

        /** The failure of the second save of one id in one batch: it lost to the first, as one after the other would. */
        static ConcurrentUpdateException repeated(Execution e) {
            return new ConcurrentUpdateException(e.id(), e.version(), "execution " + e.id() + " appears more than "
                    + "once in one batch of saves; the first was saved, and this one, at the same expected version "
                    + e.version() + ", lost to it");
        }
    }

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
