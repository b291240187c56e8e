package io.flowmonkey.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.flowmonkey.execution.BulkResult;
import io.flowmonkey.execution.Cancellation;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionQuery;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.Page;
import io.flowmonkey.postgres.PgExecutionStore;
import io.flowmonkey.postgres.Purger;
import io.flowmonkey.testing.PostgresExtension;
import java.io.PrintStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The snippets of README.md's "Operating" section, line for line, so that they keep compiling and working. */
class OperatingReadmeExampleTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    @Test
    void operating_examples() throws Exception {
        PgExecutionStore store = new PgExecutionStore(PG.dataSource());
        boolean[] declined = {true};
        HandlerRegistry handlers = new HandlerRegistry()
                .register("pay", ctx -> declined[0] ? StepResult.failure("CARD_DECLINED", "declined")
                        : StepResult.success("paid"))
                .register("ship", ctx -> StepResult.success("shipped"))
                .register("hold", ctx -> StepResult.waitForSignal("on hold"));
        InMemoryFlowRegistry flows = new InMemoryFlowRegistry()
                .register(Flow.builder("order-flow", "1").initialStep("charge")
                        .step(Step.builder("charge", "pay").onSuccess("ship").build())
                        .step(Step.builder("ship", "ship").build()).build())
                .register(Flow.builder("hold-flow", "1").initialStep("hold")
                        .step(Step.builder("hold", "hold").build()).build());
        Engine engine = new Engine(store, handlers, flows);
        List<String> failedIds = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            String created = engine.create("order-flow", Map.of("orderId", i),
                    CreateOptions.builder().tenantId("acme").build()).execution().id();
            failedIds.add(engine.run(created).execution().id());
        }
        engine.run(engine.create("hold-flow", Map.of(), CreateOptions.builder().tenantId("acme-trial").build())
                .execution().id());
        ByteArrayOutputStream exported = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(exported, true, StandardCharsets.UTF_8);

        // --- README: query ---
        ExecutionQuery failed = ExecutionQuery.builder()
                .status(ExecutionStatus.FAILED)
                .tenantId("acme")
                .createdBetween(Instant.now().minus(Duration.ofDays(7)), null)   // [from, before); null: open
                .limit(2)
                .build();
        Page<Execution> page = store.query(failed);                    // newest first: createdAt, then id, descending
        List<Execution> seen = new ArrayList<>(page.items());
        while (page.hasNext()) {
            page = store.query(failed.after(page.nextCursor()));       // keyset: every page costs what the first does
            seen.addAll(page.items());
        }
        long exact = store.count(failed);                               // exact
        long about = store.countEstimate(ExecutionQuery.builder().status(ExecutionStatus.COMPLETED).build());

        try (Stream<Execution> all = store.stream(failed)) {            // exports: constant memory, one snapshot
            all.forEach(e -> out.println(e.id() + "," + e.error().code()));
        }
        // --- end ---

        assertThat(seen).extracting(Execution::id).containsExactlyInAnyOrderElementsOf(failedIds);
        assertThat(exact).isEqualTo(3);
        assertThat(about).isGreaterThanOrEqualTo(0);
        PG.execute("ANALYZE executions");   // the estimate reads the planner's statistics
        assertThat(store.countEstimate(failed)).as("estimate of the %s failed executions", exact)
                .isBetween(exact / 2, exact * 2);
        assertThat(exported.toString(StandardCharsets.UTF_8).lines()).hasSize(3).allMatch(l -> l.endsWith(",CARD_DECLINED"));
        String executionId = failedIds.get(0);
        declined[0] = false;

        // --- README: operate ---
        RunResult again = engine.retry(executionId);                   // failed: on from its failed step, attempts afresh
        RunResult fork = engine.restartFrom(executionId, "ship");      // ended: a new execution from that step
        BulkResult queued = engine.retryAll(ExecutionQuery.builder().errorCode("CARD_DECLINED").build());
        BulkResult cancelled = engine.cancelAll(ExecutionQuery.builder().status(ExecutionStatus.WAITING)
                .tenantId("acme-trial").build(), Cancellation.Source.ADMIN, "trial ended");
        BulkResult deleted = store.deleteAll(ExecutionQuery.builder().tenantId("acme-trial").limit(500).build());
        // --- end ---

        assertThat(again.execution().status()).isEqualTo(ExecutionStatus.COMPLETED);
        assertThat(fork.execution().metadata()).containsEntry(Engine.RESTARTED_FROM_KEY, executionId);
        assertThat(queued).isEqualTo(new BulkResult(2, 2, 0));
        assertThat(cancelled).isEqualTo(new BulkResult(1, 1, 0));
        assertThat(deleted).isEqualTo(new BulkResult(1, 1, 0));

        // --- README: purge ---
        int removed = store.purge(Duration.ofDays(30));                 // ended more than 30 days ago

        Purger purger = Purger.builder(store)
                .olderThan(Duration.ofDays(30))
                .batchSize(1_000)                                       // rows per short transaction
                .build();
        ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
        scheduler.scheduleWithFixedDelay(purger, 0, purger.interval().toMinutes(), TimeUnit.MINUTES);
        // --- end ---

        scheduler.shutdown();
        assertThat(scheduler.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
        assertThat(removed).isZero();
        assertThat(store.purge(Duration.ZERO)).isEqualTo(2);           // the retried one and its fork
    }
}
