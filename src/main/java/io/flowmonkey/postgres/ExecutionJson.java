package io.flowmonkey.postgres;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamWriteConstraints;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.deser.std.StdDeserializer;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.ser.std.StdSerializer;
import io.flowmonkey.execution.Cancellation;
import io.flowmonkey.execution.ExecutionError;
import io.flowmonkey.execution.StepHistory;
import io.flowmonkey.execution.TimeoutConfig;
import io.flowmonkey.execution.WaitMetadata;
import io.flowmonkey.internal.json.ExecutionValuesModule;
import io.flowmonkey.internal.json.KnownJson;
import io.flowmonkey.internal.json.Values;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * The JSON of the JSONB columns, in FlowMonkey's camelCase shapes with epoch-millisecond times.
 * One mapper, configured once; one reader and writer per type, built once and shared (they are
 * immutable and thread-safe). Floating-point numbers read back as {@code BigDecimal} so that no
 * digit stored is lost.
 *
 * <p>Both mappers read under the {@link PgStoreOptions} limits and write through a
 * {@link JsonLimitsGenerator} that refuses, before anything is sent, what those limits would later
 * refuse to read, and what JSONB would store changed.
 */
final class ExecutionJson {

    private static final TypeReference<Map<String, Object>> OBJECT = new TypeReference<>() {
    };
    private static final TypeReference<List<StepHistory>> HISTORY = new TypeReference<>() {
    };

    private static final byte JSONB_BINARY_VERSION = 1;

    private final ObjectWriter modelWriter;
    private final ObjectWriter valueWriter;
    private final ObjectReader valueReader;
    private final ObjectReader historyReader;
    private final ObjectReader errorReader;
    private final ObjectReader waitReader;
    private final ObjectReader cancellationReader;
    private final ObjectReader timeoutReader;
    /** Whose texts {@link KnownJson} gives back to this store: a token, so containers keep no mapper alive. */
    private final Object knownJsonOwner = new Object();

    /**
     * The model's records always go through a mapper of our own, so that a caller's naming strategy
     * or inclusion rules cannot change the shapes FlowMonkey for TypeScript reads; the caller's
     * mapper serves only their own values in {@code context} and {@code metadata}.
     */
    ExecutionJson(PgStoreOptions options) {
        ObjectMapper userMapper = options.objectMapper();
        ObjectMapper model = configure(new ObjectMapper(limited(new JsonFactory(), options)));
        // The caller's mapper keeps its own features (FAIL_ON_EMPTY_BEANS among them) and factory settings.
        ObjectMapper values = userMapper == null ? model
                : configure(userMapper.copyWith(limited(userMapper.getFactory(), options)));
        this.modelWriter = model.writer();
        this.valueWriter = values.writer();
        this.valueReader = values.readerFor(OBJECT);
        this.historyReader = model.readerFor(HISTORY);
        this.errorReader = model.readerFor(ExecutionError.class);
        this.waitReader = model.readerFor(WaitMetadata.class);
        this.cancellationReader = model.readerFor(Cancellation.class);
        this.timeoutReader = model.readerFor(TimeoutConfig.class);
    }

    /** The factory with the reading limits of {@code options} and checks that apply them to writing. */
    private static JsonFactory limited(JsonFactory factory, PgStoreOptions options) {
        StreamReadConstraints read = factory.streamReadConstraints().rebuild()
                .maxStringLength(options.maxStringLength())
                .maxNameLength(options.maxNameLength())
                .maxNumberLength(options.maxNumberLength())
                .maxNestingDepth(options.maxNestingDepth())
                .build();
        StreamWriteConstraints write = factory.streamWriteConstraints().rebuild()
                .maxNestingDepth(options.maxNestingDepth())
                .build();
        return factory.rebuild()
                .streamReadConstraints(read)
                .streamWriteConstraints(write)
                .addDecorator((f, generator) -> new JsonLimitsGenerator(generator, options))
                .build();
    }

