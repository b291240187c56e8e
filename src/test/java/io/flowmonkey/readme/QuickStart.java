package io.flowmonkey.readme;

import com.zaxxer.hikari.HikariDataSource;
import io.flowmonkey.engine.Engine;
import io.flowmonkey.engine.EngineWorker;
import io.flowmonkey.engine.Flow;
import io.flowmonkey.engine.HandlerRegistry;
import io.flowmonkey.engine.InMemoryFlowRegistry;
import io.flowmonkey.engine.InputSelector;
import io.flowmonkey.engine.RetryPolicy;
import io.flowmonkey.engine.Step;
import io.flowmonkey.engine.StepResult;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.postgres.PgDataSources;
import io.flowmonkey.postgres.PgExecutionStore;
import io.flowmonkey.postgres.SchemaApplier;
import java.time.Duration;
import java.util.Map;
import javax.sql.DataSource;

public final class QuickStart {

    public static void main(String[] args) {
        try (HikariDataSource ds = PgDataSources.pooled("jdbc:postgresql://localhost:5432/flowmonkey",
                "flowmonkey", System.getenv("DB_PASSWORD"))) {
            SchemaApplier.apply(ds);                  // idempotent; safe from every instance at start-up
            System.out.println(placeOrder(ds, 1001).context());
        }
    }

    static Execution placeOrder(DataSource ds, int orderId) {
        HandlerRegistry handlers = new HandlerRegistry()
                .register("payment.charge", ctx -> ctx.attempt() == 1
                        ? StepResult.failure("GATEWAY_BUSY", "try again")          // retried after 200 ms
                        : StepResult.success(Map.of("receipt", "R-" + ctx.input())))
                .register("cooling.off", ctx -> StepResult.waitFor(Duration.ofSeconds(1), "cooling-off period"))
                .register("order.ship", ctx -> StepResult.success("shipped"));

        Flow order = Flow.builder("order", "1").initialStep("charge")
                .step(Step.builder("charge", "payment.charge").input(InputSelector.key("orderId"))
                        .outputKey("payment").onSuccess("cool")
                        .retry(RetryPolicy.builder().maxAttempts(3).backoff(Duration.ofMillis(200)).build())
                        .build())
                .step(Step.builder("cool", "cooling.off").onResume("ship").build())   // a durable timer
                .step(Step.builder("ship", "order.ship").outputKey("shipment").build())
                .build();

        Engine engine = new Engine(new PgExecutionStore(ds), handlers, new InMemoryFlowRegistry().register(order));
        try (EngineWorker worker = EngineWorker.builder(engine).threads(4).build().start()) {
            String id = engine.create("order", Map.of("orderId", orderId)).execution().id();   // enqueued
            return engine.awaitEnd(id, Duration.ofSeconds(30));   // COMPLETED: {orderId, payment, shipment}
        }
    }
}
