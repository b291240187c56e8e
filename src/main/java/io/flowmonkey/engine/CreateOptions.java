package io.flowmonkey.engine;

import io.flowmonkey.execution.Execution;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;

/**
 * Per-execution settings of {@link Engine#create(String, Map, CreateOptions)}. Immutable; build with
 * {@link #builder()}, where each setter checks its argument. Every setting is optional.
 */
public final class CreateOptions {

    /**
     * The longest {@link Builder#executionId(String) chosen execution id}: {@value} characters, what
     * the PostgreSQL store admits in its indexed text columns (an index entry holds about 2,700 bytes,
     * which 255 characters of even four-byte UTF-8 stay under). Refused when set, not at the save.
     */
    public static final int MAX_EXECUTION_ID_LENGTH = 255;

    /**
     * A generated id, no tenant, no idempotency key, no parent, no metadata, the engine's default
     * timeouts, due at once, priority {@link Execution#DEFAULT_PRIORITY}.
     */
    public static final CreateOptions DEFAULTS = builder().build();

    /**
     * A caller-chosen execution id as the store admits it: non-blank, storable, at most
     * {@value #MAX_EXECUTION_ID_LENGTH} characters; null stays null. For a child's id too.
     */
    static String chosenId(String executionId, String field) {
        Options.storableText(Options.textOrNull(executionId, field), field);
        if (executionId != null && executionId.length() > MAX_EXECUTION_ID_LENGTH) {
            throw new IllegalArgumentException(field + " must be at most " + MAX_EXECUTION_ID_LENGTH
                    + " characters (CreateOptions.MAX_EXECUTION_ID_LENGTH), got " + executionId.length());
        }
        return executionId;
    }

    private final String executionId;
    private final String tenantId;
    private final String idempotencyKey;
    private final Duration idempotencyTtl;
    private final String parentExecutionId;
    private final Map<String, Object> metadata;
    private final Duration timeout;
    private final Duration waitTimeout;
    private final Instant startAt;
    private final int priority;

    private CreateOptions(Builder b) {
        this.executionId = b.executionId;
        this.tenantId = b.tenantId;
        this.idempotencyKey = b.idempotencyKey;
        this.idempotencyTtl = b.idempotencyTtl;
        this.parentExecutionId = b.parentExecutionId;
        this.metadata = b.metadata;
        this.timeout = b.timeout;
        this.waitTimeout = b.waitTimeout;
        this.startAt = b.startAt;
        this.priority = b.priority;
    }

    /**
     * Starts options with nothing set.
     *
     * @return a builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Returns the id the caller chose for the execution.
     *
     * @return the id, or null for a generated one (a random UUID)
     */
    public String executionId() {
        return executionId;
    }

    /**
     * Returns the tenant the execution belongs to.
     *
     * @return the tenant id, or null
     */
    public String tenantId() {
        return tenantId;
    }

    /**
     * Returns the key that makes the create idempotent.
     *
     * @return the key, or null
     */
    public String idempotencyKey() {
        return idempotencyKey;
    }

    /**
     * Returns how long the idempotency key holds.
     *
     * @return the TTL, or null for the engine's {@link EngineOptions#idempotencyTtl()}
     */
    public Duration idempotencyTtl() {
        return idempotencyTtl;
    }

    /**
     * Returns the execution that starts this one as a sub-flow.
     *
     * @return the parent's id, or null
     */
    public String parentExecutionId() {
        return parentExecutionId;
    }

    /**
     * Returns free-form data stored with the execution; unmodifiable.
     *
     * @return the metadata, empty when none was set
     */
    public Map<String, Object> metadata() {
        return metadata;
    }

    /**
     * Returns the execution timeout.
     *
     * @return the timeout, or null for the engine's {@link EngineOptions#executionTimeout()}
     */
    public Duration timeout() {
        return timeout;
    }

    /**
     * Returns the wait timeout.
     *
     * @return the timeout, or null for the engine's {@link EngineOptions#waitTimeout()}
     */
    public Duration waitTimeout() {
        return waitTimeout;
    }

