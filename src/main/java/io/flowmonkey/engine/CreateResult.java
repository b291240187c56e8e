package io.flowmonkey.engine;

import io.flowmonkey.execution.Execution;
import java.util.Objects;

/**
 * What {@link Engine#create(String, java.util.Map, CreateOptions)} returns.
 *
 * @param execution the stored execution: the new one, or the one that already held the idempotency key
 *     or the {@link CreateOptions.Builder#executionId(String) chosen id}
 * @param created true if this call stored a new execution; false on an idempotency hit or a repeat of a
 *     chosen id
 */
public record CreateResult(Execution execution, boolean created) {

    /**
     * Rejects a null execution.
     *
     * @param execution the stored execution: the new one, or the one that already held the idempotency key
     * @param created true if this call stored a new execution; false on an idempotency hit
     */
    public CreateResult {
        Objects.requireNonNull(execution, "execution must not be null");
    }
}
