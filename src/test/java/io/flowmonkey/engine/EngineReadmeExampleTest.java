package io.flowmonkey.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.flowmonkey.execution.Cancellation;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.postgres.PgExecutionStore;
import io.flowmonkey.testing.PostgresExtension;
import java.time.Duration;
import java.util.Map;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The engine and worker snippets of README.md, line for line, so that they keep compiling and working. */
class EngineReadmeExampleTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    @Test
    void running_flows_example() {
        DataSource ds = PG.dataSource();
        MutableClock clock = new MutableClock();

        HandlerRegistry handlers = new HandlerRegistry()
                .register("inventory.reserve", ctx -> StepResult.success(Map.of("reservationId", "R-" + ctx.input())))
                .register("approval.request", ctx -> StepResult.waitForSignal("manager approval"))
                .register("approval.decide", ctx -> {
                    Map<?, ?> decision = (Map<?, ?>) ctx.input();
                    return Boolean.TRUE.equals(decision.get("approved"))
                            ? StepResult.success(decision.get("by"))
                            : StepResult.failure("REJECTED", "rejected by " + decision.get("by"));
                })
                .register("timer", ctx -> StepResult.waitFor(Duration.ofHours(1), "cooling-off period"))
                .register("shipping.book", ctx -> StepResult.success(Map.of("booked", ctx.input())))
                .register("inventory.release", ctx -> StepResult.success(true));

        Flow flow = Flow.builder("order-approval", "1").initialStep("reserve")
                .step(Step.builder("reserve", "inventory.reserve").input(InputSelector.key("orderId"))
                        .outputKey("reservation").onSuccess("approve")
                        .retry(RetryPolicy.builder().maxAttempts(3).backoff(Duration.ofSeconds(1))
                                .retryOn("UNAVAILABLE").build())
                        .build())
                .step(Step.builder("approve", "approval.request").onResume("decide").build())
                .step(Step.builder("decide", "approval.decide").input(InputSelector.key(Engine.RESUME_DATA_KEY))
                        .outputKey("approvedBy").onSuccess("cooloff").onFailure("release").build())
                .step(Step.builder("cooloff", "timer").onResume("ship").build())
                .step(Step.builder("ship", "shipping.book")
                        .input(InputSelector.template(Map.of("order", "${orderId}",
                                "reservation", "${reservation.reservationId}")))
                        .outputKey("shipment").build())
                .step(Step.builder("release", "inventory.release").outputKey("released").build())
                .build();                                  // validates: unknown steps, duplicates, bad transitions

        Engine engine = new Engine(new PgExecutionStore(ds), handlers, new InMemoryFlowRegistry().register(flow),
                EngineOptions.builder().clock(clock).build());   // Clock.systemUTC() unless you set one

        CreateResult created = engine.create("order-approval", Map.of("orderId", 1001), CreateOptions.builder()
                .tenantId("acme").idempotencyKey("checkout-7f3a").timeout(Duration.ofDays(7)).build());
        String id = created.execution().id();             // created() is false if the key was taken

        assertThat(engine.run(id).execution().currentStepId()).isEqualTo("approve");
        Execution cooling = engine.resume(id, Map.of("approved", true, "by", "maria")).execution();
        assertThat(cooling.status()).isEqualTo(ExecutionStatus.WAITING);
        assertThat(cooling.waitMetadata().reason()).isEqualTo("cooling-off period");
        clock.advance(Duration.ofHours(1));
        assertThat(engine.runWakeReady(100)).singleElement().satisfies(r -> {
            assertThat(r.execution().status()).isEqualTo(ExecutionStatus.COMPLETED);
            assertThat(r.execution().context()).containsEntry("approvedBy", "maria").containsEntry("shipment",
                    Map.of("booked", Map.of("order", 1001, "reservation", "R-1001")));
        });

        String other = engine.create("order-approval", Map.of("orderId", 1002)).execution().id();
        engine.run(other);
        CancelResult cancel = engine.cancel(other, Cancellation.Source.USER, "customer cancelled");

        assertThat(cancel.cancelled()).isTrue();
        assertThat(cancel.execution().status()).isEqualTo(ExecutionStatus.CANCELLED);
        assertThat(created.created()).isTrue();
    }

    @Test
    void worker_example() throws InterruptedException {
        DataSource ds = PG.dataSource();
        HandlerRegistry handlers = new HandlerRegistry()
                .register("inventory.reserve", ctx -> StepResult.success(Map.of("reservationId", "R-" + ctx.input())));
        InMemoryFlowRegistry flows = new InMemoryFlowRegistry().register(Flow.builder("order-approval", "1")
                .initialStep("reserve")
                .step(Step.builder("reserve", "inventory.reserve").input(InputSelector.key("orderId"))
                        .outputKey("reservation").build())
                .build());

        PgExecutionStore store = new PgExecutionStore(ds);            // size the pool: threads + 2 per worker
        Engine engine = new Engine(store, handlers, flows);

        EngineWorker worker = EngineWorker.builder(engine)
                .workerId("orders-1")                   // default: host name, process id and a random suffix
                .threads(8)                             // executions run at once; also the most claimed per statement
                .pollInterval(Duration.ofSeconds(5))    // fallback when no notice arrives
                .leaseTtl(Duration.ofSeconds(30))       // how soon a dead worker's executions are taken over
                .build()
                .start();

        String id = engine.create("order-approval", Map.of("orderId", 1001)).execution().id();   // enqueued
        EngineWorkerTest.awaitTrue(Duration.ofSeconds(30),
                () -> store.load(id).orElseThrow().status() == ExecutionStatus.COMPLETED);
        worker.close();                                 // graceful: see the table below

        assertThat(store.load(id).orElseThrow().context()).containsEntry("reservation",
                Map.of("reservationId", "R-1001"));
        assertThat(worker.stats().claimed()).isEqualTo(1);
    }

    @Test
    void flow_json_example() {
        Flow fromJson = Flow.fromJson("""
                {"id": "ping", "version": "1", "initialStepId": "ping",
                 "steps": {"ping": {"id": "ping", "type": "http", "config": {"url": "https://example.com"},
                                    "input": {"type": "key", "key": "target"}, "outputKey": "response",
                                    "transitions": {"onSuccess": null, "onFailure": null},
                                    "retry": {"maxAttempts": 5, "backoffMs": 500, "backoffMultiplier": 2}}}}
                """);

        assertThat(fromJson.steps().get("ping").retry().maxAttempts()).isEqualTo(5);
        assertThat(fromJson.steps().get("ping").config()).containsEntry("url", "https://example.com");
    }
}
