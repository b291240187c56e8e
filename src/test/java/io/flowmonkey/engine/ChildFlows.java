package io.flowmonkey.engine;

import io.flowmonkey.execution.LeasingExecutionStore;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The fan-out flows of {@link ChildFlowsMultiProcessTest}, shared with the worker JVMs it starts: a
 * parent starts three children and then sums what they returned.
 */
final class ChildFlows {

    static final String PARENT = "fanout-parent";
    static final String CHILD = "fanout-child";
    static final int CHILDREN = 3;

    private ChildFlows() {
    }

    /**
     * An engine of both flows; {@code work} runs as each child's step (it may record the call), and
     * the child's output is {@code parent * 100 + index}.
     */
    static Engine engine(LeasingExecutionStore store, StepHandler work) {
        HandlerRegistry handlers = new HandlerRegistry()
                .register("fanout.spawn", ctx -> {
                    List<ChildSpec> children = new ArrayList<>();
                    for (int i = 0; i < CHILDREN; i++) {
                        children.add(ChildSpec.of(CHILD, Map.of("parent", ctx.context().get("n"), "index", i)));
                    }
                    return StepResult.startChildren(children);
                })
                .register("fanout.work", ctx -> {
                    work.execute(ctx);
                    Map<?, ?> input = ctx.context();
                    return StepResult.success(((Number) input.get("parent")).intValue() * 100
                            + ((Number) input.get("index")).intValue());
                })
                .register("fanout.gather", ctx -> {
                    List<Object> values = new ArrayList<>();
                    for (Object outcome : (List<?>) ctx.context().get(Engine.CHILDREN_KEY)) {
                        values.add(((Map<?, ?>) ((Map<?, ?>) outcome).get("output")).get("value"));
                    }
                    return StepResult.success(values);
                });
        InMemoryFlowRegistry flows = new InMemoryFlowRegistry()
                .register(Flow.builder(PARENT, "1").initialStep("spawn")
                        .step(Step.builder("spawn", "fanout.spawn").onResume("gather").build())
                        .step(Step.builder("gather", "fanout.gather").outputKey("values").build())
                        .build())
                .register(Flow.builder(CHILD, "1").initialStep("work")
                        .step(Step.builder("work", "fanout.work").outputKey("value").build())
                        .build());
        return new Engine(store, handlers, flows);
    }
}
