package io.flowmonkey.engine;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;

/**
 * Reads FlowMonkey's flow JSON into a {@link Flow}; every problem names the flow, the step and the
 * field. Strict: trailing text, duplicate keys and known fields of the wrong type are refused.
 */
final class FlowJson {

    /** FlowMonkey TypeScript's pause cap when a retry sets no {@code maxBackoffMs}. */
    static final Duration TS_DEFAULT_MAX_BACKOFF = Duration.ofMillis(60_000);
    /** Retries after the first attempt when a retry sets no {@code maxAttempts}. */
    static final int DEFAULT_RETRIES = 3;

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final ObjectReader STRICT = MAPPER.readerFor(JsonNode.class)
            .with(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    /** Reads past duplicates, only to name the flow in the message about one. */
    private static final ObjectReader LENIENT = MAPPER.readerFor(JsonNode.class);
    private static final TypeReference<Map<String, Object>> JSON_OBJECT = new TypeReference<>() {
    };

    private FlowJson() {
    }

    static Flow read(String json) {
        if (json == null) {
            throw new FlowValidationException(null, null, "flow JSON must not be null");
        }
        JsonNode root;
        try {
            root = STRICT.readTree(json);
        } catch (JsonParseException e) {
            throw parseError(json, e);
        } catch (JsonProcessingException e) {
            throw new FlowValidationException(lenientFlowId(json), null, "flow JSON cannot be parsed: "
                    + e.getOriginalMessage() + where(e));
        }
        if (root == null || root.isMissingNode() || !root.isObject()) {
            throw new FlowValidationException(null, null, "flow JSON must be an object with id, version, "
                    + "initialStepId and steps");
        }
        String flowId = text(root, "id", null, null);
        String version = versionText(root, flowId);
        String initialStepId = text(root, "initialStepId", flowId, null);
        optionalString(root, "name", flowId, null);
        optionalString(root, "description", flowId, null);
        JsonNode steps = root.get("steps");
        if (steps == null || !steps.isObject()) {
            throw new FlowValidationException(flowId, null, "'steps' must be an object of step id to step, got "
                    + kind(steps));
        }
        Flow.Builder flow;
        try {
            flow = Flow.builder(flowId, version).initialStep(initialStepId);
        } catch (FlowValidationException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw new FlowValidationException(flowId, null, e.getMessage());
        }
        for (Map.Entry<String, JsonNode> entry : steps.properties()) {
            flow.step(step(flowId, entry.getKey(), entry.getValue()));
        }
        return flow.build();
    }

    /** Names the object a duplicate key was found in (a step, a step's field), and the flow. */
    private static FlowValidationException parseError(String json, JsonParseException e) {
        Deque<String> path = new ArrayDeque<>();
        JsonParser parser = e.getProcessor();
        if (parser != null) {
            for (JsonStreamContext c = parser.getParsingContext(); c != null; c = c.getParent()) {
                if (c.getParent() != null && c.getParent().inObject() && c.getParent().getCurrentName() != null) {
                    path.addFirst(c.getParent().getCurrentName());
                }
            }
        }
        String message = e.getOriginalMessage();
        String flowId = lenientFlowId(json);
        if (message == null || !message.startsWith("Duplicate field")) {
            throw new FlowValidationException(flowId, null, "flow JSON cannot be parsed: " + message + where(e));
        }
        List<String> inside = new ArrayList<>(path);
        String stepId = inside.size() >= 2 && "steps".equals(inside.get(0)) ? inside.get(1) : null;
        String object = inside.isEmpty() ? "the flow object" : "'" + String.join(".", inside) + "'";
        if (inside.size() == 1 && "steps".equals(inside.get(0))) {
            String duplicate = message.replaceFirst("^Duplicate field '(.*)'$", "$1");
            return new FlowValidationException(flowId, duplicate, "is defined twice in 'steps'; step ids must be "
                    + "unique within a flow" + where(e));
        }
        return new FlowValidationException(flowId, stepId, "f" + message.substring("Duplicate f".length())
                + " appears twice in " + object
                + "; a key may be given only once" + where(e));
    }

    /**
     * The flow's id as a lenient read finds it (past duplicates, ignoring trailing text), only to name
     * the flow in a message about the text; null if even that read fails.
     */
    private static String lenientFlowId(String json) {
        try {
            JsonNode lenient = LENIENT.readTree(json);
            return lenient != null && lenient.path("id").isTextual() ? lenient.path("id").asText() : null;
        } catch (JsonProcessingException unreadable) {
            return null;
        }
    }

    private static String where(JsonProcessingException e) {
        return e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ", column "
                + e.getLocation().getColumnNr() + ")";
    }

    private static Step step(String flowId, String key, JsonNode node) {
        if (!node.isObject()) {
            throw new FlowValidationException(flowId, key, "must be a JSON object, got " + kind(node));
        }
        String id = node.hasNonNull("id") ? text(node, "id", flowId, key) : key;
        if (!id.equals(key)) {
            throw new FlowValidationException(flowId, key, "is stored under key '" + Diagnostics.id(key)
                    + "' but has id '" + Diagnostics.id(id) + "'; the key and the id must match");
        }
        try {
            Step.Builder step = Step.builder(id, text(node, "type", flowId, id));
            optionalString(node, "name", flowId, id);
            JsonNode config = node.get("config");
            if (config != null && !config.isNull()) {
                if (!config.isObject()) {
                    throw new FlowValidationException(flowId, id, "'config' must be an object, got " + kind(config));
                }
                step.config(MAPPER.convertValue(config, JSON_OBJECT));
            }
            JsonNode input = node.get("input");
            if (input != null && !input.isNull()) {
                step.input(input(flowId, id, input));
            }
            if (node.hasNonNull("outputKey")) {
                step.outputKey(text(node, "outputKey", flowId, id));
            }
            JsonNode transitions = node.get("transitions");
            if (transitions != null && !transitions.isNull()) {
                if (!transitions.isObject()) {
                    throw new FlowValidationException(flowId, id, "'transitions' must be an object with onSuccess, "
                            + "onFailure and onResume, got " + kind(transitions));
                }
                step.onSuccess(optionalString(transitions, "onSuccess", flowId, id))
                        .onFailure(optionalString(transitions, "onFailure", flowId, id))
                        .onResume(optionalString(transitions, "onResume", flowId, id));
            }
            JsonNode retry = node.get("retry");
            if (retry != null && !retry.isNull()) {
                step.retry(retry(flowId, id, retry));
            }
            step.timeout(timeout(flowId, id, node));
            return step.build();
        } catch (FlowValidationException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw new FlowValidationException(flowId, id, e.getMessage());
        }
    }

    /** {@code timeoutMs}, or {@code timeout} as FlowMonkey's docs write it: milliseconds either way. */
    private static Duration timeout(String flowId, String stepId, JsonNode node) {
        Long timeoutMs = node.hasNonNull("timeoutMs") ? whole(node, "timeoutMs", flowId, stepId) : null;
        Long timeout = node.hasNonNull("timeout") ? whole(node, "timeout", flowId, stepId) : null;
        if (timeoutMs != null && timeout != null && !timeoutMs.equals(timeout)) {
            throw new FlowValidationException(flowId, stepId, "'timeoutMs' (" + timeoutMs + ") and 'timeout' ("
                    + timeout + ") disagree; give one of them");
        }
        Long ms = timeoutMs != null ? timeoutMs : timeout;
        if (ms != null && ms < 1) {
            throw new FlowValidationException(flowId, stepId, "'timeoutMs' must be at least 1, got " + ms);
        }
        return ms == null ? null : Duration.ofMillis(ms);
    }

    private static InputSelector input(String flowId, String stepId, JsonNode node) {
        if (!node.isObject()) {
            throw new FlowValidationException(flowId, stepId, "'input' must be an object such as "
                    + "{\"type\":\"key\",\"key\":\"order\"}, got " + kind(node));
        }
        String type = text(node, "type", flowId, stepId);
        switch (type) {
            case "key":
                return InputSelector.key(text(node, "key", flowId, stepId));
            case "keys": {
                JsonNode keys = node.get("keys");
                if (keys == null || !keys.isArray()) {
                    throw new FlowValidationException(flowId, stepId, "input 'keys' must be an array of strings, got "
                            + kind(keys));
                }
                List<String> names = new ArrayList<>();
                for (JsonNode k : keys) {
                    if (!k.isTextual()) {
                        throw new FlowValidationException(flowId, stepId, "input 'keys' must hold strings only, got "
                                + kind(k));
                    }
                    names.add(k.asText());
                }
                return InputSelector.keys(names.toArray(String[]::new));
            }
            case "path":
                return InputSelector.path(text(node, "path", flowId, stepId));
            case "template":
                return InputSelector.template(MAPPER.convertValue(required(node, "template", flowId, stepId),
                        Object.class));
            case "full":
                return InputSelector.full();
            case "static":
                return InputSelector.value(MAPPER.convertValue(required(node, "value", flowId, stepId), Object.class));
            default:
                throw new FlowValidationException(flowId, stepId, "input type '" + Diagnostics.id(type)
                        + "' is unknown; expected key, keys, path, template, full or static");
        }
    }

    private static JsonNode required(JsonNode input, String field, String flowId, String stepId) {
        JsonNode value = input.get(field);
        if (value == null) {
            throw new FlowValidationException(flowId, stepId, "input of type '" + input.get("type").asText()
                    + "' needs '" + field + "'");
        }
        return value;
    }

    /** FlowMonkey TypeScript's retry: {@code maxAttempts} counts retries, backoff 0 and cap 60 s by default. */
    private static RetryPolicy retry(String flowId, String stepId, JsonNode node) {
        if (!node.isObject()) {
            throw new FlowValidationException(flowId, stepId, "'retry' must be an object, got " + kind(node));
        }
        RetryPolicy.Builder retry = RetryPolicy.builder();
        long retries = node.hasNonNull("maxAttempts") ? whole(node, "maxAttempts", flowId, stepId, "retry.")
                : DEFAULT_RETRIES;
        if (retries < 0 || retries >= Integer.MAX_VALUE) {
            throw new FlowValidationException(flowId, stepId, "retry.maxAttempts counts retries after the first "
                    + "attempt and must be from 0 to " + (Integer.MAX_VALUE - 1) + ", got " + retries);
        }
        retry.maxAttempts((int) retries + 1);
        Duration maxBackoff = node.hasNonNull("maxBackoffMs")
                ? Duration.ofMillis(whole(node, "maxBackoffMs", flowId, stepId, "retry.")) : TS_DEFAULT_MAX_BACKOFF;
        Duration backoff = node.hasNonNull("backoffMs")
                ? Duration.ofMillis(whole(node, "backoffMs", flowId, stepId, "retry.")) : Duration.ZERO;
        if (!node.hasNonNull("maxBackoffMs") && backoff.compareTo(maxBackoff) > 0) {
            // TypeScript caps every pause at the default 60 s; starting at the cap gives the same pauses.
            backoff = maxBackoff;
        }
        retry.backoff(backoff).maxBackoff(maxBackoff);
        if (node.hasNonNull("backoffMultiplier")) {
            JsonNode multiplier = node.get("backoffMultiplier");
            if (!multiplier.isNumber()) {
                throw new FlowValidationException(flowId, stepId, "retry.backoffMultiplier must be a number, got "
                        + kind(multiplier));
            }
            retry.multiplier(multiplier.asDouble());
        }
        JsonNode retryOn = node.get("retryOn");
        if (retryOn != null && !retryOn.isNull()) {
            if (!retryOn.isArray()) {
                throw new FlowValidationException(flowId, stepId, "retry.retryOn must be an array of failure codes, got "
                        + kind(retryOn));
            }
            List<String> codes = new ArrayList<>();
            retryOn.forEach(c -> codes.add(c.isTextual() ? c.asText() : null));
            retry.retryOn(codes.toArray(String[]::new));
        }
        return retry.build();
    }

    private static long whole(JsonNode node, String field, String flowId, String stepId) {
        return whole(node, field, flowId, stepId, "");
    }

    private static long whole(JsonNode node, String field, String flowId, String stepId, String prefix) {
        JsonNode value = node.get(field);
        if (!value.isIntegralNumber() || !value.canConvertToLong()) {
            throw new FlowValidationException(flowId, stepId, prefix + field + " must be a whole number, got "
                    + kind(value));
        }
        return value.asLong();
    }

    /** A required id: a non-blank JSON string. */
    private static String text(JsonNode node, String field, String flowId, String stepId) {
        JsonNode value = node.get(field);
        if (value == null || !value.isTextual() || value.asText().isBlank()) {
            throw new FlowValidationException(flowId, stepId, "'" + field + "' must be a non-blank string, got "
                    + kind(value));
        }
        return value.asText();
    }

    private static String versionText(JsonNode root, String flowId) {
        JsonNode value = root.get("version");
        // Versions are often written as numbers ("version": 2); FlowMonkey treats them as text.
        return value != null && value.isNumber() ? value.asText() : text(root, "version", flowId, null);
    }

    private static String optionalString(JsonNode node, String field, String flowId, String stepId) {
        JsonNode value = node.get(field);
        return value == null || value.isNull() ? null : text(node, field, flowId, stepId);
    }

    /** What a JSON value is, for messages; short whatever its size. */
    private static String kind(JsonNode value) {
        if (value == null || value.isMissingNode()) {
            return "nothing";
        }
        if (value.isObject()) {
            return "an object";
        }
        if (value.isArray()) {
            return "an array";
        }
        return Diagnostics.printable(value.toString(), Diagnostics.MAX_ID_CHARS);
    }
}
