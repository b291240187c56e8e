package io.flowmonkey.engine;

/**
 * The code behind one handler type. Registered in a {@link HandlerRegistry} under the type that
 * {@link Step#handlerType()} names.
 *
 * <p>A handler may run more than once for the same step: after a crash before its result was saved,
 * or when two callers run the same execution at once and one loses the race. Make side effects
 * idempotent with {@link StepContext#executionId()}, {@link StepContext#stepId()} and
 * {@link StepContext#attempt()}. Handlers are called concurrently for different executions and must
 * be thread-safe.
 */
@FunctionalInterface
public interface StepHandler {

    /**
     * Runs the step.
     *
     * @param ctx the step's input, config and execution
     * @return the outcome; null counts as a failure with code {@code HANDLER_ERROR}
     * @throws Exception any exception becomes a failure with code {@code HANDLER_ERROR} and the
     *     exception's message; it never escapes the engine. An {@link InterruptedException} is the
     *     exception: the engine stops without saving, so that the step runs again later.
     */
    StepResult execute(StepContext ctx) throws Exception;
}
