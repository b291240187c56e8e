package io.flowmonkey.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.flowmonkey.execution.Cancellation;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.StepHistory;
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

        Engine engine = new Engine(new PgExecutionStore(ds), handlers, new InMemoryFlowRegistry().register(flow));

        CreateResult created = engine.create("order-approval", Map.of("orderId", 1001), CreateOptions.builder()
                .tenantId("acme").idempotencyKey("checkout-7f3a").timeout(Duration.ofDays(7)).build());
        String id = created.execution().id();             // created() is false if the key was taken

        engine.run(id);                                    // reserve; then WAITING for a signal at "approve"
        engine.resume(id, Map.of("approved", true, "by", "maria"));   // decide; then a one-hour timed wait
        // An hour later an EngineWorker (below) wakes it; without workers, call this periodically:
        engine.runWakeReady(100);                          // ship; the execution is COMPLETED

        String other = engine.create("order-approval", Map.of("orderId", 1002)).execution().id();
        engine.run(other);
        CancelResult cancel = engine.cancel(other, Cancellation.Source.USER, "customer cancelled");

        Execution cooling = engine.get(id).orElseThrow();
        assertThat(cooling.status()).as("not due yet: the wait is an hour").isEqualTo(ExecutionStatus.WAITING);
        assertThat(cooling.waitMetadata().reason()).isEqualTo("cooling-off period");
        MutableClock anHourLater = new MutableClock();
        anHourLater.advance(Duration.ofHours(1).plusMinutes(1));
        Engine later = new Engine(new PgExecutionStore(ds), handlers, new InMemoryFlowRegistry().register(flow),
                EngineOptions.builder().clock(anHourLater).build());
        assertThat(later.runWakeReady(100)).singleElement().satisfies(r -> {
            assertThat(r.execution().status()).isEqualTo(ExecutionStatus.COMPLETED);
            assertThat(r.execution().context()).containsEntry("approvedBy", "maria").containsEntry("shipment",
                    Map.of("booked", Map.of("order", 1001, "reservation", "R-1001")));
        });

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
                .threads(8)                             // executions run at once (a claim takes up to threads + claimAhead)
                .pollInterval(Duration.ofSeconds(5))    // fallback when no notice arrives
                .leaseTtl(Duration.ofSeconds(30))       // how soon a dead worker's executions are taken over
                .build()
                .start();

        String id = engine.create("order-approval", Map.of("orderId", 1001)).execution().id();   // enqueued
        Execution done = engine.awaitEnd(id, Duration.ofSeconds(30));   // the worker ran it; see worker.stats()
        worker.close();                                 // graceful: see the table below

        assertThat(done.status()).isEqualTo(ExecutionStatus.COMPLETED);
        assertThat(done.context()).containsEntry("reservation",
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

        // Five retries after the first try, as FlowMonkey TypeScript counts them.
        assertThat(fromJson.steps().get("ping").retry().maxAttempts()).isEqualTo(6);
        assertThat(fromJson.steps().get("ping").config()).containsEntry("url", "https://example.com");
    }

    record Order(String id, boolean express) { }

    @Test
    void branching_timeouts_and_errors_example() {
        DataSource ds = PG.dataSource();

        HandlerRegistry handlers = new HandlerRegistry()
                .register("order.route", ctx -> {
                    Order order = ctx.input(Order.class);          // converted with EngineOptions.objectMapper
                    return order.express()
                            ? StepResult.success(order.id()).then("ship-express")   // instead of onSuccess
                            : StepResult.success(order.id());
                })
                .register("payment.charge", ctx -> {
                    String orderId = ctx.input(String.class);
                    if (orderId.endsWith("13")) {
                        return StepResult.failure("CARD_DECLINED", "declined").nonRetryable();   // never retried
                    }
                    return ctx.attempt() == 1
                            ? StepResult.failure("UNAVAILABLE", "gateway busy")    // retried per the policy
                            : StepResult.success("receipt-" + orderId);
                })
                .register("shipping.book", ctx -> StepResult.success(ctx.config().get("carrier")))
                .register("audit.start", ctx -> {                  // ctx.engine(): no engine reference to carry
                    ctx.engine().create("audit", Map.of("order", ctx.input()));
                    return StepResult.success(true);
                })
                .register("audit.record", ctx -> StepResult.success(ctx.input()));

        InMemoryFlowRegistry flows = new InMemoryFlowRegistry()
                .register(Flow.builder("order", "1").initialStep("charge")
                        .step(Step.builder("charge", "payment.charge").input(InputSelector.path("order.id"))
                                .outputKey("receipt").timeout(Duration.ofSeconds(10))  // STEP_TIMEOUT past it
                                .retry(RetryPolicy.builder().maxAttempts(3).backoff(Duration.ZERO)
                                        .retryOn("UNAVAILABLE", Engine.STEP_TIMEOUT).build())
                                .onSuccess("route").build())
                        .step(Step.builder("route", "order.route").input(InputSelector.key("order"))
                                .outputKey("orderId").onSuccess("ship").build())
                        .step(Step.builder("ship", "shipping.book").config(Map.of("carrier", "post"))
                                .outputKey("carrier").onSuccess("audit").build())
                        .step(Step.builder("ship-express", "shipping.book").config(Map.of("carrier", "courier"))
                                .outputKey("carrier").onSuccess("audit").build())
                        .step(Step.builder("audit", "audit.start").input(InputSelector.key("orderId")).build())
                        .build())
                .register(Flow.builder("audit", "1").initialStep("record")
                        .step(Step.builder("record", "audit.record").input(InputSelector.key("order")).build())
                        .build());
        Engine engine = new Engine(new PgExecutionStore(ds), handlers, flows);

        // A business key as the id: a second create with it returns the first execution (created() == false).
        CreateOptions once = CreateOptions.builder().executionId("order-1001").build();
        CreateResult created = engine.create("order", Map.of("order", Map.of("id", "1001", "express", true)), once);
        CreateResult again = engine.create("order", Map.of("order", Map.of("id", "1001", "express", true)), once);

        Execution done = engine.run("order-1001").execution();    // charge (2 tries) → route → ship-express → audit
        String chosen = done.history().get(2).nextStepOverride(); // "ship-express", also in the history JSON

        Execution declined = engine.run(engine.create("order", Map.of("order", Map.of("id", "1013", "express", false)))
                .execution()).execution();                        // FAILED with CARD_DECLINED after one try

        assertThat(created.created()).isTrue();
        assertThat(again.created()).isFalse();
        assertThat(again.execution().id()).isEqualTo("order-1001");
        assertThat(done.status()).isEqualTo(ExecutionStatus.COMPLETED);
        assertThat(done.history()).extracting(StepHistory::stepId)
                .containsExactly("charge", "charge", "route", "ship-express", "audit");
        assertThat(done.context()).containsEntry("receipt", "receipt-1001").containsEntry("carrier", "courier");
        assertThat(chosen).isEqualTo("ship-express");
        assertThat(declined.status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(declined.error().code()).isEqualTo("CARD_DECLINED");
        assertThat(declined.history()).extracting(StepHistory::stepId).containsExactly("charge");

        Flow charge = Flow.fromJson("""
                {"id": "charge", "version": "1", "initialStepId": "charge",
                 "steps": {"charge": {"id": "charge", "type": "payment.charge", "config": {},
                                      "input": {"type": "key", "key": "orderId"}, "outputKey": "receipt",
                                      "timeoutMs": 10000, "retry": {"maxAttempts": 3, "backoffMs": 1000},
                                      "transitions": {"onSuccess": null, "onFailure": null}}}}
                """);
        int tries = charge.steps().get("charge").retry().maxAttempts();   // 4

        assertThat(tries).isEqualTo(4);
        assertThat(charge.steps().get("charge").timeout()).isEqualTo(Duration.ofSeconds(10));
    }
}
