package io.flowmonkey.bench;

import io.flowmonkey.engine.CreateResult;
import io.flowmonkey.engine.Engine;
import io.flowmonkey.engine.EngineWorker;
import io.flowmonkey.engine.Flow;
import io.flowmonkey.engine.HandlerRegistry;
import io.flowmonkey.engine.InMemoryFlowRegistry;
import io.flowmonkey.engine.RunResult;
import io.flowmonkey.engine.Step;
import io.flowmonkey.engine.StepResult;
import io.flowmonkey.engine.WorkerStats;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.postgres.PgExecutionStore;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.HdrHistogram.Histogram;

/**
 * The engine's share of the benchmark: a flow of three steps whose handlers do nothing, so that
 * what is measured is the engine and its store, one save per step.
 */
final class EngineScenarios {

    static final String FLOW_ID = "bench-three-noop-steps";
    /** The same flow with one step: the smallest unit of work a worker can run. */
    static final String ONE_STEP_FLOW_ID = "bench-one-noop-step";
    static final String NOOP = "noop";
    static final int STEPS = 3;
    /** A step that waits {@link #WAIT}, then one that records how late it was woken. */
    static final String TIMED_WAIT_FLOW_ID = "bench-timed-wait";
    /**
     * The tenant of the executions workers drain: {@code -Dbench.tenant} (through {@code bench.jvmArgs}),
     * empty for none, which V14's partial tenant indexes do not index; {@code tenant-1} by default.
     */
    private static final String TENANT = System.getProperty("bench.tenant", "tenant-1").isEmpty() ? null
            : System.getProperty("bench.tenant", "tenant-1");
    static final Duration WAIT = Duration.ofSeconds(1);
    /** The poll interval of a drain: pending work is announced by notices, so this only bounds a missed one. */
    static final Duration DRAIN_POLL_INTERVAL = Duration.ofMillis(100);

    private final Fixtures fixtures;
    private final Supplier<String> newId;
    /** When each waiting execution asked to be woken, until its second step runs. */
    private final Map<String, Instant> wakeAts = new ConcurrentHashMap<>();
    /** From each {@code wakeAt} to the start of the step after it. */
    private final Lateness lateness = new Lateness();
    /** Handler calls of any of the flows: the peer comparison's measure of a drain cut short. */
    private final LongAdder stepsRun = new LongAdder();
    private final HandlerRegistry handlers = new HandlerRegistry()
            .register(NOOP, ctx -> {
                stepsRun.increment();
                return StepResult.success(null);
            })
            .register("sleep", ctx -> {
                stepsRun.increment();
                // Whole milliseconds, as stored: lateness is measured from the wakeAt the worker sees.
                Instant wakeAt = Instant.ofEpochMilli(System.currentTimeMillis() + WAIT.toMillis());
                wakeAts.put(ctx.executionId(), wakeAt);
                return StepResult.waitUntil(wakeAt, "timer");
            })
            .register("woken", ctx -> {
                stepsRun.increment();
                lateness.record(wakeAts.remove(ctx.executionId()), Instant.now());
                return StepResult.success(null);
            });
    private final InMemoryFlowRegistry flows = new InMemoryFlowRegistry()
            .register(Flow.builder(FLOW_ID, "1")
                    .initialStep("first")
                    .step(Step.builder("first", NOOP).onSuccess("second").build())
                    .step(Step.builder("second", NOOP).onSuccess("third").build())
                    .step(Step.builder("third", NOOP).build())
                    .build())
            .register(Flow.builder(ONE_STEP_FLOW_ID, "1")
                    .initialStep("only")
                    .step(Step.builder("only", NOOP).build())
                    .build())
            .register(Flow.builder(TIMED_WAIT_FLOW_ID, "1")
                    .initialStep("sleep")
                    .step(Step.builder("sleep", "sleep").onResume("woken").build())
                    .step(Step.builder("woken", "woken").build())
                    .build());

    EngineScenarios(Fixtures fixtures, Supplier<String> newId) {
        this.fixtures = fixtures;
        this.newId = newId;
    }

    Engine engine(PgExecutionStore store) {
        return new Engine(store, handlers, flows);
    }

    /**
     * {@code create} then {@code run} to completion, with the 1 KB context. The raw side writes the
     * same rows with the same statements: one insert and one update per step.
     */
    Scenarios.Scenario createAndRun() {
        return new Scenarios.Scenario("engine", "engine create+run, 3 steps", 1, 0,
                "4 (create + 1 per step)",
                t -> thread -> {
                    Engine engine = engine(t.store());
                    return () -> {
                        CreateResult created = engine.create(FLOW_ID, fixtures.context);
                        RunResult done = engine.run(created.execution());
                        if (done.execution().status() != ExecutionStatus.COMPLETED) {
                            throw new IllegalStateException("bench flow ended " + done.execution().status()
                                    + ": " + done.execution().error());
                        }
                    };
                },
                t -> thread -> () -> {
                    RawJdbc.Row row = t.raw().insert(newId.get(), "tenant-1", "pending");
                    for (int i = 0; i < STEPS; i++) {
                        t.raw().update(row);
                    }
                });
    }

