package io.flowmonkey.demo;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.flowmonkey.engine.CreateOptions;
import io.flowmonkey.engine.Engine;
import io.flowmonkey.engine.EngineWorker;
import io.flowmonkey.engine.Flow;
import io.flowmonkey.engine.HandlerRegistry;
import io.flowmonkey.engine.InMemoryFlowRegistry;
import io.flowmonkey.engine.InputSelector;
import io.flowmonkey.engine.Step;
import io.flowmonkey.engine.StepContext;
import io.flowmonkey.engine.StepResult;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.WaitMetadata;
import io.flowmonkey.postgres.PgExecutionStore;
import io.flowmonkey.postgres.SchemaApplier;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Predicate;

/**
 * The README's "run" command: applies the schema to an embedded PostgreSQL (or to
 * {@code FLOWMONKEY_JDBC_URL}), stores executions in several states and tenants and prints what the
 * extended queries return, then runs an order flow end to end on an {@link EngineWorker}: a timed
 * wait, a signal resume, every step printed as it happens and the stored row at the end.
 */
public final class Demo {

    private Demo() {
    }

    /**
     * Runs the demo.
     *
     * @param args ignored
     * @throws Exception if the embedded server cannot start or the demo fails
     */
    public static void main(String[] args) throws Exception {
        String url = System.getenv("FLOWMONKEY_JDBC_URL");
        EmbeddedPostgres embedded = null;
        if (url == null || url.isBlank()) {
            System.out.println("Starting an embedded PostgreSQL (set FLOWMONKEY_JDBC_URL to use your own)...");
            embedded = EmbeddedPostgres.builder().start();
            url = "jdbc:postgresql://localhost:" + embedded.getPort() + "/postgres";
        }
        try (HikariDataSource ds = pool(url)) {
            run(ds);
        } finally {
            if (embedded != null) {
                embedded.close();
            }
        }
    }

