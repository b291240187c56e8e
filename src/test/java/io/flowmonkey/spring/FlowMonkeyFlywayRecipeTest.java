package io.flowmonkey.spring;

import static org.assertj.core.api.Assertions.assertThat;

import io.flowmonkey.engine.Engine;
import io.flowmonkey.engine.Flow;
import io.flowmonkey.engine.Step;
import io.flowmonkey.engine.StepHandler;
import io.flowmonkey.engine.StepResult;
import io.flowmonkey.postgres.SchemaApplier;
import io.flowmonkey.testing.PostgresExtension;
import java.util.Map;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.flyway.FlywayAutoConfiguration;
import org.springframework.boot.autoconfigure.flyway.FlywayMigrationStrategy;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The README's Spring Boot Flyway recipe: the application's migrations from {@code spring.flyway.*},
 * FlowMonkey's from a second Flyway in the same start-up, and the auto-configured store created after
 * both, with {@code flowmonkey.apply-schema} left on.
 */
class FlowMonkeyFlywayRecipeTest {

    @RegisterExtension
    static final PostgresExtension PG = PostgresExtension.withoutSchema();

    /** As in the README. */
    @Configuration(proxyBeanMethods = false)
    static class FlowMonkeyMigrations {

        @Bean
        FlywayMigrationStrategy flowMonkeyMigrations(DataSource dataSource) {
            return applicationFlyway -> {
                applicationFlyway.migrate();                         // the application's own, from spring.flyway.*
                Flyway.configure()
                        .dataSource(dataSource)
                        .schemas("shop")                             // flowmonkey.schema
                        .table("flowmonkey_flyway_history")
                        .locations("classpath:io/flowmonkey/postgres/migration")
                        .placeholders(Map.of("schema", "shop", "table", "executions"))
                        .baselineOnMigrate(true)
                        .baselineVersion("0")
                        .load()
                        .migrate();
            };
        }
    }

    @Test
    void the_applications_flyway_and_flowmonkeys_run_at_start_up_before_the_store_is_built() {
        new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(FlywayAutoConfiguration.class,
                        FlowMonkeyAutoConfiguration.class))
                .withUserConfiguration(FlowMonkeyMigrations.class)
                .withBean(DataSource.class, () -> PG.newDataSource(4))
                .withBean("ping-flow", Flow.class, () -> Flow.builder("ping", "1").initialStep("ping")
                        .step(Step.builder("ping", "ping").build()).build())
                .withBean("ping", StepHandler.class, () -> ctx -> StepResult.success("pong"))
                .withPropertyValues("spring.flyway.schemas=shop", "spring.flyway.locations=classpath:flyway-app",
                        "flowmonkey.schema=shop", "flowmonkey.worker.enabled=false")
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    Engine engine = context.getBean(Engine.class);
                    String id = engine.create("ping", Map.of()).execution().id();

                    assertThat(engine.run(id).execution().context()).isEmpty();
                    assertThat(PG.queryLong("SELECT count(*) FROM shop.flyway_schema_history WHERE type = 'SQL'")).isEqualTo(2);
                    assertThat(PG.queryLong("SELECT max(version::int) FROM shop.flowmonkey_flyway_history "
                            + "WHERE success AND type = 'SQL'")).isEqualTo(SchemaApplier.latestVersion());
                    assertThat(PG.queryLong("SELECT count(*) FROM pg_tables WHERE schemaname = 'shop' "
                            + "AND tablename = 'flowmonkey_schema_history'")).isZero();
                });
    }
}
