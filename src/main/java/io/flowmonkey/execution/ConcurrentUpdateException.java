package io.flowmonkey.execution;

/**
 * A save lost a race: the stored version no longer matched the version of the execution being
 * saved, because someone else saved (or deleted) it first. Reload, reapply the change and save
 * again, or give up; nothing was written.
 */
public class ConcurrentUpdateException extends StoreException {
    private static final long serialVersionUID = 1L;

    /** The version the losing save expected. */
    private final long expectedVersion;

    /**
     * Creates the exception.
     *
     * @param executionId the execution whose save lost
     * @param expectedVersion the version the save expected to find
     * @param message what happened
     */
    public ConcurrentUpdateException(String executionId, long expectedVersion, String message) {
        super(executionId, message);
        this.expectedVersion = expectedVersion;
    }

    /**
     * Returns the version the losing save expected to find in the store.
     *
     * @return the expected version
     */
    public long expectedVersion() {
        return expectedVersion;
    }
}
