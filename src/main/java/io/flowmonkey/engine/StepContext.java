package io.flowmonkey.engine;

import io.flowmonkey.execution.Execution;
import java.util.Map;

/**
 * What a {@link StepHandler} sees of the step it runs. Immutable; valid during the handler call.
 */
public interface StepContext {

    /**
     * Returns the step's input, as its {@link InputSelector} picked it from the context.
     *
     * @return the input; null when the selector found nothing
     */
    Object input();

    /**
     * Returns the step's input converted to a type, such as {@code ctx.input(Order.class)}, with the
     * {@link EngineOptions#objectMapper()} ({@code convertValue}: maps become beans or records, numbers
     * widen, and so on). A handler that lets the exception propagate fails the step with
     * {@link Engine#INPUT_ERROR}, naming the step and the type.
     *
     * @param <T> the type
     * @param type the class to convert to
     * @return the converted input; null when the input is null
     * @throws StepInputException if the input cannot be converted to {@code type}
     */
    <T> T input(Class<T> type);

    /**
     * Returns the engine running this step, so that a handler can create, run, resume or cancel other
     * executions without holding a reference of its own. Calls on the execution this step belongs to
     * (its own id) race with this step's save and are best left to the step's result.
     *
     * @return the engine
     */
    Engine engine();

    /**
     * Returns the step's configuration, unmodifiable.
     *
     * @return the config; empty when the step has none
     */
    Map<String, Object> config();

    /**
     * Returns the execution's whole context, unmodifiable. Handlers change it only through the output
     * they return.
     *
     * @return the context
     */
    Map<String, Object> context();

    /**
     * Returns the step being run.
     *
     * @return the step definition
     */
    Step step();

    /**
     * Returns the execution this step runs in: as stored before the step, or, for the step after a
     * wait, the copy being resumed (status running, no wait metadata, any {@code resumeData} in its
     * context), which is saved with this step's result.
     *
     * @return the execution
     */
    Execution execution();

    /**
     * Returns the id of the execution, for idempotency keys of side effects.
     *
     * @return the execution id
     */
    String executionId();

    /**
     * Returns the id of the step being run.
     *
     * @return the step id
     */
    String stepId();

    /**
     * Returns which attempt of this step this is: 1 for the first, 2 for the first retry under the
     * step's {@link RetryPolicy}, and so on. A re-run after a crash or a lost race has the same number as
     * the run it repeats, so {@code executionId + stepId + attempt} identifies one attempt. A step that a
     * flow visits again (a loop) starts at 1 again; add {@code execution().stepCount()} to tell visits apart.
     *
     * @return the attempt number, at least 1
     */
    int attempt();
}
