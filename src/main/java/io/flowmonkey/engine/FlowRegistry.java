package io.flowmonkey.engine;

import java.util.Optional;
import java.util.Set;

/**
 * Where the {@link Engine} looks flows up. New executions start on the latest version
 * ({@link #get(String)}); a stored execution always continues on the version it started on
 * ({@link #get(String, String)}), so keep old versions registered while executions of them remain.
 * Implementations must be thread-safe.
 */
public interface FlowRegistry {

    /**
     * Returns the latest version of a flow.
     *
     * @param flowId the flow id
     * @return the flow, or empty if no version of it is registered
     */
    Optional<Flow> get(String flowId);

    /**
     * Returns one version of a flow.
     *
     * @param flowId the flow id
     * @param version the version
     * @return the flow, or empty if that version is not registered
     */
    Optional<Flow> get(String flowId, String version);

    /**
     * Returns the ids of the flows registered now. An {@link EngineWorker} claims only executions of
     * these flows, so that services sharing one table each run only their own flows.
     *
     * <p>Optional for a registry that only serves {@link Engine}; the default says so.
     *
     * @return the flow ids, unmodifiable
     * @throws UnsupportedOperationException if this registry cannot list its flows
     */
    default Set<String> flowIds() {
        throw new UnsupportedOperationException(getClass().getName() + " does not list its flow ids; an "
                + "EngineWorker needs flowIds() to know which executions to claim");
    }
}
