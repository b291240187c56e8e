package io.flowmonkey.execution;

import io.flowmonkey.execution.LeasingExecutionStore.FlowVersion;
import java.time.Instant;
import java.util.Objects;

/**
 * A live worker as a {@link WorkerRegistry} read it: its last heartbeat and when the store stamped it.
 *
 * @param reported what the worker reported in its last heartbeat
 * @param lastHeartbeat when the store took that heartbeat, by the store's clock
 * @param expiresAt when it stops counting as live without another heartbeat, by the store's clock
 */
public record WorkerInfo(WorkerHeartbeat reported, Instant lastHeartbeat, Instant expiresAt) {

    /**
     * Checks the parts.
     *
     * @param reported the last heartbeat
     * @param lastHeartbeat when the store took it
     * @param expiresAt when it stops counting as live
     * @throws NullPointerException if any is null
     */
    public WorkerInfo {
        Objects.requireNonNull(reported, "reported must not be null");
        Objects.requireNonNull(lastHeartbeat, "lastHeartbeat must not be null");
        Objects.requireNonNull(expiresAt, "expiresAt must not be null");
    }

    /**
     * Returns the worker's id.
     *
     * @return the id, as written to {@code lease_owner}
     */
    public String workerId() {
        return reported.workerId();
    }

    /**
     * Tells whether this worker claims executions of a flow version.
     *
     * @param flowId the flow
     * @param version its version
     * @return true if it serves that version
     */
    public boolean serves(String flowId, String version) {
        return reported.serves().contains(new FlowVersion(flowId, version));
    }
}
