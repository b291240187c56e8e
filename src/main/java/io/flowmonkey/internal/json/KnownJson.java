package io.flowmonkey.internal.json;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Objects;

/**
 * The JSON text of a frozen container, once a store has read it or written it, so that a save of an
 * execution whose {@code context}, {@code metadata} or {@code history} did not change sends that text
 * again instead of encoding the value anew (with the 1 KB context of the benchmark, encoding was an
 * eighth of a worker thread's CPU per save). A history one step longer than a known one is sent as
 * the known text with the new entries spliced in, so a step's save encodes that step alone.
 *
 * <p>Each text is kept with its owner, the store component that read or wrote it, and is given back
 * to that owner only: a text passed the owner's own limits, and another store may have others.
 * Frozen containers never change, so a text known for one stays right; what it costs is the text's
 * memory for as long as the container lives (the bytes of a column as they were read, kept instead of
 * dropped).
 */
public final class KnownJson {

    private KnownJson() {
    }

    /** What a container keeps: one text at most, set once it is known. */
    interface Holder {
        Text knownJson();

        void knownJson(Text text);

        /** The list this one was made from by appending, while its own text is not known; else null. */
        default List<?> appendedTo() {
            return null;
        }
    }

    /** A text and its owner; decoded from the bytes it was read as when first asked for. */
    static final class Text {
        private final Object owner;
        private final int offset;
        /** The bytes as read, until {@link #text()} decodes them; guarded by {@code this}. */
        private byte[] utf8;
        private volatile String text;

        Text(Object owner, byte[] utf8, int offset, String text) {
            this.owner = owner;
            this.utf8 = utf8;
            this.offset = offset;
            this.text = text;
        }

        String text() {
            String t = text;
            if (t == null) {
                synchronized (this) {
                    t = text;
                    if (t == null) {
                        t = new String(utf8, offset, utf8.length - offset, StandardCharsets.UTF_8);
                        text = t;
                        utf8 = null; // kept once, not twice
                    }
                }
            }
            return t;
        }
    }

    /** Whether {@code container} holds a text, whoever its owner. */
    static boolean known(Object container) {
        return container instanceof Holder h && h.knownJson() != null;
    }

    /**
     * Remembers the bytes a container was just decoded from. Does nothing for a container that is not
     * frozen (the empty map and list, which are quick to encode).
     *
     * @param container the decoded map or list
     * @param owner who decoded it, and the only one that {@link #of} gives the text back to (a token of
     *     its own, so that a container does not keep the owner's other state reachable)
     * @param utf8 the column's bytes as UTF-8 JSON text from {@code offset} on; kept, never modified
     * @param offset where the text starts
     * @throws NullPointerException if {@code owner} is null
     */
    public static void read(Object container, Object owner, byte[] utf8, int offset) {
        if (container instanceof Holder h) {
            h.knownJson(new Text(Objects.requireNonNull(owner), utf8, offset, null));
        }
    }

    /**
     * Remembers the text a container was just encoded as.
     *
     * @param container the encoded map or list
     * @param owner who encoded it, and the only one that {@link #of} gives the text back to (a token, as
     *     for {@link #read})
     * @param json its text
     * @throws NullPointerException if {@code owner} is null
     */
    public static void written(Object container, Object owner, String json) {
        if (container instanceof Holder h) {
            h.knownJson(new Text(Objects.requireNonNull(owner), null, 0, json));
        }
    }

    /**
     * The text {@code owner} read or wrote for this very container, or null.
     *
     * @param container a map or list
     * @param owner who asks
     * @return the text, or null when {@code owner} knows none
     */
    public static String of(Object container, Object owner) {
        Text t = container instanceof Holder h ? h.knownJson() : null;
        return t != null && t.owner == owner ? t.text() : null;
    }

    /**
     * The longest start of a list that {@code owner} knows the text of, when the list was made by
     * appending to it ({@link Values#appended}); null when there is none, or when the whole list's text
     * is known ({@link #of}).
     *
     * @param list the list
     * @param owner who asks
     * @return the start's text and length, or null
     */
    public static Prefix prefixOf(List<?> list, Object owner) {
        for (List<?> start = list instanceof Holder h ? h.appendedTo() : null; start != null;
                start = start instanceof Holder h ? h.appendedTo() : null) {
            String json = of(start, owner);
            if (json != null) {
                return start.isEmpty() ? null : new Prefix(json, start.size());
            }
        }
        return null;
    }

    /**
     * The text of the first {@code size} elements of a list, as a JSON array.
     *
     * @param json the array's text
     * @param size how many elements it holds (at least one)
     */
    public record Prefix(String json, int size) {

        /**
         * The text of the whole list: this prefix's array with the elements of {@code rest} after its own.
         *
         * @param rest the text of the remaining elements as a JSON array of at least one element
         * @return the text of one array of all the elements
         * @throws IllegalArgumentException if either text is not a JSON array
         */
        public String followedBy(String rest) {
            int close = json.lastIndexOf(']');
            int open = rest.indexOf('[');
            if (close < 0 || open < 0) {
                throw new IllegalArgumentException("not JSON arrays: " + json.length() + " and " + rest.length()
                        + " chars");
            }
            return new StringBuilder(close + 2 + rest.length() - open).append(json, 0, close).append(", ")
                    .append(rest, open + 1, rest.length()).toString();
        }
    }
}
