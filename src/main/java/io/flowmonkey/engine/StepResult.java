package io.flowmonkey.engine;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/**
 * The outcome of one {@link StepHandler} call: {@link Success}, {@link Failure} or {@link Wait}.
 * Build one with the static factories.
 */
public sealed interface StepResult {

    /**
     * The step succeeded. Its output is written to the step's {@link Step#outputKey()}, and the
     * execution goes to {@link Step#onSuccess()} (or completes when that is null).
     *
     * @param output the output, a JSON-like value (maps, lists, strings, numbers, booleans), or null
     * @return the result
     */
    static StepResult success(Object output) {
        return new Success(output);
    }

    /**
     * The step failed. Unless its {@link RetryPolicy} retries the code, the execution goes to
     * {@link Step#onFailure()}, or fails with an error naming the step when that is null.
     *
     * @param code a short machine-readable code, such as {@code "PAYMENT_DECLINED"}
     * @param message what went wrong, for people
     * @return the result
     * @throws IllegalArgumentException if {@code code} is null or blank
     */
    static StepResult failure(String code, String message) {
        return new Failure(code, message, null);
    }

    /**
     * A failure with JSON-like details, stored in the execution's error.
     *
     * @param code a short machine-readable code
     * @param message what went wrong, for people
     * @param details extra JSON-like data, or null
     * @return the result
     * @throws IllegalArgumentException if {@code code} is null or blank
     */
    static StepResult failure(String code, String message, Object details) {
        return new Failure(code, message, details);
    }

    /**
     * Waits for a while; afterwards the execution continues as if resumed without data.
     *
     * @param duration how long, positive
     * @param reason why, stored in the wait metadata
     * @return the result
     * @throws IllegalArgumentException if {@code duration} is not positive
     */
    static StepResult waitFor(Duration duration, String reason) {
        Objects.requireNonNull(duration, "wait duration must not be null");
        if (duration.isNegative() || duration.isZero()) {
            throw new IllegalArgumentException("wait duration must be positive, got " + duration);
        }
        return new Wait(duration, null, reason);
    }

    /**
     * Waits until an instant; afterwards the execution continues as if resumed without data. An instant
     * in the past wakes at the next run.
     *
     * @param wakeAt when to wake
     * @param reason why, stored in the wait metadata
     * @return the result
     */
    static StepResult waitUntil(Instant wakeAt, String reason) {
        return new Wait(null, Objects.requireNonNull(wakeAt, "wakeAt must not be null"), reason);
    }

    /**
     * Waits until {@link Engine#resume(String, java.util.Map)} is called (or the wait timeout passes).
     *
     * @param reason why, stored in the wait metadata
     * @return the result
     */
    static StepResult waitForSignal(String reason) {
        return new Wait(null, null, reason);
    }

    /**
     * A success.
     *
     * @param output the output, or null
     */
    record Success(Object output) implements StepResult {
    }

    /**
     * A failure.
     *
     * @param code a short machine-readable code, never blank
     * @param message what went wrong, or null
     * @param details extra JSON-like data, or null
     */
    record Failure(String code, String message, Object details) implements StepResult {

        /**
         * Rejects a blank code.
         *
         * @param code a short machine-readable code, never blank
         * @param message what went wrong, or null
         * @param details extra JSON-like data, or null
         */
        public Failure {
            if (code == null || code.isBlank()) {
                throw new IllegalArgumentException("failure code must be a non-blank string, got "
                        + (code == null ? "null" : "'" + code + "'"));
            }
        }
    }

    /**
     * A wait: for {@code duration}, until {@code wakeAt}, or (both null) for a signal.
     *
     * @param duration how long to wait, or null
     * @param wakeAt when to wake, or null
     * @param reason why, or null
     */
    record Wait(Duration duration, Instant wakeAt, String reason) implements StepResult {

        /**
         * Rejects a wait with both a duration and an instant.
         *
         * @param duration how long to wait, or null
         * @param wakeAt when to wake, or null
         * @param reason why, or null
         */
        public Wait {
            if (duration != null && wakeAt != null) {
                throw new IllegalArgumentException("a wait has a duration or a wakeAt, not both");
            }
        }
    }
}
