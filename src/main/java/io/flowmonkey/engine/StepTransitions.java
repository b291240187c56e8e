package io.flowmonkey.engine;

import static io.flowmonkey.engine.Engine.CHILD_ENDED;
import static io.flowmonkey.engine.Engine.INVALID_WAIT;
import static io.flowmonkey.engine.Engine.OUTPUT_NOT_STORABLE;
import static io.flowmonkey.engine.Engine.START;
import static io.flowmonkey.engine.Engine.STEP_NOT_FOUND;

import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionDataException;
import io.flowmonkey.execution.ExecutionError;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.StepHistory;
import io.flowmonkey.execution.TimeoutConfig;
import io.flowmonkey.execution.WaitMetadata;
import io.flowmonkey.internal.json.Values;
import java.nio.charset.StandardCharsets;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The pure step transitions of {@link Engine}: what an execution becomes after a step's result, given
 * the flow, the step, the attempt and the times. No store, no clock, no handler: the same arguments
 * always give the same execution, which the engine then saves. Thread-safe.
 */
final class StepTransitions {

    private final boolean recordHistory;

    /**
     * Makes the transitions of one engine.
     *
     * @param recordHistory whether each step appends to the execution's history
     *     ({@link EngineOptions#recordHistory()})
     */
    StepTransitions(boolean recordHistory) {
        this.recordHistory = recordHistory;
    }

    static StepResult.Failure notStorable(Step step, Throwable refused) {
        return StepResult.failure(OUTPUT_NOT_STORABLE, "the result of step '" + Diagnostics.id(step.id())
                + "' cannot be stored: " + Diagnostics.message(refused));
    }

    /**
     * The execution after a step's result (the result recorded, the next position set), and the result
     * as recorded: the engine's own failure where it replaced the handler's ({@code then(..)} to
     * nowhere, an unstorable output, a wait past what epoch milliseconds hold), for the listeners to be
     * told the real outcome.
     */
    record Applied(Execution execution, StepResult recorded) {
    }

