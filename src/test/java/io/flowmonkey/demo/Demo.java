package io.flowmonkey.demo;

import com.zaxxer.hikari.HikariDataSource;
import io.flowmonkey.engine.ChildSpec;
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
import io.flowmonkey.engine.WorkerStats;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionQuery;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.Page;
import io.flowmonkey.execution.StepHistory;
import io.flowmonkey.execution.WaitMetadata;
import io.flowmonkey.postgres.PgDataSources;
import io.flowmonkey.postgres.PgExecutionStore;
import io.flowmonkey.postgres.PgStoreOptions;
import io.flowmonkey.postgres.SchemaApplier;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.PrintStream;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;

/**
 * The README's "run" command. On an embedded PostgreSQL (or on {@code FLOWMONKEY_JDBC_URL}) it works
 * in a schema of its own, {@value #SCHEMA}, never in {@code public}: it stores executions in several
 * states and tenants and prints what the five extended queries return, runs an order flow on an
 * {@link EngineWorker} (child flows, a timed wait, a named signal, {@link Engine#awaitEnd}), pages
 * through the executions with an {@link ExecutionQuery}, prints the stored row, and at the end drops
 * the schema if it created it (and otherwise deletes only the rows it added). Times are printed as
 * ISO-8601 instants.
 */
public final class Demo {

    /** The schema the demo works in: never {@code public}, so that it cannot touch an application's table. */
    static final String SCHEMA = "flowmonkey_demo";
    /** SQLSTATE duplicate_schema: the demo's schema was there before it. */
    private static final String DUPLICATE_SCHEMA = "42P06";
    /** SQLSTATE insufficient_privilege. */
    private static final String INSUFFICIENT_PRIVILEGE = "42501";
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private final PrintStream out;
    /** Makes ids and keys unique per run, so that a schema the demo did not make can hold earlier rows. */
    private final String run = UUID.randomUUID().toString().substring(0, 8);
    /** Every execution the demo added, deleted at the end when the schema is not the demo's own. */
    private final List<String> added = new ArrayList<>();

    private Demo(PrintStream out) {
        this.out = out;
    }

    /**
     * Runs the demo on an embedded PostgreSQL, or on {@code FLOWMONKEY_JDBC_URL} when set.
     *
     * @param args ignored
     * @throws Exception if the embedded server cannot start or the demo fails
     */
    public static void main(String[] args) throws Exception {
        run(System.getenv(), System.out);
    }

    /**
     * Runs the demo with these environment variables ({@code FLOWMONKEY_JDBC_URL},
     * {@code FLOWMONKEY_JDBC_USER}, {@code FLOWMONKEY_JDBC_PASSWORD}), printing to {@code out}.
     */
    static void run(Map<String, String> env, PrintStream out) throws Exception {
        new Demo(out).start(env);
    }

    private void start(Map<String, String> env) throws Exception {
        heading("PostgreSQL");
        String url = env.get("FLOWMONKEY_JDBC_URL");
        if (url != null && !url.isBlank()) {
            try (HikariDataSource ds = PgDataSources.pooled(url, env.getOrDefault("FLOWMONKEY_JDBC_USER", "postgres"),
                    env.getOrDefault("FLOWMONKEY_JDBC_PASSWORD", "postgres"))) {
                out.println("Your PostgreSQL " + serverVersion(ds) + " at " + url + " (FLOWMONKEY_JDBC_URL)");
                inOwnSchema(ds);
            }
            return;
        }
        out.println("Starting an embedded PostgreSQL (set FLOWMONKEY_JDBC_URL to use your own)...");
        long started = System.nanoTime();
        try (EmbeddedPostgres embedded = EmbeddedPostgres.builder().start();
             HikariDataSource ds = PgDataSources.pooled(
                     "jdbc:postgresql://localhost:" + embedded.getPort() + "/postgres", "postgres", "postgres")) {
            out.printf("Embedded PostgreSQL %s is up at %s on port %d (started in %.1f s)%n", serverVersion(ds),
                    Instant.now().truncatedTo(ChronoUnit.MILLIS), embedded.getPort(),
                    (System.nanoTime() - started) / 1e9);
            inOwnSchema(ds);
        }
    }

