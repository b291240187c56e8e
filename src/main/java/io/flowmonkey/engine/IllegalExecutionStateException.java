package io.flowmonkey.engine;

import io.flowmonkey.execution.ExecutionStatus;

/**
 * A request does not fit the execution's status, such as resuming an execution that is not waiting.
 * Nothing was written. The message names the execution, its status and what is allowed.
 */
public class IllegalExecutionStateException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    /** The execution the request was about. */
    private final String executionId;
    /** Its status when the request was refused. */
    private final ExecutionStatus status;

    /**
     * Creates the exception.
     *
     * @param executionId the execution concerned
     * @param status its status when the request was refused
     * @param message what was refused and why
     */
    public IllegalExecutionStateException(String executionId, ExecutionStatus status, String message) {
        super(message);
        this.executionId = executionId;
        this.status = status;
    }

    /**
     * Returns the id of the execution concerned.
     *
     * @return the execution id
     */
    public String executionId() {
        return executionId;
    }

    /**
     * Returns the execution's status when the request was refused.
     *
     * @return the status
     */
    public ExecutionStatus status() {
        return status;
    }
}
