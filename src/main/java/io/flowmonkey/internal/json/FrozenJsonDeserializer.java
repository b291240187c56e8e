package io.flowmonkey.internal.json;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.deser.std.StdDeserializer;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Builds the frozen maps and lists of {@link Values} while parsing, so that nobody else ever holds
 * the mutable collections inside them. Nesting depth is bounded by the parser's
 * {@code StreamReadConstraints}.
 */
final class FrozenJsonDeserializer extends StdDeserializer<Map<String, Object>> {

    private static final long serialVersionUID = 1L;

    FrozenJsonDeserializer() {
        super(Map.class);
    }

    @Override
    public Map<String, Object> deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.START_OBJECT) {
            t = p.nextToken();
        } else if (t != JsonToken.FIELD_NAME && t != JsonToken.END_OBJECT) {
            @SuppressWarnings("unchecked")
            Map<String, Object> unexpected = (Map<String, Object>) ctxt.handleUnexpectedToken(Map.class, p);
            return unexpected;
        }
        return readObject(p, ctxt, t);
    }

    /** Reads the fields of an object whose first token after '{' is {@code t}. */
    private Map<String, Object> readObject(JsonParser p, DeserializationContext ctxt, JsonToken t) throws IOException {
        LinkedHashMap<String, Object> fields = new LinkedHashMap<>();
        int highestChild = 0;
        for (; t == JsonToken.FIELD_NAME; t = p.nextToken()) {
            String name = p.currentName();
            Object value = readValue(p, ctxt, p.nextToken());
            highestChild = Math.max(highestChild, Values.heightOf(value));
            fields.put(name, value);
        }
        return Values.adoptObject(fields, highestChild);
    }

    private Object readValue(JsonParser p, DeserializationContext ctxt, JsonToken t) throws IOException {
        switch (t) {
            case START_OBJECT:
                return readObject(p, ctxt, p.nextToken());
            case START_ARRAY:
                ArrayList<Object> items = new ArrayList<>();
                int highestChild = 0;
                for (JsonToken item = p.nextToken(); item != JsonToken.END_ARRAY; item = p.nextToken()) {
                    Object value = readValue(p, ctxt, item);
                    highestChild = Math.max(highestChild, Values.heightOf(value));
                    items.add(value);
                }
                return Values.adoptList(items, highestChild);
            case VALUE_STRING:
                return p.getText();
            case VALUE_NUMBER_INT:
                return ctxt.hasSomeOfFeatures(F_MASK_INT_COERCIONS) ? _coerceIntegral(p, ctxt) : p.getNumberValue();
            case VALUE_NUMBER_FLOAT:
                return ctxt.isEnabled(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
                        ? p.getDecimalValue() : p.getNumberValue();
            case VALUE_TRUE:
                return Boolean.TRUE;
            case VALUE_FALSE:
                return Boolean.FALSE;
            case VALUE_NULL:
                return null;
            case VALUE_EMBEDDED_OBJECT:
                return Values.freezeJson(p.getEmbeddedObject(), "embedded value", null, p.getParsingContext().getNestingDepth());
            default:
                return ctxt.handleUnexpectedToken(Object.class, p);
        }
    }
}