    private static HikariDataSource pool(String url) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(url);
        config.setUsername(System.getenv().getOrDefault("FLOWMONKEY_JDBC_USER", "postgres"));
        config.setPassword(System.getenv().getOrDefault("FLOWMONKEY_JDBC_PASSWORD", "postgres"));
        config.setMaximumPoolSize(20);
        config.setMinimumIdle(2);
        config.setIdleTimeout(30_000);
        config.setConnectionTimeout(2_000);
        return new HikariDataSource(config);
    }

    static void run(HikariDataSource ds) throws InterruptedException, SQLException {
        storeQueries(ds);
        orderFlow(ds);
    }

    private static void storeQueries(HikariDataSource ds) {
        System.out.println("== The store");
        int version = SchemaApplier.apply(ds);
        System.out.println("Schema applied: version " + version);
        PgExecutionStore store = new PgExecutionStore(ds);
        Instant now = Instant.now();
        String run = UUID.randomUUID().toString().substring(0, 8);

        List<Execution> saved = store.saveAll(List.of(
                execution(run, "order-1", "acme").status(ExecutionStatus.RUNNING).currentStepId("charge")
                        .context(Map.of("orderId", 1, "total", 42.5)).build(),
                execution(run, "order-2", "acme").status(ExecutionStatus.WAITING).currentStepId("ship")
                        .waitMetadata(new WaitMetadata(now.minusSeconds(5), "carrier pickup", now.minusSeconds(60),
                                null)).build(),
                execution(run, "order-3", "globex").status(ExecutionStatus.WAITING).currentStepId("approve")
                        .waitMetadata(new WaitMetadata(now.plus(Duration.ofHours(1)), "manager approval", now,
                                null)).build(),
                execution(run, "order-4", "globex").status(ExecutionStatus.COMPLETED)
                        .completedAt(now).build()));
        System.out.println("Saved " + saved.size() + " executions in one batch");

        store.inTransaction(tx -> {
            Execution first = tx.load(saved.get(0).id()).orElseThrow();
            return tx.save(first.toBuilder().status(ExecutionStatus.COMPLETED).completedAt(now).build());
        });
        System.out.println("Completed " + saved.get(0).id() + " in a transaction");

        print("findByStatus(WAITING)", store.findByStatus(ExecutionStatus.WAITING, 10));
        print("findByTenant(\"acme\")", store.findByTenant("acme", 10));
        print("findWakeReady(now)", store.findWakeReady(now));
    }

    private static void orderFlow(HikariDataSource ds) throws InterruptedException, SQLException {
        System.out.println();
        System.out.println("== An order flow, run by a worker");
        HandlerRegistry handlers = new HandlerRegistry()
                .register("validate", ctx -> step(ctx, "order " + ctx.input() + " is valid", true))
                .register("reserve", ctx -> step(ctx, "reserved stock", Map.of("reservationId", "R-" + ctx.input())))
                .register("pickup", ctx -> {
                    say(ctx, "waiting 2 s for the carrier (a timed wait, saved; a worker wakes it)");
                    return StepResult.waitFor(Duration.ofSeconds(2), "carrier pickup");
                })
                .register("ship", ctx -> step(ctx, "shipped with tracking " + ctx.input(), "TRK-" + ctx.input()))
                .register("deliver", ctx -> {
                    say(ctx, "waiting for the delivery signal");
                    return StepResult.waitForSignal("delivery confirmation");
                })
                .register("confirm", ctx -> step(ctx, "delivered, signed by " + ctx.input(), ctx.input()));
        Flow order = Flow.builder("order", "1").initialStep("validate")
                .step(Step.builder("validate", "validate").input(InputSelector.key("orderId"))
                        .outputKey("valid").onSuccess("reserve").build())
                .step(Step.builder("reserve", "reserve").input(InputSelector.key("orderId"))
                        .outputKey("reservation").onSuccess("pickup").build())
                .step(Step.builder("pickup", "pickup").onResume("ship").build())
                .step(Step.builder("ship", "ship").input(InputSelector.key("orderId"))
                        .outputKey("tracking").onSuccess("deliver").build())
                .step(Step.builder("deliver", "deliver").onResume("confirm").build())
                .step(Step.builder("confirm", "confirm").input(InputSelector.path("resumeData.signedBy"))
                        .outputKey("signedBy").build())
                .build();
        PgExecutionStore store = new PgExecutionStore(ds);
        Engine engine = new Engine(store, handlers, new InMemoryFlowRegistry().register(order));

        String id;
        try (EngineWorker worker = EngineWorker.builder(engine).workerId("demo-worker").threads(2)
                .pollInterval(Duration.ofSeconds(5)).build().start()) {
            id = engine.create("order", Map.of("orderId", 1001), CreateOptions.builder().tenantId("acme")
                    .idempotencyKey("demo-order-" + UUID.randomUUID()).build()).execution().id();
            System.out.println("main:   created " + id + " (pending); a worker picks it up");

            Execution waiting = await(store, id, e -> e.waitMetadata() != null
                    && "delivery confirmation".equals(e.waitMetadata().reason()));
            System.out.println("main:   " + id + " is " + waiting.status().wireName() + " at '"
                    + waiting.currentStepId() + "'; resuming it with a signal");
            engine.resume(id, Map.of("signedBy", "Ann"));
            Execution done = await(store, id, e -> e.status().isTerminal());
            System.out.println("main:   " + id + " is " + done.status().wireName() + " after " + done.stepCount()
                    + " steps");
            System.out.println("worker: " + worker.stats());
        }
        printRow(ds, id);
    }

    private static StepResult step(StepContext ctx, String message, Object output) {
        say(ctx, message);
        return StepResult.success(output);
    }

    private static void say(StepContext ctx, String message) {
        System.out.printf("step:   %-8s [%s] %s%n", ctx.stepId(), Thread.currentThread().getName(), message);
    }

    private static Execution await(PgExecutionStore store, String id, Predicate<Execution> condition)
            throws InterruptedException {
        for (int i = 0; i < 600; i++) {
            Execution e = store.load(id).orElseThrow();
            if (condition.test(e)) {
                return e;
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException("execution " + id + " did not get there within 30 s");
    }

    private static void printRow(HikariDataSource ds, String id) throws SQLException {
        System.out.println();
        System.out.println("== The stored row");
        try (Connection c = ds.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT id, flow_id, flow_version, tenant_id, status, "
                     + "current_step_id, step_count, version, context, history, wait_metadata, created_at, "
                     + "completed_at FROM executions WHERE id = ?")) {
            ps.setString(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++) {
                    System.out.printf("  %-16s %s%n", rs.getMetaData().getColumnName(i), rs.getString(i));
                }
            }
        }
    }

    private static Execution.Builder execution(String run, String name, String tenant) {
        return Execution.builder(name + "-" + run, "order-flow", "1").tenantId(tenant);
    }

    private static void print(String query, List<Execution> found) {
        System.out.println(query + " -> " + found.size() + " row(s)");
        for (Execution e : found) {
            System.out.printf("  %-18s %-10s tenant=%-7s step=%-8s wakeAt=%s%n", e.id(), e.status().wireName(),
                    e.tenantId(), e.currentStepId(), e.waitMetadata() == null ? "-" : e.waitMetadata().wakeAt());
        }
    }
}
