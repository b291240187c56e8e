package io.flowmonkey.engine;

import io.flowmonkey.execution.LeasingExecutionStore;
import io.flowmonkey.execution.SignalStore;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The callers of {@link Engine#awaitEnd} of one engine, woken by the store's notices of ended
 * executions. All callers share one subscription, opened by the first and closed a while after the
 * last has left, so that a burst of calls does not open a listening connection each.
 */
final class EndWaiters implements SignalStore.EndListener {

    /** How long the subscription outlives its last caller. */
    private static final long LINGER_MILLIS = 5_000;

    private final SignalStore store;
    private final Map<String, Set<Waiter>> byExecution = new ConcurrentHashMap<>();
    private final Object lock = new Object();
    private int users;
    private long generation;
    private LeasingExecutionStore.Subscription subscription;

    EndWaiters(SignalStore store) {
        this.store = store;
    }

    /** Registers a caller before it first looks at the execution, so that no notice after that look is missed. */
    Waiter register(String executionId) {
        Waiter waiter = new Waiter(executionId);
        // Added inside compute: an unregister that empties and removes the set cannot strand this waiter.
        byExecution.compute(executionId, (k, set) -> {
            Set<Waiter> waiters = set != null ? set : ConcurrentHashMap.newKeySet();
            waiters.add(waiter);
            return waiters;
        });
        synchronized (lock) {
            if (subscription == null) {
                // Counted once subscribed: a subscription that fails leaves no user behind to keep it open.
                subscription = store.subscribeToEnds(this);
            }
            users++;
            generation++;
        }
        return waiter;
    }

    void unregister(Waiter waiter) {
        byExecution.computeIfPresent(waiter.executionId, (k, set) -> {
            set.remove(waiter);
            return set.isEmpty() ? null : set;
        });
        synchronized (lock) {
            users--;
            if (users == 0) {
                long idleSince = generation;
                CompletableFuture.delayedExecutor(LINGER_MILLIS, TimeUnit.MILLISECONDS)
                        .execute(() -> closeIfIdle(idleSince));
            }
        }
    }

    private void closeIfIdle(long idleSince) {
        LeasingExecutionStore.Subscription idle;
        synchronized (lock) {
            if (users > 0 || generation != idleSince || subscription == null) {
                return;
            }
            idle = subscription;
            subscription = null;
        }
        idle.close();
    }

    /**
     * Closes the subscription now rather than after the linger; for {@link Engine#close()}. Callers
     * still waiting go on by polling; a later caller opens a subscription again.
     */
    void close() {
        LeasingExecutionStore.Subscription open;
        synchronized (lock) {
            open = subscription;
            subscription = null;
            // A linger timer already scheduled finds nothing to close, or a newer subscription it must keep.
            generation++;
        }
        if (open != null) {
            open.close();
        }
    }

    @Override
    public void onEnded(String executionId) {
        Set<Waiter> waiters = byExecution.get(executionId);
        if (waiters != null) {
            waiters.forEach(Waiter::wake);
        }
    }

    @Override
    public void onMissedNotices() {
        byExecution.values().forEach(set -> set.forEach(Waiter::wake));
    }

    /** One caller's wake-up flag. */
    static final class Waiter {
        private final String executionId;
        private boolean woken;

        Waiter(String executionId) {
            this.executionId = executionId;
        }

        synchronized void wake() {
            woken = true;
            notifyAll();
        }

        /** Waits until woken or {@code nanos} have passed; clears the flag. */
        synchronized void await(long nanos) throws InterruptedException {
            long deadline = System.nanoTime() + nanos;
            while (!woken) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                TimeUnit.NANOSECONDS.timedWait(this, left);
            }
            woken = false;
        }
    }
}
