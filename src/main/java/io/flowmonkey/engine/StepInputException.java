package io.flowmonkey.engine;

/**
 * A step's input could not be converted to the type its handler asked for with
 * {@link StepContext#input(Class)}. Left to propagate, it fails the step with {@link Engine#INPUT_ERROR}.
 */
public class StepInputException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    /** The step whose input it was. */
    private final String stepId;

    /**
     * Creates the exception.
     *
     * @param stepId the step whose input it was
     * @param type the type asked for
     * @param cause what the mapper said
     */
    public StepInputException(String stepId, Class<?> type, Throwable cause) {
        super("input of step '" + Diagnostics.id(stepId) + "' cannot be converted to " + type.getName() + ": "
                + Diagnostics.message(cause), cause);
        this.stepId = stepId;
    }

    /**
     * Returns the step whose input could not be converted.
     *
     * @return the step id
     */
    public String stepId() {
        return stepId;
    }
}
