package io.flowmonkey.engine;

/**
 * A flow definition is inconsistent (an unknown initial step, a transition to a missing step, a step
 * defined twice) or its JSON does not have FlowMonkey's flow shape (trailing text, a duplicate key, a
 * field of the wrong type). Thrown when the flow is built or
 * loaded, so that no execution ever meets the mistake. The message names the flow and the step.
 */
public class FlowValidationException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    /** The flow at fault. */
    private final String flowId;
    /** The step at fault, or null. */
    private final String stepId;

    /**
     * Creates the exception. The message quotes the ids and the problem printably and bounded (long
     * ids and problems are cut), so that it stays short whatever the definition holds.
     *
     * @param flowId the flow concerned, or null if unknown
     * @param stepId the step concerned, or null if the problem is not about one step
     * @param problem what is wrong
     */
    public FlowValidationException(String flowId, String stepId, String problem) {
        super("flow '" + Diagnostics.id(flowId) + "'" + (stepId == null ? "" : ", step '" + Diagnostics.id(stepId) + "'")
                + ": " + Diagnostics.printable(problem, Diagnostics.MAX_MESSAGE_CHARS));
        this.flowId = flowId;
        this.stepId = stepId;
    }

    /**
     * Returns the id of the flow concerned.
     *
     * @return the flow id, or null if the definition had none
     */
    public String flowId() {
        return flowId;
    }

    /**
     * Returns the id of the step concerned.
     *
     * @return the step id, or null if the problem is not about one step
     */
    public String stepId() {
        return stepId;
    }
}
