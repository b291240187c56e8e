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
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.postgres.PgExecutionStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * The engine's share of the benchmark: a flow of three steps whose handlers do nothing, so that
 * what is measured is the engine and its store, one save per step.
 */
final class EngineScenarios {

    static final String FLOW_ID = "bench-three-noop-steps";
    static final String NOOP = "noop";
    static final int STEPS = 3;

    private final Fixtures fixtures;
    private final Supplier<String> newId;
    private final HandlerRegistry handlers = new HandlerRegistry().register(NOOP, ctx -> StepResult.success(null));
    private final InMemoryFlowRegistry flows = new InMemoryFlowRegistry().register(Flow.builder(FLOW_ID, "1")
            .initialStep("first")
            .step(Step.builder("first", NOOP).onSuccess("second").build())
            .step(Step.builder("second", NOOP).onSuccess("third").build())
            .step(Step.builder("third", NOOP).build())
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

    /** Pending executions of the bench flow, for workers to drain. */
    List<Execution> pending(int count) {
        List<Execution> batch = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            batch.add(Execution.builder(newId.get(), FLOW_ID, "1")
                    .tenantId("tenant-1")
                    .currentStepId("first")
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
        Engine engine = engine(store);
        long started = System.nanoTime();
        EngineWorker worker = EngineWorker.builder(engine).workerId("bench-worker").threads(threads)
                .pollInterval(Duration.ofMillis(100)).build();
        try {
            worker.start();
            long deadline = started + Duration.ofMinutes(5).toNanos();
            while (worker.stats().completed() + worker.stats().failed() < count) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("worker drained " + worker.stats() + " of " + count
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
