package io.flowmonkey.postgres;

import io.flowmonkey.execution.ExecutionStatus;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A retention policy for one {@link PgExecutionStore}, to run on a schedule: each {@link #run()} calls
 * {@link PgExecutionStore#purge(Duration, Set, int)} with its settings. It holds no thread of its own;
 * hand it to a scheduler, such as
 * {@code scheduler.scheduleWithFixedDelay(purger, 0, purger.interval().toMinutes(), TimeUnit.MINUTES)}.
 * {@link #run()} logs and swallows failures, so that one failed purge does not cancel the schedule;
 * {@link #purgeNow()} throws them. Immutable and thread-safe; runs on several machines at once are safe
 * (their batches skip each other's locked rows), though one is enough.
 */
public final class Purger implements Runnable {

    /** How long ended executions are kept, unless set: 30 days. */
    public static final Duration DEFAULT_OLDER_THAN = Duration.ofDays(30);
    /** The suggested time between runs, unless set: one hour. */
    public static final Duration DEFAULT_INTERVAL = Duration.ofHours(1);

    private static final Logger LOG = LoggerFactory.getLogger(Purger.class);

    private final PgExecutionStore store;
    private final Duration olderThan;
    private final Set<ExecutionStatus> statuses;
    private final int batchSize;
    private final Duration interval;

    private Purger(Builder b) {
        this.store = b.store;
        this.olderThan = b.olderThan;
        this.statuses = b.statuses;
        this.batchSize = b.batchSize;
        this.interval = b.interval;
    }

    /**
     * Starts a policy that removes every ended execution {@link #DEFAULT_OLDER_THAN} after it ended.
     *
     * @param store the store to purge
     * @return a builder
     */
    public static Builder builder(PgExecutionStore store) {
        return new Builder(Objects.requireNonNull(store, "store must not be null"));
    }

    /**
     * Purges once, as configured.
     *
     * @return how many executions were deleted
     * @throws io.flowmonkey.execution.StoreException if the store fails; batches deleted before stay deleted
     */
    public int purgeNow() {
        int removed = store.purge(olderThan, statuses, batchSize);
        if (removed > 0) {
            LOG.info("Purged {} executions ({}) that ended more than {} ago", removed, statuses, olderThan);
        }
        return removed;
    }

    /** Purges once, as configured; a failure is logged at WARN and not thrown, for schedulers. */
    @Override
    public void run() {
        try {
            purgeNow();
        } catch (RuntimeException e) {
            LOG.warn("Purge of executions that ended more than {} ago failed; the next run tries again", olderThan, e);
        }
    }

    /**
     * Returns how long ended executions are kept.
     *
     * @return the retention
     */
    public Duration olderThan() {
        return olderThan;
    }

    /**
     * Returns which ended statuses are purged.
     *
     * @return an unmodifiable set
     */
    public Set<ExecutionStatus> statuses() {
        return statuses;
    }

    /**
     * Returns the rows deleted per batch.
     *
     * @return the batch size
     */
    public int batchSize() {
        return batchSize;
    }

    /**
     * Returns the suggested time between runs, for whoever schedules this policy.
     *
     * @return the interval
     */
    public Duration interval() {
        return interval;
    }

    @Override
    public String toString() {
        return "Purger{olderThan=" + olderThan + ", statuses=" + statuses + ", batchSize=" + batchSize
                + ", interval=" + interval + '}';
    }

    /** Collects the settings; each setter checks its argument. Not thread-safe. */
    public static final class Builder {
        private final PgExecutionStore store;
        private Duration olderThan = DEFAULT_OLDER_THAN;
        private Set<ExecutionStatus> statuses = PgExecutionStore.ENDED;
        private int batchSize = PgExecutionStore.DEFAULT_PURGE_BATCH;
        private Duration interval = DEFAULT_INTERVAL;

        private Builder(PgExecutionStore store) {
            this.store = store;
        }

        /**
         * Sets how long after it ended an execution is kept.
         *
         * @param olderThan the retention, not negative
         * @return this builder
         */
        public Builder olderThan(Duration olderThan) {
            this.olderThan = PgExecutionStore.requireOlderThan(olderThan);
            return this;
        }

        /**
         * Sets which ended statuses are purged.
         *
         * @param statuses a non-empty subset of {@link PgExecutionStore#ENDED}
         * @return this builder
         */
        public Builder statuses(Set<ExecutionStatus> statuses) {
            this.statuses = PgExecutionStore.requireEndedStatuses(statuses);
            return this;
        }

        /**
         * Sets the rows deleted per batch (per short transaction).
         *
         * @param batchSize 1 to {@value PgExecutionStore#MAX_PURGE_BATCH}
         * @return this builder
         */
        public Builder batchSize(int batchSize) {
            this.batchSize = PgExecutionStore.requireBatchSize(batchSize);
            return this;
        }

        /**
         * Sets the suggested time between runs.
         *
         * @param interval at least one second
         * @return this builder
         */
        public Builder interval(Duration interval) {
            Objects.requireNonNull(interval, "interval must not be null");
            if (interval.compareTo(Duration.ofSeconds(1)) < 0) {
                throw new IllegalArgumentException("interval must be at least one second, got " + interval);
            }
            this.interval = interval;
            return this;
        }

        /**
         * Builds the policy.
         *
         * @return the purger
         */
        public Purger build() {
            return new Purger(this);
        }
    }
}
