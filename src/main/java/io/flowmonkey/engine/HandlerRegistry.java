package io.flowmonkey.engine;

import io.flowmonkey.internal.Arguments;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The {@link StepHandler}s an {@link Engine} can run, by handler type. Thread-safe; handlers may be
 * registered while the engine runs. A step whose type has no handler fails with code
 * {@code HANDLER_NOT_FOUND}.
 */
public final class HandlerRegistry {

    private final Map<String, StepHandler> handlers = new ConcurrentHashMap<>();

    /** Creates an empty registry. */
    public HandlerRegistry() {
    }

    /**
     * Registers the handler for a type.
     *
     * @param handlerType the type that steps name in {@link Step#handlerType()}
     * @param handler the handler
     * @return this registry
     * @throws IllegalArgumentException if the type is blank or already has a handler
     */
    public HandlerRegistry register(String handlerType, StepHandler handler) {
        Arguments.nonBlank(handlerType, "handler type");
        Objects.requireNonNull(handler, () -> "handler for type '" + handlerType + "' must not be null");
        if (handlers.putIfAbsent(handlerType, handler) != null) {
            throw new IllegalArgumentException("handler type '" + handlerType + "' already has a handler");
        }
        return this;
    }

    /**
     * Returns the handler for a type.
     *
     * @param handlerType the handler type
     * @return the handler, or empty if none is registered
     */
    public Optional<StepHandler> get(String handlerType) {
        return Optional.ofNullable(handlers.get(Objects.requireNonNull(handlerType, "handlerType must not be null")));
    }
}
