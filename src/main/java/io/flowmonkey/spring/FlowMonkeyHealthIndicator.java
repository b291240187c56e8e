package io.flowmonkey.spring;

import io.flowmonkey.execution.ExecutionStore;
import io.flowmonkey.engine.WorkerStats;
import java.util.Objects;
import java.util.Optional;
import org.springframework.boot.actuate.health.AbstractHealthIndicator;
import org.springframework.boot.actuate.health.Health;

/**
 * Reports FlowMonkey in Spring Boot's {@code /actuator/health} as {@code flowMonkey}: UP when the
 * executions table answers a read and, if this application runs a worker, the worker is running;
 * DOWN otherwise, with the store's error. Details name the worker and its counters.
 */
public final class FlowMonkeyHealthIndicator extends AbstractHealthIndicator {

    /** The id looked up to prove the table answers; that no such execution exists does not matter. */
    static final String PROBE_ID = "flowmonkey-health-probe";

    private final ExecutionStore store;
    private final FlowMonkeyWorkerLifecycle worker;

    /**
     * Creates the indicator.
     *
     * @param store the store whose table to read
     * @param worker this application's worker, or null if it runs none
     */
    public FlowMonkeyHealthIndicator(ExecutionStore store, FlowMonkeyWorkerLifecycle worker) {
        super("FlowMonkey health check failed");
        this.store = Objects.requireNonNull(store, "store must not be null");
        this.worker = worker;
    }

    @Override
    protected void doHealthCheck(Health.Builder builder) {
        // A primary-key read: cheap, and it fails if the table, a column or the privilege is missing.
        store.load(PROBE_ID);
        builder.up();
        if (worker == null) {
            builder.withDetail("worker", "disabled");
            return;
        }
        Optional<String> id = worker.workerId();
        Optional<WorkerStats> stats = worker.stats();
        if (id.isEmpty() || stats.isEmpty()) {
            builder.down().withDetail("worker", "stopped");
            return;
        }
        builder.withDetail("worker", "running").withDetail("workerId", id.get()).withDetail("stats", stats.get());
    }
}
