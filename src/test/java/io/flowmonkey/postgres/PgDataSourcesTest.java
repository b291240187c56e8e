package io.flowmonkey.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.pool.HikariPool;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.testing.PostgresExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class PgDataSourcesTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    @Test
    void pooled_starts_a_pool_with_the_documented_production_settings_that_the_store_runs_on() {
        try (HikariDataSource ds = PgDataSources.pooled(PG.jdbcUrl(), PG.database().user(), PG.database().password())) {
            assertThat(ds.getMaximumPoolSize()).isEqualTo(20);
            assertThat(ds.getIdleTimeout()).isEqualTo(30_000);
            assertThat(ds.getConnectionTimeout()).isEqualTo(2_000);
            assertThat(ds.getMinimumIdle()).as("idle connections shrink to the README's 2").isEqualTo(2);
            assertThat(ds.getDataSourceProperties()).containsEntry("reWriteBatchedInserts", "true");

            PgExecutionStore store = new PgExecutionStore(ds);
            Execution saved = store.save(Execution.builder("pooled-1", "flow", "1").build());

            assertThat(store.load("pooled-1")).contains(saved);
        }
    }

    @Test
    void config_returns_a_fresh_configuration_each_time_so_that_changes_stay_with_the_caller() {
        HikariConfig first = PgDataSources.config("jdbc:postgresql://db:5432/app", "app", null);
        first.setMaximumPoolSize(5);

        assertThat(PgDataSources.config("jdbc:postgresql://db:5432/app", "app", null).getMaximumPoolSize())
                .isEqualTo(PgDataSources.DEFAULT_MAXIMUM_POOL_SIZE);
    }

    @Test
    void pooled_fails_at_once_when_the_database_does_not_exist() {
        String missing = PG.jdbcUrl().replace(PG.database().name(), "no_such_database");

        assertThatThrownBy(() -> PgDataSources.pooled(missing, PG.database().user(), PG.database().password()))
                .isInstanceOf(HikariPool.PoolInitializationException.class)
                .hasMessageContaining("no_such_database");
    }

    @Test
    void config_refuses_a_url_of_another_database_and_a_blank_user_by_name() {
        assertThatThrownBy(() -> PgDataSources.config("jdbc:mysql://db/app", "app", "pw"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("jdbcUrl").hasMessageContaining("jdbc:mysql://db/app");
        assertThatThrownBy(() -> PgDataSources.config("jdbc:postgresql://db/app", " ", "pw"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("user");
    }
}
