package io.flowmonkey.engine;

import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.LeasingExecutionStore;
import io.flowmonkey.execution.LeasingExecutionStore.SaveOutcome;
import io.flowmonkey.execution.StoreException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Writes the step saves of an {@link EngineWorker}'s runners together: each runner hands its save here
 * and waits for its outcome, and the saves that queue up meanwhile are written by one
 * {@link LeasingExecutionStore#saveAllVersioned} call (one statement and one commit for a
 * {@code PgExecutionStore}), each still checked against its own version.
 *
 * <p>No thread of its own and no timer: the first runner to find no batch being written writes every
 * save queued at that moment (at most {@code maxBatch}), its own included, on its own thread; the
 * runners that queue meanwhile wait, and the next of them writes the next batch as soon as this one
 * is done. So a save alone is written at once, as a direct save would be, and under load a batch
 * holds the saves that arrived while the previous one committed.
 *
 * <p>Gathering: the runners of the batch just written are free again, and with quick steps they hand
 * in their next saves a moment later. Written without them, a batch would leave them to the one after,
 * and the batches would alternate between the few that waited and the few that were released (half of
 * four runners each, at four threads). So the writer of a batch first waits for them, until they are
 * all in, the batch is full, or as long as the last batch took to write or twice as long as they
 * usually take to come back, whichever is longer, but at most {@value #MAX_GATHER_MILLIS} ms; and only
 * while they usually come back within that millisecond: runners of slow steps are not waited for. A
 * runner never waits for itself, so one runner never waits.
 *
 * <p>Durability is a direct save's: a runner returns only once its save is committed, or throws what
 * failed it, and only its own. Thread-safe.
 */
final class SaveCommitter {

    private final LeasingExecutionStore store;
    /** The longest a writer waits for the runners of the batch before. */
    static final long MAX_GATHER_MILLIS = 1;
    private static final long MAX_GATHER_NANOS = MAX_GATHER_MILLIS * 1_000_000;

    private final int maxBatch;
    private final ReentrantLock lock = new ReentrantLock();
    /** Signalled when a batch is done: its runners return, and a waiting one may write the next. */
    private final Condition batchDone = lock.newCondition();
    /** Signalled when a save is handed in while a writer gathers. */
    private final Condition handedIn = lock.newCondition();
    // The fields below are guarded by lock.
    /** Saves handed in and not yet taken into a batch. */
    private final ArrayDeque<Pending> queue = new ArrayDeque<>();
    /** Whether a runner is writing a batch now. */
    private boolean writing;
    /** Whether the writer waits for the runners of the last batch. */
    private boolean gathering;
    /** Runners of the last batch that have not handed in a save since. */
    private int expected;
    /** When the last batch was done, and how long it took to write. */
    private long lastDoneNanos;
    private long lastWriteNanos;
    /** How long after a batch its runners hand in their next saves: a moving average. */
    private long returnNanos;
    private final AtomicLong batches = new AtomicLong();
    private final AtomicLong saves = new AtomicLong();
    private final AtomicLong gathers = new AtomicLong();

    SaveCommitter(LeasingExecutionStore store, int maxBatch) {
        this.store = store;
        this.maxBatch = maxBatch;
    }

    /**
     * Saves {@code e} as {@link LeasingExecutionStore#save} would, in a batch with whatever other
     * saves are waiting.
     *
     * @return the execution as stored
     * @throws StoreException what failed this save, as a direct save would throw it
     * @throws CancellationException if the thread was interrupted before its save was taken into a
     *     batch: nothing of it was written
     */
    Execution save(Execution e) {
        if (e.version() == 0 || maxBatch == 1) {
            return store.save(e);
        }
        Pending mine = new Pending(e);
        boolean interrupted = false;
        lock.lock();
        try {
            queue.add(mine);
            if (expected > 0) {
                expected--;
                long returned = System.nanoTime() - lastDoneNanos;
                returnNanos += (returned - returnNanos) / 8;
                if (gathering) {
                    handedIn.signal();
                }
            }
        } finally {
            lock.unlock();
        }
        try {
            while (true) {
                List<Pending> batch;
                lock.lock();
                try {
                    while (!mine.done() && writing) {
                        try {
                            batchDone.await();
                        } catch (InterruptedException stop) {
                            if (queue.remove(mine)) {
                                Thread.currentThread().interrupt();
                                throw new CancellationException("interrupted before the save of execution " + e.id()
                                        + " was written; nothing of it was saved");
                            }
                            // Taken into a batch being written: it may commit, so its outcome must be known.
                            interrupted = true;
                        }
                    }
                    if (mine.done()) {
                        break;
                    }
                    writing = true;
                    interrupted |= gather();
                    // Our own save first, so that what fails the batch's call fails the thread that made it.
                    queue.remove(mine);
                    batch = new ArrayList<>(Math.min(queue.size() + 1, maxBatch));
                    batch.add(mine);
                    while (!queue.isEmpty() && batch.size() < maxBatch) {
                        batch.add(queue.poll());
                    }
                } finally {
                    lock.unlock();
                }
                write(batch);
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
        return mine.result();
    }

    /**
     * Waits, with the lock held by the writer, for the runners of the last batch (see the class
     * comment); returns whether the thread was interrupted meanwhile, which ends the wait.
     */
    private boolean gather() {
        if (expected == 0 || returnNanos >= MAX_GATHER_NANOS) {
            return false;
        }
        long wait = Math.min(MAX_GATHER_NANOS, Math.max(lastWriteNanos, 2 * returnNanos));
        long until = System.nanoTime() + wait;
        gathers.incrementAndGet();
        gathering = true;
        try {
            while (expected > 0 && queue.size() < maxBatch) {
                long left = until - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                handedIn.awaitNanos(left);
            }
            return false;
        } catch (InterruptedException stop) {
            return true;
        } finally {
            gathering = false;
        }
    }

    /** Batches written so far, for tests and diagnostics. */
    long batches() {
        return batches.get();
    }

    /** Saves written in batches so far. */
    long saves() {
        return saves.get();
    }

    /** Batches whose writer waited for the runners of the batch before, for tests. */
    long gathers() {
        return gathers.get();
    }

    /** Writes one batch; every save in it has an outcome afterwards, whatever happens. */
    private void write(List<Pending> batch) {
        Throwable failure = null;
        long started = System.nanoTime();
        try {
            List<Execution> executions = new ArrayList<>(batch.size());
            for (Pending p : batch) {
                executions.add(p.execution);
            }
            List<SaveOutcome> outcomes = store.saveAllVersioned(executions);
            batches.incrementAndGet();
            saves.addAndGet(batch.size());
            for (int i = 0; i < batch.size(); i++) {
                batch.get(i).outcome = outcomes.get(i);
            }
        } catch (RuntimeException e) {
            failure = e;
        } catch (Error e) {
            failure = e;
            throw e;
        } finally {
            lock.lock();
            try {
                for (Pending p : batch) {
                    if (!p.done()) {
                        // The whole call failed: each save fails with it, as each direct save would have.
                        p.failure = failure instanceof RuntimeException runtime ? runtime
                                : new StoreException(p.execution.id(), "batched save failed: " + failure, failure);
                    }
                }
                writing = false;
                expected = batch.size();
                lastDoneNanos = System.nanoTime();
                lastWriteNanos = lastDoneNanos - started;
                batchDone.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }

    /** One save waiting for its outcome; its fields are written and read under the committer's lock. */
    private static final class Pending {
        final Execution execution;
        SaveOutcome outcome;
        RuntimeException failure;

        Pending(Execution execution) {
            this.execution = execution;
        }

        boolean done() {
            return outcome != null || failure != null;
        }

        Execution result() {
            if (failure != null) {
                throw failure;
            }
            return outcome.orThrow();
        }
    }
}
