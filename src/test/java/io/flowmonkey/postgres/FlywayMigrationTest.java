package io.flowmonkey.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.LeasingExecutionStore;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.StoreException;
import io.flowmonkey.execution.WaitMetadata;
import io.flowmonkey.testing.PostgresExtension;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.configuration.FluentConfiguration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The bundled migrations applied by Flyway, and SchemaApplier meeting a table that Flyway made. */
class FlywayMigrationTest {

    @RegisterExtension
    static final PostgresExtension PG = PostgresExtension.withoutSchema();

    private static FluentConfiguration flyway(String schema) {
        return Flyway.configure()
                .dataSource(PG.dataSource())
                .schemas(schema)
                .locations("classpath:io/flowmonkey/postgres/migration")
                .placeholders(Map.of("schema", schema, "table", "executions"));
    }

    private static PgStoreOptions in(String schema) {
        return PgStoreOptions.builder().schema(schema).build();
    }

    private static long tables(String schema, String table) throws SQLException {
        return PG.queryLong("SELECT count(*) FROM pg_tables WHERE schemaname = '" + schema + "' AND tablename = '"
                + table + "'");
    }

    @Test
    void flyway_applies_the_bundled_migrations_and_the_store_works_on_the_result() throws Exception {
        flyway("fw").load().migrate();
        PgExecutionStore store = new PgExecutionStore(PG.dataSource(), PgStoreOptions.builder().schema("fw").build());

        Execution saved = store.save(Execution.builder("fw-1", "flow", "1").status(ExecutionStatus.WAITING)
                .waitMetadata(new WaitMetadata(Instant.EPOCH, "timer", null, null)).build());

        assertThat(store.findWakeReady(Instant.now())).containsExactly(saved);
        assertThat(store.claimDue("w", List.of(new LeasingExecutionStore.FlowVersion("flow", "1")),
                Duration.ofSeconds(30), 10).executions()).hasSize(1);
        assertThat(PG.queryLong("SELECT count(*) FROM pg_trigger WHERE tgname = 'executions_notify_due' "
                + "AND tgrelid = 'fw.executions'::regclass")).isEqualTo(1);
        assertThat(PG.queryLong("SELECT max(version::int) FROM fw.flyway_schema_history"))
                .isEqualTo(SchemaApplier.latestVersion());
    }

    @Test
    void schema_applier_recognises_a_table_flyway_made_and_changes_nothing() throws Exception {
        flyway("fw_done").table("flowmonkey_flyway_history").load().migrate();

        assertThat(SchemaApplier.apply(PG.dataSource(), in("fw_done"))).isEqualTo(SchemaApplier.latestVersion());
        assertThat(SchemaApplier.apply(PG.dataSource(), in("fw_done"))).isEqualTo(SchemaApplier.latestVersion());

        assertThat(tables("fw_done", SchemaApplier.HISTORY_TABLE)).as("SchemaApplier wrote no history").isZero();
        assertThat(flyway("fw_done").table("flowmonkey_flyway_history").load().validateWithResult().validationSuccessful)
                .isTrue();
        assertThat(new PgExecutionStore(PG.dataSource(), in("fw_done"))
                .save(Execution.builder("after-flyway", "flow", "1").build()).version()).isEqualTo(1);
    }

    @Test
    void schema_applier_refuses_a_flyway_table_that_flyway_has_not_finished_upgrading() throws Exception {
        flyway("fw_half").target("2").load().migrate();

        assertThatThrownBy(() -> SchemaApplier.apply(PG.dataSource(), in("fw_half")))
                .isInstanceOf(StoreException.class)
                .hasMessageContaining("fw_half.executions is managed by Flyway")
                .hasMessageContaining("fw_half.flyway_schema_history")
                .hasMessageContaining("up to 2")
                .hasMessageContaining("3 to " + SchemaApplier.latestVersion());

        assertThat(PG.queryLong("SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                + "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'fw_half'")).isZero();
        assertThat(tables("fw_half", SchemaApplier.HISTORY_TABLE)).isZero();
        // Flyway itself finishes the job, and SchemaApplier then accepts the table.
        flyway("fw_half").load().migrate();
        assertThat(SchemaApplier.apply(PG.dataSource(), in("fw_half"))).isEqualTo(SchemaApplier.latestVersion());
    }

    @Test
    void a_migrated_table_with_no_history_anywhere_is_refused_rather_than_half_migrated() throws Exception {
        flyway("fw_lost").load().migrate();
        PG.execute("DROP TABLE fw_lost.flyway_schema_history");

        assertThatThrownBy(() -> SchemaApplier.apply(PG.dataSource(), in("fw_lost")))
                .isInstanceOf(StoreException.class)
                .hasMessageContaining("fw_lost.executions already has what migration 2 adds")
                .hasMessageContaining("Flyway history table");

        assertThat(tables("fw_lost", SchemaApplier.HISTORY_TABLE)).isZero();
    }

    @Test
    void an_application_role_that_may_read_flyways_history_passes_the_check_without_ddl_privileges() throws Exception {
        flyway("fw_role").table("flowmonkey_flyway_history").load().migrate();
        String role = "fm_fw_app_" + ProcessHandle.current().pid();
        PG.execute("DROP ROLE IF EXISTS " + role);
        PG.execute("CREATE ROLE " + role + " LOGIN PASSWORD 'app-secret'");
        PG.execute("GRANT USAGE ON SCHEMA fw_role TO " + role);
        PG.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON fw_role.executions TO " + role);
        DataSource appPool = PG.newDataSource(2, role, "app-secret");

        assertThatThrownBy(() -> SchemaApplier.apply(appPool, in("fw_role")))
                .isInstanceOf(StoreException.class)
                .hasMessageContaining("lacks the privilege")
                .hasMessageContaining("flowmonkey_flyway_history");

        PG.execute("GRANT SELECT ON fw_role.flowmonkey_flyway_history TO " + role);
        assertThat(SchemaApplier.apply(appPool, in("fw_role"))).isEqualTo(SchemaApplier.latestVersion());
    }

    @Test
    void a_table_schema_applier_made_is_upgraded_as_before_even_beside_a_flyway_history() throws Exception {
        // The application's own Flyway history in the same schema records none of the bundled scripts.
        Flyway.configure().dataSource(PG.dataSource()).schemas("fw_app").locations("classpath:flyway-app")
                .load().migrate();

        assertThat(SchemaApplier.apply(PG.dataSource(), in("fw_app"))).isEqualTo(SchemaApplier.latestVersion());

        assertThat(PG.queryLong("SELECT count(*) FROM fw_app.flowmonkey_schema_history"))
                .isEqualTo(SchemaApplier.migrationCount());
        assertThat(SchemaApplier.apply(PG.dataSource(), in("fw_app"))).isEqualTo(SchemaApplier.latestVersion());
    }
}
