package io.flowmonkey.engine;

import io.flowmonkey.execution.Cancellation;
import io.flowmonkey.execution.ConcurrentUpdateException;
import io.flowmonkey.execution.DuplicateIdempotencyKeyException;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionDataException;
import io.flowmonkey.execution.ExecutionError;
import io.flowmonkey.execution.ExecutionNotFoundException;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.ExecutionStore;
import io.flowmonkey.execution.LeasingExecutionStore;
import io.flowmonkey.execution.StepHistory;
import io.flowmonkey.execution.TimeoutConfig;
import io.flowmonkey.execution.WaitMetadata;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs flows and keeps every execution's state in an {@link ExecutionStore}. Stateless apart from
 * its collaborators and thread-safe: any number of threads, and engines in other JVMs sharing the
 * same store, may call it at once.
 *
 * <h2>Durability</h2>
 * Each step is one store save holding the step's result and the next position: {@link #create} saves
 * once, {@link #run} and {@link #resume} save once per step (waking from a wait is saved together with
 * the step that follows it). A crash between a handler call and its save loses only that step's result,
 * and the next run repeats the step; handlers therefore run at least once per step and should make side
 * effects idempotent (see {@link StepContext#attempt()}).
 *
 * <h2>Concurrency</h2>
 * Saves are optimistic: each one expects the version it loaded. When two callers advance the same
 * execution at once, the later save fails with {@link ConcurrentUpdateException}; that caller's step
 * result is discarded, nothing of it is written, and the exception reaches the caller. The stored state
 * is then the winner's. The loser's handler did run, so several threads or processes should not run
 * one execution by racing: let {@link EngineWorker}s claim executions under leases instead.
 *
 * <h2>Statuses</h2>
 * {@code pending → running → waiting | completed | failed}, {@code waiting → running} on wake or resume,
 * and {@code any non-terminal → cancelling → cancelled}. Only the status after each step is stored, so a
 * row can go from {@code pending} straight to {@code waiting} or {@code completed} when the first step
 * waits or ends the flow. Retries and both timeouts are timed waits
 * ({@code WAITING} with {@code waitMetadata.wakeAt}), so they survive restarts and are found by
 * {@link ExecutionStore#findWakeReady(Instant)}; {@code waitMetadata.data} records what the wake does:
 * {@code {"wake":"resume"}}, {@code {"wake":"retry","attempt":n}} or {@code {"wake":"timeout","timeout":"wait"|"execution"}}.
 * A timeout cancels the execution with {@link Cancellation.Source#TIMEOUT} (it does not fail it).
 */
public final class Engine {

    /** The context key under which {@link #resume(String, Map)} stores its data. */
    public static final String RESUME_DATA_KEY = "resumeData";

    /** Code of the failure a throwing handler becomes. */
    public static final String HANDLER_ERROR = "HANDLER_ERROR";
    /** Code of the failure of a step whose handler type has no registered handler. */
    public static final String HANDLER_NOT_FOUND = "HANDLER_NOT_FOUND";
    /** Code of the failure of a step whose input selector could not be applied. */
    public static final String INPUT_ERROR = "INPUT_ERROR";
    /** Code of the error of an execution that ran {@link EngineOptions#maxSteps()} steps without ending. */
    public static final String MAX_STEPS_EXCEEDED = "MAX_STEPS_EXCEEDED";
    /** Code of the error of an execution positioned at a step its flow does not define. */
    public static final String STEP_NOT_FOUND = "STEP_NOT_FOUND";

    private static final Logger LOG = LoggerFactory.getLogger(Engine.class);
    private static final String WAKE = "wake";
    private static final String WAKE_RESUME = "resume";
    private static final String WAKE_RETRY = "retry";
    private static final String WAKE_TIMEOUT = "timeout";
    private static final String ATTEMPT = "attempt";
    private static final String TIMEOUT_KIND = "timeout";
    /** How often a create retries when the holder of its key vanished between save and load. */
    private static final int CREATE_ATTEMPTS = 3;

    private final ExecutionStore store;
    private final HandlerRegistry handlers;
    private final FlowRegistry flows;
    private final EngineOptions options;
    private final Clock clock;
    /** Flow versions whose due executions {@link #runWakeReady} skipped and logged. */
    private final Set<String> unknownVersionsLogged = ConcurrentHashMap.newKeySet();

    /**
     * Creates an engine with {@link EngineOptions#DEFAULTS}.
     *
     * @param store where executions are kept
     * @param handlers the step handlers
     * @param flows the flow definitions
     */
    public Engine(ExecutionStore store, HandlerRegistry handlers, FlowRegistry flows) {
        this(store, handlers, flows, EngineOptions.DEFAULTS);
    }

    /**
     * Creates an engine.
     *
     * @param store where executions are kept
     * @param handlers the step handlers
     * @param flows the flow definitions
     * @param options clock, step limit, history and default timeouts
     */
    public Engine(ExecutionStore store, HandlerRegistry handlers, FlowRegistry flows, EngineOptions options) {
        this.store = Objects.requireNonNull(store, "store must not be null");
        this.handlers = Objects.requireNonNull(handlers, "handlers must not be null");
        this.flows = Objects.requireNonNull(flows, "flows must not be null");
        this.options = Objects.requireNonNull(options, "options must not be null");
        this.clock = options.clock();
    }

    /**
     * Creates a pending execution of the latest version of a flow, with {@link CreateOptions#DEFAULTS}.
     *
     * @param flowId the flow to run
     * @param context the initial context, a JSON-like map; null for empty
     * @return the stored execution, {@code created == true}
     * @throws IllegalArgumentException if no version of the flow is registered
     * @throws io.flowmonkey.execution.StoreException if the store fails
     */
    public CreateResult create(String flowId, Map<String, ?> context) {
        return create(flowId, context, CreateOptions.DEFAULTS);
    }

    /**
     * Creates a pending execution of the latest version of a flow, positioned at its initial step. One
     * store save; nothing runs until {@link #run(String)}.
     *
     * <p>With an idempotency key the create is idempotent and race-free: the store's unique key admits
     * one execution per unexpired key, and every other caller, in any thread or JVM, gets that execution
     * back with {@code created == false} (even if it was created for another flow or context).
     *
     * @param flowId the flow to run
     * @param context the initial context, a JSON-like map; null for empty
     * @param options tenant, idempotency key, parent, metadata and timeouts
     * @return the stored execution and whether this call created it
     * @throws IllegalArgumentException if no version of the flow is registered
     * @throws ExecutionNotFoundException if the parent execution does not exist
     * @throws IllegalExecutionStateException if the parent execution has ended or is being cancelled
     * @throws io.flowmonkey.execution.StoreException if the store fails
     */
    public CreateResult create(String flowId, Map<String, ?> context, CreateOptions options) {
        Objects.requireNonNull(flowId, "flowId must not be null");
        Objects.requireNonNull(options, "options must not be null");
        Flow flow = flows.get(flowId).orElseThrow(() -> new IllegalArgumentException("flow '" + flowId
                + "' is not registered; register it in the FlowRegistry before creating executions of it"));
        String key = options.idempotencyKey();
        if (options.parentExecutionId() != null) {
            // A retried create gets the sub-flow it made before, even once the parent has ended.
            Optional<Execution> earlier = key == null ? Optional.empty() : store.findByIdempotencyKey(key);
            if (earlier.isPresent()) {
                return new CreateResult(earlier.get(), false);
            }
            requireLiveParent(options.parentExecutionId());
        }
        Instant now = clock.instant();
        Execution.Builder builder = Execution.builder(UUID.randomUUID().toString(), flow.id(), flow.version())
                .currentStepId(flow.initialStepId())
                .context(context == null ? Map.of() : context)
                .tenantId(options.tenantId())
                .parentExecutionId(options.parentExecutionId())
                .metadata(options.metadata())
                .timeoutConfig(timeoutConfig(options))
                .createdAt(now)
                .updatedAt(now);
        if (key != null) {
            Duration ttl = options.idempotencyTtl() != null ? options.idempotencyTtl() : this.options.idempotencyTtl();
            builder.idempotencyKey(key).idempotencyExpiresAt(now.plus(ttl));
        }
        Execution fresh = builder.build();
        for (int attempt = 1;; attempt++) {
            try {
                Execution created = store.save(fresh);
                return new CreateResult(created.parentExecutionId() == null ? created : cancelIfOrphaned(created),
                        true);
            } catch (DuplicateIdempotencyKeyException taken) {
                Optional<Execution> holder = taken.holderExecutionId() != null
                        ? store.load(taken.holderExecutionId())
                        : store.findByIdempotencyKey(key);
                if (holder.isPresent()) {
                    return new CreateResult(holder.get(), false);
                }
                // The holder expired or was deleted between our save and our read, so the key is free again.
                if (attempt == CREATE_ATTEMPTS) {
                    throw taken;
                }
            }
        }
    }

    /**
     * Closes the race with a cancel of the parent: its cascade saves the parent as cancelling before
     * it looks for children, so a child saved too late for that look sees the parent cancelling here.
     */
    private Execution cancelIfOrphaned(Execution child) {
        Optional<Execution> parent = store.load(child.parentExecutionId());
        boolean cancelled = parent.map(p -> p.status() == ExecutionStatus.CANCELLING
                || p.status() == ExecutionStatus.CANCELLED).orElse(true);
        return cancelled ? cancel(child.id(), Cancellation.Source.PARENT, "parent execution "
                + child.parentExecutionId() + " was cancelled while this sub-flow was created").execution() : child;
    }

    private void requireLiveParent(String parentId) {
        Execution parent = store.load(parentId).orElseThrow(() -> new ExecutionNotFoundException(parentId));
        if (parent.status().isTerminal() || parent.status() == ExecutionStatus.CANCELLING) {
            throw new IllegalExecutionStateException(parentId, parent.status(), "parent execution " + parentId
                    + " is " + parent.status().wireName() + "; sub-flows can only be started by a live execution");
        }
    }

    private TimeoutConfig timeoutConfig(CreateOptions create) {
        Duration execution = create.timeout() != null ? create.timeout() : options.executionTimeout();
        Duration wait = create.waitTimeout() != null ? create.waitTimeout() : options.waitTimeout();
        return execution == null && wait == null ? null : new TimeoutConfig(execution, wait);
    }

    /**
     * Runs an execution's steps until it waits, ends, or is found to be cancelling, saving once per
     * step. What it does by status:
     * <ul>
     *   <li>{@code pending}, {@code running}: runs from the current step;</li>
     *   <li>{@code waiting} with {@code wakeAt} passed: continues exactly like
     *       {@link #resume(String, Map) resume(id, null)} (a retry wait runs the next attempt; a timeout
     *       cancels);</li>
     *   <li>{@code waiting} otherwise, {@code completed}, {@code failed}, {@code cancelled}: nothing; a
     *       documented no-op that returns the execution as stored;</li>
     *   <li>{@code cancelling}: finishes the interrupted cancellation.</li>
     * </ul>
     * An execution past its execution timeout is cancelled with source {@code TIMEOUT} instead of
     * running another step; one that has run {@link EngineOptions#maxSteps()} steps fails with
     * {@link #MAX_STEPS_EXCEEDED}.
     *
     * @param executionId the execution to run
     * @return the execution as last stored
     * @throws ExecutionNotFoundException if there is no such execution
     * @throws ConcurrentUpdateException if another caller saved the execution while this call ran a step;
     *     this call's result for that step was discarded, steps before it are saved, and the stored state
     *     is the other caller's
     * @throws IllegalStateException if the execution's flow version is no longer registered (nothing is written)
     * @throws CancellationException if the thread was interrupted during a handler; nothing of that step
     *     is saved and it runs again on the next run
     * @throws io.flowmonkey.execution.StoreException if the store fails; steps saved before stay saved
     */
    public RunResult run(String executionId) {
        return new RunResult(drive(load(executionId), null, false));
    }

    /**
     * Runs an execution already in hand, such as the one {@link #create} returned, exactly like
     * {@link #run(String)} but without loading it first: one store round trip per step and none
     * before. The copy should be the stored version: if the store has moved on, the first save fails
     * with {@link ConcurrentUpdateException} and nothing of that step is written. A copy with no step
     * to run (waiting and not yet due, or ended) is returned as it is, without a look at the store.
     *
     * @param execution the stored execution to run
     * @return the execution as last stored
     * @throws ConcurrentUpdateException if a save finds that {@code execution} is not the stored version
     * @throws IllegalStateException if the execution's flow version is no longer registered (nothing is written)
     * @throws io.flowmonkey.execution.StoreException if the store fails; steps saved before stay saved
     */
    public RunResult run(Execution execution) {
        Objects.requireNonNull(execution, "execution must not be null");
        if (execution.version() == 0) {
            throw new IllegalArgumentException("execution " + execution.id() + " was never stored (version 0); "
                    + "create it with Engine.create first");
        }
        return new RunResult(drive(execution, null, false));
    }

    /**
     * Ends the wait of a waiting execution and runs on, like {@link #run(String)}. The data, if any, is
     * stored in the context under {@value #RESUME_DATA_KEY}. The execution continues at the waiting
     * step's {@link Step#onResume()}, or runs the waiting step again when that is null; a retry wait
     * runs its next attempt at once. The wake is saved together with the step that follows it.
     *
     * <p>An execution whose wait or execution timeout has passed is cancelled with source
     * {@code TIMEOUT} instead, and returned.
     *
     * @param executionId the execution to resume
     * @param data JSON-like data for the next step, or null to leave the context as it is
     * @return the execution as last stored
     * @throws ExecutionNotFoundException if there is no such execution
     * @throws IllegalExecutionStateException if the execution is not waiting (nothing is written)
     * @throws ConcurrentUpdateException as for {@link #run(String)}, for example when two resumes race
     * @throws io.flowmonkey.execution.StoreException if the store fails
     */
    public RunResult resume(String executionId, Map<String, ?> data) {
        Execution execution = load(executionId);
        if (execution.status() != ExecutionStatus.WAITING) {
            throw new IllegalExecutionStateException(executionId, execution.status(), "execution " + executionId
                    + " is " + execution.status().wireName() + "; only a waiting execution can be resumed");
        }
        return new RunResult(drive(execution, data, true));
    }

    /**
     * Runs every waiting execution whose {@code wakeAt} has passed, as {@link #run(String)} would, up to
     * {@code limit} of them, earliest first; call it periodically, for example from a scheduled executor.
     * One execution never stops the others:
     * <ul>
     *   <li>executions that another caller advanced meanwhile are skipped;</li>
     *   <li>executions of a flow version this engine's {@link FlowRegistry} does not have are skipped
     *       and left waiting (for a process that has it), without counting against {@code limit}; each
     *       such version is logged once per engine;</li>
     *   <li>a row that cannot be read is, on a {@link LeasingExecutionStore} such as
     *       {@code PgExecutionStore}, set aside ({@link LeasingExecutionStore#setAside}, logged once) so
     *       that it is not found again; on another store its {@link ExecutionDataException} reaches
     *       the caller.</li>
     * </ul>
     * A store failure stops the batch and reaches the caller; so does a failure of one execution's run,
     * after the executions before it ran.
     *
     * @param limit the most executions to run, at least 1
     * @return what each run stored, in wake order
     * @throws IllegalArgumentException if {@code limit} is less than 1
     * @throws io.flowmonkey.execution.StoreException if the store fails
     */
    public List<RunResult> runWakeReady(int limit) {
        if (limit < 1) {
            throw new IllegalArgumentException("limit must be at least 1, got " + limit);
        }
        List<RunResult> results = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        Instant now = clock.instant();
        int skipped = 0;
        while (results.size() < limit) {
            // Skipped executions stay due: ask for enough rows to get past them.
            int window = limit - results.size() + skipped;
            List<Execution> due = findWakeReadySettingAside(now, window);
            boolean progress = false;
            for (Execution execution : due) {
                if (results.size() == limit) {
                    break;
                }
                if (!seen.add(execution.id())) {
                    continue;
                }
                progress = true;
                if (flows.get(execution.flowId(), execution.flowVersion()).isEmpty()) {
                    skipped++;
                    if (unknownVersionsLogged.add(execution.flowId() + "\u0000" + execution.flowVersion())) {
                        LOG.warn("Waiting executions of flow '{}' version '{}' (such as {}) are due but that version "
                                + "is not registered here; they are left for a process that has it",
                                execution.flowId(), execution.flowVersion(), execution.id());
                    }
                    continue;
                }
                try {
                    results.add(new RunResult(drive(execution, null, false)));
                } catch (ConcurrentUpdateException lost) {
                    // Another caller woke it first; the execution is in their hands now.
                    skipped++;
                }
            }
            if (due.size() < window || !progress) {
                break;
            }
        }
        return List.copyOf(results);
    }

    /**
     * {@link ExecutionStore#findWakeReady(Instant, int)}, setting aside each row that cannot be read
     * (each is found, and set aside, once) when the store can.
     */
    private List<Execution> findWakeReadySettingAside(Instant now, int limit) {
        while (true) {
            try {
                return store.findWakeReady(now, limit);
            } catch (ExecutionDataException unreadable) {
                if (!(store instanceof LeasingExecutionStore leasing) || unreadable.executionId() == null
                        || !leasing.setAside(unreadable.executionId(), unreadable.column(), unreadable.getMessage())) {
                    throw unreadable;
                }
                LOG.error("Set aside execution {}: column {} cannot be read ({}); it is not woken again until repaired "
                        + "and restored with restoreSetAside", unreadable.executionId(), unreadable.column(),
                        unreadable.getMessage());
            }
        }
    }

    /**
     * Cancels an execution and, with source {@link Cancellation.Source#PARENT}, its live children
     * ({@link ExecutionStore#findChildren(String)}), recursively. The execution is first saved as
     * {@code cancelling} with its {@link Cancellation}, then its children are cancelled, then it is saved
     * as {@code cancelled} with {@code cancelledAt}; a crash in between leaves it {@code cancelling}, and
     * the next {@code cancel} or {@link #run(String)} finishes the job. A step running concurrently loses
     * its race and its result is discarded.
     *
     * <p>Cancelling an execution that has already ended (completed, failed or cancelled) is a no-op that
     * returns it with {@code cancelled == false}.
     *
     * @param executionId the execution to cancel
     * @param source who cancels
     * @param reason why, or null
     * @return the stored execution, and whether this call cancelled it
     * @throws ExecutionNotFoundException if there is no such execution
     * @throws io.flowmonkey.execution.StoreException if the store fails
     */
    public CancelResult cancel(String executionId, Cancellation.Source source, String reason) {
        Objects.requireNonNull(source, "cancellation source must not be null");
        while (true) {
            Execution execution = load(executionId);
            if (execution.status().isTerminal()) {
                return new CancelResult(execution, false);
            }
            if (execution.status() == ExecutionStatus.CANCELLING) {
                return new CancelResult(finishCancellation(execution), true);
            }
            try {
                Execution cancelling = store.save(beginCancellation(execution, source, reason));
                return new CancelResult(finishCancellation(cancelling), true);
            } catch (ConcurrentUpdateException lost) {
                // A step was saved meanwhile; cancel the execution as it is stored now.
            }
        }
    }

    /** Advances an execution an {@link EngineWorker} has just claimed, without loading it again. */
    RunResult runClaimed(Execution claimed) {
        return new RunResult(drive(claimed, null, false, true));
    }

    /** The store, for the {@link EngineWorker} that claims this engine's work. */
    ExecutionStore store() {
        return store;
    }

    /** The flows, whose executions an {@link EngineWorker} of this engine claims. */
    FlowRegistry flows() {
        return flows;
    }

    private Execution load(String executionId) {
        if (executionId == null || executionId.isBlank()) {
            throw new IllegalArgumentException("executionId must be a non-blank string, got "
                    + (executionId == null ? "null" : "'" + executionId + "'"));
        }
        return store.load(executionId).orElseThrow(() -> new ExecutionNotFoundException(executionId));
    }

    /**
     * Advances an execution until it waits or ends. {@code resumeRequested} ends a wait early;
     * {@code resumeData} goes to the context when it does.
     */
    private Execution drive(Execution loaded, Map<String, ?> resumeData, boolean resumeRequested) {
        return drive(loaded, resumeData, resumeRequested, false);
    }

    /**
     * As {@link #drive(Execution, Map, boolean)}; {@code claimedDue} says a store found the wait due
     * by the database's clock, which wins over this engine's clock so that a worker whose clock lags
     * does not claim, skip and release the same execution over and over.
     */
    private Execution drive(Execution loaded, Map<String, ?> resumeData, boolean resumeRequested,
                            boolean claimedDue) {
        Execution current = loaded;
        int attempt = 1;
        if (current.status() == ExecutionStatus.WAITING) {
            WaitMetadata wait = current.waitMetadata();
            boolean due = wait != null && wait.wakeAt() != null
                    && (claimedDue || !wait.wakeAt().isAfter(clock.instant()));
            if (!due && !resumeRequested) {
                return current;
            }
            String wake = wait == null ? WAKE_RESUME : String.valueOf(wait.data().getOrDefault(WAKE, WAKE_RESUME));
            if (due && WAKE_TIMEOUT.equals(wake)) {
                return cancelForTimeout(current, timeoutMessage(current, wait));
            }
            String nextStep = current.currentStepId();
            if (WAKE_RETRY.equals(wake)) {
                attempt = wait.data().get(ATTEMPT) instanceof Number n ? n.intValue() : 1;
            } else {
                Step waiting = flowOf(current).steps().get(current.currentStepId());
                if (waiting != null && waiting.onResume() != null) {
                    nextStep = waiting.onResume();
                }
            }
            Execution.Builder woken = current.toBuilder().status(ExecutionStatus.RUNNING).currentStepId(nextStep)
                    .waitMetadata(null);
            if (resumeData != null) {
                woken.context(Paths.set(current.context(), RESUME_DATA_KEY, resumeData));
            }
            // Not saved on its own: the next step's save carries the wake, keeping one write per step.
            current = woken.build();
        }
        while (true) {
            switch (current.status()) {
                case PENDING:
                case RUNNING:
                    break;
                case CANCELLING:
                    return finishCancellation(current);
                default:
                    return current;
            }
            Instant now = clock.instant();
            Instant deadline = executionDeadline(current);
            if (deadline != null && !deadline.isAfter(now)) {
                return cancelForTimeout(current, "execution timed out after "
                        + current.timeoutConfig().executionTimeout());
            }
            if (current.stepCount() >= options.maxSteps()) {
                return store.save(fail(current, MAX_STEPS_EXCEEDED, "execution ran " + current.stepCount()
                        + " steps without ending; raise EngineOptions.maxSteps if the flow is meant to be this long",
                        current.currentStepId(), null, now).build());
            }
            current = store.save(runStep(current, flowOf(current), attempt));
            attempt = 1;
        }
    }

    private Flow flowOf(Execution execution) {
        return flows.get(execution.flowId(), execution.flowVersion()).orElseThrow(() -> new IllegalStateException(
                "execution " + execution.id() + " runs flow '" + execution.flowId() + "' version '"
                        + execution.flowVersion() + "', which is not registered; register that version to continue it"));
    }

    /** Runs the current step and returns the execution to save: its result and the next position. */
    private Execution runStep(Execution execution, Flow flow, int attempt) {
        String stepId = execution.currentStepId() != null ? execution.currentStepId() : flow.initialStepId();
        Step step = flow.steps().get(stepId);
        if (step == null) {
            return fail(execution, STEP_NOT_FOUND, "flow '" + flow.id() + "' version '" + flow.version()
                    + "' has no step '" + stepId + "'", stepId, null, clock.instant()).build();
        }
        Instant startedAt = clock.instant();
        StepResult result = execute(step, execution, attempt);
        Instant now = clock.instant();

        Execution.Builder next = execution.toBuilder().currentStepId(step.id()).stepCount(execution.stepCount() + 1);
        if (options.recordHistory()) {
            List<StepHistory> history = new ArrayList<>(execution.history());
            history.add(new StepHistory(step.id(), step.handlerType(), outcome(result), startedAt, now,
                    Duration.between(startedAt, now).toMillis(), historyError(result)));
            next.history(history);
        }
        if (result instanceof StepResult.Success success) {
            if (step.outputKey() != null) {
                next.context(Paths.set(execution.context(), step.outputKey(), success.output()));
            }
            return (step.onSuccess() == null
                    ? next.status(ExecutionStatus.COMPLETED).completedAt(now)
                    : next.status(ExecutionStatus.RUNNING).currentStepId(step.onSuccess())).build();
        }
        if (result instanceof StepResult.Failure failure) {
            RetryPolicy retry = step.retry();
            if (retry != null && retry.retries(failure.code(), attempt)) {
                Map<String, Object> data = new LinkedHashMap<>();
                data.put(WAKE, WAKE_RETRY);
                data.put(ATTEMPT, attempt + 1);
                return waitUntil(next, execution, now, now.plus(retry.backoffAfter(attempt)), false,
                        "retry after " + failure.code() + ": " + failure.message(), data).build();
            }
            return (step.onFailure() == null
                    ? fail(next, failure.code(), failure.message(), step.id(), failure.details(), now)
                    : next.status(ExecutionStatus.RUNNING).currentStepId(step.onFailure())).build();
        }
        StepResult.Wait wait = (StepResult.Wait) result;
        Instant wakeAt = wait.duration() != null ? now.plus(wait.duration()) : wait.wakeAt();
        Map<String, Object> data = new LinkedHashMap<>();
        data.put(WAKE, WAKE_RESUME);
        return waitUntil(next, execution, now, wakeAt, true, wait.reason(), data).build();
    }

    private StepResult execute(Step step, Execution execution, int attempt) {
        Optional<StepHandler> handler = handlers.get(step.handlerType());
        if (handler.isEmpty()) {
            return StepResult.failure(HANDLER_NOT_FOUND, "no handler is registered for type '" + step.handlerType()
                    + "' of step '" + step.id() + "'");
        }
        Object input;
        try {
            input = step.input().resolve(execution.context());
        } catch (RuntimeException e) {
            return StepResult.failure(INPUT_ERROR, "input of step '" + step.id() + "' could not be resolved: "
                    + e.getMessage());
        }
        StepResult result;
        try {
            result = handler.get().execute(new DefaultStepContext(input, step, execution, attempt));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw interrupted(step, execution);
        } catch (Exception e) {
            if (Thread.currentThread().isInterrupted()) {
                // The interrupt surfaced as some other exception (an I/O client's, say): not the step's fault.
                throw interrupted(step, execution);
            }
            // A handler's exception is the step's failure, never the engine's: it follows retry and onFailure.
            return StepResult.failure(HANDLER_ERROR, e.getMessage() != null ? e.getMessage() : e.toString(),
                    Map.of("exception", e.getClass().getName()));
        }
        if (Thread.currentThread().isInterrupted()) {
            // Whoever interrupted us (a stopping worker) may already have handed the execution on.
            throw interrupted(step, execution);
        }
        return result != null ? result : StepResult.failure(HANDLER_ERROR, "handler '" + step.handlerType()
                + "' of step '" + step.id() + "' returned null instead of a StepResult");
    }

    private static CancellationException interrupted(Step step, Execution execution) {
        return new CancellationException("interrupted while step '" + step.id() + "' of execution "
                + execution.id() + " ran; nothing of the step was saved and it runs again on the next run");
    }

    /**
     * Puts the execution into a timed or signal wait. The earlier of the execution's deadline and (for
     * handler waits) the wait timeout replaces a later or missing {@code wakeAt}, so that timeouts fire
     * through {@link ExecutionStore#findWakeReady(Instant)} like any other wake.
     */
    private static Execution.Builder waitUntil(Execution.Builder next, Execution execution, Instant now,
            Instant wakeAt, boolean waitTimeoutApplies, String reason, Map<String, Object> data) {
        TimeoutConfig timeouts = execution.timeoutConfig();
        Instant wake = wakeAt;
        if (waitTimeoutApplies && timeouts != null && timeouts.waitTimeout() != null) {
            Instant waitDeadline = now.plus(timeouts.waitTimeout());
            if (wake == null || wake.isAfter(waitDeadline)) {
                wake = waitDeadline;
                data.put(WAKE, WAKE_TIMEOUT);
                data.put(TIMEOUT_KIND, "wait");
            }
        }
        Instant executionDeadline = executionDeadline(execution);
        if (executionDeadline != null && (wake == null || wake.isAfter(executionDeadline))) {
            wake = executionDeadline;
            data.put(WAKE, WAKE_TIMEOUT);
            data.put(TIMEOUT_KIND, "execution");
        }
        return next.status(ExecutionStatus.WAITING).waitMetadata(new WaitMetadata(wake, reason, now, data));
    }

    private static Instant executionDeadline(Execution execution) {
        TimeoutConfig timeouts = execution.timeoutConfig();
        return timeouts == null || timeouts.executionTimeout() == null ? null
                : execution.createdAt().plus(timeouts.executionTimeout());
    }

    private static String timeoutMessage(Execution execution, WaitMetadata wait) {
        TimeoutConfig timeouts = execution.timeoutConfig();
        if ("wait".equals(wait.data().get(TIMEOUT_KIND)) && timeouts != null) {
            return "wait of step '" + execution.currentStepId() + "' timed out after " + timeouts.waitTimeout();
        }
        return "execution timed out after " + (timeouts == null ? "its deadline" : timeouts.executionTimeout());
    }

    private static Execution.Builder fail(Execution execution, String code, String message, String stepId,
            Object details, Instant now) {
        return fail(execution.toBuilder(), code, message, stepId, details, now);
    }

    private static Execution.Builder fail(Execution.Builder next, String code, String message, String stepId,
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

    private Execution cancelForTimeout(Execution execution, String message) {
        return finishCancellation(store.save(beginCancellation(execution, Cancellation.Source.TIMEOUT, message)));
    }

    private Execution beginCancellation(Execution execution, Cancellation.Source source, String reason) {
        return execution.toBuilder().status(ExecutionStatus.CANCELLING)
                .cancellation(new Cancellation(source, reason, clock.instant())).build();
    }

    /** Cancels the children of a cancelling execution, then marks it cancelled. */
    private Execution finishCancellation(Execution cancelling) {
        String reason = "parent execution " + cancelling.id() + " was cancelled";
        for (Execution child : store.findChildren(cancelling.id())) {
            if (!child.status().isTerminal()) {
                cancel(child.id(), Cancellation.Source.PARENT, reason);
            }
        }
        try {
            return store.save(cancelling.toBuilder().status(ExecutionStatus.CANCELLED).cancelledAt(clock.instant())
                    .waitMetadata(null).build());
        } catch (ConcurrentUpdateException lost) {
            // Only another finisher of this cancellation can have saved a cancelling execution.
            Execution stored = load(cancelling.id());
            return stored.status() == ExecutionStatus.CANCELLED ? stored : finishCancellation(stored);
        }
    }
}
