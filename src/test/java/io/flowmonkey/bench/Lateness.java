package io.flowmonkey.bench;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/**
 * How late timed waits were woken: from the time each asked to be woken to the start of the work
 * after the wait, in microseconds. Wake-ups that came early are counted apart and recorded as 0, so
 * that a runner that woke work too soon shows up instead of improving the figures.
 */
final class Lateness {

    private final Histogram micros = new ConcurrentHistogram(TimeUnit.MINUTES.toMicros(10), 3);
    private final AtomicLong early = new AtomicLong();
    private final AtomicLong mostEarlyMicros = new AtomicLong();

    /** Records a wake-up that was due at {@code wakeAt} and started at {@code now}. */
    void record(Instant wakeAt, Instant now) {
        long late = Duration.between(wakeAt, now).toNanos() / 1000;
        if (late < 0) {
            early.incrementAndGet();
            mostEarlyMicros.accumulateAndGet(-late, Math::max);
        }
        micros.recordValue(Math.min(micros.getHighestTrackableValue(), Math.max(0, late)));
    }

    void reset() {
        micros.reset();
        early.set(0);
        mostEarlyMicros.set(0);
    }

    /** Wake-ups recorded since the last {@link #reset}. */
    long count() {
        return micros.getTotalCount();
    }

    Histogram micros() {
        return micros.copy();
    }

    long early() {
        return early.get();
    }

    /** How early the earliest wake-up came, in microseconds; 0 if none did. */
    long mostEarlyMicros() {
        return mostEarlyMicros.get();
    }
}
