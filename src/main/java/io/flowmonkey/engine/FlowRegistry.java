package io.flowmonkey.engine;

import java.util.Optional;

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
}
