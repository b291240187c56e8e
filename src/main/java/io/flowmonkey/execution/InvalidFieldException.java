package io.flowmonkey.execution;

/**
 * A field of an execution holds a value the model refuses, because no store could keep it exactly:
 * a blank id, a string with an unpaired surrogate, a map key that is not a string, a NaN or infinite
 * number, nesting deeper than {@link Execution#MAX_NESTING_DEPTH} (or a map or list that contains
 * itself), a time beyond epoch milliseconds. Thrown by {@link Execution.Builder#build()} and the
 * model's record constructors before anything reaches a store.
 */
public class InvalidFieldException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    /** The field at fault, e.g. {@code "context.order.items[3]"}. */
    private final String field;
    /** The execution concerned, or null when not known where the value was refused. */
    private final String executionId;

    /**
     * Creates the exception.
     *
     * @param field the field at fault, as a path from the execution: {@code "tenantId"},
     *     {@code "context.order.items[3]"}, {@code "waitMetadata.data.k"}
     * @param executionId the execution concerned, or null when not known
     * @param problem what is wrong with the value
     */
    public InvalidFieldException(String field, String executionId, String problem) {
        super(field + (executionId == null ? "" : " of execution " + executionId) + ": " + problem);
        this.field = field;
        this.executionId = executionId;
    }

    /**
     * Returns the field at fault, as a path from the execution.
     *
     * @return e.g. {@code "context.order.items[3]"}; its first segment is the execution's accessor
     */
    public String field() {
        return field;
    }

    /**
     * Returns the execution concerned.
     *
     * @return the id, or null when the value was refused before it was part of an execution (in a
     *     record such as {@link WaitMetadata})
     */
    public String executionId() {
        return executionId;
    }
}
