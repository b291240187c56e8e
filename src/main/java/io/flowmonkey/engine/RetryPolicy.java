package io.flowmonkey.engine;

import io.flowmonkey.internal.Arguments;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Objects;
import java.util.Set;

/**
 * How often a failing step is tried and how long the engine waits between tries. Immutable.
 *
 * <p>Attempt {@code n} (1-based) that fails with a retried code is followed, after
 * {@code min(backoff * multiplier^(n-1), maxBackoff)}, by attempt {@code n + 1}, up to
 * {@link #maxAttempts()}. The pause is a timed wait (status {@code WAITING} with
 * {@code waitMetadata.wakeAt}), so it survives restarts; a pause of zero runs the next attempt at once,
 * in the same call. A failure marked {@link StepResult.Failure#nonRetryable()} is never retried.
 *
 * <p><b>Counting differs from flow JSON.</b> Here {@link #maxAttempts()} counts every attempt, the first
 * included: {@code maxAttempts(3)} means three tries. In flow JSON, as in FlowMonkey TypeScript,
 * {@code retry.maxAttempts} counts the retries after the first, and the defaults differ too (see
 * {@link Flow#fromJson(String)}): {@code {"maxAttempts":3,"backoffMs":1000,"maxBackoffMs":60000}} is
 * {@code maxAttempts(4).backoff(1s).maxBackoff(60s)}.
 */
public final class RetryPolicy {

    /** Attempts in all, the first included, unless set: {@value}. */
    public static final int DEFAULT_MAX_ATTEMPTS = 3;
    /** Pause after the first failed attempt, unless set: one second. */
    public static final Duration DEFAULT_BACKOFF = Duration.ofSeconds(1);
    /** Factor by which each pause grows, unless set: {@value}. */
    public static final double DEFAULT_MULTIPLIER = 2.0;
    /** Longest pause, unless set (or the backoff, if that is longer): five minutes. */
    public static final Duration DEFAULT_MAX_BACKOFF = Duration.ofMinutes(5);

    private final int maxAttempts;
    private final Duration backoff;
    private final double multiplier;
    private final Duration maxBackoff;
    private final Set<String> retryOn;

    private RetryPolicy(Builder b, Duration maxBackoff) {
        this.maxAttempts = b.maxAttempts;
        this.backoff = b.backoff;
        this.multiplier = b.multiplier;
        this.maxBackoff = maxBackoff;
        this.retryOn = Set.copyOf(b.retryOn);
    }

    /**
     * Starts a policy with the {@code DEFAULT_*} values, retrying every failure code.
     *
     * @return a builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Returns how many attempts a step gets in all, the first included.
     *
     * @return at least 1
     */
    public int maxAttempts() {
        return maxAttempts;
    }

    /**
     * Returns the pause after the first failed attempt.
     *
     * @return zero or a positive duration
     */
    public Duration backoff() {
        return backoff;
    }

    /**
     * Returns the factor by which each pause grows.
     *
     * @return at least 1
     */
    public double multiplier() {
        return multiplier;
    }

    /**
     * Returns the longest pause.
     *
     * @return zero or a positive duration, never shorter than {@link #backoff()}
     */
    public Duration maxBackoff() {
        return maxBackoff;
    }

    /**
     * Returns the failure codes that are retried; empty means every code.
     *
     * @return an unmodifiable set
     */
    public Set<String> retryOn() {
        return retryOn;
    }

    /**
     * Tells whether a failure of the given attempt is followed by another attempt.
     *
     * @param code the failure code
     * @param failedAttempt the attempt that failed, 1-based
     * @return true if attempts remain and the code is retried
     */
    public boolean retries(String code, int failedAttempt) {
        return failedAttempt < maxAttempts && (retryOn.isEmpty() || retryOn.contains(code));
    }

    /**
     * Returns the pause after the given failed attempt: {@code min(backoff * multiplier^(n-1), maxBackoff)}.
     *
     * @param failedAttempt the attempt that failed, 1-based
     * @return the pause before the next attempt
     * @throws IllegalArgumentException if {@code failedAttempt} is less than 1
     */
    public Duration backoffAfter(int failedAttempt) {
        Arguments.atLeastOne(failedAttempt, "failed attempt");
        double millis = backoff.toMillis() * Math.pow(multiplier, failedAttempt - 1);
        // Comparing as doubles first keeps a huge exponent from overflowing the long conversion.
        return millis >= maxBackoff.toMillis() ? maxBackoff : Duration.ofMillis((long) millis);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RetryPolicy that && maxAttempts == that.maxAttempts && backoff.equals(that.backoff)
                && Double.compare(multiplier, that.multiplier) == 0 && maxBackoff.equals(that.maxBackoff)
                && retryOn.equals(that.retryOn);
    }

