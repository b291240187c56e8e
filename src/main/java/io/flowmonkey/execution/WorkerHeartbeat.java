package io.flowmonkey.execution;

import io.flowmonkey.execution.LeasingExecutionStore.FlowVersion;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * What a worker reports of itself in a {@link WorkerRegistry#heartbeat}.
 *
 * @param workerId the worker's id, as written to {@code lease_owner}
 * @param host the machine it runs on
 * @param pid its process id
 * @param serves the flow versions it claims, in the order its registry lists them
 * @param threads its {@code threads} setting: the most steps it runs at once
 * @param inFlight the executions it holds now: running, their last save committing, or claimed ahead
 * @param startedAt when it started, by its own clock
 * @param lastClaim when it last claimed at least one execution, by its own clock; null if never
 * @param liveFor how long after this heartbeat it is to be counted live without another
 * @param lateness its claim lateness per minute over the last hour, oldest first
 */
public record WorkerHeartbeat(String workerId, String host, long pid, List<FlowVersion> serves, int threads,
                              int inFlight, Instant startedAt, Instant lastClaim, Duration liveFor,
                              List<ClaimLateness> lateness) {

    /**
     * Checks the parts and copies the lists.
     *
     * @param workerId the worker's id
     * @param host the machine
     * @param pid the process id
     * @param serves the flow versions it claims
     * @param threads its {@code threads} setting
     * @param inFlight the executions it holds now: running, their last save committing, or claimed ahead
     * @param startedAt when it started
     * @param lastClaim when it last claimed, or null
     * @param liveFor how long it counts as live after this heartbeat
     * @param lateness claim lateness per minute
     * @throws IllegalArgumentException if the id or host is blank, a count is negative, or {@code liveFor}
     *     is not positive
     * @throws NullPointerException if a required part is null
     */
    public WorkerHeartbeat {
        if (workerId == null || workerId.isBlank()) {
            throw new IllegalArgumentException("workerId must not be blank, got " + workerId);
        }
        if (host == null || host.isBlank()) {
            throw new IllegalArgumentException("host of worker " + workerId + " must not be blank, got " + host);
        }
        if (threads < 1 || inFlight < 0) {
            throw new IllegalArgumentException("worker " + workerId + " must have at least one thread and no negative "
                    + "in-flight count, got threads " + threads + ", in flight " + inFlight);
        }
        serves = List.copyOf(serves);
        Objects.requireNonNull(startedAt, () -> "startedAt of worker " + workerId + " must not be null");
        Objects.requireNonNull(liveFor, () -> "liveFor of worker " + workerId + " must not be null");
        if (liveFor.isNegative() || liveFor.isZero()) {
            throw new IllegalArgumentException("liveFor of worker " + workerId + " must be positive, got " + liveFor);
        }
        lateness = List.copyOf(lateness);
    }

    /**
     * How late the claims of one minute took their executions: the time from when each became due
     * (a pending execution: its last save; a timed wait: its {@code wakeAt}) to its claim.
     *
     * @param minute the start of the minute
     * @param count how many claimed executions were measured
     * @param maxMs the latest, in milliseconds
     * @param p99Ms the 99th percentile, in milliseconds, rounded up to the bound of a histogram bucket
     *     (at most about 19 % above the true value)
     */
    public record ClaimLateness(Instant minute, long count, long maxMs, long p99Ms) {
        /**
         * Checks the parts.
         *
         * @param minute the start of the minute
         * @param count how many were measured
         * @param maxMs the latest
         * @param p99Ms the 99th percentile
         * @throws NullPointerException if {@code minute} is null
         * @throws IllegalArgumentException if a figure is negative
         */
        public ClaimLateness {
            Objects.requireNonNull(minute, "minute must not be null");
            if (count < 0 || maxMs < 0 || p99Ms < 0) {
                throw new IllegalArgumentException("claim lateness figures must not be negative, got count " + count
                        + ", max " + maxMs + " ms, p99 " + p99Ms + " ms");
            }
        }
    }
}
