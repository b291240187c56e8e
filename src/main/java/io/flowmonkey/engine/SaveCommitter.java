package io.flowmonkey.engine;

import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.LeasingExecutionStore;
import io.flowmonkey.execution.LeasingExecutionStore.SaveOutcome;
import io.flowmonkey.execution.StoreException;
import java.time.Duration;
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
 * <p>No thread of its own: the first runner to find no batch being written writes every save queued
 * at that moment (at most {@code maxBatch}), its own included, on its own thread; the runners that
 * queue meanwhile wait, and the next of them writes the next batch as soon as this one is done. Under
 * load a batch holds the saves that arrived while the previous one committed.
 *
 * <p>Gathering: the runners of the batch just written are free again, and with quick steps they hand
 * in their next saves a moment later. Written without them, a batch would leave them to the one after,
 * and the batches would alternate between the few that waited and the few that were released (half of
 * four runners each, at four threads). So the writer of a batch first waits for them (those whose last
 * save was in that batch), until they are all in, the batch is full, or as long as the last batch took
 * to write or twice as long as they usually take to come back, whichever is longer, but at most
 * {@code maxGather} (1 ms in a worker); and only while they usually come back within it. A wait that
 * ends without them counts as a slow return, so runners of slow steps are not waited for again. A save
 * with no runner of the last batch to wait for (one runner alone, say) is written at once. Nor is a
 * runner waited for that lent its slot for its save ({@link StepSlots}): it comes back only once it has
 * taken a slot again, which may be the writer's own.
 *
 * <p>Durability is a direct save's: a runner returns only once its save is committed, or throws what
 * failed it, and only its own. Thread-safe.
 */
final class SaveCommitter {

    /** The longest a worker's batch writer waits for the runners of the batch before. */
    static final Duration MAX_GATHER = Duration.ofMillis(1);

    private final LeasingExecutionStore store;
    private final int maxBatch;
    private final long minGatherNanos;
    private final long maxGatherNanos;
    private final ReentrantLock lock = new ReentrantLock();
    /** Signalled when a batch is done: its runners return, and a waiting one may write the next. */
    private final Condition batchDone = lock.newCondition();
    /** Signalled when a runner of the last batch hands in a save while a writer gathers. */
    private final Condition handedIn = lock.newCondition();
    /** The number of the batch the calling runner's last save was written in. */
    private final ThreadLocal<long[]> lastBatchOfRunner = ThreadLocal.withInitial(() -> new long[1]);
    // The fields below are guarded by lock.
    /** Saves handed in and not yet taken into a batch. */
    private final ArrayDeque<Pending> queue = new ArrayDeque<>();
    /** Whether a runner is writing a batch now. */
    private boolean writing;
    /** Whether the writer waits for the runners of the last batch. */
    private boolean gathering;
    /** The number of the last batch written (batches count from 1), and when it was done. */
    private long lastBatch;
    private long lastDoneNanos;
    /** How long the last batch took to write. */
    private long lastWriteNanos;
    /** Runners of the last batch that have not handed in a save since. */
    private int expected;
    /** How long after their batch its runners hand in their next saves: a moving average. */
    private long returnNanos;
    private final AtomicLong batches = new AtomicLong();
    private final AtomicLong saves = new AtomicLong();
    private final AtomicLong gathers = new AtomicLong();
    private final AtomicLong gathersToDeadline = new AtomicLong();

    SaveCommitter(LeasingExecutionStore store, int maxBatch) {
        this(store, maxBatch, Duration.ZERO, MAX_GATHER);
    }

    /**
     * With other bounds of a gathering wait: tests wait long, so that on a slow machine it still ends
     * only when the runners are in.
     */
    SaveCommitter(LeasingExecutionStore store, int maxBatch, Duration minGather, Duration maxGather) {
        this.store = store;
        this.maxBatch = maxBatch;
        this.minGatherNanos = minGather.toNanos();
        this.maxGatherNanos = maxGather.toNanos();
    }