    /** Runs every part in {@value #SCHEMA}, then removes what the demo made there, even after a failure. */
    private void inOwnSchema(DataSource ds) throws Exception {
        heading("Schema " + SCHEMA);
        boolean created = createSchema(ds);
        if (created) {
            out.println("Created schema " + SCHEMA + "; the demo drops it at the end.");
        } else {
            out.println("Schema " + SCHEMA + " was there before: the demo uses it, deletes only the rows");
            out.println("it adds, and does not drop it.");
        }
        try {
            PgStoreOptions options = PgStoreOptions.builder().schema(SCHEMA).build();
            int version = SchemaApplier.apply(ds, options);
            out.println("Applied the schema to " + SCHEMA + ".executions: version " + version);
            out.println("(public.executions is not touched)");
            PgExecutionStore store = new PgExecutionStore(ds, options);
            storeQueries(store);
            String orderId = orderFlow(store);
            pages(store);
            printRow(ds, orderId);
        } finally {
            cleanUp(ds, created);
        }
    }

    /** Creates the schema; false if it already existed. One statement decides, so no race can make it ours. */
    private static boolean createSchema(DataSource ds) throws SQLException {
        try (Connection c = ds.getConnection(); Statement st = c.createStatement()) {
            st.execute("CREATE SCHEMA " + SCHEMA);
            return true;
        } catch (SQLException e) {
            if (DUPLICATE_SCHEMA.equals(e.getSQLState())) {
                return false;
            }
            if (INSUFFICIENT_PRIVILEGE.equals(e.getSQLState())) {
                throw new IllegalStateException("the demo works in a schema of its own, " + SCHEMA + ", and the role "
                        + "may not create it: connect as a role with CREATE on the database, or create " + SCHEMA
                        + " for it (the demo then keeps that schema): " + e.getMessage(), e);
            }
            throw e;
        }
    }

    private void cleanUp(DataSource ds, boolean created) throws SQLException {
        heading("Cleaning up");
        if (created) {
            try (Connection c = ds.getConnection(); Statement st = c.createStatement()) {
                st.execute("DROP SCHEMA " + SCHEMA + " CASCADE");
            }
            out.println("Dropped schema " + SCHEMA + " (the demo created it), with everything in it.");
            return;
        }
        PgExecutionStore store = new PgExecutionStore(ds, PgStoreOptions.builder().schema(SCHEMA).build());
        int deleted = 0;
        for (String id : added) {
            deleted += store.delete(id) ? 1 : 0;
        }
        out.println("Deleted the " + deleted + " executions the demo added (their signals go with them).");
        out.println("Schema " + SCHEMA + " was there before the demo, so it is not dropped.");
    }

    // ---- the store: a batch save, a transaction and the five extended queries ----

    private void storeQueries(PgExecutionStore store) {
        heading("The store: one batch, one transaction");
        Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        String key = "checkout-" + run;
        String batch = "batch-" + run;
        List<Execution> saved = store.saveAll(List.of(
                execution("order-1", "acme").status(ExecutionStatus.RUNNING).currentStepId("charge")
                        .context(Map.of("orderId", 1, "total", 42.5)).build(),
                execution("order-2", "acme").status(ExecutionStatus.WAITING).currentStepId("ship")
                        .waitMetadata(new WaitMetadata(now.minusSeconds(5), "carrier pickup",
                                now.minusSeconds(60), null)).build(),
                execution("order-3", "globex").status(ExecutionStatus.WAITING).currentStepId("approve")
                        .idempotencyKey(key).idempotencyExpiresAt(now.plus(Duration.ofHours(24)))
                        .waitMetadata(new WaitMetadata(now.plus(Duration.ofHours(1)), "manager approval", now,
                                null)).build(),
                execution("order-4", "globex").status(ExecutionStatus.COMPLETED).completedAt(now).build(),
                Execution.builder(batch, "invoice-batch", "1").tenantId("acme").status(ExecutionStatus.RUNNING)
                        .build(),
                Execution.builder(batch + "-a", "invoice", "1").tenantId("acme").parentExecutionId(batch).build(),
                Execution.builder(batch + "-b", "invoice", "1").tenantId("acme").parentExecutionId(batch).build()));
        saved.forEach(e -> added.add(e.id()));
        out.println("Saved " + saved.size() + " executions in one batch (ids end in -" + run + ")");

        Execution first = saved.get(0);
        store.inTransaction(tx -> tx.save(tx.load(first.id()).orElseThrow().toBuilder()
                .status(ExecutionStatus.COMPLETED).completedAt(Instant.now()).build()));
        out.println("Completed " + first.id() + " in a transaction");

        heading("The five extended queries");
        print("findByStatus(WAITING, 10)", store.findByStatus(ExecutionStatus.WAITING, 10));
        print("findByTenant(\"acme\", 10)", store.findByTenant("acme", 10));
        print("findWakeReady(" + now + ")", store.findWakeReady(now));
        Optional<Execution> byKey = store.findByIdempotencyKey(key);
        print("findByIdempotencyKey(\"" + key + "\")", byKey.map(List::of).orElse(List.of()));
        print("findChildren(\"" + batch + "\")", store.findChildren(batch));
    }

