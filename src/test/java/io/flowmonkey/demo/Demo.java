package io.flowmonkey.demo;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.WaitMetadata;
import io.flowmonkey.postgres.PgExecutionStore;
import io.flowmonkey.postgres.SchemaApplier;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The README's "run" command: applies the schema to an embedded PostgreSQL (or to
 * {@code FLOWMONKEY_JDBC_URL}), stores executions in several states and tenants, and prints what the
 * extended queries return.
 */
public final class Demo {

    private Demo() {
    }

    /**
     * Runs the demo.
     *
     * @param args ignored
     * @throws IOException if the embedded server cannot start
     */
    public static void main(String[] args) throws IOException {
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

    private static void run(HikariDataSource ds) {
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
