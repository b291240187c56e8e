package io.flowmonkey.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.ExecutionStore;
import io.flowmonkey.testing.PostgresExtension;
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The README's store snippets, line for line, so that they keep compiling and working. */
class ReadmeExamplesTest {

    @RegisterExtension
    static final PostgresExtension PG = PostgresExtension.withoutSchema();

    /** The README's pool settings, line for line. */
    private static HikariConfig readmePoolConfig() {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl("jdbc:postgresql://localhost:5432/flowmonkey");
        config.setUsername("flowmonkey");
        config.setPassword(System.getenv("DB_PASSWORD"));
        config.setMaximumPoolSize(20);        // max: 20
        config.setMinimumIdle(2);             // lets idleTimeout retire unused connections
        config.setIdleTimeout(30_000);        // idleTimeoutMillis: 30000
        config.setConnectionTimeout(2_000);   // connectionTimeoutMillis: 2000
        config.addDataSourceProperty("reWriteBatchedInserts", "true");   // saveAll of over 1,000 executions
        return config;
    }

    @Test
    void getting_started_extended_queries_and_transactions() throws SQLException {
        HikariConfig config = readmePoolConfig();
        config.setJdbcUrl(PG.jdbcUrl());                 // the test's database in place of the README's
        config.setUsername(PG.database().user());
        config.setPassword(PG.database().password());
        HikariDataSource ds = new HikariDataSource(config);
        SchemaApplier.apply(ds);   // idempotent; safe to call from every instance at start-up

        ExecutionStore store = new PgExecutionStore(ds);

        Execution saved = store.save(Execution.builder("order-1001", "order-flow", "1")
                .tenantId("acme")
                .context(Map.of("orderId", 1001, "total", new BigDecimal("42.50")))
                .build());                          // version 1

        Execution running = store.save(saved.toBuilder()
                .status(ExecutionStatus.RUNNING)
                .currentStepId("charge")
                .build());                          // version 2

        List<Execution> waiting = store.findByStatus(ExecutionStatus.WAITING);
        List<Execution> acme = store.findByTenant("acme", 50);
        List<Execution> due = store.findWakeReady(Instant.now());
        Optional<Execution> dup = store.findByIdempotencyKey("checkout-7f3a");
        List<Execution> kids = store.findChildren("order-1001");

        PgExecutionStore pg = new PgExecutionStore(ds);
        pg.inTransaction(tx -> {
            Execution order = tx.load("order-1001").orElseThrow();
            tx.save(order.toBuilder().status(ExecutionStatus.COMPLETED).completedAt(Instant.now()).build());
            tx.save(Execution.builder("invoice-1001", "invoice-flow", "1").parentExecutionId(order.id()).build());
            return null;
        });

        Execution execution = Execution.builder("audit-1", "audit-flow", "1").build();
        try (Connection c = ds.getConnection()) {
            c.setAutoCommit(false);
            pg.using(c).save(execution);
            c.commit();
        }

        assertThat(saved.version()).isEqualTo(1);
        assertThat(running.version()).isEqualTo(2);
        assertThat(waiting).isEmpty();
        assertThat(acme).extracting(Execution::id).containsExactly("order-1001");
        assertThat(due).isEmpty();
        assertThat(dup).isEmpty();
        assertThat(kids).isEmpty();
        assertThat(store.load("order-1001").orElseThrow().status()).isEqualTo(ExecutionStatus.COMPLETED);
        assertThat(store.findChildren("order-1001")).extracting(Execution::id).containsExactly("invoice-1001");
        assertThat(store.load("audit-1")).isPresent();
        assertThat(store.load("order-1001").orElseThrow().context().get("total")).isEqualTo(new BigDecimal("42.50"));
        ds.close();
    }
}
