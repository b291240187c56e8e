package io.flowmonkey.execution;

/**
 * A field of an execution cannot be stored or read back: a context value that cannot be turned
 * into JSON, text PostgreSQL cannot hold (such as the NUL character U+0000), a value beyond the
 * JSON limits the store reads with (so that it could not be read back), or a stored row that is
 * corrupt. Names the execution and the column (the message also the JSON pointer of the value,
 * where there is one); nothing was written.
 */
public class ExecutionDataException extends StoreException {
    private static final long serialVersionUID = 1L;

    /** The column or field at fault. */
    private final String column;

    /**
     * Creates the exception.
     *
     * @param executionId the execution concerned
     * @param column the column (or field) at fault, e.g. {@code "context"}
     * @param problem what is wrong with it
     * @param cause the underlying exception, or null
     */
    public ExecutionDataException(String executionId, String column, String problem, Throwable cause) {
        super(executionId, "execution " + executionId + ", column " + column + ": " + problem, cause);
        this.column = column;
    }

    /**
     * Returns the column (or field) at fault.
     *
     * @return the column name, e.g. {@code "context"}
     */
    public String column() {
        return column;
    }
}
