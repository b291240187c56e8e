package io.flowmonkey.execution;

import io.flowmonkey.internal.json.Values;
import java.time.Instant;
import java.util.Locale;
import java.util.Objects;

/**
 * Who cancelled an execution, why and when. Stored in the {@code cancellation} column.
 *
 * @param source who asked for the cancellation
 * @param reason why, or null
 * @param cancelledAt when
 */
public record Cancellation(Source source, String reason, Instant cancelledAt) {

    /**
     * Validates the source and truncates the timestamp to milliseconds.
     *
     * @param source who asked for the cancellation
     * @param reason why, or null
     * @param cancelledAt when
     */
    public Cancellation {
        Objects.requireNonNull(source, "cancellation.source must not be null");
        reason = Values.optionalString(reason, "cancellation.reason");
        cancelledAt = Values.millis(cancelledAt, "cancellation.cancelledAt", null);
    }

    /** Who asked for a cancellation. Stored by its lower-case {@link #wireName()}. */
    public enum Source {
        /** An end user or a calling service. */
        USER,
        /** An execution or wait timeout. */
        TIMEOUT,
        /** The engine itself. */
        SYSTEM,
        /** The parent execution was cancelled. */
        PARENT,
        /** An operator. */
        ADMIN;

        /**
         * Returns the name stored in JSON, e.g. {@code "timeout"}.
         *
         * @return the lower-case wire name
         */
        public String wireName() {
            return name().toLowerCase(Locale.ROOT);
        }

        /**
         * Parses a wire name, ignoring case.
         *
         * @param s a wire name such as {@code "user"}
         * @return the source
         * @throws IllegalArgumentException if {@code s} names no source
         */
        public static Source fromWireName(String s) {
            for (Source source : values()) {
                if (source.wireName().equalsIgnoreCase(s)) {
                    return source;
                }
            }
            throw new IllegalArgumentException("unknown cancellation source '" + s
                    + "'; expected one of user, timeout, system, parent, admin");
        }
    }
}
