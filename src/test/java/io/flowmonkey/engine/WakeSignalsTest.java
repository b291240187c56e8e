package io.flowmonkey.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.flowmonkey.engine.WakeSignals.Wake;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** The claim loop's sleep, without a store: which wake-up wins, and when. */
class WakeSignalsTest {

    private static final Duration BOUND = Duration.ofSeconds(30);
    private static final long FAR = Duration.ofMinutes(10).toNanos();

    private final AtomicBoolean running = new AtomicBoolean(true);
    private final WakeSignals signals = new WakeSignals(running::get, () -> running.set(false));

    @Test
    void a_notice_outranks_a_refresh_that_came_first_and_each_is_handed_out_once() {
        signals.wake(Wake.REFRESH);
        signals.wake(Wake.NOTICE);

        assertThat(assertTimeoutPreemptively(BOUND, () -> signals.await(System.nanoTime() + FAR)))
                .isEqualTo(Wake.NOTICE);
        assertThat(signals.await(System.nanoTime())).as("nothing pending, the poll is due").isEqualTo(Wake.POLL);
    }

    @Test
    void an_armed_deadline_that_has_come_wakes_the_loop_once() {
        signals.armDeadline(System.nanoTime());

        assertThat(assertTimeoutPreemptively(BOUND, () -> signals.await(System.nanoTime() + FAR)))
                .isEqualTo(Wake.DEADLINE);
        assertThat(signals.await(System.nanoTime())).isEqualTo(Wake.POLL);
    }

    @Test
    void a_notice_of_work_due_now_wakes_the_loop_and_again_a_moment_later() {
        long noticed = System.nanoTime();
        signals.onDue("e-1", null);

        Wake first = assertTimeoutPreemptively(BOUND, () -> signals.await(System.nanoTime() + FAR));
        Wake second = assertTimeoutPreemptively(BOUND, () -> signals.await(System.nanoTime() + FAR));

        assertThat(first).isEqualTo(Wake.NOTICE);
        assertThat(second).as("the second look").isEqualTo(Wake.NOTICE);
        assertThat(System.nanoTime() - noticed).isGreaterThanOrEqualTo(WakeSignals.LOOK_AGAIN_AFTER.toNanos());
    }

    @Test
    void a_notice_of_a_saved_wait_only_asks_for_a_refresh_of_the_next_wake_up() {
        signals.onDue("e-1", Instant.parse("2030-01-01T00:00:00Z"));

        assertThat(assertTimeoutPreemptively(BOUND, () -> signals.await(System.nanoTime() + FAR)))
                .isEqualTo(Wake.REFRESH);
    }

    @Test
    void a_notice_of_due_work_is_ignored_once_the_worker_stops() {
        running.set(false);
        signals.onDue("e-1", null);
        running.set(true);

        assertThat(signals.await(System.nanoTime())).isEqualTo(Wake.POLL);
    }

    @Test
    void an_interrupted_sleep_stops_the_worker_and_keeps_the_interrupt() {
        boolean[] stillInterrupted = new boolean[1];

        Wake why = assertTimeoutPreemptively(BOUND, () -> {
            Thread.currentThread().interrupt();
            Wake woken = signals.await(System.nanoTime() + FAR);
            stillInterrupted[0] = Thread.interrupted();
            return woken;
        });

        assertThat(why).isEqualTo(Wake.POLL);
        assertThat(running.get()).isFalse();
        assertThat(stillInterrupted[0]).isTrue();
    }
}