    /**
     * Returns when the execution's first step may run.
     *
     * @return the scheduled start, or null to be due at once
     */
    public Instant startAt() {
        return startAt;
    }

    /**
     * Returns how urgent the execution is among pending ones.
     *
     * @return the priority, {@link Execution#DEFAULT_PRIORITY} unless set
     */
    public int priority() {
        return priority;
    }

    /** Builds {@link CreateOptions}. Not thread-safe. */
    public static final class Builder {
        private String executionId;
        private String tenantId;
        private String idempotencyKey;
        private Duration idempotencyTtl;
        private String parentExecutionId;
        private Map<String, Object> metadata = Map.of();
        private Duration timeout;
        private Duration waitTimeout;
        private Instant startAt;
        private int priority = Execution.DEFAULT_PRIORITY;

        private Builder() {
        }

        /**
         * Chooses the execution's id, such as a business key ({@code "order-1001"}), instead of a random
         * UUID. The id is the table's primary key, so the create is idempotent for as long as the
         * execution exists, in any thread or JVM: a second create with the same id stores nothing and
         * returns the first execution with {@code created == false}, whatever context or options it was
         * given, unless that execution belongs to another flow, which is refused with
         * {@link IllegalExecutionStateException}. Unlike an idempotency key it never expires.
         *
         * @param executionId a non-blank id of at most {@link #MAX_EXECUTION_ID_LENGTH} characters, without
         *     U+0000 or unpaired surrogates, or null for a UUID
         * @return this builder
         * @throws IllegalArgumentException if blank, too long or not storable as text
         */
        public Builder executionId(String executionId) {
            this.executionId = chosenId(executionId, "executionId");
            return this;
        }

        /**
         * Sets the tenant the execution belongs to.
         *
         * @param tenantId a non-blank id, or null
         * @return this builder
         * @throws IllegalArgumentException if blank
         */
        public Builder tenantId(String tenantId) {
            this.tenantId = Options.textOrNull(tenantId, "tenantId");
            return this;
        }

        /**
         * Makes the create idempotent: while the key holds, a create with the same key returns the
         * execution that holds it, with {@code created == false}, even from many threads or JVMs at once.
         *
         * @param idempotencyKey a non-blank key, or null
         * @return this builder
         * @throws IllegalArgumentException if blank
         */
        public Builder idempotencyKey(String idempotencyKey) {
            this.idempotencyKey = Options.textOrNull(idempotencyKey, "idempotencyKey");
            return this;
        }

        /**
         * Sets how long the idempotency key holds, from creation.
         *
         * @param ttl a positive duration of at most {@link EngineOptions#MAX_DURATION}, or null for the
         *     engine's default
         * @return this builder
         * @throws IllegalArgumentException if not positive or too long
         */
        public Builder idempotencyTtl(Duration ttl) {
            this.idempotencyTtl = Options.positive(ttl, "idempotencyTtl");
            return this;
        }

        /**
         * Makes the execution a sub-flow of another: it is found by
         * {@link io.flowmonkey.execution.ExecutionStore#findChildren(String)} and cancelled with its parent.
         *
         * @param parentExecutionId the parent's id, or null
         * @return this builder
         * @throws IllegalArgumentException if blank
         */
        public Builder parentExecutionId(String parentExecutionId) {
            this.parentExecutionId = Options.textOrNull(parentExecutionId, "parentExecutionId");
            return this;
        }

        /**
         * Sets free-form JSON-like data stored with the execution; it is copied.
         *
         * @param metadata the metadata, or null for none
         * @return this builder
         */
        public Builder metadata(Map<String, ?> metadata) {
            @SuppressWarnings("unchecked")
            Map<String, Object> frozen = metadata == null ? Map.of() : (Map<String, Object>) InputSelector.freeze(metadata);
            this.metadata = frozen;
            return this;
        }

        /**
         * Sets how long the execution may take from its creation; past it, the next run or resume
         * cancels it with source {@code TIMEOUT}.
         *
         * @param timeout a positive duration of at most {@link EngineOptions#MAX_DURATION}, or null for
         *     the engine's default
         * @return this builder
         * @throws IllegalArgumentException if not positive or too long
         */
        public Builder timeout(Duration timeout) {
            this.timeout = Options.positive(timeout, "timeout");
            return this;
        }

