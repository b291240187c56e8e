package io.flowmonkey.execution;

import io.flowmonkey.internal.json.Values;
import java.time.Instant;

/**
 * Why an execution or a step failed. Stored in the {@code error} column as
 * {@code {"code","message","stepId","details","timestamp"}}.
 *
 * @param code a stable machine-readable code, e.g. {@code HANDLER_ERROR}
 * @param message a human-readable explanation
 * @param stepId the step that failed, or null when the failure is not a step's
 * @param details any JSON value with more detail, or null
 * @param timestamp when the failure happened, or null
 */
public record ExecutionError(String code, String message, String stepId, Object details, Instant timestamp) {

    /**
     * Validates the code, checks the texts and {@code details} as the model checks a context, and
     * truncates the timestamp to milliseconds, as it is stored.
     *
     * @param code a stable machine-readable code, e.g. {@code HANDLER_ERROR}
     * @param message a human-readable explanation
     * @param stepId the step that failed, or null when the failure is not a step's
     * @param details any JSON value with more detail, or null
     * @param timestamp when the failure happened, or null
     */
    public ExecutionError {
        Values.requireText(code, "error.code");
        message = Values.optionalString(message, "error.message");
        stepId = Values.optionalString(stepId, "error.stepId");
        details = Values.freezeJson(details, "error.details", null, 2);
        timestamp = Values.millis(timestamp, "error.timestamp", null);
    }
}
