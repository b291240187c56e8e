package io.flowmonkey.engine;

import io.flowmonkey.execution.Execution;
import java.util.Objects;

/**
 * What {@link Engine#cancel(String, io.flowmonkey.execution.Cancellation.Source, String)} returns.
 *
 * @param execution the execution as stored after the call
 * @param cancelled true if this call cancelled it; false if it had already ended (completed, failed or
 *     cancelled), in which case nothing was written
 */
public record CancelResult(Execution execution, boolean cancelled) {

    /**
     * Rejects a null execution.
     *
     * @param execution the execution as stored after the call
     * @param cancelled true if this call cancelled it; false if it had already ended (completed, failed or cancelled), in which case nothing was written
     */
    public CancelResult {
        Objects.requireNonNull(execution, "execution must not be null");
    }
}
