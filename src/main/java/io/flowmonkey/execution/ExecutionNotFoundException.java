package io.flowmonkey.execution;

/** No execution with the given id is stored. */
public class ExecutionNotFoundException extends StoreException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param executionId the id that was not found
     */
    public ExecutionNotFoundException(String executionId) {
        super(executionId, "execution " + executionId + " does not exist; check the id, or create the execution "
                + "first");
    }
}
