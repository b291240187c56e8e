package io.flowmonkey.execution;

import io.flowmonkey.internal.json.Values;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One run of a flow: its status, data, history and bookkeeping. Immutable and thread-safe; change
 * it with {@link #toBuilder()}. Maps and lists are deep-copied into unmodifiable containers when
 * built, and timestamps are truncated to milliseconds, as they are stored. A store may hand out
 * executions whose {@code context} and {@code history} are decoded from their stored JSON on first
 * use (PostgreSQL's {@code PgExecutionStore.decodingOnAccess()}); they hold the same checked values,
 * decoded once whichever thread asks first, and a column that cannot be read throws the store's
 * {@link ExecutionDataException} from that first use (and every later one).
 *
 * <p>{@link #version()} is the optimistic-concurrency counter: 0 means never stored, and every
 * successful {@link ExecutionStore#save(Execution)} returns a copy whose version is one higher.
 */
public final class Execution {

    /**
     * The deepest nesting of maps and lists a JSON field may have, counted as in the field's JSON
     * document ({@code context} itself is level 1): {@value}, Jackson's default reading limit.
     * Deeper values, and maps or lists that contain themselves, are refused by {@link Builder#build()}.
     */
    public static final int MAX_NESTING_DEPTH = 1000;

    /** The lowest {@link #priority()}: {@value}. */
    public static final int MIN_PRIORITY = -1000;
    /** The highest {@link #priority()}: {@value}. */
    public static final int MAX_PRIORITY = 1000;
    /** The priority of an execution that was given none: {@value}. */
    public static final int DEFAULT_PRIORITY = 0;

    private final String id;
    private final String flowId;
    private final String flowVersion;
    private final String tenantId;
    private final ExecutionStatus status;
    private final String currentStepId;
    private final int stepCount;
    private final Map<String, Object> context;
    private final List<StepHistory> history;
    private final ExecutionError error;
    private final WaitMetadata waitMetadata;
    private final Cancellation cancellation;
    private final String idempotencyKey;
    private final Instant idempotencyExpiresAt;
    private final String parentExecutionId;
    private final Map<String, Object> metadata;
    private final TimeoutConfig timeoutConfig;
    private final Instant createdAt;
    private final Instant updatedAt;
    private final Instant completedAt;
    private final Instant failedAt;
    private final Instant cancelledAt;
    private final long version;
    private final int priority;
    private final String leaseOwner;
    private final Instant leaseExpiresAt;

    private Execution(Builder b) {
        this.id = Values.requireText(b.id, "id");
        this.flowId = Values.requireText(b.flowId, "flowId", b.id);
        this.flowVersion = Values.requireText(b.flowVersion, "flowVersion", b.id);
        this.status = Objects.requireNonNull(b.status, () -> "status of execution " + b.id + " must not be null");
        this.createdAt = Objects.requireNonNull(Values.millis(b.createdAt, "createdAt", b.id),
                () -> "createdAt of execution " + b.id + " must not be null");
        this.updatedAt = Objects.requireNonNull(Values.millis(b.updatedAt, "updatedAt", b.id),
                () -> "updatedAt of execution " + b.id + " must not be null");
        if (b.stepCount < 0) {
            throw new InvalidFieldException("stepCount", b.id, "must not be negative, got " + b.stepCount);
        }
        if (b.version < 0) {
            throw new InvalidFieldException("version", b.id, "must not be negative, got " + b.version);
        }
        if (b.priority < MIN_PRIORITY || b.priority > MAX_PRIORITY) {
            throw new InvalidFieldException("priority", b.id, "must be between " + MIN_PRIORITY + " and "
                    + MAX_PRIORITY + ", got " + b.priority);
        }
        this.tenantId = Values.optionalText(b.tenantId, "tenantId", b.id);
        this.currentStepId = Values.optionalText(b.currentStepId, "currentStepId", b.id);
        this.stepCount = b.stepCount;
        this.context = Values.freezeObject(b.context, "context", b.id);
        this.history = Values.freezeRecords(b.history, "history", b.id);
        this.error = b.error;
        this.waitMetadata = b.waitMetadata;
        this.cancellation = b.cancellation;
        this.idempotencyKey = Values.optionalText(b.idempotencyKey, "idempotencyKey", b.id);
        this.idempotencyExpiresAt = Values.millis(b.idempotencyExpiresAt, "idempotencyExpiresAt", b.id);
        this.parentExecutionId = Values.optionalText(b.parentExecutionId, "parentExecutionId", b.id);
        this.metadata = Values.freezeObject(b.metadata, "metadata", b.id);
        this.timeoutConfig = b.timeoutConfig;
        this.completedAt = Values.millis(b.completedAt, "completedAt", b.id);
        this.failedAt = Values.millis(b.failedAt, "failedAt", b.id);
        this.cancelledAt = Values.millis(b.cancelledAt, "cancelledAt", b.id);
        this.version = b.version;
        this.priority = b.priority;
        this.leaseOwner = b.leaseOwner;
        this.leaseExpiresAt = b.leaseExpiresAt;
    }

    /**
     * Starts a new execution with status {@link ExecutionStatus#PENDING}, empty context and history,
     * {@code createdAt} and {@code updatedAt} now, step count 0 and version 0.
     *
     * @param id the execution id, unique in its store
     * @param flowId the flow it runs
     * @param flowVersion the version of that flow
     * @return a builder; {@link Builder#build()} validates
     */
    public static Builder builder(String id, String flowId, String flowVersion) {
        return new Builder(id, flowId, flowVersion);
    }

    /**
     * Returns a builder holding every field of this execution, version included; the lease, which
     * only describes the stored row when it was read, is not carried over.
     *
     * @return a builder for a changed copy
     */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /**
     * Returns the execution id.
     *
     * @return the id, never blank
     */
    public String id() {
        return id;
    }

    /**
     * Returns the id of the flow this execution runs.
     *
     * @return the flow id
     */
    public String flowId() {
        return flowId;
    }

    /**
     * Returns the version of the flow this execution runs.
     *
     * @return the flow version
     */
    public String flowVersion() {
        return flowVersion;
    }

    /**
     * Returns the tenant this execution belongs to, or null.
     *
     * @return the tenant this execution belongs to, or null
     */
    public String tenantId() {
        return tenantId;
    }

    /**
     * Returns the current status.
     *
     * @return the current status
     */
    public ExecutionStatus status() {
        return status;
    }

    /**
     * Returns the step that runs next or is waiting, or null before the first step.
     *
     * @return the step that runs next or is waiting, or null before the first step
     */
    public String currentStepId() {
        return currentStepId;
    }

    /**
     * Returns how many steps have run.
     *
     * @return how many steps have run
     */
    public int stepCount() {
        return stepCount;
    }

    /**
     * Returns the execution's data, a JSON object; never null.
     *
     * @return the execution's data, a JSON object; never null
     */
    public Map<String, Object> context() {
        return context;
    }

    /**
     * Returns the steps that ran, oldest first; never null.
     *
     * @return the steps that ran, oldest first; never null
     */
    public List<StepHistory> history() {
        return history;
    }

    /**
     * Returns why the execution failed, or null.
     *
     * @return why the execution failed, or null
     */
    public ExecutionError error() {
        return error;
    }

    /**
     * Returns why and until when the execution waits, or null.
     *
     * @return why and until when the execution waits, or null
     */
    public WaitMetadata waitMetadata() {
        return waitMetadata;
    }

    /**
     * Returns who cancelled the execution and why, or null.
     *
     * @return who cancelled the execution and why, or null
     */
    public Cancellation cancellation() {
        return cancellation;
    }

    /**
     * Returns the key that makes creation idempotent, or null.
     *
     * @return the key that makes creation idempotent, or null
     */
    public String idempotencyKey() {
        return idempotencyKey;
    }

    /**
     * Returns when the idempotency key may be reused, or null for never.
     *
     * @return when the idempotency key may be reused, or null for never
     */
    public Instant idempotencyExpiresAt() {
        return idempotencyExpiresAt;
    }

    /**
     * Returns the execution that started this one as a sub-flow, or null.
     *
     * @return the execution that started this one as a sub-flow, or null
     */
    public String parentExecutionId() {
        return parentExecutionId;
    }

    /**
     * Returns free-form JSON data about the execution; never null.
     *
     * @return free-form JSON data about the execution; never null
     */
    public Map<String, Object> metadata() {
        return metadata;
    }

    /**
     * Returns the execution's time limits, or null.
     *
     * @return the execution's time limits, or null
     */
    public TimeoutConfig timeoutConfig() {
        return timeoutConfig;
    }

    /**
     * Returns when the execution was created.
     *
     * @return when the execution was created
     */
    public Instant createdAt() {
        return createdAt;
    }

    /**
     * Returns when the execution was last saved.
     *
     * @return when the execution was last saved
     */
    public Instant updatedAt() {
        return updatedAt;
    }

    /**
     * Returns when the execution completed, or null.
     *
     * @return when the execution completed, or null
     */
    public Instant completedAt() {
        return completedAt;
    }

    /**
     * Returns when the execution failed, or null.
     *
     * @return when the execution failed, or null
     */
    public Instant failedAt() {
        return failedAt;
    }

    /**
     * Returns when the execution was cancelled, or null.
     *
     * @return when the execution was cancelled, or null
     */
    public Instant cancelledAt() {
        return cancelledAt;
    }

    /**
     * Returns the optimistic-concurrency version: 0 until first stored, then incremented by every save.
     *
     * @return the version
     */
    public long version() {
        return version;
    }

    /**
     * Returns how urgent this execution is among pending ones: a worker's claim takes pending executions
     * of higher priority first, and those of equal priority oldest first. It orders nothing else: timed
     * waits fall due by their {@code wakeAt}, and a running execution is never preempted.
     *
     * @return from {@link #MIN_PRIORITY} to {@link #MAX_PRIORITY}; {@link #DEFAULT_PRIORITY} unless set
     */
    public int priority() {
        return priority;
    }

    /**
     * Returns the worker that held this execution's lease when it was read: a worker runs it, or ran
     * it and has not yet released it. Stores fill it in on read ({@code lease_owner} of PostgreSQL);
     * saves never write it, and a save that leaves the execution waiting or ended clears it. Not part
     * of {@link #equals(Object)}.
     *
     * @return the worker id, or null when no worker held it (or the store does not lease work)
     */
    public String leaseOwner() {
        return leaseOwner;
    }

    /**
     * Returns when the lease of {@link #leaseOwner()} ends unless renewed, by the store's clock. A
     * lease in the past means its holder stopped renewing it (it died or let go) and any worker may
     * take the execution over. Not part of {@link #equals(Object)}.
     *
     * @return the lease expiry, or null when no worker held the execution
     */
    public Instant leaseExpiresAt() {
        return leaseOwner == null ? null : leaseExpiresAt;
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof Execution that)) {
            return false;
        }
        return stepCount == that.stepCount && version == that.version && priority == that.priority
                && id.equals(that.id)
                && flowId.equals(that.flowId) && flowVersion.equals(that.flowVersion)
                && Objects.equals(tenantId, that.tenantId) && status == that.status
                && Objects.equals(currentStepId, that.currentStepId) && context.equals(that.context)
                && history.equals(that.history) && Objects.equals(error, that.error)
                && Objects.equals(waitMetadata, that.waitMetadata)
                && Objects.equals(cancellation, that.cancellation)
                && Objects.equals(idempotencyKey, that.idempotencyKey)
                && Objects.equals(idempotencyExpiresAt, that.idempotencyExpiresAt)
                && Objects.equals(parentExecutionId, that.parentExecutionId) && metadata.equals(that.metadata)
                && Objects.equals(timeoutConfig, that.timeoutConfig) && createdAt.equals(that.createdAt)
                && updatedAt.equals(that.updatedAt) && Objects.equals(completedAt, that.completedAt)
                && Objects.equals(failedAt, that.failedAt) && Objects.equals(cancelledAt, that.cancelledAt);
    }

    @Override
    public int hashCode() {
        return Objects.hash(id, version, status, updatedAt);
    }

    @Override
    public String toString() {
        return "Execution{id=" + id + ", flow=" + flowId + "@" + flowVersion + ", status=" + status.wireName()
                + ", currentStepId=" + currentStepId + ", stepCount=" + stepCount + ", tenantId=" + tenantId
                + ", version=" + version + "}";
    }

    /**
     * Builds an {@link Execution}. Not thread-safe; setters return this builder. Collections passed
     * in are copied by {@link #build()}.
     */
    public static final class Builder {
        private final String id;
        private final String flowId;
        private final String flowVersion;
        private String tenantId;
        private ExecutionStatus status = ExecutionStatus.PENDING;
        private String currentStepId;
        private int stepCount;
        private Map<String, ?> context = Map.of();
        private List<StepHistory> history = List.of();
        private ExecutionError error;
        private WaitMetadata waitMetadata;
        private Cancellation cancellation;
        private String idempotencyKey;
        private Instant idempotencyExpiresAt;
        private String parentExecutionId;
        private Map<String, ?> metadata = Map.of();
        private TimeoutConfig timeoutConfig;
        private Instant createdAt;
        private Instant updatedAt;
        private Instant completedAt;
        private Instant failedAt;
        private Instant cancelledAt;
        private long version;
        private int priority = DEFAULT_PRIORITY;
        private String leaseOwner;
        private Instant leaseExpiresAt;

        private Builder(String id, String flowId, String flowVersion) {
            this.id = id;
            this.flowId = flowId;
            this.flowVersion = flowVersion;
            Instant now = Instant.now();
            this.createdAt = now;
            this.updatedAt = now;
        }

        private Builder(Execution e) {
            this.id = e.id;
            this.flowId = e.flowId;
            this.flowVersion = e.flowVersion;
            this.tenantId = e.tenantId;
            this.status = e.status;
            this.currentStepId = e.currentStepId;
            this.stepCount = e.stepCount;
            this.context = e.context;
            this.history = e.history;
            this.error = e.error;
            this.waitMetadata = e.waitMetadata;
            this.cancellation = e.cancellation;
            this.idempotencyKey = e.idempotencyKey;
            this.idempotencyExpiresAt = e.idempotencyExpiresAt;
            this.parentExecutionId = e.parentExecutionId;
            this.metadata = e.metadata;
            this.timeoutConfig = e.timeoutConfig;
            this.createdAt = e.createdAt;
            this.updatedAt = e.updatedAt;
            this.completedAt = e.completedAt;
            this.failedAt = e.failedAt;
            this.cancelledAt = e.cancelledAt;
            this.version = e.version;
            this.priority = e.priority;
        }

        /**
         * Sets the tenant this execution belongs to, or null.
         *
         * @param tenantId the tenant this execution belongs to, or null
         * @return this builder
         */
        public Builder tenantId(String tenantId) {
            this.tenantId = tenantId;
            return this;
        }

        /**
         * Sets the current status.
         *
         * @param status the current status
         * @return this builder
         */
        public Builder status(ExecutionStatus status) {
            this.status = status;
            return this;
        }

        /**
         * Sets the step that runs next or is waiting, or null before the first step.
         *
         * @param currentStepId the step that runs next or is waiting, or null before the first step
         * @return this builder
         */
        public Builder currentStepId(String currentStepId) {
            this.currentStepId = currentStepId;
            return this;
        }

        /**
         * Sets how many steps have run.
         *
         * @param stepCount how many steps have run
         * @return this builder
         */
        public Builder stepCount(int stepCount) {
            this.stepCount = stepCount;
            return this;
        }

        /**
         * Sets the execution's data, a JSON object; never null.
         *
         * @param context the execution's data, a JSON object; never null
         * @return this builder
         */
        public Builder context(Map<String, ?> context) {
            this.context = context;
            return this;
        }

        /**
         * Sets the steps that ran, oldest first; never null.
         *
         * @param history the steps that ran, oldest first; never null
         * @return this builder
         */
        public Builder history(List<StepHistory> history) {
            this.history = history;
            return this;
        }

        /**
         * Sets why the execution failed, or null.
         *
         * @param error why the execution failed, or null
         * @return this builder
         */
        public Builder error(ExecutionError error) {
            this.error = error;
            return this;
        }

        /**
         * Sets why and until when the execution waits, or null.
         *
         * @param waitMetadata why and until when the execution waits, or null
         * @return this builder
         */
        public Builder waitMetadata(WaitMetadata waitMetadata) {
            this.waitMetadata = waitMetadata;
            return this;
        }

        /**
         * Sets who cancelled the execution and why, or null.
         *
         * @param cancellation who cancelled the execution and why, or null
         * @return this builder
         */
        public Builder cancellation(Cancellation cancellation) {
            this.cancellation = cancellation;
            return this;
        }

        /**
         * Sets the key that makes creation idempotent, or null.
         *
         * @param idempotencyKey the key that makes creation idempotent, or null
         * @return this builder
         */
        public Builder idempotencyKey(String idempotencyKey) {
            this.idempotencyKey = idempotencyKey;
            return this;
        }

        /**
         * Sets when the idempotency key may be reused, or null for never.
         *
         * @param idempotencyExpiresAt when the idempotency key may be reused, or null for never
         * @return this builder
         */
        public Builder idempotencyExpiresAt(Instant idempotencyExpiresAt) {
            this.idempotencyExpiresAt = idempotencyExpiresAt;
            return this;
        }

        /**
         * Sets the execution that started this one as a sub-flow, or null.
         *
         * @param parentExecutionId the execution that started this one as a sub-flow, or null
         * @return this builder
         */
        public Builder parentExecutionId(String parentExecutionId) {
            this.parentExecutionId = parentExecutionId;
            return this;
        }

        /**
         * Sets free-form JSON data about the execution; never null.
         *
         * @param metadata free-form JSON data about the execution; never null
         * @return this builder
         */
        public Builder metadata(Map<String, ?> metadata) {
            this.metadata = metadata;
            return this;
        }

        /**
         * Sets the execution's time limits, or null.
         *
         * @param timeoutConfig the execution's time limits, or null
         * @return this builder
         */
        public Builder timeoutConfig(TimeoutConfig timeoutConfig) {
            this.timeoutConfig = timeoutConfig;
            return this;
        }

        /**
         * Sets when the execution was created.
         *
         * @param createdAt when the execution was created
         * @return this builder
         */
        public Builder createdAt(Instant createdAt) {
            this.createdAt = createdAt;
            return this;
        }

        /**
         * Sets when the execution was last saved.
         *
         * @param updatedAt when the execution was last saved
         * @return this builder
         */
        public Builder updatedAt(Instant updatedAt) {
            this.updatedAt = updatedAt;
            return this;
        }

        /**
         * Sets when the execution completed, or null.
         *
         * @param completedAt when the execution completed, or null
         * @return this builder
         */
        public Builder completedAt(Instant completedAt) {
            this.completedAt = completedAt;
            return this;
        }

        /**
         * Sets when the execution failed, or null.
         *
         * @param failedAt when the execution failed, or null
         * @return this builder
         */
        public Builder failedAt(Instant failedAt) {
            this.failedAt = failedAt;
            return this;
        }

        /**
         * Sets when the execution was cancelled, or null.
         *
         * @param cancelledAt when the execution was cancelled, or null
         * @return this builder
         */
        public Builder cancelledAt(Instant cancelledAt) {
            this.cancelledAt = cancelledAt;
            return this;
        }

        /**
         * Sets the optimistic-concurrency version. Stores set it; callers rarely need to.
         *
         * @param version 0 for a new execution, otherwise the stored version
         * @return this builder
         */
        public Builder version(long version) {
            this.version = version;
            return this;
        }

        /**
         * Sets how urgent the execution is among pending ones; see {@link Execution#priority()}.
         * Checked by {@link #build()}.
         *
         * @param priority from {@link #MIN_PRIORITY} to {@link #MAX_PRIORITY}
         * @return this builder
         */
        public Builder priority(int priority) {
            this.priority = priority;
            return this;
        }

        /**
         * Sets the lease as read from the store. Stores set it; saves ignore it.
         *
         * @param leaseOwner the worker holding the lease, or null
         * @param leaseExpiresAt when that lease ends, or null
         * @return this builder
         */
        public Builder lease(String leaseOwner, Instant leaseExpiresAt) {
            this.leaseOwner = leaseOwner;
            this.leaseExpiresAt = leaseExpiresAt;
            return this;
        }

        /**
         * Validates and builds the execution.
         *
         * @return the immutable execution
         * @throws InvalidFieldException (an {@code IllegalArgumentException}) naming the field: an id is
         *     null or blank, an optional id ({@code tenantId}, {@code currentStepId}, {@code idempotencyKey},
         *     {@code parentExecutionId}) is blank, an id or a string in {@code context} or {@code metadata}
         *     holds an unpaired surrogate, a map key there is not a string, a number is NaN or infinite,
         *     nesting is deeper than {@link #MAX_NESTING_DEPTH} or a map or list contains itself, a count
         *     is negative, the priority is outside {@link #MIN_PRIORITY}..{@link #MAX_PRIORITY}, or a time is beyond what epoch milliseconds can hold
         * @throws NullPointerException if the status or a required timestamp is null
         */
        public Execution build() {
            return new Execution(this);
        }
    }
}
