package io.flowmonkey.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Migration V10: pages keep room for the next versions of their rows. */
class WritePathMigrationTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    private static long blockOf(String id) throws SQLException {
        try (Connection c = PG.dataSource().getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT (ctid::text::point)[0]::bigint FROM executions WHERE id = ?")) {
            ps.setString(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    @Test
    void the_executions_table_fills_its_pages_to_half() throws SQLException {
        assertThat(PG.queryLong("SELECT count(*) FROM pg_class WHERE oid = 'executions'::regclass "
                + "AND 'fillfactor=50' = ANY (reloptions)")).isEqualTo(1);
    }

    @Test
    void a_step_save_of_a_row_on_a_page_filled_by_inserts_stays_on_that_page() throws SQLException {
        PG.truncate("executions");
        PgExecutionStore store = new PgExecutionStore(PG.dataSource());
        List<Execution> created = new ArrayList<>();
        // Incompressible text of about 1 KB per row: a full page would hold seven of them.
        for (int i = 0; i < 40; i++) {
            StringBuilder noise = new StringBuilder();
            for (int j = 0; j < 40; j++) {
                noise.append(Long.toHexString(Double.doubleToLongBits(Math.random())));
            }
            created.add(Execution.builder("page-" + i, "flow", "1").context(Map.of("noise", noise.toString())).build());
        }
        List<Execution> stored = store.saveAll(created);
        assertThat(blockOf("page-39")).as("the rows span several pages").isGreaterThan(2);

        for (Execution e : stored.subList(0, 3)) {
            long before = blockOf(e.id());
            store.save(e.toBuilder().status(ExecutionStatus.RUNNING).stepCount(1).build());
            assertThat(blockOf(e.id())).as("the new version of %s beside the old", e.id()).isEqualTo(before);
        }
    }
}
