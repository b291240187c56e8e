package io.flowmonkey.postgres;

import java.time.Duration;
import java.time.Instant;

/**
 * One look at the executions table of a {@link PgExecutionStore}, from {@link PgExecutionStore#health()}:
 * what VACUUM has to do and whether something stops it, and how much due work waits for a worker.
 *
 * <p>The tuple counts and vacuum times are PostgreSQL's cumulative statistics
 * ({@code pg_stat_user_tables}), which lag the table by up to a few hundred milliseconds. The oldest
 * transaction is read from {@code pg_stat_activity}: a role that is neither a superuser nor a member of
 * {@code pg_read_all_stats} (or {@code pg_monitor}) sees only its own sessions there.
 *
 * @param liveTuples estimated live rows ({@code n_live_tup})
 * @param deadTuples estimated dead rows that VACUUM has not yet reclaimed ({@code n_dead_tup})
 * @param lastAutovacuum when autovacuum last vacuumed the table, or null if never (since statistics were reset)
 * @param lastAutoanalyze when autovacuum last analysed the table, or null if never
 * @param oldestTransactionAge how long the oldest transaction of this database that holds back VACUUM
 *     (any other session with a {@code backend_xmin}) has been open; {@link Duration#ZERO} if none
 * @param oldestXminAge how many transactions old that session's snapshot ({@code age(backend_xmin)}) is;
 *     0 if none
 * @param duePending pending executions no worker holds, counted up to {@link #DUE_COUNT_LIMIT}
 * @param dueWaiting waiting executions whose {@code wakeAt} has passed and that no worker holds, counted up
 *     to {@link #DUE_COUNT_LIMIT}
 */
public record StoreHealth(long liveTuples, long deadTuples, Instant lastAutovacuum, Instant lastAutoanalyze,
                          Duration oldestTransactionAge, long oldestXminAge, long duePending, long dueWaiting) {

    /** Where the due counts stop, so that a large backlog costs no more to count than this many rows: {@value}. */
    public static final int DUE_COUNT_LIMIT = 10_000;
}
