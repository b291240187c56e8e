package io.flowmonkey.engine;

import java.util.Collection;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.Set;

/**
 * Text the engine writes about failures: bounded, so that one huge message cannot bloat a row or a
 * log, and storable, so that a failure record can always be saved.
 */
final class Diagnostics {

    /** Longest message the engine stores for a failure it describes. */
    static final int MAX_MESSAGE_CHARS = 2_000;
    /** Longest stack trace stored in {@code error.details.stackTrace}, causes included. */
    static final int MAX_STACK_TRACE_CHARS = 8_000;
    /** Frames kept per throwable of a stored stack trace. */
    static final int MAX_FRAMES = 30;
    /** Causes followed in a stored stack trace. */
    static final int MAX_CAUSES = 5;
    /** Items named in a list inside a message; the rest are counted. */
    static final int MAX_LISTED = 10;
    /** Longest id quoted in a message. */
    static final int MAX_ID_CHARS = 100;

    private Diagnostics() {
    }

    /**
     * Makes text storable and bounded: U+0000 (which PostgreSQL text cannot hold) and unpaired
     * surrogates (which UTF-8 cannot encode) are written as {@code \\uXXXX}, and text past {@code max}
     * characters is cut with a note of how much was left out. Only for the engine's own diagnostics,
     * never for user data, which is stored exactly or refused.
     */
    static String printable(String text, int max) {
        if (text == null) {
            return null;
        }
        StringBuilder out = new StringBuilder(Math.min(text.length(), max) + 16);
        int i = 0;
        for (; i < text.length() && out.length() < max; i++) {
            char c = text.charAt(i);
            boolean paired = Character.isHighSurrogate(c) ? i + 1 < text.length()
                    && Character.isLowSurrogate(text.charAt(i + 1))
                    : !Character.isLowSurrogate(c) || i > 0 && Character.isHighSurrogate(text.charAt(i - 1));
            if (c == '\u0000' || !paired) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        if (i < text.length()) {
            out.append("... (").append(text.length() - i).append(" more chars)");
        }
        return out.toString();
    }

    /** An id quoted in a message: printable and at most {@link #MAX_ID_CHARS} long. */
    static String id(String id) {
        return printable(id, MAX_ID_CHARS);
    }

    /** Names at most {@link #MAX_LISTED} items, then says how many more there are. */
    static String list(Collection<?> items) {
        StringBuilder out = new StringBuilder("[");
        Iterator<?> it = items.iterator();
        for (int n = 0; it.hasNext() && n < MAX_LISTED; n++) {
            out.append(n == 0 ? "" : ", ").append(printable(String.valueOf(it.next()), MAX_ID_CHARS));
        }
        if (items.size() > MAX_LISTED) {
            out.append(", ... (").append(items.size() - MAX_LISTED).append(" more)");
        }
        return out.append(']').toString();
    }

    /** A throwable's message, or its class name when it has none; never throws. */
    static String message(Throwable t) {
        String message;
        try {
            message = t.getMessage();
        } catch (RuntimeException | LinkageError broken) {
            message = null;
        }
        return printable(message != null ? message : t.getClass().getName(), MAX_MESSAGE_CHARS);
    }

    /**
     * A stack trace as {@link Throwable#printStackTrace()} writes it, with at most {@link #MAX_FRAMES}
     * frames per throwable and {@link #MAX_CAUSES} causes (a cycle of causes stops the walk), bounded
     * to {@link #MAX_STACK_TRACE_CHARS} in all.
     */
    static String stackTrace(Throwable thrown) {
        StringBuilder out = new StringBuilder();
        Set<Throwable> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        Throwable t = thrown;
        for (int depth = 0; t != null && seen.add(t) && depth <= MAX_CAUSES; depth++, t = t.getCause()) {
            out.append(depth == 0 ? "" : "Caused by: ").append(t.getClass().getName());
            String message = message(t);
            if (!message.equals(t.getClass().getName())) {
                out.append(": ").append(message);
            }
            out.append('\n');
            StackTraceElement[] frames = t.getStackTrace();
            for (int i = 0; i < frames.length && i < MAX_FRAMES; i++) {
                out.append("\tat ").append(frames[i]).append('\n');
            }
            if (frames.length > MAX_FRAMES) {
                out.append("\t... ").append(frames.length - MAX_FRAMES).append(" more\n");
            }
            if (out.length() > MAX_STACK_TRACE_CHARS) {
                break;
            }
        }
        return printable(out.toString(), MAX_STACK_TRACE_CHARS);
    }
}
