package io.flowmonkey.engine;

import io.flowmonkey.internal.Arguments;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * The outcome of one {@link StepHandler} call: {@link Success}, {@link Failure} or {@link Wait}, or
 * one of the waits for other executions and messages, {@link StartChildren} and {@link AwaitSignal}.
 * Build one with the static factories.
 */
public sealed interface StepResult {

    /**
     * The step succeeded. Its output is written to the step's {@link Step#outputKey()}, and the
     * execution goes to {@link Step#onSuccess()} (or completes when that is null), unless
     * {@link Success#then(String)} names another step. An output the store cannot hold exactly (a
     * value Jackson cannot write, NaN, nesting past the store's limits) fails the step with
     * {@link Engine#OUTPUT_NOT_STORABLE}.
     *
     * @param output the output, a JSON-like value (maps, lists, strings, numbers, booleans), or null
     * @return the result
     */
    static Success success(Object output) {
        return new Success(output, null);
    }

    /**
     * The step failed. Unless its {@link RetryPolicy} retries the code, the execution goes to
     * {@link Step#onFailure()}, or fails with an error naming the step when that is null. Add
     * {@link Failure#nonRetryable()} for a failure no retry can mend.
     *
     * @param code a short machine-readable code, such as {@code "PAYMENT_DECLINED"}
     * @param message what went wrong, for people
     * @return the result
     * @throws IllegalArgumentException if {@code code} is null or blank
     */
    static Failure failure(String code, String message) {
        return new Failure(code, message, null, true);
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
    static Failure failure(String code, String message, Object details) {
        return new Failure(code, message, details, true);
    }

    /**
     * Waits for a while; afterwards the execution continues as if resumed without data.
     *
     * @param duration how long, positive and at most {@link EngineOptions#MAX_DURATION}
     * @param reason why, stored in the wait metadata
     * @return the result
     * @throws IllegalArgumentException if {@code duration} is not positive or too long
     */
    static StepResult waitFor(Duration duration, String reason) {
        return new Wait(Objects.requireNonNull(duration, "wait duration must not be null"), null, reason);
    }

    /**
     * Waits until an instant; afterwards the execution continues as if resumed without data. An instant
     * in the past wakes at the next run.
     *
     * @param wakeAt when to wake, an instant epoch milliseconds can hold
     * @param reason why, stored in the wait metadata
     * @return the result
     * @throws IllegalArgumentException if epoch milliseconds cannot hold {@code wakeAt}
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
     * @param nextStepId the step to go to instead of {@link Step#onSuccess()}, or null to follow it
     */
    record Success(Object output, String nextStepId) implements StepResult {

        /**
         * Rejects a blank next step.
         *
         * @param output the output, or null
         * @param nextStepId the step to go to instead of {@link Step#onSuccess()}, or null to follow it
         */
        public Success {
            if (nextStepId != null && nextStepId.isBlank()) {
                throw new IllegalArgumentException("next step id must be null or a non-blank string, got '"
                        + nextStepId + "'");
            }
        }

        /**
         * Branches on data: the execution goes to {@code nextStepId} instead of the step's
         * {@link Step#onSuccess()} (FlowMonkey's {@code nextStepOverride}). The choice is recorded in
         * the step's {@link io.flowmonkey.execution.StepHistory#nextStepOverride()}. A step the flow
         * does not define fails the execution with {@link Engine#STEP_NOT_FOUND}, naming it.
         *
         * @param nextStepId a step id of the same flow
         * @return a success with the same output that goes to {@code nextStepId}
         * @throws IllegalArgumentException if {@code nextStepId} is null or blank
         */
        public Success then(String nextStepId) {
            if (nextStepId == null) {
                throw new IllegalArgumentException("next step id must be a non-blank string, got null");
            }
            return new Success(output, nextStepId);
        }
    }

    /**
     * A failure.
     *
     * @param code a short machine-readable code, never blank
     * @param message what went wrong, or null
     * @param details extra JSON-like data, or null
     * @param retryable false if the step's {@link RetryPolicy} must not retry it, whatever its code;
     *     {@link Step#onFailure()} still applies
     */
    record Failure(String code, String message, Object details, boolean retryable) implements StepResult {

        /**
         * Rejects a blank code.
         *
         * @param code a short machine-readable code, never blank
         * @param message what went wrong, or null
         * @param details extra JSON-like data, or null
         * @param retryable false if the step's {@link RetryPolicy} must not retry it
         */
        public Failure {
            Arguments.nonBlank(code, "failure code");
        }

        /**
         * Marks the failure as permanent, such as a declined card: the step's {@link RetryPolicy} does
         * not retry it, and the execution goes straight to {@link Step#onFailure()} (or fails).
         *
         * @return the same failure, not retryable
         */
        public Failure nonRetryable() {
            return new Failure(code, message, details, false);
        }
    }

    /**
     * A wait: for {@code duration}, until {@code wakeAt}, or (both null) for a signal. A wake-up that
     * would fall outside what epoch milliseconds hold once added to the clock fails the step with
     * {@link Engine#INVALID_WAIT}.
     *
     * @param duration how long to wait, or null
     * @param wakeAt when to wake, or null
     * @param reason why, or null
     */
    record Wait(Duration duration, Instant wakeAt, String reason) implements StepResult {

        /**
         * Rejects a wait with both a duration and an instant, a duration that is not positive or is
         * longer than {@link EngineOptions#MAX_DURATION}, and an instant epoch milliseconds cannot hold.
         *
         * @param duration how long to wait, or null
         * @param wakeAt when to wake, or null
         * @param reason why, or null
         */
        public Wait {
            if (duration != null && wakeAt != null) {
                throw new IllegalArgumentException("a wait has a duration or a wakeAt, not both");
            }
            if (duration != null) {
                Options.positive(duration, "wait duration");
            }
            if (wakeAt != null) {
                try {
                    wakeAt.toEpochMilli();
                } catch (ArithmeticException e) {
                    throw new IllegalArgumentException("wakeAt must be an instant epoch milliseconds can hold, got "
                            + wakeAt, e);
                }
            }
        }
    }

    // ---- child flows and signals ----

    /**
     * Starts child executions and waits until they end, with {@link ChildFailurePolicy#FAIL_FAST}.
     * The children are saved together with the parent's wait, atomically; each then runs like any
     * created execution (an {@link EngineWorker} claims it). When the last child has ended the parent
     * is due at once, and the step after the wait finds each child's outcome in the context under
     * {@value Engine#CHILDREN_KEY}, in the order given. Cancelling the parent cancels the children.
     *
     * @param children what to start, at least one
     * @return the result
     * @throws IllegalArgumentException if {@code children} is empty
     */
    static StepResult startChildren(List<ChildSpec> children) {
        return startChildren(children, ChildFailurePolicy.FAIL_FAST);
    }

    /**
     * Starts child executions and waits until they end, as {@link #startChildren(List)}.
     *
     * @param children what to start, at least one
     * @param policy what a failed or cancelled child does to the parent
     * @return the result
     * @throws IllegalArgumentException if {@code children} is empty
     */
    static StepResult startChildren(List<ChildSpec> children, ChildFailurePolicy policy) {
        Objects.requireNonNull(children, "children must not be null");
        return new StartChildren(children, policy, "waiting for " + children.size() + " child execution(s)");
    }

    /**
     * Waits for a signal of this name, sent with {@link Engine#signal}. Signals are buffered: the
     * oldest unconsumed one of the name ends the wait at once, even one sent before the wait began,
     * and each signal ends one wait only. Signals of other names, and {@link Engine#resume} of other
     * waits, leave this wait alone. Its data lands in the context under {@value Engine#RESUME_DATA_KEY}.
     *
     * @param signalName the name to wait for
     * @param reason why, stored in the wait metadata
     * @return the result
     * @throws IllegalArgumentException if {@code signalName} is blank or reserved (starts with {@code flowmonkey.})
     */
    static StepResult awaitSignal(String signalName, String reason) {
        return new AwaitSignal(signalName, reason);
    }

    /**
     * A wait for child executions that the step starts.
     *
     * @param children what to start, never empty
     * @param policy what a failed child does to the parent
     * @param reason why, stored in the wait metadata
     */
    record StartChildren(List<ChildSpec> children, ChildFailurePolicy policy, String reason) implements StepResult {

        /**
         * Checks and copies the children.
         *
         * @param children what to start, never empty
         * @param policy what a failed child does to the parent
         * @param reason why, or null
         */
        public StartChildren {
            Objects.requireNonNull(children, "children must not be null");
            Objects.requireNonNull(policy, "child failure policy must not be null");
            children = List.copyOf(children);
            if (children.isEmpty()) {
                throw new IllegalArgumentException("startChildren needs at least one ChildSpec");
            }
        }
    }

    /**
     * A wait for a named signal.
     *
     * @param signalName the awaited name
     * @param reason why, or null
     */
    record AwaitSignal(String signalName, String reason) implements StepResult {

        /**
         * Checks the name.
         *
         * @param signalName the awaited name, non-blank and not reserved
         * @param reason why, or null
         */
        public AwaitSignal {
            Engine.requireSignalName(signalName);
        }
    }
}
