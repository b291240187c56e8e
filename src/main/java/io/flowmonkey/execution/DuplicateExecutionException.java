package io.flowmonkey.execution;

/**
 * An insert (a save of version 0) found an execution with the same id already stored. Nothing was
 * written. Load the stored one, or save with a new id.
 */
public class DuplicateExecutionException extends StoreException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param executionId the id that is taken
     */
    public DuplicateExecutionException(String executionId) {
        super(executionId, "execution " + executionId + " already exists; load it, or save a new execution "
                + "under another id");
    }
}