        /**
         * Sets how long one wait may last; past it, the execution is cancelled with source
         * {@code TIMEOUT}.
         *
         * @param waitTimeout a positive duration of at most {@link EngineOptions#MAX_DURATION}, or null
         *     for the engine's default
         * @return this builder
         * @throws IllegalArgumentException if not positive or too long
         */
        public Builder waitTimeout(Duration waitTimeout) {
            this.waitTimeout = Options.positive(waitTimeout, "waitTimeout");
            return this;
        }

        /**
         * Schedules the start: the execution is created now, and its first step runs no earlier than
         * {@code startAt} (db-scheduler's execution time, River's and Oban's {@code scheduled_at}).
         *
         * <p>A start in the future is stored as a timed wait at the flow's initial step: status
         * {@code waiting}, {@code waitMetadata} {@code {"wakeAt": startAt, "reason": "scheduled start"}}
         * and {@code data.wake = "start"}. So every path that finds due timed waits starts it, with
         * nothing new to scan: a worker's claim (through the wake-up index, woken by the insert's
         * notice at its time), {@link Engine#runWakeReady(int)}, {@link Engine#run(String)} once due; and
         * any reader of the documented schema sees an ordinary timed wait. Its end runs the initial step
         * itself, as its first attempt (never its {@code onResume}), and leaves no entry in the history:
         * the history begins with the first step that ran. Until then {@link Engine#get(String)} shows it
         * waiting, {@link Engine#cancel} cancels it, and {@link Engine#resume(String, Map)} starts it at
         * once (with the resume data in the context). A start now or in the past is no schedule: the
         * execution is created pending and is due at once. The engine's clock decides which, a worker's
         * store clock when it is due.
         *
         * <p>The execution timeout still counts from creation, so {@link Engine#create} refuses a start
         * at or after the execution's deadline, which would cancel it before its first step. The wait
         * timeout does not apply: a scheduled start is not a step's wait. A scheduled execution is
         * ordered among due work by its start time, not by {@link #priority(int)}.
         *
         * @param startAt when the first step may run, within epoch milliseconds, or null for at once
         * @return this builder
         * @throws IllegalArgumentException if it lies beyond what epoch milliseconds hold
         */
        public Builder startAt(Instant startAt) {
            if (startAt != null) {
                try {
                    startAt.toEpochMilli();
                } catch (ArithmeticException | DateTimeException e) {
                    throw new IllegalArgumentException("startAt must lie within epoch milliseconds, got " + startAt, e);
                }
            }
            this.startAt = startAt;
            return this;
        }

        /**
         * Sets how urgent the execution is: workers claim pending executions of higher priority first,
         * and those of equal priority oldest first (FIFO). It orders exactly that: which pending
         * executions a claim takes when more are due than it takes. It does not reorder timed waits,
         * retries, signalled executions or scheduled starts (due by their time), nor preempt one that
         * runs, nor change what {@link Engine#run(String)} does when called directly. Stored in the
         * {@code priority} column (migration V8) and shown by {@link Execution#priority()}.
         *
         * @param priority from {@link Execution#MIN_PRIORITY} ({@value Execution#MIN_PRIORITY}) to
         *     {@link Execution#MAX_PRIORITY} ({@value Execution#MAX_PRIORITY}); the default is
         *     {@value Execution#DEFAULT_PRIORITY}
         * @return this builder
         * @throws IllegalArgumentException if outside that range
         */
        public Builder priority(int priority) {
            if (priority < Execution.MIN_PRIORITY || priority > Execution.MAX_PRIORITY) {
                throw new IllegalArgumentException("priority must be between " + Execution.MIN_PRIORITY + " and "
                        + Execution.MAX_PRIORITY + ", got " + priority);
            }
            this.priority = priority;
            return this;
        }

        /**
         * Builds the options.
         *
         * @return the options
         */
        public CreateOptions build() {
            return new CreateOptions(this);
        }
    }
}
