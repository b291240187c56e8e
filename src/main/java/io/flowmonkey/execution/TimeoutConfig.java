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
     * Truncates both limits to the whole milliseconds they are stored as, and rejects any below 1 ms.
     *
     * @param executionTimeout how long the whole execution may take from creation, or null for no limit
     * @param waitTimeout how long one wait may last, or null for no limit
     */
    public TimeoutConfig {
        executionTimeout = wholeMillis(executionTimeout, "timeoutConfig.executionTimeout");
        waitTimeout = wholeMillis(waitTimeout, "timeoutConfig.waitTimeout");
    }

    private static Duration wholeMillis(Duration d, String field) {
        if (d == null) {
            return null;
        }
        if (d.compareTo(Duration.ofMillis(1)) < 0 || d.compareTo(Duration.ofMillis(Long.MAX_VALUE)) > 0) {
            throw new IllegalArgumentException(field + " must be between 1 ms and Long.MAX_VALUE ms, got " + d);
        }
        return Duration.ofMillis(d.toMillis());
    }
}
