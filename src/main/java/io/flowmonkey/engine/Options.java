package io.flowmonkey.engine;

import java.time.Duration;

/** Argument checks shared by the option builders. */
final class Options {

    private Options() {
    }

    /** Returns {@code d} if it is null or positive. */
    static Duration positive(Duration d, String name) {
        if (d != null && (d.isNegative() || d.isZero())) {
            throw new IllegalArgumentException(name + " must be positive, got " + d);
        }
        return d;
    }

    /** Returns {@code s} if it is null or not blank. */
    static String textOrNull(String s, String name) {
        if (s != null && s.isBlank()) {
            throw new IllegalArgumentException(name + " must be null or a non-blank string, got '" + s + "'");
        }
        return s;
    }
}
