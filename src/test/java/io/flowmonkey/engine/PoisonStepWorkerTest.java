package io.flowmonkey.engine;

import static io.flowmonkey.testing.Await.awaitTrue;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import com.zaxxer.hikari.HikariDataSource;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.postgres.PgExecutionStore;
import io.flowmonkey.testing.PostgresExtension;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Poison steps under {@link EngineWorker}s on PostgreSQL: a handler that throws an {@link Error}, passes
 * its timeout or returns what cannot be stored ends in a stored failure after {@code maxAttempts}
 * attempts, instead of being claimed again every lease.
 */
class PoisonStepWorkerTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    private static final Duration BOUND = Duration.ofSeconds(60);

    @BeforeEach
    void emptyTable() throws SQLException {
        PG.truncate("executions");
    }

    @Test
    void poison_steps_under_workers_fail_after_maxAttempts_and_are_not_claimed_again() throws Exception {
        Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();
        HandlerRegistry handlers = new HandlerRegistry()
                .register("assertion", ctx -> {
                    count(calls, ctx);
                    throw new AssertionError("invariant broken");
                })
                .register("linkage", ctx -> {
                    count(calls, ctx);
                    throw new NoClassDefFoundError("com/example/Gone");
                })
                .register("unstorable", ctx -> {
                    count(calls, ctx);
                    return StepResult.success("nul\u0000");
                })
                .register("slow", ctx -> {
                    count(calls, ctx);
                    new CountDownLatch(1).await();
                    return StepResult.success("never");
                });
        RetryPolicy threeTries = RetryPolicy.builder().maxAttempts(3).backoff(Duration.ofMillis(1)).build();
        InMemoryFlowRegistry flows = new InMemoryFlowRegistry();
        for (String type : List.of("assertion", "linkage", "unstorable", "slow")) {
            flows.register(Flow.builder(type, "1").initialStep("s")
                    .step(Step.builder("s", type).outputKey("out").retry(threeTries)
                            .timeout(type.equals("slow") ? Duration.ofMillis(100) : null).build())
                    .build());
        }
        HikariDataSource ds = PG.newDataSource(12);
        PgExecutionStore store = new PgExecutionStore(ds);
        Engine engine = new Engine(store, handlers, flows);
        List<String> ids = new ArrayList<>();
        for (String type : List.of("assertion", "linkage", "unstorable", "slow")) {
            for (int i = 0; i < 5; i++) {
                ids.add(engine.create(type, Map.of()).execution().id());
            }
        }
        try (EngineWorker worker = EngineWorker.builder(engine).workerId("poison").threads(4)
                .pollInterval(Duration.ofMillis(100)).leaseTtl(Duration.ofSeconds(10)).build().start()) {
            assertTimeoutPreemptively(BOUND, () -> awaitTrue(BOUND, () -> ids.stream()
                    .allMatch(id -> store.load(id).orElseThrow().status() == ExecutionStatus.FAILED)));
        } finally {
            ds.close();
        }

        PgExecutionStore reader = new PgExecutionStore(PG.dataSource());
        for (String id : ids) {
            Execution failed = reader.load(id).orElseThrow();
            assertThat(calls.get(id)).as(failed.flowId()).hasValue(3);
            assertThat(failed.history()).hasSize(3);
            assertThat(failed.error().code()).isEqualTo(switch (failed.flowId()) {
                case "unstorable" -> Engine.OUTPUT_NOT_STORABLE;
                case "slow" -> Engine.STEP_TIMEOUT;
                default -> Engine.HANDLER_ERROR;
            });
        }
    }

    private static void count(Map<String, AtomicInteger> calls, StepContext ctx) {
        calls.computeIfAbsent(ctx.executionId(), k -> new AtomicInteger()).incrementAndGet();
    }
}