    @Override
    public int hashCode() {
        return Objects.hash(maxAttempts, backoff, multiplier, maxBackoff, retryOn);
    }

    @Override
    public String toString() {
        return "RetryPolicy{maxAttempts=" + maxAttempts + ", backoff=" + backoff + ", multiplier=" + multiplier
                + ", maxBackoff=" + maxBackoff + ", retryOn=" + retryOn + "}";
    }

    /** Builds a {@link RetryPolicy}; each setter checks its argument. Not thread-safe. */
    public static final class Builder {
        private int maxAttempts = DEFAULT_MAX_ATTEMPTS;
        private Duration backoff = DEFAULT_BACKOFF;
        private double multiplier = DEFAULT_MULTIPLIER;
        private Duration maxBackoff;
        private Set<String> retryOn = Set.of();

        private Builder() {
        }

        /**
         * Sets how many attempts a step gets in all, the first included (flow JSON's
         * {@code retry.maxAttempts} is one less: it counts only the retries).
         *
         * @param maxAttempts at least 1 (1 means no retry)
         * @return this builder
         * @throws IllegalArgumentException if less than 1
         */
        public Builder maxAttempts(int maxAttempts) {
            Arguments.atLeastOne(maxAttempts, "maxAttempts");
            this.maxAttempts = maxAttempts;
            return this;
        }

        /**
         * Sets the pause after the first failed attempt.
         *
         * @param backoff zero (retry at once) or a positive duration of at most
         *     {@link EngineOptions#MAX_DURATION}
         * @return this builder
         * @throws IllegalArgumentException if negative or too long
         */
        public Builder backoff(Duration backoff) {
            this.backoff = notNegative(backoff, "backoff");
            return this;
        }

        /**
         * Sets the factor by which each pause grows.
         *
         * @param multiplier at least 1 (1 keeps the pause constant)
         * @return this builder
         * @throws IllegalArgumentException if less than 1 or not finite
         */
        public Builder multiplier(double multiplier) {
            if (!(multiplier >= 1.0) || Double.isInfinite(multiplier)) {
                throw new IllegalArgumentException("backoff multiplier must be a finite number of at least 1, got "
                        + multiplier);
            }
            this.multiplier = multiplier;
            return this;
        }

        /**
         * Sets the longest pause.
         *
         * @param maxBackoff zero or a positive duration of at most {@link EngineOptions#MAX_DURATION}
         * @return this builder
         * @throws IllegalArgumentException if negative or too long
         */
        public Builder maxBackoff(Duration maxBackoff) {
            this.maxBackoff = notNegative(maxBackoff, "maxBackoff");
            return this;
        }

        /**
         * Retries only failures with these codes; without a call, every code is retried.
         *
         * @param codes non-blank failure codes
         * @return this builder
         * @throws IllegalArgumentException if a code is null or blank
         */
        public Builder retryOn(String... codes) {
            Objects.requireNonNull(codes, "retryOn codes must not be null");
            Set<String> set = new LinkedHashSet<>();
            for (String code : Arrays.asList(codes)) {
                if (code == null || code.isBlank()) {
                    throw new IllegalArgumentException("retryOn codes must be non-blank strings, got "
                            + Arrays.toString(codes));
                }
                set.add(code);
            }
            this.retryOn = set;
            return this;
        }

        /**
         * Builds the policy. Without an explicit {@code maxBackoff}, the longest pause is
         * {@link #DEFAULT_MAX_BACKOFF} or {@code backoff}, whichever is longer.
         *
         * @return the policy
         * @throws IllegalArgumentException if an explicit {@code maxBackoff} is shorter than {@code backoff}
         */
        public RetryPolicy build() {
            if (maxBackoff == null) {
                return new RetryPolicy(this, backoff.compareTo(DEFAULT_MAX_BACKOFF) > 0 ? backoff : DEFAULT_MAX_BACKOFF);
            }
            if (maxBackoff.compareTo(backoff) < 0) {
                throw new IllegalArgumentException("maxBackoff (" + maxBackoff + ") must not be shorter than backoff ("
                        + backoff + ")");
            }
            return new RetryPolicy(this, maxBackoff);
        }

        private static Duration notNegative(Duration d, String name) {
            Objects.requireNonNull(d, () -> name + " must not be null");
            if (d.isNegative()) {
                throw new IllegalArgumentException(name + " must not be negative, got " + d);
            }
            return Options.atMostMax(d, name);
        }
    }
}
