package io.flowmonkey.spring;

import io.flowmonkey.engine.EngineWorker;
import io.flowmonkey.engine.WorkerStats;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;
import org.springframework.context.SmartLifecycle;

/**
 * Runs an {@link EngineWorker} for as long as the application context runs: started after every other
 * bean is ready, stopped first when the context closes. Stopping is {@link EngineWorker#close()}'s
 * graceful shutdown: nothing more is claimed, in-flight steps get the shutdown timeout to finish and
 * be saved, and the leases of the rest are released for another instance to continue at once.
 *
 * <p>A worker cannot be started twice, so each {@link #start()} builds a new one; a context stopped
 * and started again ({@code context.stop()}, {@code context.start()}) runs a fresh worker.
 * Thread-safe.
 */
public final class FlowMonkeyWorkerLifecycle implements SmartLifecycle {

    private final Supplier<EngineWorker> workers;
    private EngineWorker current;

    /**
     * Creates the lifecycle; nothing runs until {@link #start()}.
     *
     * @param workers builds a new, unstarted worker on each call
     */
    public FlowMonkeyWorkerLifecycle(Supplier<EngineWorker> workers) {
        this.workers = Objects.requireNonNull(workers, "workers must not be null");
    }

    /** Builds and starts a worker, unless one is running. */
    @Override
    public synchronized void start() {
        if (current == null) {
            current = workers.get().start();
        }
    }

    /** Stops the running worker gracefully and waits for it, up to its shutdown timeout. */
    @Override
    public void stop() {
        EngineWorker stopping;
        synchronized (this) {
            stopping = current;
            current = null;
        }
        if (stopping != null) {
            stopping.close();
        }
    }

    /**
     * Tells whether a worker is running.
     *
     * @return true between {@link #start()} and {@link #stop()}
     */
    @Override
    public synchronized boolean isRunning() {
        return current != null;
    }

    /**
     * Returns the running worker's id.
     *
     * @return the id written to {@code lease_owner}, or empty when no worker runs
     */
    public synchronized Optional<String> workerId() {
        return Optional.ofNullable(current).map(EngineWorker::workerId);
    }

    /**
     * Returns the running worker's counters.
     *
     * @return a snapshot, or empty when no worker runs
     */
    public synchronized Optional<WorkerStats> stats() {
        return Optional.ofNullable(current).map(EngineWorker::stats);
    }
}
