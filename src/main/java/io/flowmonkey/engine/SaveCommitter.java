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
 * holds the saves that arrived while the previous one committed. Durability is a direct save's: a
 * runner returns only once its save is committed, or throws what failed it, and only its own.
 * Thread-safe.
 */
final class SaveCommitter {

    private final LeasingExecutionStore store;
    private final int maxBatch;
    /** Saves handed in and not yet taken into a batch; guarded by {@code this}. */
    private final ArrayDeque<Pending> queue = new ArrayDeque<>();
    /** Whether a runner is writing a batch now; guarded by {@code this}. */
    private boolean writing;
    private final AtomicLong batches = new AtomicLong();
    private final AtomicLong saves = new AtomicLong();

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
        synchronized (this) {
            queue.add(mine);
        }
        try {
            while (true) {
                List<Pending> batch;
                synchronized (this) {
                    while (!mine.done() && writing) {
                        try {
                            wait();
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
                    // Our own save first, so that what fails the batch's call fails the thread that made it.
                    queue.remove(mine);
                    batch = new ArrayList<>(Math.min(queue.size() + 1, maxBatch));
                    batch.add(mine);
                    while (!queue.isEmpty() && batch.size() < maxBatch) {
                        batch.add(queue.poll());
                    }
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

    /** Batches written so far, for tests and diagnostics. */
    long batches() {
        return batches.get();
    }

    /** Saves written in batches so far. */
    long saves() {
        return saves.get();
    }

    /** Writes one batch; every save in it has an outcome afterwards, whatever happens. */
    private void write(List<Pending> batch) {
        Throwable failure = null;
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
            synchronized (this) {
                for (Pending p : batch) {
                    if (!p.done()) {
                        // The whole call failed: each save fails with it, as each direct save would have.
                        p.failure = failure instanceof RuntimeException runtime ? runtime
                                : new StoreException(p.execution.id(), "batched save failed: " + failure, failure);
                    }
                }
                writing = false;
                notifyAll();
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
