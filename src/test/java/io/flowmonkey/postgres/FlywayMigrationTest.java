package io.flowmonkey.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.LeasingExecutionStore;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.WaitMetadata;
import io.flowmonkey.testing.PostgresExtension;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The bundled migrations applied by Flyway, as the README tells users who already run Flyway. */
class FlywayMigrationTest {

    @RegisterExtension
    static final PostgresExtension PG = PostgresExtension.withoutSchema();

    @Test
    void flyway_applies_the_bundled_migrations_and_the_store_works_on_the_result() throws Exception {
        Flyway.configure()
                .dataSource(PG.dataSource())
                .schemas("fw")
                .locations("classpath:io/flowmonkey/postgres/migration")
                .placeholders(Map.of("schema", "fw", "table", "executions"))
                .load()
                .migrate();
        PgExecutionStore store = new PgExecutionStore(PG.dataSource(), PgStoreOptions.builder().schema("fw").build());

        Execution saved = store.save(Execution.builder("fw-1", "flow", "1").status(ExecutionStatus.WAITING)
                .waitMetadata(new WaitMetadata(Instant.EPOCH, "timer", null, null)).build());

        assertThat(store.findWakeReady(Instant.now())).containsExactly(saved);
        assertThat(store.claimDue("w", List.of(new LeasingExecutionStore.FlowVersion("flow", "1")), Duration.ofSeconds(30), 10)
                .executions()).hasSize(1);
        assertThat(PG.queryLong("SELECT count(*) FROM pg_trigger WHERE tgname = 'executions_notify_due'")).isEqualTo(1);
        assertThat(PG.queryLong("SELECT max(version::int) FROM fw.flyway_schema_history"))
                .isEqualTo(SchemaApplier.latestVersion());
    }
}
