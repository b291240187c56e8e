package io.flowmonkey.engine;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/** Dot-notation paths into JSON-like values: {@code "order.items.0.sku"}. */
final class Paths {

    private static final Pattern DOT = Pattern.compile("\\.");

    private Paths() {
    }

    /** Throws unless every segment of {@code path} is non-empty. */
    static String requireValid(String path, String what) {
        if (path == null || path.isBlank() || path.startsWith(".") || path.endsWith(".") || path.contains("..")) {
            throw new IllegalArgumentException(what + " must be a dot path of non-empty segments such as "
                    + "'order.total', got " + (path == null ? "null" : "'" + path + "'"));
        }
        return path;
    }

    /** Reads a path; a missing segment, or one through a non-container, yields null. */
    static Object get(Object root, String path) {
        Object current = root;
        for (String segment : DOT.split(path, -1)) {
            if (current instanceof Map<?, ?> map) {
                current = map.get(segment);
            } else if (current instanceof List<?> list) {
                int index = indexOf(segment);
                current = index >= 0 && index < list.size() ? list.get(index) : null;
            } else {
                return null;
            }
        }
        return current;
    }

    private static int indexOf(String segment) {
        try {
            return Integer.parseInt(segment);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /**
     * Returns a copy of {@code root} with {@code value} at {@code path}. Maps along the path are copied,
     * so the (frozen) original is untouched; a segment that holds no map is replaced by one, as
     * FlowMonkey's {@code setPath} does.
     */
    static Map<String, Object> set(Map<String, Object> root, String path, Object value) {
        String[] segments = DOT.split(path, -1);
        Map<String, Object> copy = new LinkedHashMap<>(root);
        Map<String, Object> parent = copy;
        for (int i = 0; i < segments.length - 1; i++) {
            Object child = parent.get(segments[i]);
            Map<String, Object> next = new LinkedHashMap<>();
            if (child instanceof Map<?, ?> map) {
                map.forEach((k, v) -> next.put(String.valueOf(k), v));
            }
            parent.put(segments[i], next);
            parent = next;
        }
        parent.put(segments[segments.length - 1], value);
        return copy;
    }
}
