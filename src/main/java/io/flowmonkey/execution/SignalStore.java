package io.flowmonkey.execution;

import java.util.Collection;
import java.util.List;

/**
 * An {@link ExecutionStore} that also buffers {@link Signal}s for executions, and tells subscribers
 * when executions end. The engine builds named signals, child flows and {@code awaitEnd} on it; both
 * bundled stores implement it.
 *
 * <p>A signal is stored by an insert of its own, never by an update of the execution, so sending
 * one never conflicts with a step that is running. It is consumed exactly once: by
 * {@link #saveWithSignals}, in the same atomic write as the save that continues the execution.
 */
public interface SignalStore extends ExecutionStore {

    /**
     * The name of the signal a caller keeps for an execution while it waits for its end: a store may
     * announce to {@link #subscribeToEnds end listeners} only the executions that have one. Such a
     * signal makes nothing due and ends no wait.
     */
    String WATCH_END_SIGNAL = "flowmonkey.awaitEnd";

    /**
     * Stores a signal for an existing execution and returns at once; the execution's row is not
     * written.
     *
     * @param signal the signal, not yet stored ({@code id} 0)
     * @return the stored copy, with its {@code id} and {@code sentAt}
     * @throws ExecutionNotFoundException if no execution has the signal's execution id
     * @throws ExecutionDataException if the data cannot be stored
     * @throws IllegalArgumentException if the signal was stored already
     */
    Signal sendSignal(Signal signal);

    /**
     * Finds an execution's signals of one name that no save has consumed yet.
     *
     * @param executionId the execution
     * @param name the signal name
     * @param limit the most signals to return, at least 1
     * @return the signals, oldest first
     */
    List<Signal> findSignals(String executionId, String name, int limit);

    /**
     * Finds waiting executions for which a signal of the name they await is buffered (for a wait on
     * child executions: a child ended), so that a caller without workers can continue them; workers
     * find them with their claim instead. Rows set aside are skipped.
     *
     * @param limit the most executions to return, at least 1
     * @return the executions, in no particular order
     * @throws ExecutionDataException if a row found cannot be read
     */
    List<Execution> findSignalled(int limit);

    /**
     * Saves executions, consumes stored signals and stores new ones, all or nothing: on any failure
     * none of it is written.
     *
     * @param executions the executions, each inserted or updated as by {@link #save(Execution)}
     * @param consumed stored signals to remove; each must still be unconsumed
     * @param sent signals to store, not yet stored ({@code id} 0); their executions are not checked
     * @return the stored executions, in the order given
     * @throws ConcurrentUpdateException if an execution's version differs, or a signal was consumed already
     * @throws StoreException as {@link #saveAll(Collection)}
     */
    List<Execution> saveWithSignals(Collection<Execution> executions, Collection<Signal> consumed,
                                    Collection<Signal> sent);

    /**
     * Subscribes to prompt notice of executions that ended (completed, failed or cancelled),
     * delivered on a thread of the store's. A store may tell only of executions that had a
     * {@link #WATCH_END_SIGNAL} signal when they ended. Notice is a hint to look: a listener reloads
     * the execution, and polls as well when notices can be lost.
     *
     * @param listener told when an execution ended
     * @return a handle whose {@code close()} ends the subscription
     */
    LeasingExecutionStore.Subscription subscribeToEnds(EndListener listener);

    /** Receives notice of executions that ended. */
    interface EndListener {
        /**
         * An execution was saved in a terminal status.
         *
         * @param executionId the execution
         */
        void onEnded(String executionId);

        /** Notices may have been missed (the subscription started listening, or reconnected): look now. */
        void onMissedNotices();
    }
}
