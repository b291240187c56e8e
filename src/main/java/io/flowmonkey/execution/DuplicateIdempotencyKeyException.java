package io.flowmonkey.execution;

/**
 * An execution was saved with an idempotency key that another, unexpired execution holds. Nothing
 * was written; {@link #holderExecutionId()} names the execution that holds the key.
 */
public class DuplicateIdempotencyKeyException extends StoreException {
    private static final long serialVersionUID = 1L;

    /** The key that is taken. */
    private final String idempotencyKey;
    /** The execution holding the key, or null. */
    private final String holderExecutionId;

    /**
     * Creates the exception.
     *
     * @param executionId the execution whose save was refused
     * @param idempotencyKey the key in question
     * @param holderExecutionId the execution that holds the key, or null if it vanished meanwhile
     */
    public DuplicateIdempotencyKeyException(String executionId, String idempotencyKey, String holderExecutionId) {
        super(executionId, "idempotency key '" + idempotencyKey + "' of execution " + executionId
                + (holderExecutionId != null
                        ? " is held by execution " + holderExecutionId + " until it expires; use that execution"
                        : " was held by another execution, which was deleted or lost the key before it could be "
                                + "named; look the key up with findByIdempotencyKey, or retry the save"));
        this.idempotencyKey = idempotencyKey;
        this.holderExecutionId = holderExecutionId;
    }

    /**
     * Returns the key that is taken.
     *
     * @return the idempotency key
     */
    public String idempotencyKey() {
        return idempotencyKey;
    }

    /**
     * Returns the id of the execution that holds the key.
     *
     * @return the holder's id, or null if it was deleted or expired before it could be read
     */
    public String holderExecutionId() {
        return holderExecutionId;
    }
}
