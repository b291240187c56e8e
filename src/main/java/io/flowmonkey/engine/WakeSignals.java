package io.flowmonkey.engine;

import io.flowmonkey.execution.LeasingExecutionStore;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;

/**
 * What an {@link EngineWorker}'s claim loop sleeps until: a notice, the next known wake-up time, a
 * second look after a notice, or the poll interval, whichever comes first. Times are
 * {@link System#nanoTime()}. Also the store's listener of due-work notices, which it turns into
 * wake-ups. Thread-safe.
 */
final class WakeSignals implements LeasingExecutionStore.DueWorkListener {

    /** How long after a notice of work due now the loop looks again, for work the notice stood for. */
    static final Duration LOOK_AGAIN_AFTER = Duration.ofMillis(100);
    static final long NEVER = Long.MAX_VALUE;

    /** Why the claim loop woke up. */
    enum Wake {
        /** A notice of work due now, or the look again shortly after one. */
        NOTICE,
        /** A wait was saved: the next wake-up may be sooner. */
        REFRESH,
        /** The earliest known wake-up time came. */
        DEADLINE,
        /** The poll interval passed. */
        POLL
    }

    private final BooleanSupplier running;
    private final Runnable stop;
    // A lock and condition rather than a monitor: Condition.awaitNanos parks for the time asked,
    // where Object.wait rounds up to the next millisecond.
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private Wake pending;
    private long deadline = NEVER;
    private long lookAgain = NEVER;

    /**
     * Makes the signals of one worker.
     *
     * @param running whether the worker still runs; notices are ignored and sleeps end when not
     * @param stop what an interrupted sleep calls, so that the worker stops
     */
    WakeSignals(BooleanSupplier running, Runnable stop) {
        this.running = running;
        this.stop = stop;
    }

    void armDeadline(long at) {
        lock.lock();
        try {
            deadline = at;
        } finally {
            lock.unlock();
        }
    }

    void lookAgainAt(long at) {
        lock.lock();
        try {
            lookAgain = Math.min(lookAgain, at);
        } finally {
            lock.unlock();
        }
    }

    /** Wakes the loop; a null reason only lets it re-check what it waits for. */
    void wake(Wake reason) {
        lock.lock();
        try {
            if (reason != null && (pending == null || reason.ordinal() < pending.ordinal())) {
                pending = reason;
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Sleeps until woken, a known time comes, or {@code pollAt}; returns why. */
    Wake await(long pollAt) {
        lock.lock();
        try {
            while (running.getAsBoolean()) {
                if (pending != null) {
                    Wake why = pending;
                    pending = null;
                    return why;
                }
                long now = System.nanoTime();
                if (deadline != NEVER && now - deadline >= 0) {
                    deadline = NEVER;
                    return Wake.DEADLINE;
                }
                if (lookAgain != NEVER && now - lookAgain >= 0) {
                    lookAgain = NEVER;
                    return Wake.NOTICE;
                }
                if (now - pollAt >= 0) {
                    return Wake.POLL;
                }
                changed.awaitNanos(Math.min(pollAt, Math.min(deadline, lookAgain)) - now);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stop.run();
        } finally {
            lock.unlock();
        }
        return Wake.POLL;
    }

    /** Sleeps until {@code done} holds, re-checked whenever woken and at least every {@code pollNanos}. */
    void awaitUntil(BooleanSupplier done, long pollNanos) {
        lock.lock();
        try {
            while (!done.getAsBoolean()) {
                changed.awaitNanos(pollNanos);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stop.run();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void onDue(String executionId, Instant wakeAt) {
        if (!running.getAsBoolean()) {
            return;
        }
        if (wakeAt == null) {
            // One notice may stand for pending executions of transactions that committed beside the
            // one that sent it (the store coalesces them), and just after it: look again for those.
            lookAgainAt(System.nanoTime() + LOOK_AGAIN_AFTER.toNanos());
            wake(Wake.NOTICE);
        } else {
            // The loop asks the store, whose clock decides when it is due, how long to sleep now.
            wake(Wake.REFRESH);
        }
    }

    @Override
    public void onMissedNotices() {
        wake(Wake.NOTICE);
    }
}
