package io.flowmonkey.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import io.flowmonkey.execution.Execution;
import io.flowmonkey.testing.PostgresExtension;
import java.sql.SQLException;
import java.util.Map;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The README's Flyway recipe, line for line: FlowMonkey's migrations run by a Flyway of their own in an
 * application whose Flyway already migrated its own tables into the same schema.
 */
class FlywayRecipeTest {

    @RegisterExtension
    static final PostgresExtension PG = PostgresExtension.withoutSchema();

    @Test
    void a_second_flyway_with_its_own_history_table_migrates_flowmonkey_beside_the_applications_migrations()
            throws SQLException {
        DataSource ds = PG.dataSource();
        // The application's own migrations, versions 1 and 2, recorded in public.flyway_schema_history.
        Flyway.configure().dataSource(ds).locations("classpath:flyway-app").load().migrate();

        Flyway.configure()
                .dataSource(ds)
                .schemas("public")                                   // the table's schema; Flyway's history goes there too
                .table("flowmonkey_flyway_history")                  // apart from the application's flyway_schema_history
                .locations("classpath:io/flowmonkey/postgres/migration")
                .placeholders(Map.of("schema", "public", "table", "executions"))
                .baselineOnMigrate(true)                             // the schema already holds the application's tables,
                .baselineVersion("0")                                // so start the history below FlowMonkey's V1
                .load()
                .migrate();

        SchemaApplier.apply(ds);   // recognises Flyway's work: checks the server and the version, changes nothing

        assertThat(PG.queryLong("SELECT count(*) FROM public.flowmonkey_flyway_history WHERE success AND type = 'SQL'"))
                .isEqualTo(SchemaApplier.migrationCount());
        assertThat(PG.queryLong("SELECT count(*) FROM public.flyway_schema_history WHERE type = 'SQL'")).isEqualTo(2);
        assertThat(PG.queryLong("SELECT count(*) FROM pg_tables WHERE tablename = 'flowmonkey_schema_history'"))
                .isZero();
        // The application's Flyway still validates: FlowMonkey's history is not its business.
        Flyway app = Flyway.configure().dataSource(ds).locations("classpath:flyway-app").load();
        assertThat(app.validateWithResult().validationSuccessful).isTrue();
        assertThat(app.migrate().migrationsExecuted).isZero();
        PG.execute("INSERT INTO orders (id, customer, total) VALUES ('o-1', 'acme', 42.50)");
        assertThat(new PgExecutionStore(ds).save(Execution.builder("recipe-1", "order-flow", "1").build()).version())
                .isEqualTo(1);
    }
}