    /**
     * Saves {@code e} as {@link LeasingExecutionStore#save} would, in a batch with whatever other
     * saves are waiting. {@code lentSlot} says the calling runner lent its slot ({@link StepSlots}), so
     * that the writer of the next batch does not wait for it to come back.
     *
     * @return the execution as stored
     * @throws StoreException what failed this save, as a direct save would throw it
     * @throws CancellationException if the thread was interrupted before its save was taken into a
     *     batch: nothing of it was written
     */
    Execution save(Execution e, boolean lentSlot) {
        if (e.version() == 0 || maxBatch == 1) {
            return store.save(e);
        }
        Pending mine = new Pending(e, !lentSlot);
        long[] lastOfMine = lastBatchOfRunner.get();
        boolean interrupted = false;
        lock.lock();
        try {
            queue.add(mine);
            if (expected > 0 && lastOfMine[0] == lastBatch) {
                expected--;
                returned(System.nanoTime() - lastDoneNanos, 8);
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
                                throw cancelled(e);
                            }
                            // Taken into a batch being written: it may commit, so its outcome must be known.
                            interrupted = true;
                        }
                    }
                    if (mine.done()) {
                        break;
                    }
                    writing = true;
                    try {
                        gather();
                    } catch (InterruptedException stop) {
                        // Our save is still queued: nothing of it is written, and another runner writes the rest.
                        queue.remove(mine);
                        writing = false;
                        batchDone.signalAll();
                        throw cancelled(e);
                    }
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
        // A runner that lent its slot does not count as one of its batch's runners (see the class comment).
        lastOfMine[0] = mine.comesBack ? mine.batch : 0;
        return mine.result();
    }

    private static CancellationException cancelled(Execution e) {
        Thread.currentThread().interrupt();
        return new CancellationException("interrupted before the save of execution " + e.id()
                + " was written; nothing of it was saved");
    }

    /** Takes a return time into the moving average, by a {@code weight}th of the difference. */
    private void returned(long nanos, int weight) {
        returnNanos += (nanos - returnNanos) / weight;
    }

    /**
     * Waits, with the lock held by the writer, for the runners of the last batch (see the class
     * comment). A wait that ends without all of them counts as a return of twice the longest wait,
     * by half: one such wait stops gathering until a runner of a last batch comes back quickly again.
     */
    private void gather() throws InterruptedException {
        if (expected == 0 || queue.size() >= maxBatch || returnNanos >= maxGatherNanos) {
            return;
        }
        long wait = Math.min(maxGatherNanos, Math.max(minGatherNanos, Math.max(lastWriteNanos, 2 * returnNanos)));
        long left = wait;
        gathers.incrementAndGet();
        gathering = true;
        try {
            while (expected > 0 && queue.size() < maxBatch && left > 0) {
                left = handedIn.awaitNanos(left);
            }
        } finally {
            gathering = false;
        }
        if (left <= 0) {
            gathersToDeadline.incrementAndGet();
            if (expected > 0) {
                returned(2 * maxGatherNanos, 2);
            }
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

    /** Of {@link #gathers()}, those that waited to their deadline, not ended by the last runner's save. */
    long gathersToDeadline() {
        return gathersToDeadline.get();
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
                lastBatch++;
                for (Pending p : batch) {
                    p.batch = lastBatch;
                }
                expected = 0;
                for (Pending p : batch) {
                    expected += p.comesBack ? 1 : 0;
                }
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
        /** Whether its runner hands in its next save soon: it holds its slot (or has none to lend). */
        final boolean comesBack;
        SaveOutcome outcome;
        RuntimeException failure;
        /** The number of the batch it was written in, once written. */
        long batch;

        Pending(Execution execution, boolean comesBack) {
            this.execution = execution;
            this.comesBack = comesBack;
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