    /** What a step's result makes of the execution: see {@link Applied}. */
    Applied applied(Execution execution, Flow flow, Step step, int attempt, StepResult result,
                    Instant startedAt, Instant now) {
        Execution.Builder next = execution.toBuilder().currentStepId(step.id()).stepCount(execution.stepCount() + 1);
        StepResult recorded = result;
        String override = result instanceof StepResult.Success success ? success.nextStepId() : null;
        if (override != null && !flow.steps().containsKey(override)) {
            recorded = StepResult.failure(STEP_NOT_FOUND, "step '" + Diagnostics.id(step.id())
                    + "' chose next step '" + Diagnostics.id(override) + "' with then(..), but flow '"
                    + Diagnostics.id(flow.id()) + "' version '" + Diagnostics.id(flow.version())
                    + "' has no such step; defined steps: " + Diagnostics.list(flow.steps().keySet())).nonRetryable();
        }
        if (recordHistory) {
            // Appended, not copied: a store that knows the history's text so far encodes this entry alone.
            next.history(Values.appended(execution.history(), new StepHistory(step.id(), step.handlerType(),
                    outcome(recorded), startedAt, now, Duration.between(startedAt, now).toMillis(),
                    historyError(recorded), recorded == result ? override : null)));
        }
        try {
            if (recorded instanceof StepResult.Success success) {
                if (step.outputKey() != null) {
                    next.context(Paths.set(execution.context(), step.outputKey(), success.output()));
                }
                String target = override != null ? override : step.onSuccess();
                return new Applied((target == null
                        ? next.status(ExecutionStatus.COMPLETED).completedAt(now)
                        : next.status(ExecutionStatus.RUNNING).currentStepId(target)).build(), recorded);
            }
            if (recorded instanceof StepResult.Failure failure) {
                if (recorded != result) {
                    // A then(..) to nowhere is a flow bug that no retry or compensation can mend.
                    return new Applied(fail(next, failure.code(), failure.message(), step.id(), null, now).build(),
                            recorded);
                }
                RetryPolicy retry = step.retry();
                if (failure.retryable() && retry != null && retry.retries(failure.code(), attempt)) {
                    Instant wakeAt = after(now, retry.backoffAfter(attempt));
                    if (wakeAt == null) {
                        return applied(execution, flow, step, attempt, invalidWait(step, "its retry pause of "
                                + retry.backoffAfter(attempt)), startedAt, now);
                    }
                    return new Applied(waitUntil(next, execution, now, wakeAt, false,
                            // The engine's own text: bounded, so a huge message is not copied into the wait too.
                            Diagnostics.printable("retry after " + failure.code() + ": " + failure.message(),
                                    Diagnostics.MAX_MESSAGE_CHARS), WakeInfo.retry(attempt + 1), null).build(), recorded);
                }
                return new Applied((step.onFailure() == null
                        ? fail(next, failure.code(), failure.message(), step.id(), failure.details(), now)
                        : next.status(ExecutionStatus.RUNNING).currentStepId(step.onFailure())).build(), recorded);
            }
            if (recorded instanceof StepResult.StartChildren || recorded instanceof StepResult.AwaitSignal) {
                return new Applied(coordinatedWait(next, execution, step, recorded, now).build(), recorded);
            }
            StepResult.Wait wait = (StepResult.Wait) recorded;
            Instant wakeAt = wait.duration() != null ? after(now, wait.duration()) : wait.wakeAt();
            if (wait.duration() != null && wakeAt == null) {
                return applied(execution, flow, step, attempt, invalidWait(step, "its wait of " + wait.duration()),
                        startedAt, now);
            }
            return new Applied(waitUntil(next, execution, now, wakeAt, true, wait.reason(), WakeInfo.resume(), null)
                    .build(), recorded);
        } catch (IllegalArgumentException | ExecutionDataException | StackOverflowError unstorable) {
            // What the handler returned cannot make a valid execution (a cyclic output, say); the
            // engine's own failure always can, so this recursion ends at the next level.
            if (recorded instanceof StepResult.Failure failure && OUTPUT_NOT_STORABLE.equals(failure.code())
                    && failure.details() == null) {
                throw unstorable;
            }
            return applied(execution, flow, step, attempt, notStorable(step, unstorable), startedAt, now);
        }
    }

    private static StepResult.Failure invalidWait(Step step, String what) {
        return StepResult.failure(INVALID_WAIT, "step '" + Diagnostics.id(step.id()) + "' cannot wait: " + what
                + " ends past what epoch milliseconds can hold").nonRetryable();
    }

    /** {@code now + d}, or null if epoch milliseconds cannot hold it. */
    private static Instant after(Instant now, Duration d) {
        try {
            Instant at = now.plus(d);
            at.toEpochMilli();
            return at;
        } catch (DateTimeException | ArithmeticException overflow) {
            return null;
        }
    }

    /**
     * Puts the execution into a timed or signal wait. The earlier of the execution's deadline and (for
     * handler waits) the wait timeout replaces a later or missing {@code wakeAt}, so that timeouts fire
     * through {@link io.flowmonkey.execution.ExecutionStore#findWakeReady(Instant)} like any other wake.
     * {@code start} is the children to start, kept under {@value Engine#START} until saved, or null.
     */
    private static Execution.Builder waitUntil(Execution.Builder next, Execution execution, Instant now,
            Instant wakeAt, boolean waitTimeoutApplies, String reason, WakeInfo info,
            List<Map<String, Object>> start) {
        TimeoutConfig timeouts = execution.timeoutConfig();
        Instant wake = wakeAt;
        if (waitTimeoutApplies && timeouts != null && timeouts.waitTimeout() != null) {
            Instant waitDeadline = after(now, timeouts.waitTimeout());
            if (waitDeadline != null && (wake == null || wake.isAfter(waitDeadline))) {
                wake = waitDeadline;
                info = info.timedOut("wait");
            }
        }
        Instant executionDeadline = executionDeadline(execution);
        if (executionDeadline != null && (wake == null || wake.isAfter(executionDeadline))) {
            wake = executionDeadline;
            info = info.timedOut("execution");
        }
        Map<String, Object> data = info.toData();
        if (start != null) {
            data.put(START, start);
        }
        return next.status(ExecutionStatus.WAITING).waitMetadata(new WaitMetadata(wake, reason, now, data));
    }

