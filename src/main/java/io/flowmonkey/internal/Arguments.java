package io.flowmonkey.internal;

import java.time.Duration;
import java.util.Objects;

/**
 * The argument checks every package shares, so that each refusal reads the same wherever it is
 * made: {@code "<what> must be a non-blank string, got 'x'"}, {@code "<what> must be at least 1, got
 * 0"}. Internal, not API: public only so that the engine, the stores and the model can all reach it.
 */
public final class Arguments {

    private Arguments() {
    }

    /**
     * Returns {@code value} if it is neither null nor blank.
     *
     * @param value the argument
     * @param what the argument's name in the message, such as {@code "executionId"}
     * @return {@code value}
     * @throws IllegalArgumentException naming {@code what} and the value otherwise
     */
    public static String nonBlank(String value, String what) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException(what + " must be a non-blank string, got "
                    + (value == null ? "null" : "'" + value + "'"));
        }
        return value;
    }

    /**
     * Returns {@code value} if it is at least 1.
     *
     * @param value the argument
     * @param what the argument's name in the message, such as {@code "limit"}
     * @return {@code value}
     * @throws IllegalArgumentException naming {@code what} and the value otherwise
     */
    public static int atLeastOne(int value, String what) {
        if (value < 1) {
            throw new IllegalArgumentException(what + " must be at least 1, got " + value);
        }
        return value;
    }

    /**
     * Returns {@code value} if it is not blank and holds no unpaired surrogate: UTF-8 cannot encode
     * one (pgjdbc would send {@code ?} in its place), so no stored execution can hold such a string
     * and a lookup by it could only find another row's value.
     *
     * @param value the argument
     * @param what the argument's name in the message
     * @return {@code value}
     * @throws IllegalArgumentException naming {@code what}, the value or the index of the surrogate
     */
    public static String encodableText(String value, String what) {
        nonBlank(value, what);
        int bad = unpairedSurrogate(value);
        if (bad >= 0) {
            throw new IllegalArgumentException(what + " must not contain an unpaired surrogate, got one at index "
                    + bad + "; UTF-8 cannot encode it, and no execution can hold it");
        }
        return value;
    }

    /**
     * Returns the index of the first unpaired surrogate in {@code s}, or -1. Such a char cannot be
     * encoded as UTF-8, so a store would write something else in its place.
     *
     * @param s a string, not null
     * @return the index of the first high surrogate not followed by a low one, or low surrogate not
     *     preceded by a high one; -1 if there is none
     */
    public static int unpairedSurrogate(String s) {
        for (int i = 0, n = s.length(); i < n; i++) {
            char c = s.charAt(i);
            if (Character.isSurrogate(c)) {
                if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
                    i++;
                } else {
                    return i;
                }
            }
        }
        return -1;
    }

    // ---- Leases (issue 11): one check for both stores ----

    /** The longest lease, or grace for a running execution nobody holds, that a store accepts. */
    public static final Duration MAX_LEASE = Duration.ofDays(365);

    /**
     * Returns {@code leaseTtl} if it is from 1 ms to {@link #MAX_LEASE}: the upper bound keeps "now plus
     * the lease" inside epoch milliseconds, in SQL as in Java.
     *
     * @param leaseTtl the lease length
     * @return {@code leaseTtl}
     * @throws IllegalArgumentException if out of range
     * @throws NullPointerException if null
     */
    public static Duration leaseTtl(Duration leaseTtl) {
        Objects.requireNonNull(leaseTtl, "leaseTtl must not be null");
        if (leaseTtl.compareTo(Duration.ofMillis(1)) < 0 || leaseTtl.compareTo(MAX_LEASE) > 0) {
            throw new IllegalArgumentException("leaseTtl must be between 1 ms and " + MAX_LEASE.toDays()
                    + " days, got " + leaseTtl);
        }
        return leaseTtl;
    }
}
