package io.flowmonkey.internal.json;

import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.InvalidFieldException;
import io.flowmonkey.execution.StoreException;
import io.flowmonkey.internal.Arguments;
import java.lang.reflect.Array;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Clock;
import java.time.Instant;
import java.util.AbstractList;
import java.util.AbstractMap;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Checks and deep copies shared by the model ({@link io.flowmonkey.execution}); internal, not API. JSON-like values (maps, lists, scalars) are copied
 * into unmodifiable containers once; copying an already frozen container is free, so
 * {@code toBuilder().build()} stays cheap.
 *
 * <p>The checks refuse, by path, what no store could keep exactly, so that every store refuses the
 * same values: map keys that are not strings (or null), strings with an unpaired surrogate (UTF-8
 * cannot encode one; PostgreSQL would get a {@code ?} in its place), NaN and infinite numbers (JSON
 * has none), and nesting deeper than {@link Execution#MAX_NESTING_DEPTH} (a JSON reader's limit; a
 * map or list that contains itself is reported as such). Depth counts as a JSON document of the
 * field's column does: a context map is at depth 1, {@code waitMetadata.data} at depth 2.
 */
public final class Values {

    /** Path segments kept in a message; a cycle would otherwise repeat its keys a thousand times. */
    private static final int MAX_PATH_SEGMENTS = 12;

    private Values() {
    }

    /**
     * A non-blank string without unpaired surrogates, for a field that belongs to no execution yet.
     *
     * @param value the value to check
     * @param field the field, for the message
     * @return the value
     * @throws InvalidFieldException naming the field when the value is refused
     */
    public static String requireText(String value, String field) {
        return requireText(value, field, null);
    }

    /**
     * A non-blank string without unpaired surrogates; names the field and the execution otherwise.
     *
     * @param value the value to check
     * @param field the field, for the message
     * @param executionId the execution it belongs to, or null when not known yet
     * @return the value
     * @throws InvalidFieldException naming the field and the execution when the value is refused
     */
    public static String requireText(String value, String field, String executionId) {
        if (value == null || value.isBlank()) {
            throw new InvalidFieldException(field, executionId, "must be a non-blank string, got "
                    + (value == null ? "null" : "'" + value + "'"));
        }
        int bad = Arguments.unpairedSurrogate(value);
        if (bad >= 0) {
            throw new InvalidFieldException(field, executionId, unpairedMessage(value, bad));
        }
        return value;
    }

    /**
     * Null, or a non-blank string; names the field and the execution when neither.
     *
     * @param value the value to check, or null
     * @param field the field, for the message
     * @param executionId the execution it belongs to, or null when not known yet
     * @return the value
     * @throws InvalidFieldException naming the field and the execution when the value is refused
     */
    public static String optionalText(String value, String field, String executionId) {
        return value == null ? null : requireText(value, field, executionId);
    }

    /**
     * Null, or any string that UTF-8 can encode (blank is fine: a reason, a message).
     *
     * @param value the value to check, or null
     * @param field the field, for the message
     * @return the value
     * @throws InvalidFieldException naming the field when the value holds an unpaired surrogate
     */
    public static String optionalString(String value, String field) {
        int bad = value == null ? -1 : Arguments.unpairedSurrogate(value);
        if (bad >= 0) {
            throw new InvalidFieldException(field, null, unpairedMessage(value, bad));
        }
        return value;
    }

    private static String unpairedMessage(String s, int index) {
        return String.format("contains an unpaired surrogate U+%04X at index %d, which UTF-8 cannot encode (it "
                + "would be stored as '?'); pass whole code points", (int) s.charAt(index), index);
    }

