package io.flowmonkey.execution;

import io.flowmonkey.internal.json.Values;
import java.time.Instant;
import java.util.Map;

/**
 * Why and until when an execution waits. Stored in the {@code wait_metadata} column; its
 * {@code wakeAt} is mirrored in the indexed {@code wake_at} column.
 *
 * @param wakeAt when a timed wait ends, or null for a wait that only a signal ends
 * @param reason why the execution waits
 * @param waitStartedAt when the wait began, or null
 * @param data extra JSON data about the wait; never null (empty when absent)
 */
public record WaitMetadata(Instant wakeAt, String reason, Instant waitStartedAt, Map<String, Object> data) {

    /**
     * Truncates timestamps to milliseconds and copies {@code data}, refusing what the model refuses in
     * a context (see {@link Execution.Builder#build()}).
     *
     * @param wakeAt when a timed wait ends, or null for a wait that only a signal ends
     * @param reason why the execution waits
     * @param waitStartedAt when the wait began, or null
     * @param data extra JSON data about the wait; never null (empty when absent)
     */
    public WaitMetadata {
        wakeAt = Values.millis(wakeAt, "waitMetadata.wakeAt", null);
        waitStartedAt = Values.millis(waitStartedAt, "waitMetadata.waitStartedAt", null);
        reason = Values.optionalString(reason, "waitMetadata.reason");
        data = Values.freezeObject(data, "waitMetadata.data", null, 2);
    }
}
