package io.flowmonkey.execution;

import java.util.List;

/**
 * A store that keeps a heartbeat row per live worker, so that operators and
 * {@code Engine.diagnose} can see which workers run, what they serve and how busy they are.
 * {@code PgExecutionStore} keeps them in the side table {@code <table>_workers} (migration V9).
 *
 * <p>A heartbeat says how long its worker is to be counted live ({@link WorkerHeartbeat#liveFor()});
 * a worker that has not heartbeat for that long is dead: {@link #workers()} no longer lists it, and the
 * next heartbeat of any worker deletes its row. Times are the store's clock (for PostgreSQL, the
 * database's, as leases are), so workers on machines with skewed clocks agree on who is live.
 * Implementations are thread-safe.
 */
public interface WorkerRegistry {

    /**
     * Records that a worker is alive, as it reports itself, stamped with the store's clock; and deletes
     * the rows of workers that are dead. One statement.
     *
     * @param heartbeat what the worker reports
     * @throws NullPointerException if {@code heartbeat} is null
     * @throws StoreException if the store fails, or cannot store what the heartbeat holds
     */
    void heartbeat(WorkerHeartbeat heartbeat);

    /**
     * Lists the live workers: those whose last heartbeat is younger than what it said to live for.
     *
     * @return the live workers by id, unmodifiable
     * @throws StoreException if the store fails
     */
    List<WorkerInfo> workers();

    /**
     * Deletes a worker's row, as its {@code close()} does when it stops.
     *
     * @param workerId the worker
     * @return true if there was a row
     * @throws IllegalArgumentException if {@code workerId} is null or blank
     * @throws StoreException if the store fails
     */
    boolean remove(String workerId);
}
