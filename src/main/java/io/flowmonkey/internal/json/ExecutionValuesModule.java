package io.flowmonkey.internal.json;

import com.fasterxml.jackson.core.Version;
import com.fasterxml.jackson.databind.BeanDescription;
import com.fasterxml.jackson.databind.DeserializationConfig;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.KeyDeserializer;
import com.fasterxml.jackson.databind.Module;
import com.fasterxml.jackson.databind.deser.Deserializers;
import com.fasterxml.jackson.databind.jsontype.TypeDeserializer;
import com.fasterxml.jackson.databind.type.MapType;
import io.flowmonkey.execution.Execution;
import java.util.Map;

/**
 * A Jackson module that reads JSON objects declared as {@code Map<String, Object>} (or a raw
 * {@code Map}) straight into the deep-immutable maps and lists an {@link Execution} holds, which
 * {@link Execution.Builder} then keeps as they are instead of copying. Stores register it on the
 * mapper that decodes {@code context} and {@code metadata}, so that each value is built once.
 *
 * <p>Values read as JSON's own types: {@code String}, {@code Boolean}, {@code null}, numbers as the
 * mapper's {@code DeserializationFeature}s say ({@code Integer}, {@code Long} or {@code BigInteger}
 * by size unless told otherwise; {@code BigDecimal} with {@code USE_BIG_DECIMAL_FOR_FLOATS}), and
 * nested immutable maps and lists. A deserializer registered for {@code Object} is not consulted.
 * Maps of any other declared type are left to the mapper.
 */
public final class ExecutionValuesModule extends Module {

    /** Creates the module. */
    public ExecutionValuesModule() {
    }

    @Override
    public String getModuleName() {
        return "flowmonkey-execution-values";
    }

    @Override
    public Version version() {
        return Version.unknownVersion();
    }

    @Override
    public void setupModule(SetupContext context) {
        context.addDeserializers(new FrozenMaps());
    }

    /** Offers the frozen reading for untyped string-keyed maps only. */
    private static final class FrozenMaps extends Deserializers.Base {
        private final FrozenJsonDeserializer deserializer = new FrozenJsonDeserializer();

        @Override
        public JsonDeserializer<?> findMapDeserializer(MapType type, DeserializationConfig config,
                                                       BeanDescription beanDesc, KeyDeserializer keyDeserializer,
                                                       TypeDeserializer elementTypeDeserializer,
                                                       JsonDeserializer<?> elementDeserializer) {
            boolean untyped = type.getRawClass() == Map.class
                    && (type.getKeyType().hasRawClass(String.class) || type.getKeyType().hasRawClass(Object.class))
                    && type.getContentType().hasRawClass(Object.class);
            return untyped && keyDeserializer == null && elementDeserializer == null && elementTypeDeserializer == null
                    ? deserializer : null;
        }
    }
}
