package io.flowmonkey.engine;

import io.flowmonkey.execution.ExecutionStatus;
import java.time.Duration;

/**
 * {@link Engine#awaitEnd(String, java.time.Duration)} gave up: the execution had not ended when the
 * timeout passed. Nothing was written; the execution goes on, and a later call may wait again.
 */
public class AwaitTimeoutException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** The execution waited for. */
    private final String executionId;
    /** Its status when the wait gave up. */
    private final ExecutionStatus lastStatus;
    /** How long the caller waited. */
    private final Duration timeout;

    /**
     * Creates the exception.
     *
     * @param executionId the execution waited for
     * @param lastStatus its status as last loaded
     * @param timeout how long the caller waited
     */
    public AwaitTimeoutException(String executionId, ExecutionStatus lastStatus, Duration timeout) {
        super("execution " + executionId + " had not ended after " + timeout + " (last status "
                + lastStatus.wireName() + "); it goes on running: wait again, or cancel it");
        this.executionId = executionId;
        this.lastStatus = lastStatus;
        this.timeout = timeout;
    }

    /**
     * Returns the id of the execution waited for.
     *
     * @return the execution id
     */
    public String executionId() {
        return executionId;
    }

    /**
     * Returns the execution's status as last loaded, never a terminal one.
     *
     * @return the status
     */
    public ExecutionStatus lastStatus() {
        return lastStatus;
    }

    /**
     * Returns how long the caller waited.
     *
     * @return the timeout
     */
    public Duration timeout() {
        return timeout;
    }
}
