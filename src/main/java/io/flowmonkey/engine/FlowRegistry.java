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

    /**
     * Returns the versions of a flow registered now. An {@link EngineWorker} claims only executions of
     * these versions, so that during a rolling deploy an execution of a version only newer (or older)
     * processes know is left to them rather than claimed and failed here.
     *
     * <p>The default lists the latest version only ({@link #get(String)}); a registry that keeps older
     * versions, so that executions started on them continue, overrides it to list them all.
     *
     * @param flowId the flow id
     * @return the versions, unmodifiable; empty if the flow is not registered
     */
    default Set<String> versions(String flowId) {
        return get(flowId).map(flow -> Set.of(flow.version())).orElse(Set.of());
    }
}
