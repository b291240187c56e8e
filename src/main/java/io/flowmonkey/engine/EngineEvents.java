package io.flowmonkey.engine;

import io.flowmonkey.execution.ConcurrentUpdateException;
import io.flowmonkey.execution.DuplicateExecutionException;
import io.flowmonkey.execution.DuplicateIdempotencyKeyException;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.WaitMetadata;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The fan-out of one engine's {@link EngineListener}s: the engine and its workers call one method here
 * at each point of an execution's life, which builds the event (only when someone listens) and tells
 * every listener, none of which can break the caller. Thread-safe.
 */
final class EngineEvents {

    private static final Logger LOG = LoggerFactory.getLogger(EngineListener.class);
    /** At most one WARN a minute about throwing listeners: one that throws on every event must not flood the log. */
    private static final long LOG_EVERY_NANOS = TimeUnit.MINUTES.toNanos(1);

    private final List<EngineListener> listeners;
    private final Clock clock;
    private final boolean on;
    private final AtomicLong nextLogAt = new AtomicLong(System.nanoTime());
    private final AtomicLong unlogged = new AtomicLong();

    EngineEvents(List<EngineListener> listeners, Clock clock) {
        this.listeners = List.copyOf(listeners);
        this.clock = clock;
        this.on = !this.listeners.isEmpty();
    }

    /** Whether anyone listens: callers may skip work done only for an event. */
    boolean on() {
        return on;
    }

    /** Tells {@link EngineEvent.ExecutionCreated} of a first save; returns the execution. */
    Execution created(Execution e) {
        if (on) {
            tell(new EngineEvent.ExecutionCreated(e.id(), e.flowId(), e.flowVersion(), clock.instant(),
                    e.parentExecutionId()));
        }
        return e;
    }

    void claimed(Execution e, String workerId) {
        if (!on) {
            return;
        }
        Instant now = clock.instant();
        tell(new EngineEvent.ExecutionClaimed(e.id(), e.flowId(), e.flowVersion(), now, workerId, e.status(),
                Presence.dueAt(e, now)));
    }

    /** Tells {@link EngineEvent.RunStarted}; the time it returns goes to {@link #runEnded}. */
    Instant runStarted(Execution e) {
        if (!on) {
            return null;
        }
        Instant now = clock.instant();
        tell(new EngineEvent.RunStarted(e.id(), e.flowId(), e.flowVersion(), now, e.status()));
        return now;
    }

    void runEnded(Execution started, Execution last, Instant startedAt, Throwable thrown) {
        if (on) {
            Instant now = clock.instant();
            Execution e = last != null ? last : started;
            tell(new EngineEvent.RunEnded(e.id(), e.flowId(), e.flowVersion(), now, e.status(),
                    between(startedAt, now), thrown == null ? null : thrown.getClass().getName()));
        }
    }

    /** A wait of {@code waiting} ends here, by a resume, a consumed signal or ended children, or its time. */
    void woken(Execution waiting, WaitMetadata wait, boolean resumed, boolean awakened) {
        if (!on) {
            return;
        }
        WakeInfo info = WakeInfo.of(wait);
        EngineEvent.WakeCause cause = awakened
                ? (Engine.CHILD_ENDED.equals(info.signal()) ? EngineEvent.WakeCause.CHILDREN : EngineEvent.WakeCause.SIGNAL)
                : resumed ? EngineEvent.WakeCause.RESUME
                : info.isRetry() ? EngineEvent.WakeCause.RETRY : EngineEvent.WakeCause.TIMER;
        tell(new EngineEvent.ExecutionWoken(waiting.id(), waiting.flowId(), waiting.flowVersion(), clock.instant(),
                waiting.currentStepId(), cause, wait == null ? null : wait.wakeAt()));
    }

    void stepStarted(Execution e, Step step, int attempt, Instant startedAt) {
        if (on) {
            tell(new EngineEvent.StepStarted(e.id(), e.flowId(), e.flowVersion(), startedAt, step.id(), attempt));
        }
    }

    /**
     * Tells how a step's attempt ended, once its outcome is saved, and what the execution did next
     * (waits, ends). {@code recorded} is the result as the transitions recorded it: the engine's own
     * failure where it replaced the handler's result.
     */
    void stepEnded(Execution saved, Step step, int attempt, StepResult recorded, Instant startedAt, Instant endedAt) {
        if (!on) {
            return;
        }
        Duration took = between(startedAt, endedAt);
        Instant now = clock.instant();
        boolean retrying = false;
        if (recorded instanceof StepResult.Failure failure) {
            retrying = saved.status() == ExecutionStatus.WAITING;
            tell(retrying
                    ? new EngineEvent.StepRetrying(saved.id(), saved.flowId(), saved.flowVersion(), now, step.id(),
                    attempt, failure.code(), took, saved.waitMetadata() == null ? null : saved.waitMetadata().wakeAt())
                    : new EngineEvent.StepFailed(saved.id(), saved.flowId(), saved.flowVersion(), now, step.id(),
                    attempt, failure.code(), took));
        } else {
            tell(new EngineEvent.StepSucceeded(saved.id(), saved.flowId(), saved.flowVersion(), now, step.id(),
                    attempt, took));
        }
        if (saved.status() == ExecutionStatus.WAITING && !retrying) {
            WaitMetadata wait = saved.waitMetadata();
            tell(new EngineEvent.ExecutionWaiting(saved.id(), saved.flowId(), saved.flowVersion(), now, step.id(),
                    wait == null ? null : wait.wakeAt(), WakeInfo.of(wait).signal()));
        }
        ended(saved);
    }

