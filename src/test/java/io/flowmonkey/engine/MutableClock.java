package io.flowmonkey.engine;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;

/**
 * A clock that tests move by hand, so that waits, retries and timeouts pass without sleeping. Public
 * for the store tests of other packages, whose leases it times too.
 */
public final class MutableClock extends Clock {

    private volatile Instant now;

    /** Starts at the current time, truncated to milliseconds as stored. */
    public MutableClock() {
        this.now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
    }

    /**
     * Starts at {@code start}.
     *
     * @param start the first instant it tells
     */
    public MutableClock(Instant start) {
        this.now = start;
    }

    /**
     * Sets the clock to an instant, earlier or later.
     *
     * @param instant what it tells from now on
     */
    public void set(Instant instant) {
        now = instant;
    }

    /**
     * Moves the clock forward.
     *
     * @param d how far
     */
    public void advance(Duration d) {
        now = now.plus(d);
    }

    @Override
    public Instant instant() {
        return now;
    }

    @Override
    public ZoneId getZone() {
        return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
        throw new UnsupportedOperationException("a test clock has one zone");
    }
}
