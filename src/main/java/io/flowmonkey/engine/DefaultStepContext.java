package io.flowmonkey.engine;

import io.flowmonkey.execution.Execution;
import java.util.Map;

/** The engine's {@link StepContext}: a plain value built once per handler call. */
record DefaultStepContext(Object input, Step step, Execution execution, int attempt) implements StepContext {

    @Override
    public Map<String, Object> config() {
        return step.config();
    }

    @Override
    public Map<String, Object> context() {
        return execution.context();
    }

    @Override
    public String executionId() {
        return execution.id();
    }

    @Override
    public String stepId() {
        return step.id();
    }
}
