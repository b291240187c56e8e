package io.flowmonkey.internal.json;

import java.util.AbstractList;
import java.util.AbstractMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Containers of an execution whose contents are decoded on first use, for a store that reads many
 * rows of which callers look at a few fields: the JSON of {@code context} or {@code history} is then
 * parsed only when a method of the container is first called. What the decoder returns passes the
 * model's own checks ({@link Values#freezeObject(Map, String, String)},
 * {@link Values#freezeRecords(List, String, String)}) before anyone sees it, so a deferred container
 * never holds what {@code Execution.Builder.build()} would refuse, whoever supplied the decoder.
 *
 * <p>Thread-safe: the first caller decodes, under a lock, and every caller after it sees that one
 * result. A decoder that throws leaves nothing behind: the exception reaches the caller, and the next
 * call decodes again and throws again (the stored bytes do not change), so every access of an
 * unreadable column reports it in the same words.
 */
public final class Deferred {

    private Deferred() {
    }

    /**
     * A JSON object at depth 1 of its column, decoded by {@code decoder} on first use.
     *
     * @param decoder decodes the object; may return null for the empty object; what it throws reaches
     *     the caller of the first (and every later) access
     * @param field the field, for the messages of the model's checks
     * @param executionId the execution it belongs to
     * @return an unmodifiable map
     */
    public static Map<String, Object> object(Supplier<? extends Map<String, ?>> decoder, String field,
                                             String executionId) {
        return new DeferredObject(new Once<>(() -> Values.freezeObject(decoder.get(), field, executionId)));
    }

    /**
     * A list of the model's records, decoded by {@code decoder} on first use.
     *
     * @param <T> the record type
     * @param decoder decodes the list; may return null for the empty list; what it throws reaches the
     *     caller of the first (and every later) access
     * @param field the field, for the messages of the model's checks
     * @param executionId the execution it belongs to
     * @return an unmodifiable list
     */
    public static <T> List<T> records(Supplier<? extends List<T>> decoder, String field, String executionId) {
        return new DeferredList<>(new Once<>(() -> Values.freezeRecords(decoder.get(), field, executionId)));
    }

    /** Tells whether {@code value} is a deferred container, which the model keeps as it is. */
    static boolean isDeferred(Object value) {
        return value instanceof DeferredObject || value instanceof DeferredList;
    }

    /** The decoded value, computed at most once successfully; the decoder is dropped once it has run. */
    private static final class Once<T> {
        private volatile T value;
        private Supplier<T> decoder;

        Once(Supplier<T> decoder) {
            this.decoder = decoder;
        }

        T get() {
            T v = value;
            if (v == null) {
                synchronized (this) {
                    v = value;
                    if (v == null) {
                        v = decoder.get();
                        value = v;
                        // The decoder holds the stored bytes: let them go.
                        decoder = null;
                    }
                }
            }
            return v;
        }
    }

    private static final class DeferredObject extends AbstractMap<String, Object> {
        private final Once<Map<String, Object>> decoded;

        DeferredObject(Once<Map<String, Object>> decoded) {
            this.decoded = decoded;
        }

        @Override
        public Set<Entry<String, Object>> entrySet() {
            return decoded.get().entrySet();
        }

        @Override
        public Object get(Object key) {
            return decoded.get().get(key);
        }

        @Override
        public boolean containsKey(Object key) {
            return decoded.get().containsKey(key);
        }

        @Override
        public int size() {
            return decoded.get().size();
        }
    }

    private static final class DeferredList<T> extends AbstractList<T> {
        private final Once<List<T>> decoded;

        DeferredList(Once<List<T>> decoded) {
            this.decoded = decoded;
        }

        @Override
        public T get(int index) {
            return decoded.get().get(index);
        }

        @Override
        public int size() {
            return decoded.get().size();
        }
    }
}
