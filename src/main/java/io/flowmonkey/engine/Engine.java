package io.flowmonkey.engine;

import static io.flowmonkey.engine.StepTransitions.executionDeadline;
import static io.flowmonkey.engine.StepTransitions.fail;
import static io.flowmonkey.engine.StepTransitions.notStorable;
import static io.flowmonkey.engine.StepTransitions.timeoutMessage;

import io.flowmonkey.execution.BulkResult;
import io.flowmonkey.execution.Cancellation;
import io.flowmonkey.execution.ConcurrentUpdateException;
import io.flowmonkey.execution.DuplicateExecutionException;
import io.flowmonkey.execution.DuplicateIdempotencyKeyException;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionDataException;
import io.flowmonkey.execution.ExecutionError;
import io.flowmonkey.execution.ExecutionNotFoundException;
import io.flowmonkey.execution.ExecutionQuery;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.ExecutionStore;
import io.flowmonkey.execution.LeasingExecutionStore;
import io.flowmonkey.execution.Page;
import io.flowmonkey.execution.Signal;
import io.flowmonkey.execution.SignalStore;
import io.flowmonkey.execution.StepHistory;
import io.flowmonkey.execution.TimeoutConfig;
import io.flowmonkey.execution.WaitMetadata;
import io.flowmonkey.internal.Arguments;
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
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Runs flows and keeps every execution's state in an {@link ExecutionStore}. It holds no execution
 * state of its own (only its collaborators and the daemon threads that run steps with a
 * {@link Step#timeout()}) and is thread-safe: any number of threads, and engines in other JVMs sharing
 * the same store, may call it at once.
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
 *
 * <h2>Child flows, signals and results</h2>
 * On a {@link SignalStore} (both bundled stores are), a step can start child executions and wait for
 * them ({@link StepResult#startChildren}), or wait for a named signal ({@link StepResult#awaitSignal},
 * sent with {@link #signal}); {@link #awaitEnd} waits for an execution to end. A waiting execution
 * for which such a wait has ended (its signal was buffered, or its children ended) is continued by
 * {@link #run(String)} or by an {@link EngineWorker}, which is told at once. The wait records its
 * kind in {@code waitMetadata.data}: {@code {"signal": name}}, and for children also
 * {@code {"children": [ids], "policy": "FAIL_FAST"|"COLLECT_ALL"}}. The first {@link #awaitEnd}
 * subscribes to the store's notices of ended executions (holding one pooled connection of a
 * PostgreSQL store) until a few seconds after the last caller has returned.
 *
 * <h2>How a step attempt ends</h2>
 * Every attempt ends in a saved outcome, whatever the handler does: its result; a failure with
 * {@link #HANDLER_ERROR} when it throws an exception or an {@link Error} (an {@code AssertionError}, a
 * {@code StackOverflowError}, a {@code NoClassDefFoundError}, ...), stored with a bounded stack trace in
 * {@code error.details.stackTrace} and logged at WARN; {@link #STEP_TIMEOUT} when it passes its
 * {@link Step#timeout()}; {@link #OUTPUT_NOT_STORABLE} when the store cannot hold what it returned;
 * {@link #INVALID_WAIT} when its wake-up falls outside what epoch milliseconds hold. Each failure then
 * follows the step's {@link RetryPolicy} and {@link Step#onFailure()}, so a poison step is tried
 * {@code maxAttempts} times and no more. A handler's {@code OutOfMemoryError} is a {@link #HANDLER_ERROR}
 * like any other: a handler that always exhausts the heap must not be retried for ever. What is not
 * caught is an interrupt of the calling thread (see {@link #run(String)}), which leaves the step
 * unsaved, to run again, and a failure of the save itself (an {@code OutOfMemoryError} while saving
 * included), which reaches the caller.
 *
 * <h2>Logging</h2>
 * While a handler runs, the SLF4J MDC holds {@value #MDC_EXECUTION_ID}, {@value #MDC_FLOW_ID},
 * {@value #MDC_STEP_ID} and {@value #MDC_ATTEMPT} (on the handler's thread; earlier values of those keys
 * are restored afterwards), so that every line a handler logs can be traced to its execution.
 *
 * <h2>Events</h2>
 * The {@link EngineOptions#listeners() listeners} of the options are told every step, wait and end of
 * every execution this engine or its workers advance ({@link EngineEvent}), and the time of the store
 * calls that advance them (create, load, claim, and the saves of steps, waits and ends); nothing they do or throw changes what the engine does (see {@link EngineListener}).
 */
public final class Engine implements AutoCloseable {

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
    /**
     * Code of the error of an execution positioned at a step its flow does not define, or whose handler
     * chose such a step with {@link StepResult.Success#then(String)}.
     */
    public static final String STEP_NOT_FOUND = "STEP_NOT_FOUND";
    /** Code of the failure of an attempt that ran past its step's {@link Step#timeout()}. */
    public static final String STEP_TIMEOUT = "STEP_TIMEOUT";
    /**
     * Code of the failure of an attempt whose result the store refused: an output (or failure details)
     * it cannot hold exactly, such as a value Jackson cannot write, NaN, or nesting past its limits.
     */
    public static final String OUTPUT_NOT_STORABLE = "OUTPUT_NOT_STORABLE";
    /** Code of the failure of an attempt whose wait, retry pause or timeout wakes outside epoch milliseconds. */
    public static final String INVALID_WAIT = "INVALID_WAIT";

    /** MDC key of the id of the execution whose handler runs. */
    public static final String MDC_EXECUTION_ID = "flowmonkey.executionId";
    /** MDC key of the flow id of the execution whose handler runs. */
    public static final String MDC_FLOW_ID = "flowmonkey.flowId";
    /** MDC key of the id of the step whose handler runs. */
    public static final String MDC_STEP_ID = "flowmonkey.stepId";
    /** MDC key of the attempt number ({@link StepContext#attempt()}) of the handler that runs. */
    public static final String MDC_ATTEMPT = "flowmonkey.attempt";
    private static final String[] MDC_KEYS = {MDC_EXECUTION_ID, MDC_FLOW_ID, MDC_STEP_ID, MDC_ATTEMPT};

    private static final Logger LOG = LoggerFactory.getLogger(Engine.class);
    /** The execution whose handler runs on this thread, if any: {@link #awaitEnd} of it could never return. */
    private static final ThreadLocal<String> RUNNING_EXECUTION = new ThreadLocal<>();

    /** The longest budget {@link Future#get} can take in nanoseconds. */
    private static final Duration MAX_NANOS = Duration.ofNanos(Long.MAX_VALUE);
    /** How often a cancel loads and saves again when steps keep saving the execution meanwhile. */
    private static final int CANCEL_ATTEMPTS = 20;
    /** How often a create retries when the holder of its key vanished between save and load. */
    private static final int CREATE_ATTEMPTS = 3;

    private final ExecutionStore store;
    private final HandlerRegistry handlers;
    private final FlowRegistry flows;
    private final EngineOptions options;
    /** The pure half of running a step: what an execution becomes after a step's result. */
    private final StepTransitions transitions;
    private final Clock clock;
    /** The callers of {@link #awaitEnd}; null when the store cannot tell of ends. */
    private final EndWaiters endWaiters;
    /**
     * Runs the handlers of steps with a timeout, so that the caller can stop waiting for one. Threads are
     * daemons and end after a minute idle, so an engine needs no closing; a handler that ignores its
     * interrupt keeps its thread until it returns, and what it returns then is dropped.
     */
    private final ExecutorService stepThreads;
    /** Flow versions whose due executions {@link #runWakeReady} skipped and logged. */
    private final Set<String> unknownVersionsLogged = ConcurrentHashMap.newKeySet();
    /** Tells {@link EngineOptions#listeners()} of what happens; the workers of this engine tell them too. */
    private final EngineEvents events;
    /**
     * Where the plain step saves of the execution a worker's runner advances on this thread go (batched
     * completion, issue 13); unset elsewhere, where each save is a direct one.
     */
    private final ThreadLocal<SaveCommitter> committer = new ThreadLocal<>();
    /** The execution a worker's runner advances on this thread, with the worker's slots; unset elsewhere. */
    private final ThreadLocal<RunnerRun> runnerRun = new ThreadLocal<>();

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
        this.transitions = new StepTransitions(options.recordHistory());
        this.clock = options.clock();
        this.endWaiters = store instanceof SignalStore signals ? new EndWaiters(signals) : null;
        this.events = new EngineEvents(options.listeners(), clock);
        AtomicInteger threadNumber = new AtomicInteger();
        this.stepThreads = Executors.newCachedThreadPool(task -> {
            Thread t = new Thread(task, "flowmonkey-step-" + threadNumber.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
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
     * <p>With a {@link CreateOptions.Builder#executionId(String) caller-chosen id} the same holds through
     * the primary key, for as long as the execution exists: a repeat returns the first execution with
     * {@code created == false}, unless that one runs another flow, which is refused.
     *
     * <p>With a {@link CreateOptions.Builder#startAt(Instant) start in the future} the execution is
     * stored waiting for that time at its initial step instead of pending; with a
     * {@link CreateOptions.Builder#priority(int) priority} workers claim it before pending executions of
     * lower priority.
     *
     * @param flowId the flow to run
     * @param context the initial context, a JSON-like map; null for empty
     * @param options tenant, idempotency key, parent, metadata, timeouts, start time and priority
     * @return the stored execution and whether this call created it
     * @throws IllegalArgumentException if no version of the flow is registered, or the start time is at
     *     or after the execution's deadline (creation plus the execution timeout; nothing is written)
     * @throws ExecutionNotFoundException if the parent execution does not exist
     * @throws IllegalExecutionStateException if the parent execution has ended or is being cancelled, or
     *     the chosen execution id is taken by an execution of another flow (nothing is written)
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
            if (earlier.isEmpty() && options.executionId() != null) {
                earlier = store.load(options.executionId()).map(e -> sameFlow(e, flow.id()));
            }
            if (earlier.isPresent()) {
                return new CreateResult(earlier.get(), false);
            }
            requireLiveParent(options.parentExecutionId());
        }
        Instant now = clock.instant();
        String id = options.executionId() != null ? options.executionId() : UUID.randomUUID().toString();
        Execution.Builder builder = Execution.builder(id, flow.id(), flow.version())
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
        scheduleStart(builder, options, now);
        Execution fresh = builder.build();
        for (int attempt = 1;; attempt++) {
            try {
                Execution created = events.created(
                        events.timed(StoreCall.Operation.CREATE, () -> store.save(fresh)));
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
            } catch (DuplicateExecutionException taken) {
                // Only a caller-chosen id can be taken; the first create under it wins, race-free.
                Optional<Execution> first = store.load(id);
                if (first.isPresent()) {
                    return new CreateResult(sameFlow(first.get(), flow.id()), false);
                }
                if (attempt == CREATE_ATTEMPTS) {
                    throw taken;
                }
            }
        }
    }

    /**
     * Releases at once what {@link #awaitEnd} holds between calls: the store's subscription to notices
     * of ended executions (on a PostgreSQL store, one pooled connection and its listening thread), which
     * otherwise stays open for a few seconds after the last caller returns, so that bursts of calls share
     * it. Close the engine before the pool it uses. Idempotent, never throws, and safe while other
     * threads use the engine: callers still in {@code awaitEnd} go on by polling
     * ({@link EngineOptions#awaitPollInterval()}), and a later {@code awaitEnd} subscribes again. An
     * engine holds nothing else to release: its step threads are daemons that end when idle.
     */
    @Override
    public void close() {
        if (endWaiters != null) {
            endWaiters.close();
        }
    }

    // ---- flow control: priority and scheduled starts (CreateOptions.priority, startAt) ----

    /** The {@code waitMetadata.reason} of a scheduled start. */
    static final String SCHEDULED_START = "scheduled start";

    /**
     * Sets the priority, and makes a start in the future a timed wait at the initial step; see
     * {@link CreateOptions.Builder#startAt(Instant)} for why a wait, and what its end does.
     */
    private static void scheduleStart(Execution.Builder builder, CreateOptions options, Instant now) {
        builder.priority(options.priority());
        Instant startAt = options.startAt();
        if (startAt == null || !startAt.isAfter(now)) {
            return;
        }
        Execution unscheduled = builder.build();
        Instant deadline = executionDeadline(unscheduled);
        if (deadline != null && !startAt.isBefore(deadline)) {
            throw new IllegalArgumentException("startAt " + startAt + " of execution " + unscheduled.id()
                    + " is not before its deadline " + deadline + " (created at " + now + " plus the execution "
                    + "timeout " + unscheduled.timeoutConfig().executionTimeout() + "), so it would be cancelled "
                    + "before its first step; start it earlier or give CreateOptions.timeout a longer one");
        }
        builder.status(ExecutionStatus.WAITING)
                .waitMetadata(new WaitMetadata(startAt, SCHEDULED_START, now, WakeInfo.start().toData()));
    }

    private static Execution sameFlow(Execution existing, String flowId) {
        if (!existing.flowId().equals(flowId)) {
            throw new IllegalExecutionStateException(existing.id(), existing.status(), "execution id '"
                    + Diagnostics.id(existing.id()) + "' is taken by an execution of flow '"
                    + Diagnostics.id(existing.flowId()) + "', not '" + Diagnostics.id(flowId)
                    + "'; choose another id for this execution");
        }
        return existing;
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
     * @throws CancellationException if the thread was interrupted during a handler (or while waiting for
     *     the handler of a step with a timeout, which is then interrupted too); nothing of that step is
     *     saved and it runs again on the next run
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
     * runs its next attempt at once. The wake is saved together with the step that follows it, unless
     * {@code data} is given: then it is saved with the data first, so that data the store refuses is
     * refused before any handler runs. From then on the execution is running, as after any step: if
     * the step after the wake is lost (the process dies, or its save loses a race), the data is kept,
     * {@code resume} is refused (the execution no longer waits), and {@link #run(String)} or a worker
     * (once it has not been saved for a lease) runs that step again with it.
     *
     * <p>An execution whose wait or execution timeout has passed is cancelled with source
     * {@code TIMEOUT} instead, and returned.
     *
     * @param executionId the execution to resume
     * @param data JSON-like data for the next step, or null to leave the context as it is
     * @return the execution as last stored
     * @throws ExecutionNotFoundException if there is no such execution
     * @throws IllegalExecutionStateException if the execution is not waiting, or waits for child executions
     *     (nothing is written)
     * @throws ConcurrentUpdateException as for {@link #run(String)}, for example when two resumes race
     * @throws io.flowmonkey.execution.StoreException if the store fails
     */
    public RunResult resume(String executionId, Map<String, ?> data) {
        Execution execution = load(executionId);
        if (execution.status() != ExecutionStatus.WAITING) {
            throw new IllegalExecutionStateException(executionId, execution.status(), "execution " + executionId
                    + " is " + execution.status().wireName() + "; only a waiting execution can be resumed");
        }
        refuseResumeOfChildrenWait(execution);
        return new RunResult(drive(execution, data, true));
    }

    /**
     * A wait for children ends when they do: a resume would continue the parent without their
     * outcomes and leave them running under it.
     */
    private static void refuseResumeOfChildrenWait(Execution execution) {
        WaitMetadata wait = execution.waitMetadata();
        if (wait != null && CHILD_ENDED.equals(WakeInfo.of(wait).signal())) {
            throw new IllegalExecutionStateException(execution.id(), execution.status(), "execution "
                    + execution.id() + " waits at step '" + execution.currentStepId() + "' for its child executions; "
                    + "it continues when they end (cancel it to stop them all); the resume was refused");
        }
    }

    /**
     * Runs every waiting execution whose {@code wakeAt} has passed, as {@link #run(String)} would, up to
     * {@code limit} of them, earliest first, and then, on a {@link SignalStore}, waiting executions
     * whose awaited signal is buffered or whose children have ended ({@link SignalStore#findSignalled});
     * call it periodically, for example from a scheduled executor, when no {@link EngineWorker} runs.
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
        Arguments.atLeastOne(limit, "limit");
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
        if (results.size() < limit && store instanceof SignalStore signals) {
            // child flows and signals: waits ended by a buffered signal or a child's end have no wakeAt;
            // without workers, this is what continues them.
            for (Execution execution : signals.findSignalled(limit - results.size())) {
                if (!seen.add(execution.id()) || flows.get(execution.flowId(), execution.flowVersion()).isEmpty()) {
                    continue;
                }
                try {
                    results.add(new RunResult(drive(execution, null, false)));
                } catch (ConcurrentUpdateException lost) {
                    // Another caller continued it first.
                }
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
                events.setAside(unreadable.executionId(), null, unreadable.column());
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
     * @throws ConcurrentUpdateException if steps saved the execution between each of 20 loads and saves
     * @throws io.flowmonkey.execution.StoreException if the store fails
     */
    public CancelResult cancel(String executionId, Cancellation.Source source, String reason) {
        Objects.requireNonNull(source, () -> "cancellation source of execution " + executionId + " must not be null");
        for (int attempt = 1; ; attempt++) {
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
                // A step was saved meanwhile; cancel the execution as it is stored now, but not for ever
                // against a flow whose steps save faster than this caller can load.
                if (attempt == CANCEL_ATTEMPTS) {
                    throw lost;
                }
            }
        }
    }


    /** The listeners' fan-out, for the {@link EngineWorker}s of this engine. */
    EngineEvents events() {
        return events;
    }

    /**
     * Advances an execution an {@link EngineWorker} has just claimed, without loading it again, with the
     * step saves that carry nothing else handed to {@code saves}; with {@code stepSlots} (null for
     * none), the runner lends its slot while the run's last save commits.
     */
    RunResult runClaimed(Execution claimed, SaveCommitter saves, StepSlots stepSlots) {
        committer.set(saves);
        runnerRun.set(stepSlots == null ? null : new RunnerRun(claimed.id(), stepSlots));
        try {
            return new RunResult(drive(claimed, null, false, true));
        } finally {
            committer.remove();
            runnerRun.remove();
        }
    }

    /** The store, for the {@link EngineWorker} that claims this engine's work. */
    ExecutionStore store() {
        return store;
    }

    /** The clock, which an {@link EngineWorker} of this engine times its claims by. */
    Clock clock() {
        return clock;
    }

    /** The flows, whose executions an {@link EngineWorker} of this engine claims. */
    FlowRegistry flows() {
        return flows;
    }

    private Execution load(String executionId) {
        Arguments.nonBlank(executionId, "executionId");
        return events.timed(StoreCall.Operation.LOAD, () -> store.load(executionId))
                .orElseThrow(() -> new ExecutionNotFoundException(executionId));
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
        Instant runStarted = events.runStarted(loaded);
        Execution last = null;
        Throwable thrown = null;
        try {
            return last = driveSteps(loaded, resumeData, resumeRequested, claimedDue);
        } catch (RuntimeException | Error e) {
            thrown = e;
            throw e;
        } finally {
            events.runEnded(loaded, last, runStarted, thrown);
        }
    }

    /** The body of {@link #drive(Execution, Map, boolean, boolean)}, between its run's events. */
    private Execution driveSteps(Execution loaded, Map<String, ?> resumeData, boolean resumeRequested,
                                 boolean claimedDue) {
        Execution current = driveOnce(loaded, resumeData, resumeRequested, claimedDue);
        // child flows and signals: a signal sent before the wait, or while the step before it ran, is
        // buffered already; look once more rather than leave the execution to a worker's next look.
        // Not under a worker: the save that parked the execution gave up its lease, so another worker
        // may claim it now, and both would run the next step; the worker looks again by claiming.
        while (!claimedDue && current.status() == ExecutionStatus.WAITING && awaitedSignal(current) != null
                && current.version() != loaded.version()) {
            Execution next = driveOnce(current, null, false, false);
            if (next == current) {
                return current;
            }
            loaded = current;
            current = next;
        }
        return current;
    }

    /** One pass of {@link #drive}: ends a wait that is due, then runs steps until the next wait or the end. */
    private Execution driveOnce(Execution loaded, Map<String, ?> resumeData, boolean resumeRequested,
                                boolean claimedDue) {
        Execution current = loaded;
        int attempt = 1;
        List<Signal> consumed = List.of();
        if (current.status() == ExecutionStatus.WAITING) {
            WaitMetadata wait = current.waitMetadata();
            // child flows and signals: a buffered signal of the awaited name (or ended children) ends the
            // wait before its timeout does; an explicit resume ends any wait, as it always has.
            Awakening awakening = resumeRequested ? null : awakening(current);
            if (awakening != null && awakening.settled() != null) {
                return awakening.settled();
            }
            boolean due = awakening == null && wait != null && wait.wakeAt() != null
                    && (claimedDue || !wait.wakeAt().isAfter(clock.instant()));
            if (!due && !resumeRequested && awakening == null) {
                return current;
            }
            WakeInfo wake = WakeInfo.of(wait);
            if (due && wake.isTimeout()) {
                return cancelForTimeout(current, timeoutMessage(current, wait));
            }
            String nextStep = current.currentStepId();
            if (wake.isRetry()) {
                attempt = wake.attempt() != null ? wake.attempt() : 1;
            } else if (!wake.isStart()) {
                // A scheduled start (flow control) runs the step it waits at, the first, not its onResume.
                Step waiting = flowOf(current).steps().get(current.currentStepId());
                if (waiting != null && waiting.onResume() != null) {
                    nextStep = waiting.onResume();
                }
            }
            if (awakening != null && awakening.nextStepId() != null) {
                nextStep = awakening.nextStepId();
            }
            Execution.Builder woken = current.toBuilder().status(ExecutionStatus.RUNNING).currentStepId(nextStep)
                    .waitMetadata(null);
            if (awakening != null) {
                woken.context(awakening.context());
                consumed = awakening.consumed();
            } else if (resumeData != null) {
                woken.context(Paths.set(current.context(), RESUME_DATA_KEY, resumeData));
            }
            events.woken(current, wait, resumeRequested, awakening != null);
            if (awakening == null && resumeData != null) {
                // Data from the caller is saved before a step reads it: a store that refuses it (text
                // PostgreSQL cannot hold) refuses it here, with nothing written and no handler called.
                current = savePlain(woken.build());
            } else {
                // Not saved on its own: the next step's save carries the wake, keeping one write per step.
                current = woken.build();
            }
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
                return events.ended(saveStep(fail(current, MAX_STEPS_EXCEEDED, "execution ran " + current.stepCount()
                        + " steps without ending; raise EngineOptions.maxSteps if the flow is meant to be this long",
                        current.currentStepId(), null, now).build(), List.of()));
            }
            current = runStep(current, flowOf(current), attempt, consumed);
            consumed = List.of();
            attempt = 1;
            WaitMetadata pause = current.waitMetadata();
            if (!claimedDue && current.status() == ExecutionStatus.WAITING && pause != null && pause.wakeAt() != null
                    && WakeInfo.of(pause).isRetry() && !pause.wakeAt().isAfter(clock.instant())) {
                // A retry whose pause is already over (backoff zero) runs now; its wake is saved with it.
                // Under a worker the saved wait gave up the lease (migration V5), so the retry is left
                // to a claim: running it here too could run the attempt twice.
                attempt = WakeInfo.of(pause).attempt();
                events.woken(current, pause, false, false);
                current = current.toBuilder().status(ExecutionStatus.RUNNING).waitMetadata(null).build();
            }
        }
    }

    private Flow flowOf(Execution execution) {
        return flows.get(execution.flowId(), execution.flowVersion()).orElseThrow(() -> new IllegalStateException(
                "execution " + execution.id() + " runs flow '" + execution.flowId() + "' version '"
                        + execution.flowVersion() + "', which is not registered; register that version to continue it"));
    }

    /**
     * Runs the current step and saves its outcome: its result and the next position. A result the store
     * refuses is saved as an {@link #OUTPUT_NOT_STORABLE} failure instead, so that the attempt ends
     * rather than running again on every claim.
     */
    private Execution runStep(Execution execution, Flow flow, int attempt, List<Signal> consumed) {
        String stepId = execution.currentStepId() != null ? execution.currentStepId() : flow.initialStepId();
        Step step = flow.steps().get(stepId);
        if (step == null) {
            return events.ended(saveStep(fail(execution, STEP_NOT_FOUND, "flow '" + Diagnostics.id(flow.id())
                    + "' version '" + Diagnostics.id(flow.version()) + "' has no step '" + Diagnostics.id(stepId) + "'",
                    stepId, null, clock.instant()).build(), consumed));
        }
        RunnerRun run = runnerRun.get();
        if (run != null) {
            // A runner that lent its slot for a last save that failed, and now runs the failure's step.
            run.slots().holdForStep(execution.id());
        }
        Instant startedAt = clock.instant();
        events.stepStarted(execution, step, attempt, startedAt);
        StepResult result = checkCoordination(execute(step, execution, attempt), step);
        Instant now = clock.instant();
        StepTransitions.Applied next = transitions.applied(execution, flow, step, attempt, result, startedAt, now);
        Execution saved;
        try {
            saved = saveStep(next.execution(), consumed);
        } catch (ExecutionDataException refused) {
            // If the state before the step is what the store refuses (resume data, say), this save
            // fails the same way and the caller gets the store's exception, with nothing written.
            next = transitions.applied(execution, flow, step, attempt, notStorable(step, refused), startedAt, now);
            saved = saveStep(next.execution(), consumed);
        } catch (DuplicateExecutionException | DuplicateIdempotencyKeyException taken) {
            // No child was started: the step failed, as when it names an unregistered flow, so that its
            // retry policy and onFailure decide what follows.
            next = transitions.applied(execution, flow, step, attempt, StepResult.failure(CHILDREN_NOT_STARTED,
                    "children of step '" + Diagnostics.id(step.id()) + "' were not started: " + taken.getMessage()),
                    startedAt, now);
            saved = saveStep(next.execution(), consumed);
        }
        events.stepEnded(saved, step, attempt, next.recorded(), startedAt, now);
        return saved;
    }

    /**
     * Calls the step's handler and turns whatever it does into a result: an exception or an error
     * becomes {@link #HANDLER_ERROR}, a budget passed {@link #STEP_TIMEOUT}. Only an interrupt of the
     * caller escapes.
     */
    private StepResult execute(Step step, Execution execution, int attempt) {
        Optional<StepHandler> handler = handlers.get(step.handlerType());
        if (handler.isEmpty()) {
            return StepResult.failure(HANDLER_NOT_FOUND, "no handler is registered for type '"
                    + Diagnostics.id(step.handlerType()) + "' of step '" + Diagnostics.id(step.id()) + "'");
        }
        Object input;
        try {
            input = step.input().resolve(execution.context());
        } catch (RuntimeException e) {
            return StepResult.failure(INPUT_ERROR, "input of step '" + Diagnostics.id(step.id())
                    + "' could not be resolved: " + Diagnostics.message(e));
        }
        DefaultStepContext ctx = new DefaultStepContext(input, step, execution, attempt, this, options.objectMapper());
        StepResult result;
        try {
            Duration budget = step.timeout() != null ? step.timeout() : options.stepTimeout();
            result = budget == null ? callLogged(handler.get(), ctx) : callTimed(handler.get(), ctx, budget);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw interrupted(step, execution);
        } catch (Throwable e) {
            if (Thread.currentThread().isInterrupted()) {
                // The interrupt surfaced as some other exception (an I/O client's, say): not the step's fault.
                throw interrupted(step, execution);
            }
            // A handler's exception is the step's failure, never the engine's: it follows retry and onFailure.
            return thrown(e, ctx);
        }
        if (Thread.currentThread().isInterrupted()) {
            // Whoever interrupted us (a stopping worker) may already have handed the execution on.
            throw interrupted(step, execution);
        }
        return result != null ? result : StepResult.failure(HANDLER_ERROR, "handler '"
                + Diagnostics.id(step.handlerType()) + "' of step '" + Diagnostics.id(step.id())
                + "' returned null instead of a StepResult");
    }

    /** Calls the handler with the execution's ids in the MDC, restoring what the MDC held before. */
    private static StepResult callLogged(StepHandler handler, DefaultStepContext ctx) throws Exception {
        String outerRun = RUNNING_EXECUTION.get();
        RUNNING_EXECUTION.set(ctx.executionId());
        try {
            return callWithMdc(handler, ctx);
        } finally {
            RUNNING_EXECUTION.set(outerRun);
        }
    }

    private static StepResult callWithMdc(StepHandler handler, DefaultStepContext ctx) throws Exception {
        String[] before = new String[MDC_KEYS.length];
        for (int i = 0; i < MDC_KEYS.length; i++) {
            before[i] = MDC.get(MDC_KEYS[i]);
        }
        MDC.put(MDC_EXECUTION_ID, ctx.executionId());
        MDC.put(MDC_FLOW_ID, ctx.execution().flowId());
        MDC.put(MDC_STEP_ID, ctx.stepId());
        MDC.put(MDC_ATTEMPT, Integer.toString(ctx.attempt()));
        try {
            return handler.execute(ctx);
        } finally {
            for (int i = 0; i < MDC_KEYS.length; i++) {
                if (before[i] == null) {
                    MDC.remove(MDC_KEYS[i]);
                } else {
                    MDC.put(MDC_KEYS[i], before[i]);
                }
            }
        }
    }

    /**
     * Calls the handler on one of {@link #stepThreads} and waits at most the step's budget. Past it the
     * handler is interrupted and abandoned: the future is dropped, so nothing it returns later is seen.
     */
    private StepResult callTimed(StepHandler handler, DefaultStepContext ctx, Duration budget) throws Throwable {
        Future<StepResult> running = stepThreads.submit(() -> callLogged(handler, ctx));
        try {
            return running.get(budget.compareTo(MAX_NANOS) > 0 ? Long.MAX_VALUE : budget.toNanos(),
                    TimeUnit.NANOSECONDS);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof InterruptedException) {
                // Only this engine interrupts its step threads, and only once it has stopped waiting:
                // an InterruptedException seen here is the handler's own doing, a failure like any other.
                throw new IllegalStateException("handler threw " + cause, cause);
            }
            throw cause;
        } catch (TimeoutException e) {
            running.cancel(true);
            LOG.warn("Step '{}' of execution {} (flow '{}', attempt {}) ran past its timeout of {}; its handler "
                    + "was interrupted and abandoned", ctx.stepId(), ctx.executionId(), ctx.execution().flowId(),
                    ctx.attempt(), budget);
            return StepResult.failure(STEP_TIMEOUT, "step '" + Diagnostics.id(ctx.stepId()) + "' ran past its timeout of "
                    + budget + "; its handler was interrupted and whatever it returns later is discarded");
        } catch (InterruptedException e) {
            running.cancel(true);
            throw e;
        }
    }

    private static StepResult thrown(Throwable e, DefaultStepContext ctx) {
        if (e instanceof StepInputException badInput) {
            return StepResult.failure(INPUT_ERROR, Diagnostics.message(badInput));
        }
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("exception", e.getClass().getName());
        try {
            LOG.warn("Handler '{}' of step '{}' threw on attempt {} of execution {} (flow '{}' version '{}')",
                    ctx.step().handlerType(), ctx.stepId(), ctx.attempt(), ctx.executionId(),
                    ctx.execution().flowId(), ctx.execution().flowVersion(), e);
            details.put("stackTrace", Diagnostics.stackTrace(e));
        } catch (RuntimeException | VirtualMachineError hostile) {
            // A throwable whose toString, getCause or getStackTrace throws must not keep the attempt unsaved.
            details.put("stackTrace", "unavailable: " + hostile.getClass().getName());
        }
        return StepResult.failure(HANDLER_ERROR, Diagnostics.message(e), details);
    }

    private static CancellationException interrupted(Step step, Execution execution) {
        return new CancellationException("interrupted while step '" + step.id() + "' of execution "
                + execution.id() + " ran; nothing of the step was saved and it runs again on the next run");
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
            return events.ended(saveStep(cancelling.toBuilder().status(ExecutionStatus.CANCELLED)
                    .cancelledAt(clock.instant()).waitMetadata(null).build(), List.of()));
        } catch (ConcurrentUpdateException lost) {
            // Only another finisher of this cancellation can have saved a cancelling execution.
            Execution stored = load(cancelling.id());
            return stored.status() == ExecutionStatus.CANCELLED ? stored : finishCancellation(stored);
        }
    }

    // ---- child flows, signals and results ----

    /**
     * The context key under which the step after a {@link StepResult#startChildren} wait finds the
     * children's outcomes: a list, in the order the children were given, of objects with
     * {@code id}, {@code flowId}, {@code status} (the wire name), {@code output} (the child's final
     * context, when it completed) and {@code error} (its error, when it failed).
     */
    public static final String CHILDREN_KEY = "children";
    /** Code of the failure of a parent whose child failed or was cancelled, under {@link ChildFailurePolicy#FAIL_FAST}. */
    public static final String CHILD_FAILED = "CHILD_FAILED";
    /** Code of the failure of a step whose children could not be started (unknown flow, id or key taken). */
    public static final String CHILDREN_NOT_STARTED = "CHILDREN_NOT_STARTED";
    /** Code of the failure of a step that waits for children or a signal on a store that is no {@link SignalStore}. */
    public static final String SIGNALS_UNSUPPORTED = "SIGNALS_UNSUPPORTED";
    /** Signal names starting with this are the engine's own; {@link #signal} refuses them. */
    public static final String RESERVED_SIGNAL_PREFIX = "flowmonkey.";

    /** The signal a child sends its waiting parent when it ends. */
    static final String CHILD_ENDED = RESERVED_SIGNAL_PREFIX + "childEnded";
    /** The children to start, in the wait data from the step until the save that starts them; never stored. */
    static final String START = "start";
    /** More ended children than any parent waits for: one look finds every marker. */
    private static final int MARKER_LIMIT = 10_000;

    /**
     * Sends a named signal to an execution and returns at once. The signal is stored durably beside
     * the execution, by an insert that never conflicts with a step running meanwhile, and waits there
     * until the execution awaits that name ({@link StepResult#awaitSignal}): the oldest unconsumed
     * signal of the name ends such a wait, on whatever thread continues the execution (an
     * {@link EngineWorker}, told at once, or a later {@link #run(String)}), never on the caller's.
     * A signal ends one wait only, and never a wait for another name.
     *
     * @param executionId the execution
     * @param signalName the signal's name
     * @param data JSON-like data for the step after the wait (under {@value #RESUME_DATA_KEY}), or null
     * @throws ExecutionNotFoundException if there is no such execution
     * @throws IllegalExecutionStateException if the execution has ended or is being cancelled (nothing is written)
     * @throws IllegalArgumentException if the name is blank or starts with {@value #RESERVED_SIGNAL_PREFIX}
     * @throws UnsupportedOperationException if the engine's store is no {@link SignalStore}
     * @throws io.flowmonkey.execution.StoreException if the store fails, or cannot store the data
     */
    public void signal(String executionId, String signalName, Map<String, ?> data) {
        requireSignalName(signalName);
        SignalStore signals = signalStore("signal");
        Execution target = load(executionId);
        if (target.status().isTerminal() || target.status() == ExecutionStatus.CANCELLING) {
            throw new IllegalExecutionStateException(executionId, target.status(), "execution " + executionId + " is "
                    + target.status().wireName() + "; signal '" + signalName + "' would never be consumed");
        }
        signals.sendSignal(Signal.of(executionId, signalName, data));
        events.signalled(target, signalName);
    }

    /**
     * Loads an execution as stored.
     *
     * @param executionId the execution
     * @return the execution, or empty if there is none with that id
     * @throws IllegalArgumentException if {@code executionId} is null or blank
     * @throws io.flowmonkey.execution.StoreException if the store fails
     */
    public Optional<Execution> get(String executionId) {
        requireExecutionId(executionId);
        return store.load(executionId);
    }

    /**
     * Waits until an execution has ended (completed, failed or cancelled) and returns it as stored.
     * On a {@link SignalStore} the wait is woken by the store's notice of the end: while it waits, the
     * caller keeps a {@link SignalStore#WATCH_END_SIGNAL} signal for the execution (one insert, and one
     * delete on return), so that only watched ends are announced. It also looks every
     * {@link EngineOptions#awaitPollInterval()}, so a lost notice delays it by that at most. Waiting
     * runs nothing: workers, or other callers, must run the execution.
     *
     * @param executionId the execution
     * @param timeout how long to wait, zero or more
     * @return the ended execution
     * @throws AwaitTimeoutException if it had not ended when the timeout passed
     * @throws IllegalStateException if called from a handler of the same execution, which cannot end
     *     while that handler runs
     * @throws ExecutionNotFoundException if there is no such execution (or it was deleted meanwhile)
     * @throws CancellationException if the calling thread is interrupted (its interrupt flag is set again)
     * @throws io.flowmonkey.execution.StoreException if the store fails
     */
    public Execution awaitEnd(String executionId, Duration timeout) {
        Objects.requireNonNull(timeout, () -> "awaitEnd timeout of execution " + executionId + " must not be null");
        if (timeout.isNegative()) {
            throw new IllegalArgumentException("awaitEnd timeout of execution " + executionId
                    + " must not be negative, got " + timeout);
        }
        Execution execution = load(executionId);
        if (execution.status().isTerminal()) {
            return execution;
        }
        if (executionId.equals(RUNNING_EXECUTION.get())) {
            throw new IllegalStateException("a handler of execution " + executionId + " awaits the end of its own "
                    + "execution, which cannot end while that handler runs; return a StepResult instead");
        }
        // Saturated, so that a timeout too long for nanoseconds waits as good as for ever.
        long wait = timeout.compareTo(MAX_NANOS.dividedBy(2)) < 0 ? timeout.toNanos() : Long.MAX_VALUE / 2;
        long deadline = System.nanoTime() + wait;
        // Registered and watching before the next look, so an end announced after that look wakes this caller.
        EndWaiters.Waiter waiter = endWaiters != null ? endWaiters.register(executionId)
                : new EndWaiters.Waiter(executionId);
        Signal watch = null;
        try {
            if (store instanceof SignalStore signals) {
                watch = signals.sendSignal(Signal.of(executionId, SignalStore.WATCH_END_SIGNAL, null));
            }
            while (true) {
                execution = load(executionId);
                if (execution.status().isTerminal()) {
                    return execution;
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new AwaitTimeoutException(executionId, execution.status(), timeout);
                }
                waiter.await(Math.min(left, options.awaitPollInterval().toNanos()));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CancellationException("interrupted while awaiting the end of execution " + executionId);
        } finally {
            if (endWaiters != null) {
                endWaiters.unregister(waiter);
            }
            unwatch(watch);
        }
    }

    /** Removes a caller's watch; one left behind (the store failed) only costs a notice at the end. */
    private void unwatch(Signal watch) {
        if (watch == null) {
            return;
        }
        try {
            ((SignalStore) store).saveWithSignals(List.of(), List.of(watch), List.of());
        } catch (RuntimeException leftBehind) {
            // Removed with the execution when it is deleted; until then its end sends one notice more.
        }
    }

    /**
     * Ends the wait of an execution only if it waits at the named step, then runs on exactly like
     * {@link #resume(String, Map)}. Use it where the caller knows which wait its data is for (an
     * approval for step {@code "approve"}), so that it can never end an earlier or later wait.
     *
     * @param executionId the execution to resume
     * @param waitingStepId the step whose wait the caller means
     * @param data JSON-like data for the next step, or null to leave the context as it is
     * @return the execution as last stored
     * @throws IllegalArgumentException if {@code waitingStepId} is null or blank
     * @throws ExecutionNotFoundException if there is no such execution
     * @throws IllegalExecutionStateException if it is not waiting, waits at another step, or waits to
     *     retry that step or for child executions (nothing is written)
     * @throws ConcurrentUpdateException as for {@link #run(String)}
     * @throws io.flowmonkey.execution.StoreException if the store fails
     */
    public RunResult resume(String executionId, String waitingStepId, Map<String, ?> data) {
        if (waitingStepId == null || waitingStepId.isBlank()) {
            throw new IllegalArgumentException("waitingStepId of the resume of execution " + executionId
                    + " must be a non-blank step id, got " + (waitingStepId == null ? "null" : "'" + waitingStepId + "'"));
        }
        Execution execution = load(executionId);
        WaitMetadata wait = execution.waitMetadata();
        if (execution.status() != ExecutionStatus.WAITING || !waitingStepId.equals(execution.currentStepId())
                || wait != null && WakeInfo.of(wait).isRetry()) {
            String actual = execution.status() != ExecutionStatus.WAITING ? "is " + execution.status().wireName()
                    : wait != null && WakeInfo.of(wait).isRetry()
                    ? "waits to retry step '" + execution.currentStepId() + "'"
                    : "waits at step '" + execution.currentStepId() + "'";
            throw new IllegalExecutionStateException(executionId, execution.status(), "execution " + executionId
                    + " " + actual + ", not at step '" + waitingStepId + "'; the resume was refused");
        }
        refuseResumeOfChildrenWait(execution);
        return new RunResult(drive(execution, data, true));
    }

    /** Checks a signal name for {@link #signal} and {@link StepResult#awaitSignal}. */
    static void requireSignalName(String signalName) {
        Arguments.nonBlank(signalName, "signal name");
        if (signalName.startsWith(RESERVED_SIGNAL_PREFIX)) {
            throw new IllegalArgumentException("signal name must not start with '" + RESERVED_SIGNAL_PREFIX
                    + "', which the engine keeps for its own signals, got '" + signalName + "'");
        }
    }

    private static void requireExecutionId(String executionId) {
        Arguments.nonBlank(executionId, "executionId");
    }

    private SignalStore signalStore(String what) {
        if (store instanceof SignalStore signals) {
            return signals;
        }
        throw new UnsupportedOperationException(what + " needs a store that keeps signals (a SignalStore, such as "
                + "PgExecutionStore or InMemoryExecutionStore); the engine's store is a " + store.getClass().getName());
    }

    /** Whether a waiting execution awaits a signal or children, which a store finds due by itself. */
    static boolean awaitsSignal(Execution execution) {
        return execution.status() == ExecutionStatus.WAITING && awaitedSignal(execution) != null;
    }

    /** The signal name a waiting execution awaits (for children, the engine's own), or null. */
    private static String awaitedSignal(Execution execution) {
        WaitMetadata wait = execution.waitMetadata();
        return wait == null ? null : WakeInfo.of(wait).signal();
    }

    /** The ids of the children a waiting execution awaits; empty for any other execution. */
    private static List<String> childIds(Execution execution) {
        List<String> ids = WakeInfo.of(execution.waitMetadata()).children();
        return ids == null ? List.of() : ids;
    }

    /** The execution a worker's runner advances on its thread, and the worker's slots it may lend. */
    private record RunnerRun(String executionId, StepSlots slots) {
    }

    /**
     * How a wait for a signal or children ended: the context and next step to continue with and the
     * signals to consume in the save that continues; or, when nothing is left to run, the execution as
     * {@code settled} and saved.
     */
    private record Awakening(Map<String, Object> context, String nextStepId, List<Signal> consumed,
                             Execution settled) {
    }

    /** Whether a signal or children wait has ended; null while it goes on (or for any other wait). */
    private Awakening awakening(Execution waiting) {
        String name = awaitedSignal(waiting);
        if (name == null || !(store instanceof SignalStore signals)) {
            return null;
        }
        if (!CHILD_ENDED.equals(name)) {
            List<Signal> oldest = signals.findSignals(waiting.id(), name, 1);
            return oldest.isEmpty() ? null : new Awakening(Paths.set(waiting.context(), RESUME_DATA_KEY,
                    oldest.get(0).data()), null, oldest, null);
        }
        // Markers first, children second: each marker read was committed with its child's end, so the
        // children read next show that end; markers committed later stay, and wake the parent again.
        List<Signal> markers = signals.findSignals(waiting.id(), CHILD_ENDED, MARKER_LIMIT);
        if (markers.isEmpty()) {
            return null;
        }
        List<Map<String, Object>> outcomes = childOutcomes(waiting);
        boolean allEnded = outcomes.stream().allMatch(o -> ExecutionStatus.fromWireName((String) o.get("status"))
                .isTerminal());
        boolean anyFailed = outcomes.stream().anyMatch(o -> !ExecutionStatus.COMPLETED.wireName().equals(o.get("status"))
                && ExecutionStatus.fromWireName((String) o.get("status")).isTerminal());
        boolean failFast = ChildFailurePolicy.FAIL_FAST.name().equals(WakeInfo.of(waiting.waitMetadata()).policy());
        if (!allEnded && !(failFast && anyFailed)) {
            // Not yet: stay waiting, having seen these markers.
            return new Awakening(null, null, markers, saveStep(waiting, markers));
        }
        Map<String, Object> context = Paths.set(waiting.context(), CHILDREN_KEY, outcomes);
        if (!(failFast && anyFailed)) {
            // Every child has ended, so every marker is committed: consume those that came since the first look too.
            return new Awakening(context, null, signals.findSignals(waiting.id(), CHILD_ENDED, MARKER_LIMIT), null);
        }
        // Cancelled before the parent moves on: a crash in between leaves the parent waiting, to do this again.
        String reason = "a sibling of parent execution " + waiting.id() + " failed";
        for (Map<String, Object> o : outcomes) {
            if (!ExecutionStatus.fromWireName((String) o.get("status")).isTerminal()) {
                cancel((String) o.get("id"), Cancellation.Source.PARENT, reason);
            }
        }
        List<Map<String, Object>> settledOutcomes = childOutcomes(waiting);
        context = Paths.set(waiting.context(), CHILDREN_KEY, settledOutcomes);
        // The siblings' ends, and any before them, left markers: consume them all with the parent's move on.
        markers = signals.findSignals(waiting.id(), CHILD_ENDED, MARKER_LIMIT);
        Step step = flowOf(waiting).steps().get(waiting.currentStepId());
        if (step != null && step.onFailure() != null) {
            return new Awakening(context, step.onFailure(), markers, null);
        }
        Map<String, Object> failedChild = settledOutcomes.stream()
                .filter(o -> !ExecutionStatus.COMPLETED.wireName().equals(o.get("status"))).findFirst().orElseThrow();
        return new Awakening(null, null, markers, events.ended(saveStep(fail(waiting.toBuilder().context(context),
                CHILD_FAILED, "child execution " + failedChild.get("id") + " of flow '" + failedChild.get("flowId")
                        + "' ended " + failedChild.get("status"), waiting.currentStepId(),
                Map.of(CHILDREN_KEY, settledOutcomes), clock.instant()).build(), markers)));
    }

    /** The outcome of each child the wait lists, in its order. */
    private List<Map<String, Object>> childOutcomes(Execution waiting) {
        Map<String, Execution> children = new LinkedHashMap<>();
        for (Execution child : store.findChildren(waiting.id())) {
            children.put(child.id(), child);
        }
        List<Map<String, Object>> outcomes = new ArrayList<>();
        for (String id : childIds(waiting)) {
            Execution child = children.get(id);
            Map<String, Object> outcome = new LinkedHashMap<>();
            outcome.put("id", id);
            if (child == null) {
                // Deleted behind the engine's back: it will never end, so count it as cancelled.
                outcome.put("status", ExecutionStatus.CANCELLED.wireName());
                outcomes.add(outcome);
                continue;
            }
            outcome.put("flowId", child.flowId());
            outcome.put("status", child.status().wireName());
            if (child.status() == ExecutionStatus.COMPLETED) {
                outcome.put("output", child.context());
            }
            if (child.error() != null) {
                Map<String, Object> error = new LinkedHashMap<>();
                error.put("code", child.error().code());
                error.put("message", child.error().message());
                outcome.put("error", error);
            }
            outcomes.add(outcome);
        }
        return outcomes;
    }

    /** Turns a wait the store cannot serve, or children that cannot be started, into the step's failure. */
    private StepResult checkCoordination(StepResult result, Step step) {
        if (!(result instanceof StepResult.StartChildren) && !(result instanceof StepResult.AwaitSignal)) {
            return result;
        }
        if (!(store instanceof SignalStore)) {
            return StepResult.failure(SIGNALS_UNSUPPORTED, "step '" + Diagnostics.id(step.id()) + "' waits for "
                    + (result instanceof StepResult.AwaitSignal ? "a signal" : "children") + ", which needs a "
                    + "SignalStore; the engine's store is a " + store.getClass().getName());
        }
        if (result instanceof StepResult.StartChildren start) {
            for (ChildSpec child : start.children()) {
                if (flows.get(child.flowId()).isEmpty()) {
                    return StepResult.failure(CHILDREN_NOT_STARTED, "step '" + Diagnostics.id(step.id())
                            + "' starts a child of flow '" + Diagnostics.id(child.flowId()) + "', which is not registered");
                }
            }
        }
        return result;
    }

    /**
     * Saves an execution the engine advanced, with what goes with it atomically: the signals its wake
     * consumed, the children its step starts, and the marker a child that ended leaves for its
     * waiting parent.
     */
    private Execution saveStep(Execution next, List<Signal> consumed) {
        if (!(store instanceof SignalStore signals)) {
            return savePlain(next);
        }
        List<Execution> batch = new ArrayList<>();
        batch.add(next);
        WaitMetadata wait = next.waitMetadata();
        if (next.status() == ExecutionStatus.WAITING && wait != null && wait.data().get(START) instanceof List<?> specs) {
            Map<String, Object> data = new LinkedHashMap<>(wait.data());
            data.remove(START);
            Execution parent = next.toBuilder()
                    .waitMetadata(new WaitMetadata(wait.wakeAt(), wait.reason(), wait.waitStartedAt(), data)).build();
            batch.set(0, parent);
            for (Object spec : specs) {
                batch.add(child(parent, (Map<?, ?>) spec));
            }
            // A taken child id or key throws with nothing written; runStep turns it into the step's failure.
            List<Execution> saved = events.timed(StoreCall.Operation.SAVE,
                    () -> signals.saveWithSignals(batch, consumed, List.of()));
            saved.subList(1, saved.size()).forEach(events::created);
            return saved.get(0);
        }
        List<Signal> sent = next.status().isTerminal() && next.parentExecutionId() != null && awaitedByParent(next)
                ? List.of(Signal.of(next.parentExecutionId(), CHILD_ENDED, Map.of("child", next.id(),
                        "status", next.status().wireName())))
                : List.of();
        if (consumed.isEmpty() && sent.isEmpty()) {
            return savePlain(next);
        }
        return events.timed(StoreCall.Operation.SAVE, () -> signals.saveWithSignals(batch, consumed, sent)).get(0);
    }

    /**
     * A step's save that carries nothing else: under a worker, batched with its other runners' saves.
     * A save that leaves the execution waiting or ended is the last of a worker's run (see
     * {@link #driveOnce}: under a worker nothing runs on after a wait), so the runner lends its slot
     * while it commits.
     */
    private Execution savePlain(Execution next) {
        SaveCommitter saves = committer.get();
        if (saves == null) {
            return events.timed(StoreCall.Operation.SAVE, () -> store.save(next));
        }
        RunnerRun run = runnerRun.get();
        // Only for the save of the execution the runner advances: not for one a handler makes through its
        // engine (a nested cancel, say), whose step still runs, nor for a child its cancellation cancels.
        boolean lent = run != null && run.executionId().equals(next.id()) && RUNNING_EXECUTION.get() == null
                && run.slots().lendFor(next.status() == ExecutionStatus.WAITING || next.status().isTerminal());
        return events.timed(StoreCall.Operation.SAVE, () -> saves.save(next, lent));
    }

    /**
     * Whether the parent of a child that ends waits for it. While any child of a
     * {@link StepResult#startChildren} wait is live, its parent stays waiting (the children were saved
     * with that wait), so this look cannot miss a parent that needs the marker.
     */
    private boolean awaitedByParent(Execution child) {
        Optional<Execution> parent;
        try {
            parent = store.load(child.parentExecutionId());
        } catch (ExecutionDataException unreadable) {
            // The child's own end must be saved whatever its parent's row holds; the marker costs
            // nothing if the parent does not wait for it, and wakes it if it does.
            LOG.warn("Parent {} of child execution {} cannot be read ({}); the child's end is saved with a marker "
                    + "for the parent", child.parentExecutionId(), child.id(), unreadable.getMessage());
            return true;
        }
        return parent.filter(p -> p.status() == ExecutionStatus.WAITING
                && CHILD_ENDED.equals(awaitedSignal(p))
                && childIds(p).contains(child.id()))
                .isPresent();
    }

    /** A child execution to insert with its parent's wait. */
    private Execution child(Execution parent, Map<?, ?> spec) {
        String flowId = (String) spec.get("flowId");
        Flow flow = flows.get(flowId).orElseThrow(() -> new IllegalStateException("flow '" + flowId
                + "' of a child of execution " + parent.id() + " is no longer registered"));
        Instant now = clock.instant();
        @SuppressWarnings("unchecked")
        Map<String, ?> input = (Map<String, ?>) spec.get("input");
        Execution.Builder child = Execution.builder((String) spec.get("id"), flow.id(), flow.version())
                .currentStepId(flow.initialStepId())
                .context(input)
                .tenantId((String) spec.get("tenantId"))
                .parentExecutionId(parent.id())
                .timeoutConfig(timeoutConfig(CreateOptions.DEFAULTS))
                .createdAt(now)
                .updatedAt(now);
        if (spec.get("idempotencyKey") instanceof String key) {
            child.idempotencyKey(key).idempotencyExpiresAt(now.plus(options.idempotencyTtl()));
        }
        return child.build();
    }

    // ---- Operate (issue 12): retry, restart from a step, bulk cancel and retry by query ----

    /** The {@link StepHistory#outcome()} recorded when {@link #retry(String)} clears a failure: {@value}. */
    public static final String RETRY_OUTCOME = "retry";
    /** The metadata key of an execution {@link #restartFrom(String, String)} made, naming the original: {@value}. */
    public static final String RESTARTED_FROM_KEY = "flowmonkey.restartedFrom";
    /** The metadata key of an execution {@link #restartFrom(String, String)} made, naming its first step: {@value}. */
    public static final String RESTARTED_AT_STEP_KEY = "flowmonkey.restartedAtStep";

    /**
     * Continues a failed execution from the step that failed, as if that step had not run yet: a fresh
     * attempt budget (attempt 1 of its {@link RetryPolicy}), error and {@code failedAt} cleared, a
     * history entry with outcome {@value #RETRY_OUTCOME} carrying the cleared error's code and message.
     * The rewound execution is saved (status {@code running}) before any handler runs, so two retries
     * racing each other fail one of them with {@link ConcurrentUpdateException} before its handler is
     * called; then it runs like {@link #run(String)}, on the caller's thread.
     *
     * <p>The step is the failure's {@link ExecutionError#stepId()}, else the current step. The step count
     * is kept: an execution that failed with {@link #MAX_STEPS_EXCEEDED} fails again at once unless
     * {@link EngineOptions#maxSteps()} was raised; one past its execution timeout is cancelled with
     * source {@code TIMEOUT}, as {@code run} would.
     *
     * @param executionId the failed execution
     * @return the execution as last stored
     * @throws ExecutionNotFoundException if there is no such execution
     * @throws IllegalExecutionStateException if it is not failed (nothing is written)
     * @throws ConcurrentUpdateException if another caller saved it first (nothing of this call is written)
     * @throws IllegalStateException if its flow version is no longer registered (nothing is written)
     * @throws io.flowmonkey.execution.StoreException if the store fails
     */
    public RunResult retry(String executionId) {
        Execution rewound = events.retried(store.save(rewindForRetry(load(executionId), ExecutionStatus.RUNNING)));
        return new RunResult(drive(rewound, null, false));
    }

    /**
     * Runs an ended execution's flow again from {@code stepId}, as a new execution (a fork): a new id, the
     * same flow version, tenant, timeouts and metadata (plus {@value #RESTARTED_FROM_KEY} and
     * {@value #RESTARTED_AT_STEP_KEY}), and the original's context as it was when it ended, outputs of
     * later steps included (steps that run again overwrite their own outputs). No parent, no idempotency
     * key, empty history. It is saved, then run like {@link #run(String)} on the caller's thread.
     *
     * <p>Why a fork and not a rewind of the same execution: the original stays as it ended, with its
     * history and error, for audit; an ended execution never comes back to life under the feet of whoever
     * read it as ended (a parent, an idempotent caller holding its key, a report); and side effects the
     * original's steps had are on record next to the new run's. Find the forks of an execution with
     * {@code ExecutionQuery.builder().metadata(Engine.RESTARTED_FROM_KEY, id)}.
     *
     * @param executionId the ended execution (completed, failed or cancelled)
     * @param stepId the step of its flow to start at
     * @return the new execution as last stored
     * @throws ExecutionNotFoundException if there is no such execution
     * @throws IllegalExecutionStateException if it has not ended (cancel it first; nothing is written)
     * @throws IllegalArgumentException if its flow version has no step {@code stepId}
     * @throws IllegalStateException if its flow version is no longer registered (nothing is written)
     * @throws io.flowmonkey.execution.StoreException if the store fails
     */
    public RunResult restartFrom(String executionId, String stepId) {
        Execution original = load(executionId);
        if (!original.status().isTerminal()) {
            throw new IllegalExecutionStateException(executionId, original.status(), "execution " + executionId
                    + " is " + original.status().wireName() + "; only an ended execution can be restarted from a "
                    + "step, so cancel it first");
        }
        Flow flow = flowOf(original);
        if (stepId == null || !flow.steps().containsKey(stepId)) {
            throw new IllegalArgumentException("flow '" + flow.id() + "' version '" + flow.version() + "' of execution "
                    + executionId + " has no step " + (stepId == null ? "null" : "'" + stepId + "'")
                    + "; steps are " + flow.steps().keySet());
        }
        Map<String, Object> metadata = new LinkedHashMap<>(original.metadata());
        metadata.put(RESTARTED_FROM_KEY, original.id());
        metadata.put(RESTARTED_AT_STEP_KEY, stepId);
        Instant now = clock.instant();
        Execution fork = Execution.builder(UUID.randomUUID().toString(), original.flowId(), original.flowVersion())
                .status(ExecutionStatus.RUNNING)
                .currentStepId(stepId)
                .context(original.context())
                .tenantId(original.tenantId())
                .metadata(metadata)
                .timeoutConfig(original.timeoutConfig())
                .createdAt(now)
                .updatedAt(now)
                .build();
        return new RunResult(drive(events.created(store.save(fork)), null, false));
    }

    /**
     * Cancels every execution the query matches, as {@link #cancel(String, Cancellation.Source, String)}
     * does one (children included), a page of {@link ExecutionQuery#limit()} at a time. Each execution is
     * looked at again just before it is cancelled: one that no longer matches (it moved on meanwhile), has
     * ended, is being cancelled by someone else, or is gone, is skipped; one whose step was saved in
     * between is looked at once more. So two {@code cancelAll}s racing each other count each execution
     * once between them.
     *
     * @param query which executions; its limit is the batch size
     * @param source who cancels
     * @param reason why, or null
     * @return how many matched, were cancelled, and were skipped
     * @throws io.flowmonkey.execution.StoreException if the store fails; executions cancelled before stay cancelled
     */
    public BulkResult cancelAll(ExecutionQuery query, Cancellation.Source source, String reason) {
        Objects.requireNonNull(source, "cancellation source must not be null");
        return forEachMatch(query, found -> {
            Execution current = found;
            for (int attempt = 1; attempt <= CANCEL_ATTEMPTS; attempt++) {
                // Cancelling already: another canceller is at it (a racing cancelAll counts it, not this one),
                // or one died, and a worker or the next cancel finishes it.
                if (current.status().isTerminal() || current.status() == ExecutionStatus.CANCELLING
                        || !query.matches(current)) {
                    return false;
                }
                try {
                    finishCancellation(store.save(beginCancellation(current, source, reason)));
                    return true;
                } catch (ConcurrentUpdateException lost) {
                    // A step was saved meanwhile: look again, and cancel it as it is now if it still matches.
                    Optional<Execution> reloaded = store.load(current.id());
                    if (reloaded.isEmpty()) {
                        return false;
                    }
                    current = reloaded.get();
                }
            }
            // Its steps kept saving it faster than it could be cancelled: counted as skipped.
            return false;
        });
    }

    /**
     * Queues every failed execution the query matches for a retry by {@link EngineWorker}s, a page at a
     * time: each is rewound as {@link #retry(String)} does (from its failed step, fresh attempt budget,
     * history entry) and saved {@code pending}, so that workers claim and run it; nothing runs on the
     * caller's thread. One that is no longer failed or matching when its turn comes, or that another
     * caller saved first, is skipped.
     *
     * @param query which executions; its status filter must be empty or {@code FAILED} only; its limit
     *     is the batch size
     * @return how many matched, were queued, and were skipped
     * @throws IllegalArgumentException if the query selects statuses other than {@code FAILED}
     * @throws io.flowmonkey.execution.StoreException if the store fails; executions queued before stay queued
     */
    public BulkResult retryAll(ExecutionQuery query) {
        Objects.requireNonNull(query, "query must not be null");
        if (!query.statuses().isEmpty() && !query.statuses().equals(java.util.Set.of(ExecutionStatus.FAILED))) {
            throw new IllegalArgumentException("retryAll retries failed executions only; the query selects "
                    + query.statuses() + ": leave its statuses empty or set FAILED");
        }
        ExecutionQuery failed = query.toBuilder().status(ExecutionStatus.FAILED).build();
        return forEachMatch(failed, e -> {
            try {
                events.retried(store.save(rewindForRetry(e, ExecutionStatus.PENDING)));
                return true;
            } catch (ConcurrentUpdateException lost) {
                return false;
            }
        });
    }

    /**
     * Walks the query's matches page by page (keyset, so changes made on the way move no row into or out
     * of pages not yet read) and applies {@code action} to each one that, freshly loaded, still matches.
     */
    private BulkResult forEachMatch(ExecutionQuery query, Predicate<Execution> action) {
        Objects.requireNonNull(query, "query must not be null");
        long matched = 0;
        long changed = 0;
        ExecutionQuery next = query;
        while (true) {
            Page<Execution> page = store.query(next);
            for (Execution found : page.items()) {
                matched++;
                Optional<Execution> current = store.load(found.id());
                if (current.isPresent() && query.matches(current.get()) && action.test(current.get())) {
                    changed++;
                }
            }
            if (!page.hasNext()) {
                return new BulkResult(matched, changed, matched - changed);
            }
            next = query.after(page.nextCursor());
        }
    }

    private Execution rewindForRetry(Execution failed, ExecutionStatus status) {
        if (failed.status() != ExecutionStatus.FAILED) {
            throw new IllegalExecutionStateException(failed.id(), failed.status(), "execution " + failed.id() + " is "
                    + failed.status().wireName() + "; only a failed execution can be retried");
        }
        Flow flow = flowOf(failed);
        ExecutionError error = failed.error();
        String stepId = error != null && error.stepId() != null ? error.stepId() : failed.currentStepId();
        Execution.Builder rewound = failed.toBuilder().status(status).currentStepId(stepId).error(null)
                .failedAt(null).waitMetadata(null);
        if (options.recordHistory()) {
            Instant now = clock.instant();
            Step step = stepId == null ? null : flow.steps().get(stepId);
            Map<String, Object> cleared = new LinkedHashMap<>();
            if (error != null) {
                cleared.put("code", error.code());
                cleared.put("message", error.message());
            }
            List<StepHistory> history = new ArrayList<>(failed.history());
            history.add(new StepHistory(stepId != null ? stepId : flow.initialStepId(),
                    step == null ? null : step.handlerType(), RETRY_OUTCOME, now, now, 0,
                    error == null ? null : cleared));
            rewound.history(history);
        }
        return rewound.build();
    }

    // ---- Diagnose (issue 12): why an execution is not moving ----

    /**
     * Explains in one sentence why an execution is where it is, without changing anything: "due in 42 s",
     * "leased by orders-3 until …", "no live worker serves order-flow@2", "retry 3/5 after backoff, due in
     * 8 s", "waiting for signal 'approval' since …", "waiting for 2 child executions", "set aside: column
     * context cannot be read", "completed at …".
     *
     * <p>Whether a live worker serves the execution's flow version is known only on a store that keeps
     * worker heartbeats (a {@link io.flowmonkey.execution.WorkerRegistry}, such as {@code PgExecutionStore});
     * on another the sentence says that it cannot be known. Times are compared with this engine's clock,
     * while leases and heartbeats are stamped by the database's: a skew between the two shows in the
     * seconds reported.
     *
     * @param executionId the execution
     * @return the diagnosis
     * @throws IllegalArgumentException if {@code executionId} is null or blank
     * @throws ExecutionNotFoundException if there is no such execution
     * @throws io.flowmonkey.execution.StoreException if the store fails
     */
    public Diagnosis diagnose(String executionId) {
        requireExecutionId(executionId);
        return new Diagnoser(store, flows, clock).diagnose(executionId);
    }
}
