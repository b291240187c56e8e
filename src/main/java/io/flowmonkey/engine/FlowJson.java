package io.flowmonkey.engine;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Reads FlowMonkey's flow JSON into a {@link Flow}; every problem names the flow and the step. */
final class FlowJson {

    private static final ObjectMapper MAPPER = new ObjectMapper();
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
            root = MAPPER.readTree(json);
        } catch (JsonProcessingException e) {
            throw new FlowValidationException(null, null, "flow JSON cannot be parsed: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw new FlowValidationException(null, null, "flow JSON must be an object with id, version, "
                    + "initialStepId and steps");
        }
        String flowId = text(root, "id", null, null);
        String version = text(root, "version", flowId, null);
        String initialStepId = text(root, "initialStepId", flowId, null);
        JsonNode steps = root.get("steps");
        if (steps == null || !steps.isObject()) {
            throw new FlowValidationException(flowId, null, "'steps' must be an object of step id to step");
        }
        Flow.Builder flow = Flow.builder(flowId, version).initialStep(initialStepId);
        for (Map.Entry<String, JsonNode> entry : steps.properties()) {
            flow.step(step(flowId, entry.getKey(), entry.getValue()));
        }
        return flow.build();
    }

    private static Step step(String flowId, String key, JsonNode node) {
        if (!node.isObject()) {
            throw new FlowValidationException(flowId, key, "must be a JSON object");
        }
        String id = node.hasNonNull("id") ? text(node, "id", flowId, key) : key;
        if (!id.equals(key)) {
            throw new FlowValidationException(flowId, key, "is stored under key '" + key + "' but has id '" + id
                    + "'; the key and the id must match");
        }
        try {
            Step.Builder step = Step.builder(id, text(node, "type", flowId, id));
            JsonNode config = node.get("config");
            if (config != null && !config.isNull()) {
                if (!config.isObject()) {
                    throw new FlowValidationException(flowId, id, "'config' must be an object");
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
                step.onSuccess(optionalText(transitions, "onSuccess", flowId, id))
                        .onFailure(optionalText(transitions, "onFailure", flowId, id))
                        .onResume(optionalText(transitions, "onResume", flowId, id));
            }
            JsonNode retry = node.get("retry");
            if (retry != null && !retry.isNull()) {
                step.retry(retry(retry));
            }
            return step.build();
        } catch (FlowValidationException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw new FlowValidationException(flowId, id, e.getMessage());
        }
    }

    private static InputSelector input(String flowId, String stepId, JsonNode node) {
        String type = text(node, "type", flowId, stepId);
        switch (type) {
            case "key":
                return InputSelector.key(text(node, "key", flowId, stepId));
            case "keys": {
                JsonNode keys = node.get("keys");
                if (keys == null || !keys.isArray()) {
                    throw new FlowValidationException(flowId, stepId, "input 'keys' must be an array of strings");
                }
                List<String> names = new ArrayList<>();
                keys.forEach(k -> names.add(k.isTextual() ? k.asText() : null));
                return InputSelector.keys(names.toArray(String[]::new));
            }
            case "path":
                return InputSelector.path(text(node, "path", flowId, stepId));
            case "template":
                return InputSelector.template(MAPPER.convertValue(node.get("template"), Object.class));
            case "full":
                return InputSelector.full();
            case "static":
                return InputSelector.value(MAPPER.convertValue(node.get("value"), Object.class));
            default:
                throw new FlowValidationException(flowId, stepId, "input type '" + type + "' is unknown; expected "
                        + "key, keys, path, template, full or static");
        }
    }

    private static RetryPolicy retry(JsonNode node) {
        if (!node.isObject()) {
            throw new IllegalArgumentException("'retry' must be an object");
        }
        RetryPolicy.Builder retry = RetryPolicy.builder();
        if (node.hasNonNull("maxAttempts")) {
            retry.maxAttempts(integer(node, "maxAttempts"));
        }
        if (node.hasNonNull("backoffMs")) {
            retry.backoff(Duration.ofMillis(integer(node, "backoffMs")));
        }
        if (node.hasNonNull("backoffMultiplier")) {
            JsonNode multiplier = node.get("backoffMultiplier");
            if (!multiplier.isNumber()) {
                throw new IllegalArgumentException("retry.backoffMultiplier must be a number, got " + multiplier);
            }
            retry.multiplier(multiplier.asDouble());
        }
        if (node.hasNonNull("maxBackoffMs")) {
            retry.maxBackoff(Duration.ofMillis(integer(node, "maxBackoffMs")));
        }
        JsonNode retryOn = node.get("retryOn");
        if (retryOn != null && !retryOn.isNull()) {
            if (!retryOn.isArray()) {
                throw new IllegalArgumentException("retry.retryOn must be an array of failure codes");
            }
            List<String> codes = new ArrayList<>();
            retryOn.forEach(c -> codes.add(c.isTextual() ? c.asText() : null));
            retry.retryOn(codes.toArray(String[]::new));
        }
        return retry.build();
    }

    private static int integer(JsonNode node, String field) {
        JsonNode value = node.get(field);
        if (!value.canConvertToInt() || !value.isIntegralNumber()) {
            throw new IllegalArgumentException("retry." + field + " must be a whole number, got " + value);
        }
        return value.asInt();
    }

    private static String text(JsonNode node, String field, String flowId, String stepId) {
        JsonNode value = node.get(field);
        // Versions are often written as numbers ("version": 2); FlowMonkey treats them as text.
        if (value == null || !(value.isTextual() || value.isNumber()) || value.asText().isBlank()) {
            throw new FlowValidationException(flowId, stepId, "'" + field + "' must be a non-blank string, got "
                    + (value == null ? "nothing" : value.toString()));
        }
        return value.asText();
    }

    private static String optionalText(JsonNode node, String field, String flowId, String stepId) {
        JsonNode value = node.get(field);
        return value == null || value.isNull() ? null : text(node, field, flowId, stepId);
    }
}
