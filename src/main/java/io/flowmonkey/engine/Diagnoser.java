package io.flowmonkey.engine;

import io.flowmonkey.engine.Diagnosis.Kind;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionDataException;
import io.flowmonkey.execution.ExecutionError;
import io.flowmonkey.execution.ExecutionNotFoundException;
import io.flowmonkey.execution.ExecutionStore;
import io.flowmonkey.execution.LeasingExecutionStore;
import io.flowmonkey.execution.LeasingExecutionStore.SetAside;
import io.flowmonkey.execution.Signal;
import io.flowmonkey.execution.SignalStore;
import io.flowmonkey.execution.WaitMetadata;
import io.flowmonkey.execution.WorkerInfo;
import io.flowmonkey.execution.WorkerRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Works out {@link Engine#diagnose(String)}: reads the execution, and where it is due, the store's
 * live workers; never writes. Times are compared with the engine's clock; lease expiries and heartbeats
 * were written by the database's, so a skew between the two shows in the seconds it reports.
 */
final class Diagnoser {

    private final ExecutionStore store;
    private final FlowRegistry flows;
    private final Clock clock;

    Diagnoser(ExecutionStore store, FlowRegistry flows, Clock clock) {
        this.store = store;
        this.flows = flows;
        this.clock = clock;
    }

    Diagnosis diagnose(String id) {
        Instant now = clock.instant();
        Optional<SetAside> aside = store instanceof LeasingExecutionStore leasing ? leasing.setAsideOf(id)
                : Optional.empty();
        Execution e;
        try {
            e = store.load(id).orElseThrow(() -> new ExecutionNotFoundException(id));
        } catch (ExecutionDataException unreadable) {
            if (aside.isPresent()) {
                return setAside(id, null, aside.get());
            }
            return new Diagnosis(id, null, Kind.UNREADABLE, "column " + unreadable.column() + " cannot be read ("
                    + Diagnostics.printable(unreadable.getMessage(), 300) + "); the next worker that claims it sets "
                    + "it aside", null);
        }
        if (aside.isPresent()) {
            return setAside(id, e, aside.get());
        }
        switch (e.status()) {
            case COMPLETED:
                return of(e, Kind.COMPLETED, "completed at " + e.completedAt(), e.completedAt());
            case FAILED:
                return failed(e);
            case CANCELLED:
                return of(e, Kind.CANCELLED, "cancelled at " + e.cancelledAt()
                        + (e.cancellation() == null ? "" : " by " + e.cancellation().source().wireName()
                        + (e.cancellation().reason() == null ? "" : ": " + brief(e.cancellation().reason()))),
                        e.cancelledAt());
            default:
                break;
        }
        if (e.leaseOwner() != null && e.leaseExpiresAt() != null && e.leaseExpiresAt().isAfter(now)) {
            return of(e, Kind.LEASED, "leased by " + Diagnostics.id(e.leaseOwner()) + " until " + e.leaseExpiresAt()
                    + (e.status() == io.flowmonkey.execution.ExecutionStatus.WAITING || e.currentStepId() == null ? ""
                    : e.status() == io.flowmonkey.execution.ExecutionStatus.PENDING
                    ? ", starting with step '" + e.currentStepId() + "'"
                    : ", running step '" + e.currentStepId() + "'"), e.leaseExpiresAt());
        }
        return switch (e.status()) {
            case PENDING -> due(e, e.updatedAt(), now, "");
            case RUNNING, CANCELLING -> unleased(e, now);
            default -> waiting(e, now);
        };
    }

    private Diagnosis failed(Execution e) {
        ExecutionError error = e.error();
        String why = error == null ? "" : " with " + error.code() + (error.stepId() == null ? "" : " at step '"
                + error.stepId() + "'") + (error.message() == null ? "" : ": " + brief(error.message()));
        return of(e, Kind.FAILED, "failed at " + e.failedAt() + why + "; retry continues it from the failed step",
                e.failedAt());
    }

    private Diagnosis setAside(String id, Execution e, SetAside aside) {
        return new Diagnosis(id, e == null ? null : e.status(), Kind.SET_ASIDE, "set aside at " + aside.setAsideAt()
                + ": column " + aside.column() + " cannot be read (" + brief(aside.reason()) + "); no worker claims it "
                + "until it is repaired and restored with restoreSetAside", aside.setAsideAt());
    }

    private Diagnosis unleased(Execution e, Instant now) {
        if (e.leaseOwner() != null && e.leaseExpiresAt() != null) {
            return due(e, e.leaseExpiresAt(), now, "the lease of " + Diagnostics.id(e.leaseOwner()) + " expired at "
                    + e.leaseExpiresAt() + "; ");
        }
        if (e.leaseExpiresAt() != null) {
            // Released (lease_expires_at 0): claimable at once.
            return due(e, e.updatedAt(), now, "released by its worker; ");
        }
        return of(e, Kind.RUNNING_UNLEASED, e.status().wireName() + " without a worker's lease since its last save at "
                + e.updatedAt() + ": a caller's thread runs it, or the process that ran it died, and then workers "
                + "take it over once it has gone unsaved for their lease length", e.updatedAt());
    }

    private Diagnosis waiting(Execution e, Instant now) {
        WaitMetadata wait = e.waitMetadata();
        WakeInfo wake = WakeInfo.of(wait);
        Instant wakeAt = wait == null ? null : wait.wakeAt();
        Instant since = wait == null || wait.waitStartedAt() == null ? e.updatedAt() : wait.waitStartedAt();
        String timeout = wakeAt == null ? "" : wakeAt.isAfter(now) ? "; times out in " + human(Duration.between(now,
                wakeAt)) : "; its timeout passed at " + wakeAt;
        if (wake.children() != null) {
            Set<String> open = new HashSet<>(wake.children());
            for (Execution child : store.findChildren(e.id())) {
                if (child.status().isTerminal()) {
                    open.remove(child.id());
                }
            }
            if (open.isEmpty()) {
                return due(e, e.updatedAt(), now, "all " + wake.children().size() + " children ended; ");
            }
            return of(e, Kind.WAITING_FOR_CHILDREN, "waiting for " + open.size() + " child execution"
                    + (open.size() == 1 ? "" : "s") + (open.size() == wake.children().size() ? ""
                    : " of " + wake.children().size()) + " since " + since + timeout, since);
        }
        if (wake.signal() != null) {
            List<Signal> buffered = store instanceof SignalStore signals ? signals.findSignals(e.id(), wake.signal(), 1)
                    : List.of();
            if (!buffered.isEmpty()) {
                return due(e, buffered.get(0).sentAt(), now, "signal '" + wake.signal() + "' arrived at "
                        + buffered.get(0).sentAt() + "; ");
            }
            return of(e, Kind.WAITING_FOR_SIGNAL, "waiting for signal '" + wake.signal() + "' since " + since + timeout,
                    since);
        }
        if (wakeAt == null) {
            return of(e, Kind.WAITING_FOR_RESUME, "waiting for a resume since " + since
                    + (wait == null || wait.reason() == null ? "" : " (" + brief(wait.reason()) + ")"), since);
        }
        if (wake.isRetry()) {
            String attempts = "retry " + (wake.attempt() == null ? "?" : wake.attempt()) + "/" + maxAttempts(e);
            if (wakeAt.isAfter(now)) {
                Optional<String> unserved = unserved(e);
                if (unserved.isPresent()) {
                    return of(e, Kind.NO_LIVE_WORKER, attempts + " after backoff, due in " + human(Duration.between(now,
                            wakeAt)) + ", but " + unserved.get(), wakeAt);
                }
                return of(e, Kind.RETRY_BACKOFF, attempts + " after backoff, due in " + human(Duration.between(now,
                        wakeAt)), wakeAt);
            }
            return due(e, wakeAt, now, attempts + " after backoff: ");
        }
        String what = wake.isTimeout() ? "its " + (wake.timeout() == null ? "" : wake.timeout() + " ") + "timeout, "
                : "";
        return wakeAt.isAfter(now) ? later(e, wakeAt, now, what) : due(e, wakeAt, now, what);
    }

    private Diagnosis later(Execution e, Instant dueAt, Instant now, String prefix) {
        String sentence = prefix + "due in " + human(Duration.between(now, dueAt));
        Optional<String> unserved = unserved(e);
        return unserved.isPresent() ? of(e, Kind.NO_LIVE_WORKER, sentence + ", but " + unserved.get(), dueAt)
                : of(e, Kind.DUE_LATER, sentence, dueAt);
    }

    /** Due since {@code since}: who could claim it. */
    private Diagnosis due(Execution e, Instant since, Instant now, String prefix) {
        Duration waited = since == null || since.isAfter(now) ? Duration.ZERO : Duration.between(since, now);
        Optional<String> unserved = unserved(e);
        if (unserved.isPresent()) {
            return of(e, Kind.NO_LIVE_WORKER, prefix + unserved.get() + " (due for " + human(waited) + ")", since);
        }
        String sentence = prefix + "due now, no worker has claimed it for " + human(waited);
        if (!(store instanceof WorkerRegistry)) {
            sentence += "; whether a live worker serves " + flowVersion(e) + " cannot be known: this store keeps no "
                    + "worker heartbeats";
        }
        return of(e, Kind.DUE, sentence, since);
    }

    /** "no live worker serves f@v" when the store keeps heartbeats and none of its live workers serves it. */
    private Optional<String> unserved(Execution e) {
        if (!(store instanceof WorkerRegistry registry)) {
            return Optional.empty();
        }
        List<WorkerInfo> live = registry.workers();
        for (WorkerInfo w : live) {
            if (w.serves(e.flowId(), e.flowVersion())) {
                return Optional.empty();
            }
        }
        return Optional.of("no live worker serves " + flowVersion(e) + (live.isEmpty() ? " (no worker is live)"
                : " (" + live.size() + (live.size() == 1 ? " live worker serves" : " live workers serve")
                + " other flows)"));
    }

    private String maxAttempts(Execution e) {
        Optional<Flow> flow = flows.get(e.flowId(), e.flowVersion());
        Step step = flow.map(f -> f.steps().get(e.currentStepId())).orElse(null);
        return step == null ? "?" : String.valueOf(step.retry() == null ? 1 : step.retry().maxAttempts());
    }

    private static String flowVersion(Execution e) {
        return Diagnostics.id(e.flowId()) + "@" + Diagnostics.id(e.flowVersion());
    }

    private static Diagnosis of(Execution e, Kind kind, String sentence, Instant at) {
        return new Diagnosis(e.id(), e.status(), kind, sentence, at);
    }

    private static String brief(String text) {
        return Diagnostics.printable(text, 200);
    }

    /** A duration as people say it: "850 ms", "12 s", "3 min 5 s", "2 h 10 min", "3 d 4 h". */
    static String human(Duration d) {
        long ms = Math.max(0, d.toMillis());
        if (ms < 1_000) {
            return ms + " ms";
        }
        long s = ms / 1_000;
        if (s < 60) {
            return s + " s";
        }
        if (s < 3_600) {
            return s / 60 + " min" + (s % 60 == 0 ? "" : " " + s % 60 + " s");
        }
        if (s < 86_400) {
            return s / 3_600 + " h" + (s % 3_600 / 60 == 0 ? "" : " " + s % 3_600 / 60 + " min");
        }
        return s / 86_400 + " d" + (s % 86_400 / 3_600 == 0 ? "" : " " + s % 86_400 / 3_600 + " h");
    }
}