    /**
     * Truncates a time to the milliseconds it is stored as, keeping an instant that is already whole.
     *
     * @param instant the time, or null
     * @param field the field, for the message
     * @param executionId the execution it belongs to, or null when not known yet
     * @return the time in whole milliseconds, or null
     * @throws InvalidFieldException if epoch milliseconds cannot hold the time
     */
    public static Instant millis(Instant instant, String field, String executionId) {
        if (instant == null) {
            return null;
        }
        long epochMilli;
        try {
            epochMilli = instant.toEpochMilli();
        } catch (ArithmeticException e) {
            InvalidFieldException refused = new InvalidFieldException(field, executionId,
                    "is outside what epoch milliseconds can hold, got " + instant);
            refused.initCause(e);
            throw refused;
        }
        return instant.getNano() % 1_000_000 == 0 ? instant : Instant.ofEpochMilli(epochMilli);
    }

    /**
     * A store's time now, in the whole milliseconds stores keep times in.
     *
     * @param clock the store's clock
     * @param clockOwner what to give a better clock, for the message ({@code "PgStoreOptions"})
     * @return the time, truncated to the millisecond
     * @throws StoreException if epoch milliseconds cannot hold the clock's time
     */
    public static Instant storeNow(Clock clock, String clockOwner) {
        Instant now = clock.instant();
        try {
            return Instant.ofEpochMilli(now.toEpochMilli());
        } catch (ArithmeticException e) {
            throw new StoreException(null, "the store's clock says " + now + ", beyond what "
                    + "epoch milliseconds can hold; give " + clockOwner + " a clock that tells the time", e);
        }
    }

    /**
     * Copies a JSON object at depth 1 of its column; null becomes the empty object.
     *
     * @param map the object, or null
     * @param field the field, for the message
     * @param executionId the execution it belongs to, or null when not known yet
     * @return a deep-immutable copy (the map itself when it is already frozen, or {@link Deferred}: that
     *     checks what it decodes when it decodes it)
     * @throws InvalidFieldException naming the path to the first value refused
     */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> freezeObject(Map<String, ?> map, String field, String executionId) {
        return Deferred.isDeferred(map) ? (Map<String, Object>) map : freezeObject(map, field, executionId, 1);
    }

    /**
     * Copies a JSON object found at {@code depth} of its column's document; null becomes the empty object.
     *
     * @param map the object, or null
     * @param field the field, for the message
     * @param executionId the execution it belongs to, or null when not known yet
     * @param depth how deep the object sits in its column's document (1 for the column itself)
     * @return a deep-immutable copy (the map itself when it is already frozen)
     * @throws InvalidFieldException naming the path to the first value refused
     */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> freezeObject(Map<String, ?> map, String field, String executionId, int depth) {
        return map == null || map.isEmpty() ? Map.of() : (Map<String, Object>) freezeJson(map, field, executionId, depth);
    }

    /**
     * Copies a JSON value found at {@code depth} of its column's document (a map or list there is
     * that deep), checking it as the class comment says. Works with an explicit stack rather than
     * recursion, so that nesting to the limit, and a value that contains itself, never overflow the
     * caller's thread stack, however small.
     *
     * @param value the value, or null
     * @param field the field, for the message
     * @param executionId the execution it belongs to, or null when not known yet
     * @param depth how deep the value sits in its column's document
     * @return a deep-immutable copy (the value itself when it is a scalar or already frozen)
     * @throws InvalidFieldException naming the path to the first value refused
     */
    public static Object freezeJson(Object value, String field, String executionId, int depth) {
        ArrayDeque<Level> open = new ArrayDeque<>();
        Object current = value;
        int currentDepth = depth;
        try {
            while (true) {
                Object done = NOT_DONE;
                if (isContainer(current)) {
                    requireDepth(currentDepth, current);
                    open.push(new Level(current, currentDepth));
                } else {
                    done = freezeScalar(current, currentDepth);
                }
                while (true) {
                    Level top = open.peek();
                    if (top == null) {
                        return done;
                    }
                    if (done != NOT_DONE) {
                        top.accept(done);
                    }
                    if (top.advance()) {
                        current = top.child;
                        currentDepth = top.depth + 1;
                        break;
                    }
                    open.pop();
                    done = top.frozen();
                }
            }
        } catch (Refused r) {
            throw new InvalidFieldException(r.path(field, open), executionId, r.problem(open));
        }
    }

