package io.flowmonkey.engine;

import java.util.concurrent.CancellationException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * How many executions of an {@link EngineWorker} advance at once: one slot per runner, held from the
 * moment a runner thread takes a claimed execution until it is done with it. A runner whose
 * execution's last save of the run is being written (it ends or waits: no step of it runs here after
 * that save) may lend its slot, so that another runner thread starts the next claimed execution while
 * the save commits, as River's and graphile-worker's runners hand completions to a completer. At most
 * {@code spares} slots are lent at once, so the worker needs {@code slots + spares} runner threads. A
 * runner that lent its slot and must run a step after all (its last save was refused and the failure
 * goes on to an {@code onFailure} step) takes a slot back first, so no more steps than slots ever run
 * at once.
 *
 * <p>Each runner thread advances one execution at a time; the slot it holds is that thread's state.
 * Thread-safe.
 */
final class StepSlots {

    /** What a runner thread holds. */
    private enum Hold { NONE, SLOT, LENT }

    private final int spares;
    private final Runnable onLend;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition freed = lock.newCondition();
    // Guarded by lock.
    private int free;
    private boolean stopped;
    /** Runners waiting for a slot to start a claimed execution; written under the lock. */
    private volatile int waiting;
    /** Slots lent by runners whose execution is not done yet; read without the lock. */
    private final AtomicInteger lent = new AtomicInteger();
    private final ThreadLocal<Hold[]> hold = ThreadLocal.withInitial(() -> new Hold[] {Hold.NONE});

    /**
     * Makes the slots of one worker, all free.
     *
     * @param slots how many executions advance at once
     * @param spares the most slots lent at once
     * @param onLend told after each slot lent: there is room for one more execution
     */
    StepSlots(int slots, int spares, Runnable onLend) {
        this.free = slots;
        this.spares = spares;
        this.onLend = onLend;
    }

    /**
     * Takes a slot for the claimed execution this thread is about to start, waiting for one.
     *
     * @return false, with no slot taken, once {@link #stopStarting()} was called
     * @throws InterruptedException if interrupted while waiting: no slot was taken
     */
    boolean take() throws InterruptedException {
        lock.lock();
        try {
            waiting++;
            try {
                while (free == 0 && !stopped) {
                    freed.await();
                }
            } finally {
                waiting--;
            }
            if (stopped) {
                if (free > 0) {
                    freed.signal(); // the slot this thread was woken for goes to whoever waits in holdForStep
                }
                return false;
            }
            free--;
        } finally {
            lock.unlock();
        }
        hold.get()[0] = Hold.SLOT;
        return true;
    }

    /** Makes every {@link #take()}, waiting or to come, return false: the worker is stopping. */
    void stopStarting() {
        lock.lock();
        try {
            stopped = true;
            freed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Before this thread waits for a save of its execution: lends its slot to the next claimed
     * execution if the save is the run's last ({@code last}), it holds one, and fewer than
     * {@code spares} are lent.
     *
     * @return whether this thread's slot is lent now, by this call or an earlier one
     */
    boolean lendFor(boolean last) {
        Hold[] mine = hold.get();
        if (mine[0] != Hold.SLOT || !last) {
            return mine[0] == Hold.LENT;
        }
        int now;
        do {
            now = lent.get();
            if (now >= spares) {
                return false;
            }
        } while (!lent.compareAndSet(now, now + 1));
        mine[0] = Hold.LENT;
        release();
        onLend.run();
        return true;
    }

    /**
     * Makes sure this thread holds a slot again before a step of its execution runs, if it lent it:
     * waits for one while every slot is in use, even once the worker stops starting executions (this
     * one is in flight, and may finish).
     *
     * @param executionId the execution whose step is to run, for the message of an interrupt
     * @throws CancellationException if interrupted while waiting: the step must not run
     */
    void holdForStep(String executionId) {
        Hold[] mine = hold.get();
        if (mine[0] != Hold.LENT) {
            return;
        }
        lock.lock();
        try {
            while (free == 0) {
                freed.await();
            }
            // Counted back before the slot is taken, so that the claim loop never sees room that is not there.
            lent.decrementAndGet();
            free--;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CancellationException("interrupted while waiting to run a step of execution " + executionId);
        } finally {
            lock.unlock();
        }
        mine[0] = Hold.SLOT;
    }

    /**
     * Ends this thread's hold on its execution: gives its slot back, or counts the lent one as
     * returned. Does nothing the second time, or on a thread that holds nothing.
     */
    void done() {
        Hold[] mine = hold.get();
        if (mine[0] == Hold.SLOT) {
            release();
        } else if (mine[0] == Hold.LENT) {
            lent.decrementAndGet();
        }
        mine[0] = Hold.NONE;
    }

    /** Slots lent by runners whose executions are still in flight: they take no room from new claims. */
    int lent() {
        return lent.get();
    }

    /** Runners that hold a claimed execution and wait for a slot to start it: part of the buffer. */
    int waiting() {
        return waiting;
    }

    private void release() {
        lock.lock();
        try {
            free++;
            freed.signal();
        } finally {
            lock.unlock();
        }
    }
}
