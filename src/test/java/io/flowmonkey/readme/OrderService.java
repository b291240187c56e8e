package io.flowmonkey.readme;

import io.flowmonkey.engine.ChildSpec;
import io.flowmonkey.engine.CreateOptions;
import io.flowmonkey.engine.Engine;
import io.flowmonkey.engine.EngineWorker;
import io.flowmonkey.engine.Flow;
import io.flowmonkey.engine.HandlerRegistry;
import io.flowmonkey.engine.InMemoryFlowRegistry;
import io.flowmonkey.engine.InputSelector;
import io.flowmonkey.engine.Step;
import io.flowmonkey.engine.StepResult;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.postgres.PgExecutionStore;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;

public final class OrderService implements AutoCloseable {

    private final Engine engine;
    private final EngineWorker worker;

    public OrderService(DataSource ds) {
        HandlerRegistry handlers = new HandlerRegistry()
                // One child flow per parcel; the order waits until every parcel flow has ended.
                .register("parcels.ship", ctx -> StepResult.startChildren(((List<?>) ctx.input()).stream()
                        .map(parcel -> ChildSpec.of("parcel", Map.of("parcel", parcel)))
                        .toList()))
                .register("parcel.label", ctx -> StepResult.success("LABEL-" + ctx.input()))
                // Only a "payment-confirmed" signal ends this wait, even one that came early.
                .register("payment.await", ctx -> StepResult.awaitSignal("payment-confirmed", "awaiting payment"))
                .register("order.close", ctx -> {
                    Map<?, ?> payment = (Map<?, ?>) ctx.context().get(Engine.RESUME_DATA_KEY);
                    List<?> labels = ((List<?>) ctx.context().get(Engine.CHILDREN_KEY)).stream()
                            .map(child -> ((Map<?, ?>) ((Map<?, ?>) child).get("output")).get("label"))
                            .toList();
                    return StepResult.success(Map.of("paidBy", payment.get("method"), "labels", labels));
                });
        InMemoryFlowRegistry flows = new InMemoryFlowRegistry()
                .register(Flow.builder("order", "1").initialStep("ship")
                        .step(Step.builder("ship", "parcels.ship").input(InputSelector.key("parcels"))
                                .onResume("pay").build())
                        .step(Step.builder("pay", "payment.await").onResume("close").build())
                        .step(Step.builder("close", "order.close").outputKey("summary").build())
                        .build())
                .register(Flow.builder("parcel", "1").initialStep("label")
                        .step(Step.builder("label", "parcel.label").input(InputSelector.key("parcel"))
                                .outputKey("label").build())
                        .build());
        engine = new Engine(new PgExecutionStore(ds), handlers, flows);
        worker = EngineWorker.builder(engine).build().start();    // runs parents and children alike
    }

    /** POST /orders: a retried request with the same order id gets the same execution. */
    public String placeOrder(String orderId, List<String> parcels) {
        return engine.create("order", Map.of("parcels", parcels),
                CreateOptions.builder().idempotencyKey(orderId).build()).execution().id();
    }

    /** POST /orders/{id}/payment, the payment provider's webhook: stores the signal and returns at once. */
    public void paymentConfirmed(String executionId, String method) {
        engine.signal(executionId, "payment-confirmed", Map.of("method", method));
    }

    /** GET /orders/{id}?wait=30s: the ended order, or AwaitTimeoutException (a 202 for the caller). */
    public Execution awaitOrder(String executionId, Duration timeout) {
        return engine.awaitEnd(executionId, timeout);
    }

    @Override
    public void close() {
        worker.close();
    }
}
