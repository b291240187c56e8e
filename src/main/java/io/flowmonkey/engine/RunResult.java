package io.flowmonkey.engine;

import io.flowmonkey.execution.Execution;
import java.util.Objects;

/**
 * What {@link Engine#run(String)} and {@link Engine#resume(String, java.util.Map)} return.
 *
 * @param execution the execution as last stored by this call (or as loaded, when there was nothing to do)
 */
public record RunResult(Execution execution) {

    /**
     * Rejects a null execution.
     *
     * @param execution the execution as last stored by this call (or as loaded, when there was nothing to do)
     */
    public RunResult {
        Objects.requireNonNull(execution, "execution must not be null");
    }
}
