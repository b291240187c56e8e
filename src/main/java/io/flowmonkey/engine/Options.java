package io.flowmonkey.engine;

import io.flowmonkey.internal.Arguments;
import java.time.Duration;

/** Argument checks shared by the option builders. */
final class Options {

    private Options() {
    }

    /** Returns {@code d} if it is null, or positive and at most {@link EngineOptions#MAX_DURATION}. */
    static Duration positive(Duration d, String name) {
        if (d != null && (d.isNegative() || d.isZero())) {
            throw new IllegalArgumentException(name + " must be positive, got " + d);
        }
        return atMostMax(d, name);
    }

    /** Returns {@code d} if it is null or at most {@link EngineOptions#MAX_DURATION}. */
    static Duration atMostMax(Duration d, String name) {
        // Anything longer could overflow an instant or epoch milliseconds once added to the clock.
        if (d != null && d.compareTo(EngineOptions.MAX_DURATION) > 0) {
            throw new IllegalArgumentException(name + " must be at most " + EngineOptions.MAX_DURATION.toDays()
                    + " days (EngineOptions.MAX_DURATION), got " + d);
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

    /**
     * Returns {@code s} if it holds neither U+0000, which PostgreSQL text cannot store, nor an unpaired
     * surrogate, which UTF-8 cannot encode: an id with either could never be saved or found again.
     */
    static String storableText(String s, String name) {
        if (s == null) {
            return null;
        }
        int nul = s.indexOf('\u0000');
        int surrogate = Arguments.unpairedSurrogate(s);
        int bad = nul < 0 ? surrogate : surrogate < 0 ? nul : Math.min(nul, surrogate);
        if (bad >= 0) {
            throw new IllegalArgumentException(name + " must not contain U+0000 or an unpaired surrogate, got '"
                    + Diagnostics.id(s) + "' (character " + bad + ")");
        }
        return s;
    }
}
