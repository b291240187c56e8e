package io.flowmonkey.execution;

import java.time.Duration;

/**
 * Time limits of one execution. Stored in the {@code timeout_config} column as
 * {@code {"executionTimeoutMs","waitTimeoutMs"}}.
 *
 * @param executionTimeout how long the whole execution may take from creation, or null for no limit
 * @param waitTimeout how long one wait may last, or null for no limit
 */
public record TimeoutConfig(Duration executionTimeout, Duration waitTimeout) {

    /**
     * Rejects negative or zero durations.
     *
     * @param executionTimeout how long the whole execution may take from creation, or null for no limit
     * @param waitTimeout how long one wait may last, or null for no limit
     */
    public TimeoutConfig {
        requirePositive(executionTimeout, "timeoutConfig.executionTimeout");
        requirePositive(waitTimeout, "timeoutConfig.waitTimeout");
    }

    private static void requirePositive(Duration d, String field) {
        if (d != null && (d.isNegative() || d.isZero())) {
            throw new IllegalArgumentException(field + " must be positive, got " + d);
        }
    }
}
