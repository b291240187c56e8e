package io.flowmonkey.engine;

import io.flowmonkey.internal.Arguments;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * One step of a {@link Flow}: which handler runs, what input it gets, where its output goes, and where
 * the execution goes next. Immutable; build with {@link #builder(String, String)}.
 *
 * <p>Transitions: {@link #onSuccess()} null completes the execution; {@link #onFailure()} null fails it
 * with an error naming this step; {@link #onResume()} null means that after a wait the step runs again.
 * A handler can override {@code onSuccess} for one run with {@link StepResult.Success#then(String)}.
 */
public final class Step {

    private final String id;
    private final String handlerType;
    private final Map<String, Object> config;
    private final InputSelector input;
    private final String outputKey;
    private final String onSuccess;
    private final String onFailure;
    private final String onResume;
    private final RetryPolicy retry;
    private final Duration timeout;

    private Step(Builder b) {
        this.id = b.id;
        this.handlerType = b.handlerType;
        this.config = b.config;
        this.input = b.input;
        this.outputKey = b.outputKey;
        this.onSuccess = b.onSuccess;
        this.onFailure = b.onFailure;
        this.onResume = b.onResume;
        this.retry = b.retry;
        this.timeout = b.timeout;
    }

    /**
     * Starts a step that runs the handler registered under {@code handlerType}, with the whole context as
     * input, no output key, no transitions and no retry.
     *
     * @param id the step id, unique within its flow
     * @param handlerType the handler type ({@code "type"} in flow JSON)
     * @return a builder
     * @throws IllegalArgumentException if either argument is null or blank, or holds U+0000 or an
     *     unpaired surrogate (text PostgreSQL and UTF-8 cannot store)
     */
    public static Builder builder(String id, String handlerType) {
        return new Builder(requireText(id, "step id"), requireText(handlerType, "handler type of step '"
                + Diagnostics.id(id) + "'"));
    }

    /**
     * Returns the step id.
     *
     * @return the id
     */
    public String id() {
        return id;
    }

    /**
     * Returns the type of the handler that runs this step.
     *
     * @return the handler type
     */
    public String handlerType() {
        return handlerType;
    }

    /**
     * Returns the handler's configuration, unmodifiable.
     *
     * @return the config; empty when none was set
     */
    public Map<String, Object> config() {
        return config;
    }

    /**
     * Returns how the step picks its input.
     *
     * @return the selector; {@link InputSelector#full()} unless set
     */
    public InputSelector input() {
        return input;
    }

    /**
     * Returns where a successful output is written in the context (dot paths write nested values).
     *
     * @return the key or path, or null to discard the output
     */
    public String outputKey() {
        return outputKey;
    }

    /**
     * Returns the step that follows a success.
     *
     * @return the next step id, or null to complete the execution
     */
    public String onSuccess() {
        return onSuccess;
    }

    /**
     * Returns the step that follows a failure (after any retries).
     *
     * @return the next step id, or null to fail the execution
     */
    public String onFailure() {
        return onFailure;
    }

    /**
     * Returns the step that follows the end of this step's wait.
     *
     * @return the next step id, or null to run this step again
     */
    public String onResume() {
        return onResume;
    }

    /**
     * Returns the retry policy.
     *
     * @return the policy, or null for a single attempt
     */
    public RetryPolicy retry() {
        return retry;
    }

    /**
     * Returns the budget of one attempt of this step's handler. A handler still running when it passes
     * is interrupted and abandoned, and the attempt fails with {@link Engine#STEP_TIMEOUT}.
     *
     * @return the budget, or null for {@link EngineOptions#stepTimeout()} (when that is null too, the
     *     handler runs on the caller's thread, unbounded)
     */
    public Duration timeout() {
        return timeout;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Step that && id.equals(that.id) && handlerType.equals(that.handlerType)
                && config.equals(that.config) && input.equals(that.input) && Objects.equals(outputKey, that.outputKey)
                && Objects.equals(onSuccess, that.onSuccess) && Objects.equals(onFailure, that.onFailure)
                && Objects.equals(onResume, that.onResume) && Objects.equals(retry, that.retry)
                && Objects.equals(timeout, that.timeout);
    }

    @Override
    public int hashCode() {
        return Objects.hash(id, handlerType, config, input, outputKey, onSuccess, onFailure, onResume, retry, timeout);
    }

    @Override
    public String toString() {
        return "Step{id=" + Diagnostics.id(id) + ", type=" + Diagnostics.id(handlerType) + ", onSuccess="
                + Diagnostics.id(onSuccess) + ", onFailure=" + Diagnostics.id(onFailure) + ", onResume="
                + Diagnostics.id(onResume) + "}";
    }

    private static String requireText(String value, String what) {
        return Options.storableText(Arguments.nonBlank(value, what), what);
    }

    /** Builds a {@link Step}; each setter checks its argument. Not thread-safe. */
    public static final class Builder {
        private final String id;
        private final String handlerType;
        private Map<String, Object> config = Map.of();
        private InputSelector input = InputSelector.full();
        private String outputKey;
        private String onSuccess;
        private String onFailure;
        private String onResume;
        private RetryPolicy retry;
        private Duration timeout;

        private Builder(String id, String handlerType) {
            this.id = id;
            this.handlerType = handlerType;
        }

        /**
         * Sets the handler's configuration; it is deep-copied.
         *
         * @param config a JSON-like map, or null for none
         * @return this builder
         */
        @SuppressWarnings("unchecked")
        public Builder config(Map<String, ?> config) {
            this.config = config == null ? Map.of() : (Map<String, Object>) InputSelector.freeze(config);
            return this;
        }

        /**
         * Sets how the step picks its input.
         *
         * @param input the selector
         * @return this builder
         */
        public Builder input(InputSelector input) {
            this.input = Objects.requireNonNull(input, () -> "input selector of step '" + id + "' must not be null");
            return this;
        }

        /**
         * Sets where a successful output is written; {@code "a.b"} writes {@code context.a.b}.
         *
         * @param outputKey a key or dot path, or null to discard the output
         * @return this builder
         * @throws IllegalArgumentException if the path is blank or has an empty segment
         */
        public Builder outputKey(String outputKey) {
            this.outputKey = outputKey == null ? null : Options.storableText(Paths.requireValid(outputKey,
                    "outputKey of step '" + Diagnostics.id(id) + "'"), "outputKey of step '" + Diagnostics.id(id) + "'");
            return this;
        }

        /**
         * Sets the step that follows a success.
         *
         * @param next a step id of the same flow, or null to complete the execution
         * @return this builder
         */
        public Builder onSuccess(String next) {
            this.onSuccess = next;
            return this;
        }

        /**
         * Sets the step that follows a failure (after any retries).
         *
         * @param next a step id of the same flow, or null to fail the execution
         * @return this builder
         */
        public Builder onFailure(String next) {
            this.onFailure = next;
            return this;
        }

        /**
         * Sets the step that follows the end of a wait of this step.
         *
         * @param next a step id of the same flow, or null to run this step again
         * @return this builder
         */
        public Builder onResume(String next) {
            this.onResume = next;
            return this;
        }

        /**
         * Sets the retry policy.
         *
         * @param retry the policy, or null for a single attempt
         * @return this builder
         */
        public Builder retry(RetryPolicy retry) {
            this.retry = retry;
            return this;
        }

        /**
         * Sets the budget of one attempt ({@code "timeoutMs"} in flow JSON). A step with a budget runs
         * its handler on a thread the engine owns, with the caller waiting: past the budget the handler
         * is interrupted and abandoned (the engine stops waiting even for a handler that ignores the
         * interrupt, and nothing it returns later is saved), and the attempt fails with
         * {@link Engine#STEP_TIMEOUT}, which the step's {@link RetryPolicy} retries like any code.
         * Measured on the system's monotonic time, not on {@link EngineOptions#clock()}.
         *
         * @param timeout a positive duration of at most {@link EngineOptions#MAX_DURATION}, or null for the
         *     engine's {@link EngineOptions#stepTimeout()}
         * @return this builder
         * @throws IllegalArgumentException if not positive or too long
         */
        public Builder timeout(Duration timeout) {
            this.timeout = Options.positive(timeout, "timeout of step '" + Diagnostics.id(id) + "'");
            return this;
        }

        /**
         * Builds the step. Transitions are checked when the step's {@link Flow} is built.
         *
         * @return the step
         */
        public Step build() {
            return new Step(this);
        }
    }
}