    private static ObjectMapper configure(ObjectMapper mapper) {
        mapper.registerModule(module());
        // context and metadata are decoded straight into the model's immutable maps: no second copy.
        mapper.registerModule(new ExecutionValuesModule());
        mapper.enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);
        mapper.disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
        mapper.addMixIn(ExecutionError.class, OmitNulls.class);
        mapper.addMixIn(StepHistory.class, OmitNulls.class);
        mapper.addMixIn(WaitMetadata.class, OmitNulls.class);
        mapper.addMixIn(Cancellation.class, OmitNulls.class);
        return mapper;
    }

    /** Writes one of the model's records (or a list of them). */
    String writeModel(Object value) throws JsonProcessingException {
        return value == null ? null : modelWriter.writeValueAsString(value);
    }

    /**
     * Writes a caller's JSON object: {@code context} or {@code metadata}. An object this store read or
     * wrote before is not encoded again ({@link KnownJson}), unless it holds an object other than JSON's
     * own values (a caller's bean, which may have changed since).
     */
    String writeValues(Map<String, Object> value) throws JsonProcessingException {
        if (value == null) {
            return null;
        }
        String json = KnownJson.of(value, knownJsonOwner);
        if (json == null) {
            json = valueWriter.writeValueAsString(value);
            if (Values.isJson(value)) {
                KnownJson.written(value, knownJsonOwner, json);
            }
        }
        return json;
    }

    /**
     * Whether this store knows the text of {@code container} (read from PostgreSQL or written from JSON
     * values alone): such a text is one JSON value by construction, with no caller's raw JSON in it.
     */
    boolean knows(Object container) {
        return KnownJson.of(container, knownJsonOwner) != null;
    }

    /**
     * Writes a history. A history this store read or wrote before is not encoded again, and one made
     * from such a history by appending ({@code Values.appended}) is that text with only the new entries
     * encoded, as an array of their own so that nesting counts as in the whole.
     */
    String writeHistory(List<StepHistory> history) throws JsonProcessingException {
        String json = KnownJson.of(history, knownJsonOwner);
        if (json == null) {
            KnownJson.Prefix known = KnownJson.prefixOf(history, knownJsonOwner);
            List<StepHistory> encoded = known == null ? history : history.subList(known.size(), history.size());
            String entries = modelWriter.writeValueAsString(encoded);
            json = known == null ? entries : known.followedBy(entries);
            // An entry's error may hold a caller's bean, which may change after it is encoded.
            if (encoded.stream().allMatch(step -> Values.isJson(step.error()))) {
                KnownJson.written(history, knownJsonOwner, json);
            }
        }
        return json;
    }

    /**
     * Remembers the column bytes a container of an execution was decoded from, so that saving it
     * unchanged sends them back as they are.
     */
    void remember(Object container, byte[] json) {
        if (json != null) {
            KnownJson.read(container, knownJsonOwner, json, start(json));
        }
    }

    /*
     * Readers take the column's bytes as pgjdbc received them (UTF-8 text, which pgjdbc always asks the
     * server for), so that no String is decoded only to be parsed: Jackson's byte parser is the faster
     * one, and the load path is mostly JSON.
     */

    Map<String, Object> readValues(byte[] json) throws IOException {
        return read(valueReader, json);
    }

    List<StepHistory> readHistory(byte[] json) throws IOException {
        return read(historyReader, json);
    }

    ExecutionError readError(byte[] json) throws IOException {
        return read(errorReader, json);
    }

    WaitMetadata readWait(byte[] json) throws IOException {
        return read(waitReader, json);
    }

    Cancellation readCancellation(byte[] json) throws IOException {
        return read(cancellationReader, json);
    }

    TimeoutConfig readTimeout(byte[] json) throws IOException {
        return read(timeoutReader, json);
    }

    private static <T> T read(ObjectReader reader, byte[] json) throws IOException {
        if (json == null) {
            return null;
        }
        int start = start(json);
        return reader.readValue(json, start, json.length - start);
    }

    /** JSONB in binary transfer (when a user enables it in pgjdbc) is its text after a version byte, 1. */
    private static int start(byte[] json) {
        return json.length > 0 && json[0] == JSONB_BINARY_VERSION ? 1 : 0;
    }

    /**
     * Tells whether JSON text holds an escaped NUL character, which JSONB refuses. An escape counts
     * only when its backslash is not itself escaped.
     */
    static boolean containsNulEscape(String json) {
        for (int i = json.indexOf("u0000"); i >= 0; i = json.indexOf("u0000", i + 1)) {
            int backslashes = 0;
            for (int j = i - 1; j >= 0 && json.charAt(j) == '\\'; j--) {
                backslashes++;
            }
            if (backslashes % 2 == 1) {
                return true;
            }
        }
        return false;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    private interface OmitNulls {
    }

    private static SimpleModule module() {
        SimpleModule module = new SimpleModule("flowmonkey-execution");
        module.addSerializer(Instant.class, new StdSerializer<>(Instant.class) {
            @Override
            public void serialize(Instant value, JsonGenerator gen, SerializerProvider provider) throws IOException {
                gen.writeNumber(value.toEpochMilli());
            }
        });
        module.addDeserializer(Instant.class, new StdDeserializer<>(Instant.class) {
            @Override
            public Instant deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
                if (p.currentToken() == JsonToken.VALUE_STRING) {
                    // Other writers may have stored ISO-8601 text; accept it rather than fail the row.
                    return Instant.parse(p.getText());
                }
                return Instant.ofEpochMilli(p.getValueAsLong());
            }
        });
        module.addSerializer(Cancellation.Source.class, new StdSerializer<>(Cancellation.Source.class) {
            @Override
            public void serialize(Cancellation.Source value, JsonGenerator gen, SerializerProvider provider)
                    throws IOException {
                gen.writeString(value.wireName());
            }
        });
        module.addDeserializer(Cancellation.Source.class, new StdDeserializer<>(Cancellation.Source.class) {
            @Override
            public Cancellation.Source deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
                return Cancellation.Source.fromWireName(p.getText());
            }
        });
        module.addSerializer(TimeoutConfig.class, new StdSerializer<>(TimeoutConfig.class) {
            @Override
            public void serialize(TimeoutConfig value, JsonGenerator gen, SerializerProvider provider)
                    throws IOException {
                gen.writeStartObject();
                if (value.executionTimeout() != null) {
                    gen.writeNumberField("executionTimeoutMs", value.executionTimeout().toMillis());
                }
                if (value.waitTimeout() != null) {
                    gen.writeNumberField("waitTimeoutMs", value.waitTimeout().toMillis());
                }
                gen.writeEndObject();
            }
        });
        module.addDeserializer(TimeoutConfig.class, new StdDeserializer<>(TimeoutConfig.class) {
            @Override
            public TimeoutConfig deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
                JsonNode node = p.readValueAsTree();
                return new TimeoutConfig(millis(node.get("executionTimeoutMs")), millis(node.get("waitTimeoutMs")));
            }

            private Duration millis(JsonNode node) {
                return node == null || node.isNull() ? null : Duration.ofMillis(node.asLong());
            }
        });
        return module;
    }
}
