package io.flowmonkey.execution;

import io.flowmonkey.internal.json.Values;
import java.time.Instant;

/**
 * One step run, as kept in the {@code history} column.
 *
 * @param stepId the step that ran
 * @param handlerType the handler type that ran it
 * @param outcome what came of it: {@code "success"}, {@code "failure"} or {@code "wait"}
 * @param startedAt when the handler was called
 * @param completedAt when the handler returned
 * @param durationMs {@code completedAt - startedAt} in milliseconds
 * @param error the failure, as a JSON value, or null
 * @param nextStepOverride the step the handler chose to go to instead of the step's {@code onSuccess}
 *     ({@code StepResult.success(output).then(id)}), or null when it followed the flow's transitions;
 *     FlowMonkey TypeScript's name for the same choice, omitted from the JSON when null
 */
public record StepHistory(String stepId, String handlerType, String outcome, Instant startedAt,
                          Instant completedAt, long durationMs, Object error, String nextStepOverride) {

    /**
     * Validates the step id, checks the texts and {@code error} as the model checks a context, and
     * truncates timestamps to milliseconds, as they are stored.
     *
     * @param stepId the step that ran
     * @param handlerType the handler type that ran it
     * @param outcome what came of it: {@code "success"}, {@code "failure"} or {@code "wait"}
     * @param startedAt when the handler was called
     * @param completedAt when the handler returned
     * @param durationMs {@code completedAt - startedAt} in milliseconds
     * @param error the failure, as a JSON value, or null
     * @param nextStepOverride the step the handler chose instead of {@code onSuccess}, or null
     */
    public StepHistory {
        Values.requireText(stepId, "history.stepId");
        handlerType = Values.optionalString(handlerType, "history.handlerType");
        outcome = Values.optionalString(outcome, "history.outcome");
        nextStepOverride = Values.optionalString(nextStepOverride, "history.nextStepOverride");
        startedAt = Values.millis(startedAt, "history.startedAt", null);
        completedAt = Values.millis(completedAt, "history.completedAt", null);
        // In the history column's document: the list, this entry, then its error.
        error = Values.freezeJson(error, "history.error", null, 3);
    }

    /**
     * A step run that followed the flow's transitions ({@code nextStepOverride} null).
     *
     * @param stepId the step that ran
     * @param handlerType the handler type that ran it
     * @param outcome what came of it: {@code "success"}, {@code "failure"} or {@code "wait"}
     * @param startedAt when the handler was called
     * @param completedAt when the handler returned
     * @param durationMs {@code completedAt - startedAt} in milliseconds
     * @param error the failure, as a JSON value, or null
     */
    public StepHistory(String stepId, String handlerType, String outcome, Instant startedAt, Instant completedAt,
                       long durationMs, Object error) {
        this(stepId, handlerType, outcome, startedAt, completedAt, durationMs, error, null);
    }
}
