package io.flowmonkey.engine;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.flowmonkey.internal.Arguments;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Settings of an {@link Engine}. Immutable; build with {@link #builder()}, where each setter checks its
 * argument.
 */
public final class EngineOptions {

    /**
     * The longest wait, backoff, step timeout or execution timeout the engine accepts: 365,250 days
     * (about a thousand years). Longer durations are refused when they are set, because added to a
     * clock they could overflow the epoch milliseconds every time is stored as.
     */
    public static final Duration MAX_DURATION = Duration.ofDays(365_250);

    /** The clock unless set: the system clock in UTC. */
    public static final Clock DEFAULT_CLOCK = Clock.systemUTC();
    /** Steps an execution may run in all before it fails with {@code MAX_STEPS_EXCEEDED}: {@value}. */
    public static final int DEFAULT_MAX_STEPS = 1000;
    /** Whether step history is recorded unless set: {@value}. */
    public static final boolean DEFAULT_RECORD_HISTORY = true;
    /** How long an idempotency key holds unless a create says otherwise: 24 hours, as in FlowMonkey. */
    public static final Duration DEFAULT_IDEMPOTENCY_TTL = Duration.ofHours(24);

    /** Default time between looks at the store by {@link Engine#awaitEnd} when no notice arrives. */
    public static final Duration DEFAULT_AWAIT_POLL_INTERVAL = Duration.ofSeconds(1);

    /**
     * Options with every default. {@link #objectMapper()} is then a plain {@code new ObjectMapper()},
     * shared by every engine that uses these defaults.
     */
    public static final EngineOptions DEFAULTS = builder().build();

    private final Clock clock;
    private final int maxSteps;
    private final boolean recordHistory;
    private final Duration idempotencyTtl;
    private final Duration executionTimeout;
    private final Duration waitTimeout;
    private final Duration awaitPollInterval;
    private final ObjectMapper objectMapper;
    private final Duration stepTimeout;
    private final List<EngineListener> listeners;

    private EngineOptions(Builder b) {
        this.clock = b.clock;
        this.maxSteps = b.maxSteps;
        this.recordHistory = b.recordHistory;
        this.idempotencyTtl = b.idempotencyTtl;
        this.executionTimeout = b.executionTimeout;
        this.waitTimeout = b.waitTimeout;
        this.awaitPollInterval = b.awaitPollInterval;
        this.objectMapper = b.objectMapper != null ? b.objectMapper : new ObjectMapper();
        this.stepTimeout = b.stepTimeout;
        this.listeners = List.copyOf(b.listeners);
    }

    /**
     * Returns the listeners told of every execution's events and store calls, in the order they were
     * added; the engine's workers tell the same ones.
     *
     * @return an unmodifiable list, empty unless set
     */
    public List<EngineListener> listeners() {
        return listeners;
    }

    /**
     * Returns how often {@link Engine#awaitEnd} looks at the store when no notice of the end arrives.
     *
     * @return the interval
     */
    public Duration awaitPollInterval() {
        return awaitPollInterval;
    }

    /**
     * Starts a builder holding these options, to change some of them (add a listener, say).
     *
     * @return a builder with every setting of these options
     */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.clock = clock;
        b.maxSteps = maxSteps;
        b.recordHistory = recordHistory;
        b.idempotencyTtl = idempotencyTtl;
        b.executionTimeout = executionTimeout;
        b.waitTimeout = waitTimeout;
        b.awaitPollInterval = awaitPollInterval;
        b.objectMapper = objectMapper;
        b.stepTimeout = stepTimeout;
        b.listeners.addAll(listeners);
        return b;
    }

    /**
     * Starts options with the {@code DEFAULT_*} values and no timeouts.
     *
     * @return a builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Returns the clock for timestamps, waits, retries and timeouts.
     *
     * @return the clock
     */
    public Clock clock() {
        return clock;
    }

    /**
     * Returns how many steps an execution may run in all before it fails with {@code MAX_STEPS_EXCEEDED}.
     *
     * @return at least 1
     */
    public int maxSteps() {
        return maxSteps;
    }

    /**
     * Tells whether each step appends a {@link io.flowmonkey.execution.StepHistory} to its execution.
     *
     * @return true if history is recorded
     */
    public boolean recordHistory() {
        return recordHistory;
    }

    /**
     * Returns how long an idempotency key holds when {@link CreateOptions#idempotencyTtl()} is not set.
     *
     * @return a positive duration
     */
    public Duration idempotencyTtl() {
        return idempotencyTtl;
    }

    /**
     * Returns the execution timeout for creates that set none.
     *
     * @return the timeout, or null for no limit
     */
    public Duration executionTimeout() {
        return executionTimeout;
    }

    /**
     * Returns the wait timeout for creates that set none.
     *
     * @return the timeout, or null for no limit
     */
    public Duration waitTimeout() {
        return waitTimeout;
    }

    /**
     * Returns the budget of one attempt of every step that sets no {@link Step#timeout()} of its own.
     *
     * @return the budget, or null for none (such steps run on the caller's thread, unbounded)
     */
    public Duration stepTimeout() {
        return stepTimeout;
    }

    /**
     * Returns the mapper {@link StepContext#input(Class)} converts a step's input with. Only
     * conversions are made with it ({@code convertValue}); the store keeps its own JSON mapping.
     *
     * @return the mapper
     */
    public ObjectMapper objectMapper() {
        return objectMapper;
    }

    @Override
    public String toString() {
        return "EngineOptions{clock=" + clock + ", maxSteps=" + maxSteps + ", recordHistory=" + recordHistory
                + ", idempotencyTtl=" + idempotencyTtl + ", executionTimeout=" + executionTimeout
                + ", waitTimeout=" + waitTimeout + ", awaitPollInterval=" + awaitPollInterval
                + ", stepTimeout=" + stepTimeout + ", listeners=" + listeners.size() + "}";
    }

    /** Builds {@link EngineOptions}. Not thread-safe. */
    public static final class Builder {
        private Clock clock = DEFAULT_CLOCK;
        private int maxSteps = DEFAULT_MAX_STEPS;
        private boolean recordHistory = DEFAULT_RECORD_HISTORY;
        private Duration idempotencyTtl = DEFAULT_IDEMPOTENCY_TTL;
        private Duration executionTimeout;
        private Duration waitTimeout;
        private Duration awaitPollInterval = DEFAULT_AWAIT_POLL_INTERVAL;
        private ObjectMapper objectMapper;
        private Duration stepTimeout;
        private final List<EngineListener> listeners = new ArrayList<>();

        private Builder() {
        }

        /**
         * Adds a listener, told of every execution's events and store calls after those added before it
         * (see {@link EngineListener} for the threads it is called on and what happens when it throws).
         * Call it once per listener; {@link EngineListener#logging()} logs every event.
         *
         * @param listener the listener
         * @return this builder
         * @throws NullPointerException if {@code listener} is null
         */
        public Builder listener(EngineListener listener) {
            listeners.add(Objects.requireNonNull(listener, "listener must not be null"));
            return this;
        }

        /**
         * Sets how often {@link Engine#awaitEnd} looks at the store when no notice of the end arrives
         * (a store without notices, or notices lost while its listening connection reconnects).
         *
         * @param interval at least 10 ms, at most {@link EngineWorker#MAX_SETTING}
         * @return this builder
         * @throws IllegalArgumentException if shorter than 10 ms or longer than {@link EngineWorker#MAX_SETTING}
         */
        public Builder awaitPollInterval(Duration interval) {
            Objects.requireNonNull(interval, "awaitPollInterval must not be null");
            // Capped as the worker's timings are: it is waited out in nanoseconds, which hold 292 years.
            if (interval.compareTo(Duration.ofMillis(10)) < 0 || interval.compareTo(EngineWorker.MAX_SETTING) > 0) {
                throw new IllegalArgumentException("awaitPollInterval must be from 10 ms to "
                        + EngineWorker.MAX_SETTING + ", got " + interval);
            }
            this.awaitPollInterval = interval;
            return this;
        }

        /**
         * Sets the clock; tests pass one they can move.
         *
         * @param clock the clock
         * @return this builder
         */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock must not be null");
            return this;
        }

        /**
         * Sets how many steps an execution may run in all; a flow that loops forever fails at this limit
         * with code {@code MAX_STEPS_EXCEEDED}.
         *
         * @param maxSteps at least 1
         * @return this builder
         * @throws IllegalArgumentException if less than 1
         */
        public Builder maxSteps(int maxSteps) {
            Arguments.atLeastOne(maxSteps, "maxSteps");
            this.maxSteps = maxSteps;
            return this;
        }

        /**
         * Sets whether each step appends a {@link io.flowmonkey.execution.StepHistory} to its execution.
         * Turning it off keeps rows small for long-running flows.
         *
         * @param recordHistory true to record
         * @return this builder
         */
        public Builder recordHistory(boolean recordHistory) {
            this.recordHistory = recordHistory;
            return this;
        }

        /**
         * Sets how long an idempotency key holds when a create sets no TTL.
         *
         * @param ttl a positive duration, at most {@link #MAX_DURATION}
         * @return this builder
         * @throws IllegalArgumentException if not positive or longer than {@link #MAX_DURATION}
         */
        public Builder idempotencyTtl(Duration ttl) {
            this.idempotencyTtl = Options.positive(Objects.requireNonNull(ttl, "idempotencyTtl must not be null"),
                    "idempotencyTtl");
            return this;
        }

        /**
         * Sets the execution timeout for creates that set none: how long an execution may take from its
         * creation before it is cancelled with source {@code TIMEOUT}.
         *
         * @param timeout a positive duration of at most {@link #MAX_DURATION}, or null for no limit
         * @return this builder
         * @throws IllegalArgumentException if not positive or longer than {@link #MAX_DURATION}
         */
        public Builder executionTimeout(Duration timeout) {
            this.executionTimeout = Options.positive(timeout, "executionTimeout");
            return this;
        }

        /**
         * Sets the wait timeout for creates that set none: how long one wait may last before the execution
         * is cancelled with source {@code TIMEOUT}.
         *
         * @param timeout a positive duration of at most {@link #MAX_DURATION}, or null for no limit
         * @return this builder
         * @throws IllegalArgumentException if not positive or longer than {@link #MAX_DURATION}
         */
        public Builder waitTimeout(Duration timeout) {
            this.waitTimeout = Options.positive(timeout, "waitTimeout");
            return this;
        }

        /**
         * Sets the budget of one attempt of every step that sets no {@link Step#timeout()} of its own
         * (FlowMonkey TypeScript's engine-wide {@code timeoutMs}); past it the attempt fails with
         * {@code STEP_TIMEOUT}, as {@link Step.Builder#timeout(Duration)} describes. With a budget, every
         * handler runs on a thread the engine owns.
         *
         * @param timeout a positive duration of at most {@link #MAX_DURATION}, or null for none
         * @return this builder
         * @throws IllegalArgumentException if not positive or longer than {@link #MAX_DURATION}
         */
        public Builder stepTimeout(Duration timeout) {
            this.stepTimeout = Options.positive(timeout, "stepTimeout");
            return this;
        }

        /**
         * Sets the mapper {@link StepContext#input(Class)} converts a step's input with, for example
         * one with the modules and settings your domain classes need. It is used, never changed; do
         * not reconfigure it once handlers run.
         *
         * @param objectMapper the mapper
         * @return this builder
         */
        public Builder objectMapper(ObjectMapper objectMapper) {
            this.objectMapper = Objects.requireNonNull(objectMapper, "objectMapper must not be null");
            return this;
        }

        /**
         * Builds the options.
         *
         * @return the options
         */
        public EngineOptions build() {
            return new EngineOptions(this);
        }
    }
}
