package io.flowmonkey.execution;

/**
 * The store could not be reached or used, through no fault of the call: the connection to the
 * database was lost (the server terminated it, restarted or shut down), or no connection became
 * available from the pool in time. What the call was doing did not happen, or, for a write whose
 * commit was under way when the connection broke, may have happened: load before you write again.
 * The store stays usable; retry the call, with a pause, and the next attempt gets a fresh connection.
 */
public class StoreUnavailableException extends StoreException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param executionId the execution concerned, or null
     * @param message what happened and that a retry is the remedy
     * @param cause the underlying exception
     */
    public StoreUnavailableException(String executionId, String message, Throwable cause) {
        super(executionId, message, cause);
    }
}
