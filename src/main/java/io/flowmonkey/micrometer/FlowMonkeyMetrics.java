package io.flowmonkey.micrometer;

import io.flowmonkey.engine.EngineEvent;
import io.flowmonkey.engine.EngineListener;
import io.flowmonkey.engine.EngineOptions;
import io.flowmonkey.engine.StoreCall;
import io.flowmonkey.execution.ExecutionQuery;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.ExecutionStore;
import io.flowmonkey.internal.Arguments;
import io.flowmonkey.postgres.PgExecutionStore;
import io.flowmonkey.postgres.StoreHealth;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.EnumMap;
import java.util.Iterator;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.ToDoubleFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Metrics and traces of an engine and its workers, through Micrometer: an {@link EngineListener} to
 * register in {@link EngineOptions.Builder#listener(EngineListener)}, and a {@link MeterBinder} to bind
 * to your {@link MeterRegistry} ({@code metrics.bindTo(registry)}; Spring Boot binds every
 * {@code MeterBinder} bean by itself). Events told before it is bound are not counted; bound to several
 * registries, it counts into each (binding one registry again changes nothing).
 *
 * <pre>{@code
 * FlowMonkeyMetrics metrics = FlowMonkeyMetrics.builder().store(store).build();
 * metrics.bindTo(meterRegistry);
 * Engine engine = new Engine(store, handlers, flows, EngineOptions.builder().listener(metrics).build());
 * }</pre>
 *
 * <p>Meters (the README's Operating section has the table): timers {@value #STORE_OPERATION}
 * ({@code operation}, {@code outcome}) and {@value #STEP_DURATION} ({@code flow}, {@code step},
 * {@code outcome}); counter {@value #EVENTS} ({@code event}, {@code flow}); histograms
 * {@value #CLAIM_LATENESS} and {@value #WAKE_LATENESS} ({@code flow}); with a {@link Builder#store store},
 * gauges {@value #EXECUTIONS} ({@code status}) and, on a {@link PgExecutionStore},
 * {@value #DUE} ({@code kind}) and the table's health ({@code flowmonkey.table.*}, {@code flowmonkey.vacuum.*}).
 *
 * <p><b>Cardinality.</b> The {@code flow} tag takes at most {@link Builder#maxFlowTags} distinct flow ids
 * and the {@code step} tag at most {@link Builder#maxStepTags} distinct (flow, step) pairs; ids seen after
 * that are tagged {@value #OTHER}. Flow versions, execution ids and error codes are never tags.
 *
 * <p><b>Gauges</b> are read from the store at most once per {@link Builder#gaugeRefresh} (default
 * {@link #DEFAULT_GAUGE_REFRESH}), by whichever scrape finds them stale first; scrapes in between, and
 * scrapes while a refresh runs, read the cached values. Counts by status are
 * {@link ExecutionStore#countEstimate} (planner estimates on PostgreSQL).
 *
 * <p><b>Traces.</b> With an {@link Builder#observationRegistry ObservationRegistry}, each run of an
 * execution is an observation {@value #RUN_OBSERVATION} and each step attempt in it an observation
 * {@value #STEP_OBSERVATION} whose parent it is, both with the execution id as the high-cardinality key
 * {@code execution.id}: a tracing bridge (micrometer-tracing with OpenTelemetry or Brave) turns them
 * into one span per step under one span per run. The step's observation is in scope while its handler
 * runs on the engine's thread, so spans a handler makes are its children. (With a timeout, a handler
 * runs on a thread of its own, where the scope does not follow.)
 *
 * <p>Thread-safe. Micrometer classes are loaded only by this package: an engine without it needs no
 * Micrometer on the class path.
 */
public final class FlowMonkeyMetrics implements EngineListener, MeterBinder {

    /** Timer of store calls. */
    public static final String STORE_OPERATION = "flowmonkey.store.operation";
    /** Timer of step attempts, handler time only. */
    public static final String STEP_DURATION = "flowmonkey.step.duration";
    /** Counter of events, by type. */
    public static final String EVENTS = "flowmonkey.events";
    /** Histogram of how late pending executions were claimed, from their last save ({@code updatedAt}). */
    public static final String CLAIM_LATENESS = "flowmonkey.claim.lateness";
    /** Histogram of how late timed waits were claimed, from their {@code wakeAt}. */
    public static final String WAKE_LATENESS = "flowmonkey.wake.lateness";
    /** Gauge of executions by status. */
    public static final String EXECUTIONS = "flowmonkey.executions";
    /** Gauge of due work no worker holds, by kind ({@code pending}, {@code woken}). */
    public static final String DUE = "flowmonkey.executions.due";
    /** The observation of one run of an execution. */
    public static final String RUN_OBSERVATION = "flowmonkey.run";
    /** The observation of one step attempt. */
    public static final String STEP_OBSERVATION = "flowmonkey.step";
    /** The tag value of flows and steps past the caps. */
    public static final String OTHER = "_other";

    /** Distinct flow ids tagged unless set: {@value}. */
    public static final int DEFAULT_MAX_FLOW_TAGS = 100;
    /** Distinct (flow, step) pairs tagged unless set: {@value}. */
    public static final int DEFAULT_MAX_STEP_TAGS = 1000;
    /** How long gauge values are kept before the store is asked again, unless set: 15 seconds. */
    public static final Duration DEFAULT_GAUGE_REFRESH = Duration.ofSeconds(15);

    private static final Logger LOG = LoggerFactory.getLogger(FlowMonkeyMetrics.class);
    private static final EngineEvent.Type[] EVENT_TYPES = EngineEvent.Type.values();
    private static final StoreCall.Operation[] OPERATIONS = StoreCall.Operation.values();
    private static final StoreCall.Outcome[] OUTCOMES = StoreCall.Outcome.values();

    private final ExecutionStore store;
    private final Duration gaugeRefresh;
    private final Clock clock;
    private final ObservationRegistry observations;
    private final TagLimiter flows;
    private final TagLimiter steps;

    /** Every meter, registered once here; each registry bound is added to it and gets them all. */
    private final CompositeMeterRegistry meters = new CompositeMeterRegistry();
    /**
     * The meters of each {@code flow} tag value, keyed by that value: at most {@code maxFlowTags} flow ids
     * and {@value #OTHER}. Every event of every runner looks here, so the lookup of a flow within the cap
     * is one map read by the flow id as told (a flow past the cap: that read, its tag, and a read of
     * {@value #OTHER}), and the meters of a flow are then found by index, not by a key built per event.
     */
    private final Map<String, FlowMeters> byFlow = new ConcurrentHashMap<>();
    /** {@value #STORE_OPERATION} timers by operation and outcome, made on first use. */
    private final AtomicReferenceArray<Timer> storeTimers =
            new AtomicReferenceArray<>(OPERATIONS.length * OUTCOMES.length);
    /** The runs and step attempts open on each thread: events of one run come on the thread that runs it. */
    private final ThreadLocal<ArrayDeque<Span>> open = ThreadLocal.withInitial(ArrayDeque::new);

    private final ReentrantLock refreshing = new ReentrantLock();
    private volatile Snapshot snapshot;

    private FlowMonkeyMetrics(Builder b) {
        this.store = b.store;
        this.gaugeRefresh = b.gaugeRefresh;
        this.clock = b.clock;
        this.observations = b.observations == null || b.observations.isNoop() ? null : b.observations;
        this.flows = new TagLimiter(b.maxFlowTags);
        this.steps = new TagLimiter(b.maxStepTags);
        registerGauges();
    }

    /**
     * Starts configuring metrics with the defaults: no store (no gauges), no observations.
     *
     * @return a builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Publishes every meter to {@code registry} (the gauges at once, the rest as events make them).
     *
     * @param registry the registry
     */
    @Override
    public synchronized void bindTo(MeterRegistry registry) {
        Objects.requireNonNull(registry, "registry must not be null");
        if (!meters.getRegistries().contains(registry)) {
            meters.add(registry);
        }
    }

    private void registerGauges() {
        if (store == null) {
            return;
        }
        for (ExecutionStatus status : ExecutionStatus.values()) {
            gauge(EXECUTIONS, "executions by status" + (store instanceof PgExecutionStore
                    ? " (the planner's estimate)" : ""), s -> s.byStatus.getOrDefault(status, 0L),
                    "status", status.wireName());
        }
        if (store instanceof PgExecutionStore) {
            gauge(DUE, "pending executions no worker holds (counted up to " + StoreHealth.DUE_COUNT_LIMIT + ")",
                    s -> s.health.duePending(), "kind", "pending");
            gauge(DUE, "waiting executions past their wakeAt that no worker holds (counted up to "
                    + StoreHealth.DUE_COUNT_LIMIT + ")", s -> s.health.dueWaiting(), "kind", "woken");
            gauge("flowmonkey.table.dead.tuples", "dead rows of the executions table", s -> s.health.deadTuples());
            gauge("flowmonkey.table.live.tuples", "live rows of the executions table", s -> s.health.liveTuples());
            gauge("flowmonkey.table.autovacuum.age", "seconds since autovacuum last vacuumed the executions table; "
                    + "NaN if never", s -> secondsSince(s.health.lastAutovacuum(), s.at));
            gauge("flowmonkey.vacuum.oldest.transaction.age", "seconds the oldest transaction holding back VACUUM "
                    + "has been open", s -> s.health.oldestTransactionAge().toMillis() / 1000.0);
            gauge("flowmonkey.vacuum.oldest.xmin.age", "age in transactions of the oldest snapshot holding back "
                    + "VACUUM", s -> s.health.oldestXminAge());
        }
    }

    private void gauge(String name, String description, ToDoubleFunction<Snapshot> value, String... tags) {
        Gauge.builder(name, this, m -> {
            Snapshot s = m.snapshot();
            return s == null ? Double.NaN : value.applyAsDouble(s);
        }).description(description).tags(tags).strongReference(true).register(meters);
    }

    @Override
    public void onEvent(EngineEvent event) {
        FlowMeters flow = flowMeters(event.flowId());
        flow.event(event.type()).increment();
        if (event instanceof EngineEvent.StepSucceeded s) {
            stepEnded(flow, s.stepId(), StepOutcome.SUCCESS, s.duration(), null);
        } else if (event instanceof EngineEvent.StepFailed s) {
            stepEnded(flow, s.stepId(), StepOutcome.FAILURE, s.duration(), s.errorCode());
        } else if (event instanceof EngineEvent.StepRetrying s) {
            stepEnded(flow, s.stepId(), StepOutcome.RETRY, s.duration(), s.errorCode());
        } else if (event instanceof EngineEvent.ExecutionClaimed c && c.dueAt() != null) {
            flow.lateness(c.status() == ExecutionStatus.PENDING)
                    .record(nonNegative(Duration.between(c.dueAt(), c.at())));
        } else if (observations != null) {
            observe(event, flow);
        }
    }

    @Override
    public void onStoreCall(StoreCall call) {
        int i = call.operation().ordinal() * OUTCOMES.length + call.outcome().ordinal();
        Timer timer = storeTimers.get(i);
        if (timer == null) {
            // Registering an id again returns the meter registered first, so a race makes no second one.
            timer = Timer.builder(STORE_OPERATION).description("store calls of the engine and its workers")
                    .tags("operation", call.operation().tagValue(), "outcome", call.outcome().tagValue())
                    .register(meters);
            storeTimers.set(i, timer);
        }
        timer.record(call.duration());
    }

    /** The meters of the flow tag of {@code flowId}: its own within the cap, else those of {@value #OTHER}. */
    private FlowMeters flowMeters(String flowId) {
        String key = flowId == null ? OTHER : flowId;
        FlowMeters known = byFlow.get(key);
        if (known != null) {
            return known;
        }
        String tag = flowId == null ? OTHER : flows.tag(flowId);
        return byFlow.computeIfAbsent(tag, FlowMeters::new);
    }

    /** The meters of the step tag of {@code stepId} in {@code flow}: its own within the cap, else {@value #OTHER}. */
    private StepMeters stepMeters(FlowMeters flow, String stepId) {
        StepMeters step = flow.steps.get(stepId);
        if (step != null) {
            return step;
        }
        if (steps.tag(flow.tag + '\u0000' + stepId) == OTHER) {
            return flow.otherStep();
        }
        return flow.steps.computeIfAbsent(stepId, id -> new StepMeters(flow.tag, id));
    }

    private void stepEnded(FlowMeters flow, String stepId, StepOutcome outcome, Duration took, String errorCode) {
        stepMeters(flow, stepId).timer(outcome).record(took);
        if (observations != null) {
            Span span = open.get().peek();
            if (span != null && span.step != null) {
                span.step.lowCardinalityKeyValue("outcome", outcome.tagValue);
                if (errorCode != null) {
                    span.step.highCardinalityKeyValue("error.code", errorCode);
                }
                span.closeStep();
            }
        }
    }

    /** Runs and step attempts as observations; step outcomes close theirs in {@link #stepEnded}. */
    private void observe(EngineEvent event, FlowMeters flowMeters) {
        String flow = flowMeters.tag;
        ArrayDeque<Span> stack = open.get();
        if (event instanceof EngineEvent.RunStarted r) {
            Observation run = Observation.createNotStarted(RUN_OBSERVATION, observations)
                    .contextualName("flowmonkey run " + flow)
                    .lowCardinalityKeyValue("flow", flow)
                    .highCardinalityKeyValue("execution.id", r.executionId())
                    .highCardinalityKeyValue("flow.version", String.valueOf(r.flowVersion()))
                    .start();
            stack.push(new Span(r.executionId(), run, run.openScope()));
        } else if (event instanceof EngineEvent.StepStarted s) {
            Span span = stack.peek();
            if (span == null || !span.executionId.equals(s.executionId())) {
                return;
            }
            String step = stepMeters(flowMeters, s.stepId()).tag;
            span.closeStep();
            span.step = Observation.createNotStarted(STEP_OBSERVATION, observations)
                    .contextualName("flowmonkey step " + step)
                    .parentObservation(span.run)
                    .lowCardinalityKeyValue("flow", flow)
                    .lowCardinalityKeyValue("step", step)
                    .highCardinalityKeyValue("execution.id", s.executionId())
                    .highCardinalityKeyValue("attempt", Integer.toString(s.attempt()))
                    .start();
            span.stepScope = span.step.openScope();
        } else if (event instanceof EngineEvent.RunEnded r) {
            for (Iterator<Span> it = stack.iterator(); it.hasNext(); ) {
                Span span = it.next();
                if (span.executionId.equals(r.executionId())) {
                    it.remove();
                    if (span.step != null) {
                        // A step with no outcome: the run threw (a lost race, an interrupt) before its save.
                        span.step.lowCardinalityKeyValue("outcome", "unsaved");
                        span.closeStep();
                    }
                    span.run.lowCardinalityKeyValue("status", r.status().wireName());
                    if (r.thrown() != null) {
                        span.run.highCardinalityKeyValue("thrown", r.thrown());
                    }
                    span.scope.close();
                    span.run.stop();
                    break;
                }
            }
            if (stack.isEmpty()) {
                open.remove();
            }
        }
    }

    /** The cached gauge values, refreshed first if stale and nobody else is refreshing them. */
    Snapshot snapshot() {
        Snapshot s = snapshot;
        Instant now = clock.instant();
        if (s != null && Duration.between(s.at, now).compareTo(gaugeRefresh) < 0) {
            return s;
        }
        if (!refreshing.tryLock()) {
            return s;
        }
        try {
            Snapshot again = snapshot;
            if (again != s) {
                return again;
            }
            Map<ExecutionStatus, Long> byStatus = new EnumMap<>(ExecutionStatus.class);
            for (ExecutionStatus status : ExecutionStatus.values()) {
                byStatus.put(status, store.countEstimate(ExecutionQuery.builder().status(status).build()));
            }
            StoreHealth health = store instanceof PgExecutionStore pg ? pg.health() : null;
            snapshot = new Snapshot(now, byStatus, health);
            return snapshot;
        } catch (RuntimeException e) {
            // Kept stale rather than failing the scrape; looked at again after the refresh interval.
            LOG.warn("FlowMonkey gauges could not be refreshed from the store: {}", e.getMessage());
            if (s != null) {
                snapshot = new Snapshot(now, s.byStatus, s.health);
            }
            return s;
        } finally {
            refreshing.unlock();
        }
    }

    private static double secondsSince(Instant then, Instant now) {
        return then == null ? Double.NaN : Duration.between(then, now).toMillis() / 1000.0;
    }

    private static Duration nonNegative(Duration d) {
        return d.isNegative() ? Duration.ZERO : d;
    }

    /** Gauge values as read at {@code at}. */
    record Snapshot(Instant at, Map<ExecutionStatus, Long> byStatus, StoreHealth health) {
    }

    /** An open run and its open step attempt, on one thread. */
    private static final class Span {
        final String executionId;
        final Observation run;
        final Observation.Scope scope;
        Observation step;
        Observation.Scope stepScope;

        Span(String executionId, Observation run, Observation.Scope scope) {
            this.executionId = executionId;
            this.run = run;
            this.scope = scope;
        }

        void closeStep() {
            if (step != null) {
                stepScope.close();
                step.stop();
                step = null;
                stepScope = null;
            }
        }
    }

    /** The outcomes a step attempt's timer is tagged with. */
    private enum StepOutcome {
        SUCCESS("success"), FAILURE("failure"), RETRY("retry");

        final String tagValue;

        StepOutcome(String tagValue) {
            this.tagValue = tagValue;
        }
    }

    /**
     * The meters of one {@code flow} tag value, each registered on first use. Registering an id again
     * returns the meter registered first, so two threads racing to make one get the same meter.
     */
    private final class FlowMeters {
        final String tag;
        private final AtomicReferenceArray<Counter> events = new AtomicReferenceArray<>(EVENT_TYPES.length);
        /** By step id, only those within the step cap: the steps past it must not grow the map. */
        final Map<String, StepMeters> steps = new ConcurrentHashMap<>();
        private volatile StepMeters otherStep;
        private volatile Timer claimLateness;
        private volatile Timer wakeLateness;

        FlowMeters(String tag) {
            this.tag = tag;
        }

        Counter event(EngineEvent.Type type) {
            Counter counter = events.get(type.ordinal());
            if (counter == null) {
                counter = Counter.builder(EVENTS).description("execution events by type")
                        .tags("event", type.tagValue(), "flow", tag).register(meters);
                events.set(type.ordinal(), counter);
            }
            return counter;
        }

        /** The meters of the steps of this flow past the step cap, tagged {@value #OTHER}. */
        StepMeters otherStep() {
            StepMeters step = otherStep;
            if (step == null) {
                step = new StepMeters(tag, OTHER);
                otherStep = step;
            }
            return step;
        }

        /** {@value #CLAIM_LATENESS} if {@code pending}, else {@value #WAKE_LATENESS}. */
        Timer lateness(boolean pending) {
            Timer timer = pending ? claimLateness : wakeLateness;
            if (timer == null) {
                timer = Timer.builder(pending ? CLAIM_LATENESS : WAKE_LATENESS)
                        .description(pending ? "claim time minus the last save of pending executions"
                                : "claim time minus wakeAt of timed waits")
                        .tags("flow", tag).publishPercentileHistogram().register(meters);
                if (pending) {
                    claimLateness = timer;
                } else {
                    wakeLateness = timer;
                }
            }
            return timer;
        }
    }

    /** The {@value #STEP_DURATION} timers of one (flow, step) tag pair, by outcome, each made on first use. */
    private final class StepMeters {
        final String flow;
        final String tag;
        private final AtomicReferenceArray<Timer> byOutcome = new AtomicReferenceArray<>(StepOutcome.values().length);

        StepMeters(String flow, String tag) {
            this.flow = flow;
            this.tag = tag;
        }

        Timer timer(StepOutcome outcome) {
            Timer timer = byOutcome.get(outcome.ordinal());
            if (timer == null) {
                timer = Timer.builder(STEP_DURATION).description("step attempts, handler time")
                        .tags("flow", flow, "step", tag, "outcome", outcome.tagValue).register(meters);
                byOutcome.set(outcome.ordinal(), timer);
            }
            return timer;
        }
    }

    /** Caps the distinct values of one tag: the first {@code max} seen keep their name, later ones are {@link #OTHER}. */
    private static final class TagLimiter {
        private final int max;
        private final Map<String, Boolean> seen = new ConcurrentHashMap<>();
        /** Set once {@code max} values are seen: from then on no value is added, and none takes the lock. */
        private volatile boolean full;

        TagLimiter(int max) {
            this.max = max;
        }

        String tag(String value) {
            if (seen.containsKey(value)) {
                return value;
            }
            if (full) {
                // Looked at again: the value may have been added between the first look and the flag.
                return seen.containsKey(value) ? value : OTHER;
            }
            synchronized (this) {
                if (seen.size() < max) {
                    seen.put(value, Boolean.TRUE);
                    full = seen.size() == max;
                    return value;
                }
                return seen.containsKey(value) ? value : OTHER;
            }
        }
    }

    /** Configures {@link FlowMonkeyMetrics}. Each setter checks its argument. Not thread-safe. */
    public static final class Builder {
        private ExecutionStore store;
        private Duration gaugeRefresh = DEFAULT_GAUGE_REFRESH;
        private Clock clock = Clock.systemUTC();
        private ObservationRegistry observations;
        private int maxFlowTags = DEFAULT_MAX_FLOW_TAGS;
        private int maxStepTags = DEFAULT_MAX_STEP_TAGS;

        private Builder() {
        }

        /**
         * Sets the store whose executions the gauges count: {@value FlowMonkeyMetrics#EXECUTIONS} by status for any store;
         * on a {@link PgExecutionStore} also {@value FlowMonkeyMetrics#DUE} and the table's health
         * ({@link PgExecutionStore#health()}).
         *
         * @param store the engine's store
         * @return this builder
         */
        public Builder store(ExecutionStore store) {
            this.store = Objects.requireNonNull(store, "store must not be null");
            return this;
        }

        /**
         * Sets how long gauge values are kept before the store is asked again.
         *
         * @param refresh at least one second
         * @return this builder
         * @throws IllegalArgumentException if shorter than one second
         */
        public Builder gaugeRefresh(Duration refresh) {
            Objects.requireNonNull(refresh, "gaugeRefresh must not be null");
            if (refresh.compareTo(Duration.ofSeconds(1)) < 0) {
                throw new IllegalArgumentException("gaugeRefresh must be at least 1 s, got " + refresh);
            }
            this.gaugeRefresh = refresh;
            return this;
        }

        /**
         * Sets the clock that times {@link #gaugeRefresh}; tests pass one they can move.
         *
         * @param clock the clock
         * @return this builder
         */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock must not be null");
            return this;
        }

        /**
         * Sets the registry runs and steps are observed in, for traces (and, with Micrometer's default
         * handlers, timers {@value FlowMonkeyMetrics#RUN_OBSERVATION} and {@value FlowMonkeyMetrics#STEP_OBSERVATION}). A no-op registry
         * observes nothing.
         *
         * @param registry the registry
         * @return this builder
         */
        public Builder observationRegistry(ObservationRegistry registry) {
            this.observations = Objects.requireNonNull(registry, "observationRegistry must not be null");
            return this;
        }

        /**
         * Sets how many distinct flow ids the {@code flow} tag takes; later ones are {@value FlowMonkeyMetrics#OTHER}.
         *
         * @param max at least 1
         * @return this builder
         * @throws IllegalArgumentException if less than 1
         */
        public Builder maxFlowTags(int max) {
            Arguments.atLeastOne(max, "maxFlowTags");
            this.maxFlowTags = max;
            return this;
        }

        /**
         * Sets how many distinct (flow, step) pairs the {@code step} tag takes; later ones are {@value FlowMonkeyMetrics#OTHER}.
         *
         * @param max at least 1
         * @return this builder
         * @throws IllegalArgumentException if less than 1
         */
        public Builder maxStepTags(int max) {
            Arguments.atLeastOne(max, "maxStepTags");
            this.maxStepTags = max;
            return this;
        }

        /**
         * Builds the metrics; bind them to a registry and register them as a listener.
         *
         * @return the metrics
         */
        public FlowMonkeyMetrics build() {
            return new FlowMonkeyMetrics(this);
        }
    }
}