    /**
     * Freezes a map of frozen values that the caller built and will never touch again, without a
     * copy; the result is what {@link #freezeJson} makes of an equal map. {@code highestChild} is the
     * highest {@link #heightOf(Object)} among its values, which the caller tracked as it added them
     * (a second walk over the values cost a tenth of a parse).
     */
    static Map<String, Object> adoptObject(LinkedHashMap<String, Object> fresh, int highestChild) {
        return new FrozenMap(fresh, highestChild + 1);
    }

    /**
     * Freezes a list of frozen values that the caller built and will never touch again, without a
     * copy; the result is what {@link #freezeJson} makes of an equal list. {@code highestChild} as for
     * {@link #adoptObject}.
     */
    static List<Object> adoptList(ArrayList<Object> fresh, int highestChild) {
        return fresh.isEmpty() ? List.of() : new FrozenList<>(fresh, highestChild + 1);
    }

    /** The height of a frozen container (see {@link Frozen#height()}); 0 for anything else. */
    static int heightOf(Object value) {
        return value instanceof Frozen f ? f.height() : 0;
    }

    /**
     * Copies a list of the model's records (history); null becomes the empty list.
     *
     * @param <T> the record type
     * @param list the list, or null
     * @param field the field, for the message
     * @param executionId the execution, for the message
     * @return an unmodifiable copy (the list itself when it is already frozen, or {@link Deferred}: that
     *     checks what it decodes when it decodes it)
     * @throws InvalidFieldException naming the index of a null element
     */
    public static <T> List<T> freezeRecords(List<T> list, String field, String executionId) {
        if (Deferred.isDeferred(list)) {
            // Before isEmpty(), which would decode it.
            return list;
        }
        if (list == null || list.isEmpty()) {
            return List.of();
        }
        if (list instanceof FrozenList) {
            return list;
        }
        ArrayList<T> copy = new ArrayList<>(list);
        for (int i = 0; i < copy.size(); i++) {
            if (copy.get(i) == null) {
                throw new InvalidFieldException(field + "[" + i + "]", executionId, "must not be null");
            }
        }
        return new FrozenList<>(copy, 1);
    }

    /**
     * A frozen copy of a list of the model's records with one more at its end. It remembers the list it
     * was made from until its own JSON text is known, so that a store that knows that list's text
     * encodes only the new entry ({@link KnownJson#prefixOf}).
     *
     * @param <T> the record type
     * @param list the records so far (frozen, deferred, or any list without null elements)
     * @param entry the record to append
     * @return an unmodifiable list of the records and then {@code entry}
     * @throws NullPointerException if {@code entry} is null, or {@code list} holds a null
     */
    public static <T> List<T> appended(List<T> list, T entry) {
        ArrayList<T> copy = new ArrayList<>(list.size() + 1);
        copy.addAll(list);
        if (!(list instanceof FrozenList) && !Deferred.isDeferred(list) && copy.contains(null)) {
            throw new NullPointerException("list must not contain null");
        }
        copy.add(Objects.requireNonNull(entry, "entry"));
        // Linked to a list whose text is known, or to what that list links to: a chain of at most one
        // list, so that a store that never learns texts (in memory) does not keep every earlier history.
        List<?> start = KnownJson.known(list) ? list : list instanceof KnownJson.Holder h ? h.appendedTo() : null;
        return new FrozenList<>(copy, 1, start);
    }