    /** Pending executions of a flow, for workers to drain. */
    List<Execution> pending(String flowId, int count) {
        String initialStep = flows.get(flowId).orElseThrow().initialStepId();
        List<Execution> batch = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            batch.add(Execution.builder(newId.get(), flowId, "1")
                    .tenantId(TENANT)
                    .currentStepId(initialStep)
                    .context(fixtures.context)
                    .build());
        }
        return batch;
    }

    /**
     * Starts one {@link EngineWorker} of {@code threads} runners on a store whose table holds
     * {@code count} pending executions and nothing else, and times until all are completed.
     *
     * @return the wall time in nanoseconds
     */
    long drain(PgExecutionStore store, int threads, int count) throws InterruptedException {
        return runWorker(store, threads, count, DRAIN_POLL_INTERVAL,
                stats -> stats.completed() + stats.failed() >= count);
    }

    /**
     * As {@link #drain}, with executions of the timed-wait flow and the worker's default poll
     * interval, so that wake-ups come from notices and the worker's own timers. The lateness of
     * each wake-up is recorded for {@link #lateness()}.
     *
     * @return the wall time in nanoseconds, from start until every execution ran its second step
     */
    long timedWaits(PgExecutionStore store, int threads, int count) throws InterruptedException {
        lateness.reset();
        return runWorker(store, threads, count, EngineWorker.DEFAULT_POLL_INTERVAL,
                stats -> lateness.count() >= count);
    }

    /** The lateness of the wake-ups of the last {@link #timedWaits} run, in microseconds. */
    Histogram lateness() {
        return lateness.micros();
    }

    /** How many steps of the last {@link #timedWaits} run started before their {@code wakeAt}. */
    long earlyWakeups() {
        return lateness.early();
    }

    /** Steps run by any engine of these scenarios so far. */
    long stepsRun() {
        return stepsRun.sum();
    }

    /** The wake-ups of timed waits run by any worker of this engine since the last reset. */
    Lateness wakeups() {
        return lateness;
    }

    /**
     * Starts one {@link EngineWorker} of {@code threads} runners, as {@link #drain}, {@link #timedWaits}
     * and the peer comparison use it: the throughput setting of {@link #claimAhead(int)} and the default
     * save batch size, or the claim-ahead buffer and save batch size given as {@code -Dbench.claimAhead}
     * and {@code -Dbench.saveBatchSize} (through {@code bench.jvmArgs}), so that one build can measure
     * each change on its own: {@code 0} and {@code 1} turn both off.
     */
    EngineWorker startWorker(PgExecutionStore store, int threads, Duration pollInterval) {
        return EngineWorker.builder(engine(store)).workerId("bench-worker").threads(threads)
                .pollInterval(pollInterval)
                .claimAhead(claimAhead(threads))
                .saveBatchSize(Integer.getInteger("bench.saveBatchSize", EngineWorker.DEFAULT_SAVE_BATCH_SIZE))
                .build().start();
    }

    /**
     * The claim-ahead buffer of a benchmark worker of {@code threads} runners: {@code -Dbench.claimAhead},
     * or as many as its runners, at least the default ({@value EngineWorker#DEFAULT_CLAIM_AHEAD}). That is
     * the throughput setting, as db-scheduler's lock-and-fetch, which the comparison gives db-scheduler,
     * fetches up to as many executions as it has threads; the default keeps the buffer small for slow
     * steps.
     */
    static int claimAhead(int threads) {
        return Integer.getInteger("bench.claimAhead", Math.max(EngineWorker.DEFAULT_CLAIM_AHEAD, threads));
    }

    private long runWorker(PgExecutionStore store, int threads, int count, Duration pollInterval,
                           Predicate<WorkerStats> done) throws InterruptedException {
        long started = System.nanoTime();
        EngineWorker worker = startWorker(store, threads, pollInterval);
        try {
            long deadline = started + Duration.ofMinutes(5).toNanos();
            while (!done.test(worker.stats())) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("worker ran " + worker.stats() + " for " + count
                            + " executions in 5 minutes");
                }
                Thread.sleep(2);
            }
            long elapsed = System.nanoTime() - started;
            if (worker.stats().failed() > 0) {
                throw new IllegalStateException("worker failed executions: " + worker.stats());
            }
            return elapsed;
        } finally {
            worker.close();
        }
    }
}
