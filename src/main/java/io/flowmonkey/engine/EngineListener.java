package io.flowmonkey.engine;

/**
 * Told of what the engine and its workers do: the lifecycle of every execution
 * ({@link EngineEvent}) and the time of the store calls that advance executions ({@link StoreCall}).
 * Register listeners with {@link EngineOptions.Builder#listener(EngineListener)}; the engine's {@link EngineWorker}s tell the
 * same listeners. {@link #logging()} is a listener that writes every event to SLF4J;
 * {@code io.flowmonkey.micrometer.FlowMonkeyMetrics} turns them into metrics and traces.
 *
 * <p>Listeners are called synchronously, on the thread that made the event happen (a caller of
 * {@link Engine#run(String)}, a worker's runner or claim thread), so they must be quick and
 * thread-safe; hand slow work to a queue of your own. Whatever a listener throws is caught and logged
 * at WARN (at most once a minute per engine, with a count of those not logged): it never changes
 * what the engine does or saves, and the other listeners are still told.
 */
@FunctionalInterface
public interface EngineListener {

    /**
     * Told of one event.
     *
     * @param event what happened
     */
    void onEvent(EngineEvent event);

    /**
     * Told of one store call and how long it took. The default does nothing.
     *
     * @param call the call
     */
    default void onStoreCall(StoreCall call) {
    }

    /**
     * Returns a listener that logs every event to the SLF4J logger {@code io.flowmonkey.events}:
     * failures ({@link EngineEvent.StepFailed}, {@link EngineEvent.ExecutionFailed}), lost leases and
     * rows set aside at WARN; retries and cancels at INFO; the rest at DEBUG. Each line names the
     * execution, flow, version, step, attempt and error code where they apply, never a context, an
     * output, signal data or an error message. It logs nothing the engine does not already know,
     * so it is off unless registered.
     *
     * @return the listener (one shared, stateless instance)
     */
    static EngineListener logging() {
        return Slf4jEngineListener.INSTANCE;
    }
}
