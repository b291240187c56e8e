package io.flowmonkey.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flowmonkey.execution.StoreException;
import io.flowmonkey.testing.PostgresExtension;
import java.sql.SQLException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** SchemaApplier refuses servers older than the oldest PostgreSQL the tests run on. */
class ServerVersionCheckTest {

    @RegisterExtension
    static final PostgresExtension PG = PostgresExtension.withoutSchema();

    @Test
    void a_server_older_than_the_oldest_supported_is_refused_naming_the_found_and_the_required_versions() {
        assertThatThrownBy(() -> SchemaApplier.requireSupportedServer(140012, "14.12 (Debian 14.12-1)",
                "public.executions"))
                .isInstanceOf(StoreException.class)
                .hasMessageContaining("public.executions")
                .hasMessageContaining("PostgreSQL 14.12 (Debian 14.12-1)")
                .hasMessageContaining("server_version_num 140012")
                .hasMessageContaining("needs PostgreSQL 15 or newer");
        assertThatThrownBy(() -> SchemaApplier.requireSupportedServer(90624, "9.6.24", "public.executions"))
                .isInstanceOf(StoreException.class).hasMessageContaining("9.6.24");
    }

    @Test
    void the_oldest_supported_release_and_newer_ones_are_accepted() {
        for (int versionNum : new int[] {150000, 150015, 160011, 170007, 180003, 190000}) {
            assertThatCode(() -> SchemaApplier.requireSupportedServer(versionNum, "x", "public.executions"))
                    .as("server_version_num %d", versionNum).doesNotThrowAnyException();
        }
        assertThat(SchemaApplier.OLDEST_SUPPORTED_POSTGRESQL).isEqualTo(15);
    }

    @Test
    void the_server_under_test_passes_the_check_that_apply_makes() throws SQLException {
        long versionNum = PG.queryLong("SELECT current_setting('server_version_num')::int");

        assertThat(versionNum / 10_000).isGreaterThanOrEqualTo(SchemaApplier.OLDEST_SUPPORTED_POSTGRESQL);
        assertThat(SchemaApplier.apply(PG.dataSource())).isEqualTo(SchemaApplier.latestVersion());
    }
}
