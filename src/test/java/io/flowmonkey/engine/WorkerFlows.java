package io.flowmonkey.engine;

import io.flowmonkey.execution.LeasingExecutionStore;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/** The flows the worker tests run, and a record of every handler call. */
final class WorkerFlows {

    /** Three steps, a → b → c, each recording its call. */
    static final String THREE_STEPS = "three-steps";
    /** One step that waits, then a step that records completion. */
    static final String TIMED_WAIT = "timed-wait";

    /** Calls per "executionId/stepId". */
    final Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();
    private final StepHandler observer;

    /** Counts calls in {@link #calls}. */
    WorkerFlows() {
        this.observer = null;
    }

    /** Also tells {@code observer} of every call; its result is ignored. */
    WorkerFlows(StepHandler observer) {
        this.observer = observer;
    }

    Engine engine(LeasingExecutionStore store, StepHandler middleStep, Duration wait) {
        return engine(store, middleStep, wait, EngineOptions.DEFAULTS);
    }

    Engine engine(LeasingExecutionStore store, StepHandler middleStep, Duration wait, EngineOptions options) {
        StepHandler record = ctx -> {
            calls.computeIfAbsent(ctx.executionId() + "/" + ctx.stepId(), k -> new AtomicInteger()).incrementAndGet();
            if (observer != null) {
                observer.execute(ctx);
            }
            return StepResult.success(ctx.stepId());
        };
        HandlerRegistry handlers = new HandlerRegistry()
                .register("record", record)
                .register("middle", ctx -> {
                    record.execute(ctx);
                    return middleStep.execute(ctx);
                })
                .register("wait", ctx -> StepResult.waitFor(wait, "timer"));
        InMemoryFlowRegistry flows = new InMemoryFlowRegistry()
                .register(Flow.builder(THREE_STEPS, "1").initialStep("a")
                        .step(Step.builder("a", "record").outputKey("a").onSuccess("b").build())
                        .step(Step.builder("b", "middle").outputKey("b").onSuccess("c").build())
                        .step(Step.builder("c", "record").outputKey("c").build())
                        .build())
                .register(Flow.builder(TIMED_WAIT, "1").initialStep("sleep")
                        .step(Step.builder("sleep", "wait").onResume("done").build())
                        .step(Step.builder("done", "record").outputKey("done").build())
                        .build());
        return new Engine(store, handlers, flows, options);
    }

    Engine engine(LeasingExecutionStore store) {
        return engine(store, ctx -> StepResult.success("b"), Duration.ofMillis(300));
    }

    int callsOf(String executionId, String stepId) {
        AtomicInteger n = calls.get(executionId + "/" + stepId);
        return n == null ? 0 : n.get();
    }
}
