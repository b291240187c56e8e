package io.flowmonkey.execution;

import io.flowmonkey.internal.json.Values;
import java.time.Instant;
import java.util.Map;

/**
 * A named message for one execution, buffered by a {@link SignalStore} until a wait for that name
 * consumes it. Signals of one execution and name are consumed oldest first (by {@code id}).
 *
 * @param id the store's sequence number; 0 for a signal not yet stored
 * @param executionId the execution it is for
 * @param name what it is; a wait for another name never consumes it
 * @param data JSON-like data for the step after the wait; never null (empty when absent)
 * @param sentAt when the store took it, or null before it is stored
 */
public record Signal(long id, String executionId, String name, Map<String, Object> data, Instant sentAt) {

    /**
     * Checks the ids and copies {@code data}.
     *
     * @param id the store's sequence number; 0 for a signal not yet stored
     * @param executionId the execution it is for
     * @param name what it is
     * @param data JSON-like data, or null for none
     * @param sentAt when the store took it, or null before it is stored
     * @throws IllegalArgumentException if {@code executionId} or {@code name} is null or blank, or {@code id} negative
     */
    public Signal {
        Values.requireText(executionId, "signal executionId");
        Values.requireText(name, "signal name", executionId);
        if (id < 0) {
            throw new IllegalArgumentException("signal id must not be negative, got " + id + " (execution "
                    + executionId + ")");
        }
        data = Values.freezeObject(data, "signal data", executionId);
        sentAt = Values.millis(sentAt, "signal sentAt", executionId);
    }

    /**
     * A signal to send: not yet stored, so without id or time.
     *
     * @param executionId the execution it is for
     * @param name what it is
     * @param data JSON-like data, or null for none
     * @return the signal
     */
    public static Signal of(String executionId, String name, Map<String, ?> data) {
        return new Signal(0, executionId, name, Values.freezeObject(data, "signal data", executionId), null);
    }
}
