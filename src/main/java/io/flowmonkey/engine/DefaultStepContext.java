package io.flowmonkey.engine;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.flowmonkey.execution.Execution;
import java.util.Map;
import java.util.Objects;

/** The engine's {@link StepContext}: a plain value built once per handler call. */
record DefaultStepContext(Object input, Step step, Execution execution, int attempt, Engine engine,
                          ObjectMapper mapper) implements StepContext {

    @Override
    public <T> T input(Class<T> type) {
        Objects.requireNonNull(type, "type must not be null");
        if (input == null) {
            return null;
        }
        try {
            return mapper.convertValue(input, type);
        } catch (IllegalArgumentException e) {
            throw new StepInputException(step.id(), type, e);
        }
    }

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
