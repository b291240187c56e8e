package io.flowmonkey.execution;

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
 */
public record StepHistory(String stepId, String handlerType, String outcome, Instant startedAt,
                          Instant completedAt, long durationMs, Object error) {

    /**
     * Validates the step id and truncates timestamps to milliseconds, as they are stored.
     *
     * @param stepId the step that ran
     * @param handlerType the handler type that ran it
     * @param outcome what came of it: {@code "success"}, {@code "failure"} or {@code "wait"}
     * @param startedAt when the handler was called
     * @param completedAt when the handler returned
     * @param durationMs {@code completedAt - startedAt} in milliseconds
     * @param error the failure, as a JSON value, or null
     */
    public StepHistory {
        Values.requireText(stepId, "history.stepId");
        startedAt = Values.millis(startedAt, "history.startedAt", null);
        completedAt = Values.millis(completedAt, "history.completedAt", null);
        error = Values.freezeJson(error);
    }
}