    /**
     * Whether {@code value} is JSON all the way down: null, a string, a boolean, a number of a JDK type,
     * or a frozen map or list of such values. A frozen container may also hold any other object by
     * reference (a caller's bean), which may change after it is encoded; its encoding must not be
     * reused. Walks with an explicit stack, as {@link #freezeJson} does.
     *
     * @param value the value
     * @return whether it can change no more than its text
     */
    public static boolean isJson(Object value) {
        ArrayDeque<Object> open = new ArrayDeque<>();
        open.push(value == null ? NOT_DONE : value);
        while (!open.isEmpty()) {
            Object v = open.pop();
            if (v instanceof FrozenMap map) {
                for (Object child : map.delegate.values()) {
                    open.push(child == null ? NOT_DONE : child);
                }
            } else if (v instanceof FrozenList<?> list) {
                for (Object child : list.delegate) {
                    open.push(child == null ? NOT_DONE : child);
                }
            } else if (!(v == NOT_DONE || v instanceof String || v instanceof Boolean || v instanceof Integer
                    || v instanceof Long || v instanceof BigInteger || v instanceof BigDecimal || v instanceof Double
                    || v instanceof Float || v instanceof Short || v instanceof Byte)) {
                return false;
            }
        }
        return true;
    }

    private static final Object NOT_DONE = new Object();

    private static boolean isContainer(Object value) {
        return value instanceof Map<?, ?> && !(value instanceof Frozen) || value instanceof Collection<?>
                && !(value instanceof Frozen) || value != null && value.getClass().isArray();
    }

    /** Checks a value that holds no containers to copy: a scalar, a frozen container, any other object. */
    private static Object freezeScalar(Object value, int depth) {
        if (value instanceof String s) {
            int bad = Arguments.unpairedSurrogate(s);
            if (bad >= 0) {
                throw new Refused(unpairedMessage(s, bad));
            }
        } else if (value instanceof Double d && !Double.isFinite(d) || value instanceof Float f && !Float.isFinite(f)) {
            throw new Refused("is " + value + ", which JSON cannot hold; store a string or null instead");
        } else if (value instanceof Frozen frozen) {
            requireDepth(depth + frozen.height() - 1, value);
        }
        return value;
    }

    private static void requireDepth(int depth, Object container) {
        if (depth > Execution.MAX_NESTING_DEPTH) {
            throw new Refused("is nested deeper than " + Execution.MAX_NESTING_DEPTH + " levels, the most a JSON "
                    + "reader accepts", container);
        }
    }

    /** A map or list being copied: where the walk is in it, and what it has copied so far. */
    private static final class Level {
        final Object original;
        final int depth;
        private final Iterator<? extends Map.Entry<?, ?>> entries;
        private final LinkedHashMap<String, Object> map;
        private final ArrayList<Object> items;
        private int index = -1;
        private String key;
        Object child;
        private int height = 1;

        Level(Object original, int depth) {
            this.original = original;
            this.depth = depth;
            if (original instanceof Map<?, ?> m) {
                this.entries = m.entrySet().iterator();
                this.map = new LinkedHashMap<>(m.size() * 4 / 3 + 1);
                this.items = null;
            } else {
                this.entries = null;
                this.map = null;
                this.items = itemsOf(original);
            }
        }

        /** Moves to the next child, checking its key; false when there is none. */
        boolean advance() {
            if (entries != null) {
                if (!entries.hasNext()) {
                    return false;
                }
                Map.Entry<?, ?> e = entries.next();
                key = null; // a refused key is reported at this map's path, not its predecessor's
                Object k = e.getKey();
                if (!(k instanceof String name)) {
                    throw new Refused("has the key " + k + (k == null ? "" : " (a " + k.getClass().getName() + ")")
                            + "; JSON object keys are non-null strings, so it would be stored as another key");
                }
                int bad = Arguments.unpairedSurrogate(name);
                if (bad >= 0) {
                    throw new Refused("has a key that " + unpairedMessage(name, bad));
                }
                key = name;
                child = e.getValue();
                return true;
            }
            if (index + 1 >= items.size()) {
                return false;
            }
            child = items.get(++index);
            return true;
        }

