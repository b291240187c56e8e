package io.flowmonkey.execution;

import java.lang.reflect.Array;
import java.time.Instant;
import java.util.AbstractList;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Checks and deep copies shared by the model. JSON-like values (maps, lists, scalars) are copied
 * into unmodifiable containers once; copying an already frozen container is free, so
 * {@code toBuilder().build()} stays cheap.
 */
final class Values {

    private Values() {
    }

    static String requireText(String value, String field) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException(field + " must be a non-blank string, got "
                    + (value == null ? "null" : "'" + value + "'"));
        }
        return value;
    }

    /** As {@link #requireText(String, String)}, naming the execution; the message is built only on failure. */
    static String requireText(String value, String field, String executionId) {
        return value == null || value.isBlank() ? requireText(value, field + " (execution " + executionId + ")") : value;
    }

    /** Null, or a non-blank string; names the field and the execution when neither. */
    static String optionalText(String value, String field, String executionId) {
        return value == null ? null : requireText(value, field, executionId);
    }

    /**
     * Truncates a time to the milliseconds it is stored as, keeping an instant that is already whole.
     *
     * @param field the field, for the message
     * @param executionId the execution it belongs to, or null when not known yet
     * @throws IllegalArgumentException if epoch milliseconds cannot hold the time
     */
    static Instant millis(Instant instant, String field, String executionId) {
        if (instant == null) {
            return null;
        }
        long epochMilli;
        try {
            epochMilli = instant.toEpochMilli();
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException(field + (executionId == null ? "" : " of execution " + executionId)
                    + " is outside what epoch milliseconds can hold, got " + instant, e);
        }
        return instant.getNano() % 1_000_000 == 0 ? instant : Instant.ofEpochMilli(epochMilli);
    }

    /** Copies a JSON object; null becomes the empty object. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> freezeObject(Map<String, ?> map) {
        return map == null || map.isEmpty() ? Map.of() : (Map<String, Object>) freezeJson(map);
    }

    /**
     * Freezes a map of frozen values that the caller built and will never touch again, without a
     * copy; the result is what {@link #freezeJson} makes of an equal map.
     */
    static Map<String, Object> adoptObject(LinkedHashMap<String, Object> fresh) {
        return new FrozenMap(fresh);
    }

    /**
     * Freezes a list of frozen values that the caller built and will never touch again, without a
     * copy; the result is what {@link #freezeJson} makes of an equal list.
     */
    static List<Object> adoptList(ArrayList<Object> fresh) {
        return fresh.isEmpty() ? List.of() : new FrozenList<>(fresh);
    }

    /** Copies a list; null becomes the empty list. */
    static <T> List<T> freezeList(List<T> list) {
        if (list == null || list.isEmpty()) {
            return List.of();
        }
        if (list instanceof FrozenList) {
            return list;
        }
        List<T> copy = new ArrayList<>(list.size());
        for (T item : list) {
            @SuppressWarnings("unchecked")
            T frozen = (T) freezeJson(item);
            copy.add(frozen);
        }
        return new FrozenList<>(copy);
    }

    /** Copies maps, collections and arrays found in a JSON-like value; other values are kept as they are. */
    static Object freezeJson(Object value) {
        if (value instanceof Map<?, ?> map) {
            if (map instanceof FrozenMap) {
                return map;
            }
            Map<String, Object> copy = new LinkedHashMap<>(map.size() * 4 / 3 + 1);
            for (Map.Entry<?, ?> e : map.entrySet()) {
                copy.put(String.valueOf(e.getKey()), freezeJson(e.getValue()));
            }
            return new FrozenMap(copy);
        }
        if (value instanceof List<?> list) {
            @SuppressWarnings("unchecked")
            List<Object> objects = (List<Object>) list;
            return freezeList(objects);
        }
        if (value instanceof Collection<?> collection) {
            return freezeList(new ArrayList<Object>(collection));
        }
        if (value != null && value.getClass().isArray()) {
            // An array stays writable by whoever holds it: keep its items, as JSON would, in a list.
            int n = Array.getLength(value);
            List<Object> items = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                items.add(Array.get(value, i));
            }
            return freezeList(items);
        }
        return value;
    }

    /** An unmodifiable map that is known to hold only frozen values. */
    private static final class FrozenMap extends AbstractMap<String, Object> {
        private final Map<String, Object> delegate;

        FrozenMap(Map<String, Object> delegate) {
            this.delegate = delegate;
        }

        @Override
        public Set<Entry<String, Object>> entrySet() {
            return Collections.unmodifiableMap(delegate).entrySet();
        }

        @Override
        public Object get(Object key) {
            return delegate.get(key);
        }

        @Override
        public boolean containsKey(Object key) {
            return delegate.containsKey(key);
        }

        @Override
        public int size() {
            return delegate.size();
        }
    }

    /** An unmodifiable list that is known to hold only frozen values. */
    private static final class FrozenList<T> extends AbstractList<T> {
        private final List<T> delegate;

        FrozenList(List<T> delegate) {
            this.delegate = delegate;
        }

        @Override
        public T get(int index) {
            return delegate.get(index);
        }

        @Override
        public int size() {
            return delegate.size();
        }
    }
}