    private Execution.Builder execution(String name, String tenant) {
        return Execution.builder(name + "-" + run, "order-flow", "1").tenantId(tenant);
    }

    private void print(String query, List<Execution> found) {
        out.println(query + " -> " + found.size() + (found.size() == 1 ? " execution" : " executions"));
        for (Execution e : found) {
            WaitMetadata wait = e.waitMetadata();
            out.println(String.format("  %-20s %-9s %-6s %s", e.id(), e.status().wireName(), e.tenantId(),
                    wait == null ? "" : "wakes at " + wait.wakeAt()).stripTrailing());
        }
    }

    // ---- the engine: child flows, a timed wait, a named signal, awaitEnd ----

    private String orderFlow(PgExecutionStore store) {
        heading("An order flow on a worker: child flows, a timer, a signal");
        CountDownLatch awaitingDelivery = new CountDownLatch(1);
        HandlerRegistry handlers = new HandlerRegistry()
                .register("validate", ctx -> step(ctx, "order " + ctx.input() + " is valid", true))
                .register("pack", ctx -> {
                    List<?> items = (List<?>) ctx.input();
                    say(ctx, "starts " + items.size() + " child flows, one per item, and waits for them");
                    return StepResult.startChildren(items.stream()
                            .map(item -> ChildSpec.of("pack-item", Map.of("item", item))).toList());
                })
                .register("pack-item", ctx -> step(ctx, "packed " + ctx.input(), "BOX-" + ctx.input()))
                .register("pickup", ctx -> {
                    say(ctx, "waits 1 s for the carrier (a timer, stored; a worker wakes it)");
                    return StepResult.waitFor(Duration.ofSeconds(1), "carrier pickup");
                })
                .register("deliver", ctx -> {
                    say(ctx, "waits for the signal 'delivered'");
                    awaitingDelivery.countDown();
                    return StepResult.awaitSignal("delivered", "delivery confirmation");
                })
                .register("confirm", ctx -> step(ctx, "delivered, signed by " + ctx.input(), ctx.input()));
        InMemoryFlowRegistry flows = new InMemoryFlowRegistry()
                .register(Flow.builder("order", "1").initialStep("validate")
                        .step(Step.builder("validate", "validate").input(InputSelector.key("orderId"))
                                .outputKey("valid").onSuccess("pack").build())
                        .step(Step.builder("pack", "pack").input(InputSelector.key("items")).onResume("pickup")
                                .build())
                        .step(Step.builder("pickup", "pickup").onResume("deliver").build())
                        .step(Step.builder("deliver", "deliver").onResume("confirm").build())
                        .step(Step.builder("confirm", "confirm").input(InputSelector.path("resumeData.signedBy"))
                                .outputKey("signedBy").build())
                        .build())
                .register(Flow.builder("pack-item", "1").initialStep("pack-item")
                        .step(Step.builder("pack-item", "pack-item").input(InputSelector.key("item")).outputKey("box")
                                .build())
                        .build());
        String id = "order-1001-" + run;
        // Closed after the worker: the engine lets go of awaitEnd's notice listener (a pooled connection)
        // at once, before the pool closes, instead of a few seconds after the last call.
        try (Engine engine = new Engine(store, handlers, flows);
             EngineWorker worker = EngineWorker.builder(engine).workerId("demo-worker").threads(2).build()
                     .start()) {
            engine.create("order", Map.of("orderId", 1001, "items", List.of("book", "lamp")),
                    CreateOptions.builder().executionId(id).tenantId("acme").idempotencyKey("demo-" + id).build());
            added.add(id);
            say("main", "created " + id + " (pending); a worker picks it up");

            if (!awaitingDelivery.await(TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                throw new IllegalStateException("order " + id + " did not reach 'deliver' within " + TIMEOUT);
            }
            engine.signal(id, "delivered", Map.of("signedBy", "Ann"));
            say("main", "sent signal 'delivered' {signedBy=Ann}; engine.signal returns at once");

            Execution done = engine.awaitEnd(id, TIMEOUT);
            say("main", "awaitEnd: " + done.status().wireName() + " at " + done.completedAt() + " after "
                    + done.stepCount() + " steps");
            for (Object child : (List<?>) done.context().get(Engine.CHILDREN_KEY)) {
                Map<?, ?> c = (Map<?, ?>) child;
                say("main", "child " + c.get("id") + ": " + c.get("status") + ", box "
                        + ((Map<?, ?>) c.get("output")).get("box"));
                added.add((String) c.get("id"));
            }
            WorkerStats stats = worker.stats();
            say("worker", "claimed " + stats.claimed() + ", completed " + stats.completed() + ", waited "
                    + stats.waited() + ", failed " + stats.failed() + "; woken " + stats.wakeupsByNotify()
                    + " times by NOTIFY, " + stats.wakeupsByPoll() + " by polling");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running order " + id, e);
        }
        return id;
    }

    private StepResult step(StepContext ctx, String message, Object output) {
        say(ctx, message);
        return StepResult.success(output);
    }

    private void say(StepContext ctx, String message) {
        say(ctx.stepId(), message);
    }

    private void say(String who, String message) {
        out.printf("%-10s %s%n", who + ":", message);
    }

    // ---- the query API: keyset pages and a count ----

    private void pages(PgExecutionStore store) {
        heading("ExecutionQuery: tenant acme, 4 per page, newest first");
        ExecutionQuery acme = ExecutionQuery.builder().tenantId("acme").limit(4).build();
        Page<Execution> page = store.query(acme);
        for (int n = 1; ; n++) {
            out.println("page " + n + ":");
            for (Execution e : page.items()) {
                out.printf("  %-28s %-9s created %s%n", e.id(), e.status().wireName(), e.createdAt());
            }
            if (!page.hasNext()) {
                break;
            }
            // The cursor holds the last row's (createdAt, id): the next page starts after it.
            page = store.query(acme.after(page.nextCursor()));
        }
        out.println("count(tenant acme) = " + store.count(acme));
    }

    // ---- the stored row ----

    private void printRow(DataSource ds, String id) throws SQLException {
        heading("The stored row of " + id);
        try (Connection c = ds.getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT flow_id, flow_version, tenant_id, status, "
                     + "current_step_id, step_count, version, created_at, completed_at FROM " + SCHEMA
                     + ".executions WHERE id = ?");
             PreparedStatement context = c.prepareStatement("SELECT key, value FROM " + SCHEMA
                     + ".executions, jsonb_each(context - ?) WHERE id = ? ORDER BY key")) {
            ps.setString(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++) {
                    String column = rs.getMetaData().getColumnName(i);
                    String value = rs.getString(i);
                    if (column.endsWith("_at") && value != null) {
                        // Stored as epoch milliseconds (BIGINT), as FlowMonkey's schema has them.
                        value = Instant.ofEpochMilli(rs.getLong(i)) + " (BIGINT epoch ms)";
                    }
                    out.printf("  %-16s %s%n", column, value);
                }
            }
            out.println("  context (JSONB; 'children' is printed above):");
            context.setString(1, Engine.CHILDREN_KEY);
            context.setString(2, id);
            try (ResultSet rs = context.executeQuery()) {
                while (rs.next()) {
                    out.printf("    %-12s %s%n", rs.getString(1), rs.getString(2));
                }
            }
        }
        out.println("  history (JSONB; times in epoch ms, shown here as instants):");
        Execution stored = new PgExecutionStore(ds, PgStoreOptions.builder().schema(SCHEMA).build())
                .load(id).orElseThrow();
        for (StepHistory h : stored.history()) {
            out.printf("    %-9s %-8s started %s, %d ms%n", h.stepId(), h.outcome(), h.startedAt(), h.durationMs());
        }
    }

    // ---- helpers ----

    private void heading(String title) {
        out.println();
        out.println("== " + title);
    }

    private static String serverVersion(DataSource ds) throws SQLException {
        try (Connection c = ds.getConnection(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SHOW server_version")) {
            rs.next();
            return rs.getString(1);
        }
    }
}
