package io.flowmonkey.execution;

/**
 * The root of every exception a store throws. Unchecked; carries the id of the execution concerned
 * when there is one. A {@code StoreException} caused by a lost connection leaves the store usable:
 * the next call gets a fresh connection.
 */
public class StoreException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** The execution concerned, or null. */
    private final String executionId;

    /**
     * Creates an exception about one execution.
     *
     * @param executionId the execution concerned, or null
     * @param message what went wrong and what to do
     * @param cause the underlying exception, or null
     */
    public StoreException(String executionId, String message, Throwable cause) {
        super(message, cause);
        this.executionId = executionId;
    }

    /**
     * Creates an exception about one execution.
     *
     * @param executionId the execution concerned, or null
     * @param message what went wrong and what to do
     */
    public StoreException(String executionId, String message) {
        this(executionId, message, null);
    }

    /**
     * Returns the id of the execution concerned.
     *
     * @return the id, or null when the failure concerns no single execution
     */
    public String executionId() {
        return executionId;
    }
}
