package io.flowmonkey.execution;

import com.fasterxml.jackson.databind.module.SimpleModule;
import java.util.Map;

/**
 * A Jackson module that reads JSON objects declared as {@code Map} straight into the deep-immutable
 * maps and lists an {@link Execution} holds, which {@link Execution.Builder} then keeps as they are
 * instead of copying. Stores register it on the mapper that decodes {@code context} and
 * {@code metadata}, so that each value is built once. Numbers read as Jackson's untyped reading
 * reads them, under the mapper's {@code DeserializationFeature}s.
 */
public final class ExecutionValuesModule extends SimpleModule {

    private static final long serialVersionUID = 1L;

    /** Creates the module. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    public ExecutionValuesModule() {
        super("flowmonkey-execution-values");
        addDeserializer((Class) Map.class, new FrozenJsonDeserializer());
    }
}