    /** Tells {@link EngineEvent.ExecutionCompleted}, failed or cancelled if {@code saved} has ended; returns it. */
    Execution ended(Execution saved) {
        if (!on || !saved.status().isTerminal()) {
            return saved;
        }
        Instant now = clock.instant();
        Duration age = between(saved.createdAt(), now);
        switch (saved.status()) {
            case COMPLETED -> tell(new EngineEvent.ExecutionCompleted(saved.id(), saved.flowId(), saved.flowVersion(),
                    now, age));
            case FAILED -> tell(new EngineEvent.ExecutionFailed(saved.id(), saved.flowId(), saved.flowVersion(), now,
                    saved.error() == null ? null : saved.error().stepId(),
                    saved.error() == null ? null : saved.error().code(), age));
            default -> tell(new EngineEvent.ExecutionCancelled(saved.id(), saved.flowId(), saved.flowVersion(), now,
                    saved.cancellation() == null ? null : saved.cancellation().source(), age));
        }
        return saved;
    }

    void signalled(Execution target, String signalName) {
        if (on) {
            tell(new EngineEvent.SignalSent(target.id(), target.flowId(), target.flowVersion(), clock.instant(),
                    signalName));
        }
    }

    /** Tells {@link EngineEvent.ExecutionRetried} of a saved rewind; returns it. */
    Execution retried(Execution saved) {
        if (on) {
            tell(new EngineEvent.ExecutionRetried(saved.id(), saved.flowId(), saved.flowVersion(), clock.instant(),
                    saved.currentStepId()));
        }
        return saved;
    }

    /** {@code stored} is the row as another writer left it, or null if it could not be read. */
    void leaseLost(String executionId, Execution stored, String workerId) {
        if (on) {
            tell(new EngineEvent.LeaseLost(executionId, stored == null ? null : stored.flowId(),
                    stored == null ? null : stored.flowVersion(), clock.instant(), workerId,
                    stored == null ? null : stored.leaseOwner()));
        }
    }

    void setAside(String executionId, Execution known, String column) {
        if (on) {
            tell(new EngineEvent.ExecutionSetAside(executionId, known == null ? null : known.flowId(),
                    known == null ? null : known.flowVersion(), clock.instant(), column));
        }
    }

    /** Calls the store and tells its listeners how long the call took and how it ended. */
    <T> T timed(StoreCall.Operation operation, Supplier<T> call) {
        if (!on) {
            return call.get();
        }
        long started = System.nanoTime();
        StoreCall.Outcome outcome = StoreCall.Outcome.ERROR;
        try {
            T result = call.get();
            outcome = StoreCall.Outcome.OK;
            return result;
        } catch (ConcurrentUpdateException | DuplicateExecutionException | DuplicateIdempotencyKeyException lost) {
            outcome = StoreCall.Outcome.CONFLICT;
            throw lost;
        } finally {
            StoreCall told = new StoreCall(operation, Duration.ofNanos(System.nanoTime() - started), outcome);
            for (EngineListener listener : listeners) {
                try {
                    listener.onStoreCall(told);
                } catch (Throwable e) {
                    failed(listener, "store call " + operation, e);
                }
            }
        }
    }

    private void tell(EngineEvent event) {
        for (EngineListener listener : listeners) {
            try {
                listener.onEvent(event);
            } catch (Throwable e) {
                // A listener's fault is never the execution's: its step, save and outcome stand.
                failed(listener, "event " + event.type().tagValue() + " of execution " + event.executionId(), e);
            }
        }
    }

    private void failed(EngineListener listener, String what, Throwable e) {
        long now = System.nanoTime();
        long next = nextLogAt.get();
        if (now - next >= 0 && nextLogAt.compareAndSet(next, now + LOG_EVERY_NANOS)) {
            long missed = unlogged.getAndSet(0);
            LOG.warn("Listener {} threw on {}; ignored (the engine goes on as if it had not been told){}",
                    listener.getClass().getName(), what, missed == 0 ? ""
                            : "; " + missed + " more listener failure(s) since the last such line were not logged", e);
        } else {
            unlogged.incrementAndGet();
        }
    }

    private static Duration between(Instant from, Instant to) {
        return from == null || to == null ? Duration.ZERO : Duration.between(from, to);
    }
}