        void accept(Object frozenChild) {
            if (frozenChild instanceof Frozen f && f.height() >= height) {
                height = f.height() + 1;
            }
            if (map != null) {
                map.put(key, frozenChild);
            } else {
                items.set(index, frozenChild);
            }
        }

        Object frozen() {
            if (map != null) {
                return new FrozenMap(map, height);
            }
            return items.isEmpty() ? List.of() : new FrozenList<>(items, height);
        }

        /** This level's part of a path: the key or index of the child being copied. */
        String segment() {
            return map != null ? (key == null ? "" : "." + key) : index < 0 ? "" : "[" + index + "]";
        }

        private static ArrayList<Object> itemsOf(Object listOrArray) {
            if (listOrArray instanceof Collection<?> c) {
                return new ArrayList<Object>(c);
            }
            // An array stays writable by whoever holds it: keep its items, as JSON would, in a list.
            int n = Array.getLength(listOrArray);
            ArrayList<Object> items = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                items.add(Array.get(listOrArray, i));
            }
            return items;
        }
    }

    /** A refused value, described; the path comes from the levels open when it was refused. */
    private static final class Refused extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final String problem;
        private final transient Object tooDeep;

        Refused(String problem) {
            this(problem, null);
        }

        Refused(String problem, Object tooDeep) {
            super(null, null, false, false);
            this.problem = problem;
            this.tooDeep = tooDeep;
        }

        /** A container too deep that is one of its own ancestors is a cycle: say so. */
        String problem(ArrayDeque<Level> open) {
            if (tooDeep != null) {
                for (Level level : open) {
                    if (level.original == tooDeep) {
                        return "contains itself (a map or list that refers back to one of its ancestors), which JSON "
                                + "cannot hold";
                    }
                }
            }
            return problem;
        }

        String path(String field, ArrayDeque<Level> open) {
            StringBuilder path = new StringBuilder(field);
            int shown = 0;
            for (Iterator<Level> outermostFirst = open.descendingIterator(); outermostFirst.hasNext(); ) {
                if (shown++ == MAX_PATH_SEGMENTS) {
                    return path.append("...").toString();
                }
                path.append(outermostFirst.next().segment());
            }
            return path.toString();
        }
    }

    /** A frozen container knows how deep it goes, so that nesting it elsewhere needs no second walk. */
    private interface Frozen {
        /** 1 for a container of scalars, one more per level of containers inside. */
        int height();
    }

    /** An unmodifiable map that is known to hold only frozen values. */
    private static final class FrozenMap extends AbstractMap<String, Object> implements Frozen, KnownJson.Holder {
        private final Map<String, Object> delegate;
        private final int height;
        private volatile KnownJson.Text json;

        FrozenMap(Map<String, Object> delegate, int height) {
            this.delegate = delegate;
            this.height = height;
        }

        @Override
        public int height() {
            return height;
        }

        @Override
        public KnownJson.Text knownJson() {
            return json;
        }

        @Override
        public void knownJson(KnownJson.Text text) {
            json = text;
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
    private static final class FrozenList<T> extends AbstractList<T> implements Frozen, KnownJson.Holder {
        private final List<T> delegate;
        private final int height;
        private volatile KnownJson.Text json;
        /** What {@link #appended} made this from; dropped once this list's own text is known. */
        private volatile List<?> appendedTo;

        FrozenList(List<T> delegate, int height) {
            this(delegate, height, null);
        }

        FrozenList(List<T> delegate, int height, List<?> appendedTo) {
            this.delegate = delegate;
            this.height = height;
            this.appendedTo = appendedTo;
        }

        @Override
        public int height() {
            return height;
        }

        @Override
        public KnownJson.Text knownJson() {
            return json;
        }

        @Override
        public void knownJson(KnownJson.Text text) {
            json = text;
            // A chain of appended lists would otherwise keep every earlier step's list alive.
            appendedTo = null;
        }

        @Override
        public List<?> appendedTo() {
            return appendedTo;
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
