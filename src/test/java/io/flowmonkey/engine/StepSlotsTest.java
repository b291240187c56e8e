package io.flowmonkey.engine;

import static io.flowmonkey.testing.Await.awaitTrue;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.ThrowingSupplier;

/** The slots of a worker's runners, each runner a thread of its own: lent, taken back, stopped. */
class StepSlotsTest {

    private final AtomicInteger lends = new AtomicInteger();
    private final ExecutorService a = Executors.newSingleThreadExecutor();
    private final ExecutorService b = Executors.newSingleThreadExecutor();

    @AfterEach
    void stopRunners() {
        a.shutdownNow();
        b.shutdownNow();
    }

    private static <T> T on(ExecutorService runner, ThrowingSupplier<T> action) throws Exception {
        return runner.submit(() -> {
            try {
                return action.get();
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
        }).get(10, TimeUnit.SECONDS);
    }

    /** Ends runner {@code runner}'s hold on its execution. */
    private static void done(ExecutorService runner, StepSlots slots) throws Exception {
        on(runner, () -> {
            slots.done();
            return null;
        });
    }

    private static void assertStillWaiting(Future<?> f) throws Exception {
        try {
            f.get(200, TimeUnit.MILLISECONDS);
            throw new AssertionError("expected it to wait");
        } catch (TimeoutException expected) {
            // still waiting, as it should
        }
    }

    @Test
    void a_slot_lent_for_a_last_save_lets_another_runner_start_and_counts_until_its_runner_is_done() throws Exception {
        StepSlots slots = new StepSlots(1, 1, lends::incrementAndGet);
        assertThat(on(a, slots::take)).isTrue();
        assertThat(on(a, () -> slots.lendFor(false))).as("not a last save: kept").isFalse();
        assertThat(on(a, () -> slots.lendFor(true))).isTrue();
        assertThat(on(a, () -> slots.lendFor(true))).as("lent already").isTrue();
        assertThat(slots.lent()).isEqualTo(1);
        assertThat(lends).hasValue(1);

        assertThat(on(b, slots::take)).as("the lent slot").isTrue();
        assertThat(on(b, () -> slots.lendFor(true))).as("no spare left to lend").isFalse();
        done(a, slots);
        assertThat(slots.lent()).isZero();
        done(a, slots);
        assertThat(slots.lent()).as("done twice counts once").isZero();
    }

    @Test
    void a_runner_that_lent_its_slot_waits_for_one_before_its_next_step() {
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            StepSlots slots = new StepSlots(1, 1, lends::incrementAndGet);
            on(a, () -> slots.take() && slots.lendFor(true));
            on(b, slots::take);
            Future<?> step = a.submit(() -> slots.holdForStep("x"));
            assertStillWaiting(step);
            assertThat(slots.lent()).isEqualTo(1);

            done(b, slots);
            step.get(10, TimeUnit.SECONDS);
            assertThat(slots.lent()).as("taken back").isZero();
            Future<Boolean> next = b.submit(slots::take);
            assertStillWaiting(next); // a holds the one slot again
            done(a, slots);
            assertThat(next.get(10, TimeUnit.SECONDS)).isTrue();
        });
    }

    @Test
    void once_stopped_no_runner_starts_another_execution_but_one_in_flight_takes_its_slot_back() {
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            StepSlots slots = new StepSlots(1, 1, lends::incrementAndGet);
            ExecutorService c = Executors.newSingleThreadExecutor();
            try {
                on(a, () -> slots.take() && slots.lendFor(true));
                on(b, slots::take);
                Future<Boolean> waitingToStart = c.submit(slots::take);
                awaitTrue(Duration.ofSeconds(10), () -> slots.waiting() == 1);
                assertStillWaiting(waitingToStart);
                Future<?> step = a.submit(() -> slots.holdForStep("x"));

                slots.stopStarting();
                assertThat(waitingToStart.get(10, TimeUnit.SECONDS)).as("gives up, no slot taken").isFalse();
                assertThat(slots.waiting()).isZero();
                assertStillWaiting(step);
                done(b, slots);
                step.get(10, TimeUnit.SECONDS);
                assertThat(on(b, slots::take)).as("nothing starts once stopped").isFalse();
            } finally {
                c.shutdownNow();
            }
        });
    }
}
