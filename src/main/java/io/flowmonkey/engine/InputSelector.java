package io.flowmonkey.engine;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flowmonkey.internal.Arguments;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How a step picks its input from the execution's context. Immutable. The kinds, with their flow
 * JSON shape:
 * <ul>
 *   <li>{@link #key(String)} {@code {"type":"key","key":"order"}}: one top-level value;</li>
 *   <li>{@link #keys(String...)} {@code {"type":"keys","keys":["a","b"]}}: a map of the keys that are present;</li>
 *   <li>{@link #path(String)} {@code {"type":"path","path":"order.items.0"}}: a nested value, dot notation,
 *       numeric segments index lists;</li>
 *   <li>{@link #template(Object)} {@code {"type":"template","template":{...}}}: a copy of the template with
 *       {@code ${path}} replaced inside strings, maps and lists. A string that is exactly one
 *       {@code ${path}} takes the value itself (a number stays a number); elsewhere the value is
 *       inserted as text (maps and lists as JSON, missing values as the empty string);</li>
 *   <li>{@link #full()} {@code {"type":"full"}}: the whole context, the default when a step has no selector;</li>
 *   <li>{@link #value(Object)} {@code {"type":"static","value":...}}: a fixed value; the context is ignored.</li>
 * </ul>
 * A path that finds nothing yields null.
 */
public final class InputSelector {

    private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{([^}]+)}");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final InputSelector FULL = new InputSelector("full", null);

    private final String type;
    private final Object argument;

    private InputSelector(String type, Object argument) {
        this.type = type;
        this.argument = argument;
    }

    /**
     * Selects one top-level context value.
     *
     * @param key the context key
     * @return the selector
     * @throws IllegalArgumentException if {@code key} is null or blank
     */
    public static InputSelector key(String key) {
        return new InputSelector("key", requireText(key, "input key"));
    }

    /**
     * Selects several top-level values as a map; absent keys are left out.
     *
     * @param keys the context keys
     * @return the selector
     * @throws IllegalArgumentException if there are no keys or one is blank
     */
    public static InputSelector keys(String... keys) {
        Objects.requireNonNull(keys, "input keys must not be null");
        if (keys.length == 0) {
            throw new IllegalArgumentException("input keys must name at least one key");
        }
        for (String key : keys) {
            requireText(key, "each input key");
        }
        return new InputSelector("keys", List.of(keys));
    }

    /**
     * Selects a nested value by dot path, such as {@code "order.customer.email"}.
     *
     * @param path the dot path
     * @return the selector
     * @throws IllegalArgumentException if the path is blank or has an empty segment
     */
    public static InputSelector path(String path) {
        return new InputSelector("path", Paths.requireValid(path, "input path"));
    }

    /**
     * Selects a copy of {@code template} with {@code ${path}} placeholders filled from the context.
     *
     * @param template a string, or maps and lists holding strings and other JSON values
     * @return the selector
     */
    public static InputSelector template(Object template) {
        return new InputSelector("template", freeze(template));
    }

    /**
     * Selects the whole context.
     *
     * @return the selector
     */
    public static InputSelector full() {
        return FULL;
    }

    /**
     * Selects a fixed value, whatever the context holds ({@code "static"} in flow JSON).
     *
     * @param value a JSON-like value, or null
     * @return the selector
     */
    public static InputSelector value(Object value) {
        return new InputSelector("static", freeze(value));
    }

    /**
     * Returns the kind, as written in flow JSON: {@code key}, {@code keys}, {@code path},
     * {@code template}, {@code full} or {@code static}.
     *
     * @return the kind
     */
    public String type() {
        return type;
    }

    /** Picks this selector's input from a context. */
    Object resolve(Map<String, Object> context) {
        switch (type) {
            case "key":
                return context.get((String) argument);
            case "keys": {
                Map<String, Object> picked = new LinkedHashMap<>();
                for (Object key : (List<?>) argument) {
                    if (context.containsKey((String) key)) {
                        picked.put((String) key, context.get((String) key));
                    }
                }
                return Collections.unmodifiableMap(picked);
            }
            case "path":
                return Paths.get(context, (String) argument);
            case "template":
                return interpolate(argument, context);
            case "full":
                return context;
            default:
                return argument;
        }
    }

    private static Object interpolate(Object template, Map<String, Object> context) {
        if (template instanceof String text) {
            Matcher whole = PLACEHOLDER.matcher(text);
            if (whole.matches()) {
                return Paths.get(context, whole.group(1));
            }
            return PLACEHOLDER.matcher(text).replaceAll(m -> Matcher.quoteReplacement(
                    asText(Paths.get(context, m.group(1)))));
        }
        if (template instanceof Map<?, ?> map) {
            Map<String, Object> filled = new LinkedHashMap<>();
            map.forEach((k, v) -> filled.put(String.valueOf(k), interpolate(v, context)));
            return Collections.unmodifiableMap(filled);
        }
        if (template instanceof List<?> list) {
            List<Object> filled = new ArrayList<>(list.size());
            list.forEach(item -> filled.add(interpolate(item, context)));
            return Collections.unmodifiableList(filled);
        }
        return template;
    }

    private static String asText(Object value) {
        if (value == null) {
            return "";
        }
        if (value instanceof Map || value instanceof List) {
            try {
                return JSON.writeValueAsString(value);
            } catch (JsonProcessingException e) {
                throw new IllegalArgumentException("template value cannot be written as JSON: " + e.getMessage(), e);
            }
        }
        return String.valueOf(value);
    }

    /** Deep-copies maps and lists so that a caller's later change cannot alter a flow definition. */
    static Object freeze(Object value) {
        if (value instanceof Map<?, ?> map) {
            Map<String, Object> copy = new LinkedHashMap<>();
            map.forEach((k, v) -> copy.put(String.valueOf(k), freeze(v)));
            return Collections.unmodifiableMap(copy);
        }
        if (value instanceof List<?> list) {
            List<Object> copy = new ArrayList<>(list.size());
            list.forEach(item -> copy.add(freeze(item)));
            return Collections.unmodifiableList(copy);
        }
        if (value instanceof Object[] array) {
            return freeze(Arrays.asList(array));
        }
        return value;
    }

    private static String requireText(String value, String what) {
        return Arguments.nonBlank(value, what);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof InputSelector that && type.equals(that.type) && Objects.equals(argument, that.argument);
    }

    @Override
    public int hashCode() {
        return Objects.hash(type, argument);
    }

    @Override
    public String toString() {
        return argument == null && !type.equals("static") ? "InputSelector{" + type + "}"
                : "InputSelector{" + type + "=" + argument + "}";
    }
}