    static Instant executionDeadline(Execution execution) {
        TimeoutConfig timeouts = execution.timeoutConfig();
        // A deadline past what epoch milliseconds hold can never come: it is no deadline.
        return timeouts == null || timeouts.executionTimeout() == null ? null
                : after(execution.createdAt(), timeouts.executionTimeout());
    }

    static String timeoutMessage(Execution execution, WaitMetadata wait) {
        TimeoutConfig timeouts = execution.timeoutConfig();
        if ("wait".equals(WakeInfo.of(wait).timeout()) && timeouts != null) {
            return "wait of step '" + execution.currentStepId() + "' timed out after " + timeouts.waitTimeout();
        }
        return "execution timed out after " + (timeouts == null ? "its deadline" : timeouts.executionTimeout());
    }

    static Execution.Builder fail(Execution execution, String code, String message, String stepId,
            Object details, Instant now) {
        return fail(execution.toBuilder(), code, message, stepId, details, now);
    }

    static Execution.Builder fail(Execution.Builder next, String code, String message, String stepId,
            Object details, Instant now) {
        return next.status(ExecutionStatus.FAILED).failedAt(now).waitMetadata(null)
                .error(new ExecutionError(code, message, stepId, details, now));
    }

    private static String outcome(StepResult result) {
        if (result instanceof StepResult.Success) {
            return "success";
        }
        return result instanceof StepResult.Failure ? "failure" : "wait";
    }

    private static Object historyError(StepResult result) {
        if (!(result instanceof StepResult.Failure failure)) {
            return null;
        }
        Map<String, Object> error = new LinkedHashMap<>();
        error.put("code", failure.code());
        error.put("message", failure.message());
        return error;
    }

    /** The wait of a step that awaits a signal, or starts children (listed under {@value Engine#START} until saved). */
    private static Execution.Builder coordinatedWait(Execution.Builder next, Execution execution, Step step,
                                                     StepResult result, Instant now) {
        if (result instanceof StepResult.AwaitSignal signal) {
            return waitUntil(next, execution, now, null, true, signal.reason(), WakeInfo.signal(signal.signalName()),
                    null);
        }
        StepResult.StartChildren start = (StepResult.StartChildren) result;
        List<String> ids = new ArrayList<>();
        List<Map<String, Object>> specs = new ArrayList<>();
        for (int i = 0; i < start.children().size(); i++) {
            ChildSpec child = start.children().get(i);
            String id = child.executionId() != null ? child.executionId() : childId(execution, step, i);
            ids.add(id);
            Map<String, Object> spec = new LinkedHashMap<>();
            spec.put("id", id);
            spec.put("flowId", child.flowId());
            spec.put("input", child.input());
            spec.put("tenantId", child.tenantId() != null ? child.tenantId() : execution.tenantId());
            spec.put("idempotencyKey", child.idempotencyKey());
            specs.add(spec);
        }
        return waitUntil(next, execution, now, null, true, start.reason(),
                WakeInfo.children(CHILD_ENDED, ids, start.policy().name()), specs);
    }

    /**
     * The same id whenever this step at this position of the parent starts its child number
     * {@code index}: a step run again after a crash cannot start a second copy.
     */
    private static String childId(Execution parent, Step step, int index) {
        String id = parent.id() + "/" + step.id() + "/" + (parent.stepCount() + 1) + "/" + index;
        // Ids are indexed, so a long one is replaced by a name-based UUID of itself, equally fixed.
        return id.length() <= 200 ? id : UUID.nameUUIDFromBytes(id.getBytes(StandardCharsets.UTF_8)).toString();
    }
}
