package io.flowmonkey.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import io.flowmonkey.engine.MutableClock;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Migration V12: a BRIN index on (updated_at, created_at) where PostgreSQL keeps updates of BRIN-indexed
 * columns HOT (16 and later), and none on PostgreSQL 15, where it would make every save non-HOT.
 */
class UpdatedRangeIndexMigrationTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    private static final Logger LOG = LoggerFactory.getLogger(UpdatedRangeIndexMigrationTest.class);
    private static final String INDEX = "CREATE INDEX idx_executions_updated ON executions USING brin "
            + "(updated_at, created_at) WITH (pages_per_range = 16, autosummarize = on)";

    private static boolean summarizingIndexesKeepUpdatesHot() throws SQLException {
        return PG.queryLong("SELECT current_setting('server_version_num')::int") >= 160_000;
    }

    private static boolean indexExists() throws SQLException {
        return PG.queryLong("SELECT count(*) FROM pg_class WHERE relname = 'idx_executions_updated'") == 1;
    }

    @Test
    void the_schema_applied_includes_version_twelve() {
        assertThat(SchemaApplier.apply(PG.dataSource())).isEqualTo(SchemaApplier.latestVersion())
                .isGreaterThanOrEqualTo(12);
    }

    @Test
    void the_brin_index_is_made_from_postgresql_16_on_with_small_ranges_summarized_by_autovacuum()
            throws SQLException {
        assertThat(indexExists()).isEqualTo(summarizingIndexesKeepUpdatesHot());
        if (indexExists()) {
            assertThat(PG.queryLong("SELECT count(*) FROM pg_indexes WHERE indexname = 'idx_executions_updated' "
                    + "AND indexdef LIKE '%USING brin (updated_at, created_at)%'")).isEqualTo(1);
            assertThat(PG.queryLong("SELECT count(*) FROM pg_class WHERE relname = 'idx_executions_updated' "
                    + "AND reloptions @> ARRAY['pages_per_range=16', 'autosummarize=on']")).isEqualTo(1);
        }
    }

    /**
     * Step saves that keep the status (the step count and context change, updated_at with them), counted
     * in pg_stat_user_tables with the index as this server's migration left it and with the other state:
     * dropped on PostgreSQL 16 and later, made by hand on 15. The saves run on one connection, whose
     * statistics are flushed before each reading.
     */
    @Test
    void step_saves_that_keep_the_status_stay_hot_with_the_brin_index_where_the_migration_makes_it()
            throws Exception {
        boolean migrated = indexExists();
        long[] asMigrated = hotAndAllUpdatesOfStepSaves("m");
        PG.execute(migrated ? "DROP INDEX idx_executions_updated" : INDEX);
        long[] otherwise;
        try {
            otherwise = hotAndAllUpdatesOfStepSaves("o");
        } finally {
            PG.execute(migrated ? INDEX : "DROP INDEX idx_executions_updated");
        }
        LOG.info("step saves, HOT of all updates: with the migration's index state ({}) {} of {}; {} {} of {}",
                migrated ? "BRIN index" : "no BRIN index", asMigrated[0], asMigrated[1],
                migrated ? "without it" : "with a BRIN index made by hand", otherwise[0], otherwise[1]);

        long[] withIndex = migrated ? asMigrated : otherwise;
        long[] withoutIndex = migrated ? otherwise : asMigrated;
        assertThat(withoutIndex[0]).as("HOT updates without the BRIN index").isEqualTo(withoutIndex[1]);
        if (summarizingIndexesKeepUpdatesHot()) {
            assertThat(withIndex[0]).as("HOT updates with the BRIN index").isEqualTo(withIndex[1]);
        } else {
            assertThat(withIndex[0]).as("HOT updates with a BRIN index on PostgreSQL 15").isZero();
        }
        assertThat(withIndex[1]).isEqualTo(withoutIndex[1]).isEqualTo(2 * 100);
    }

    /** {n_tup_hot_upd, n_tup_upd} of two rounds of step saves of 100 fresh running executions. */
    private static long[] hotAndAllUpdatesOfStepSaves(String prefix) throws Exception {
        PG.truncate("executions");
        // An autovacuum or autoanalyze snapshot meanwhile could keep old versions from being pruned, and a
        // save that then finds no room on its page is not HOT for a reason that is not the index.
        PG.execute("ALTER TABLE executions SET (autovacuum_enabled = false)");
        try {
            return stepSaves(prefix);
        } finally {
            PG.execute("ALTER TABLE executions RESET (autovacuum_enabled)");
        }
    }

    private static long[] stepSaves(String prefix) throws Exception {
        DataSource one = PG.newDataSource(1);
        MutableClock clock = new MutableClock(Instant.parse("2026-06-01T12:00:00Z"));
        PgExecutionStore store = new PgExecutionStore(one, PgStoreOptions.builder().clock(clock).build());
        List<Execution> rows = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            rows.add(Execution.builder(prefix + i, "flow", "1").status(ExecutionStatus.RUNNING)
                    .createdAt(clock.instant()).updatedAt(clock.instant()).build());
        }
        rows = new ArrayList<>(store.saveAll(rows));
        long[] before = counters(one);
        for (int round = 1; round <= 2; round++) {
            clock.advance(Duration.ofSeconds(1));
            for (int i = 0; i < rows.size(); i++) {
                Execution e = rows.get(i);
                rows.set(i, store.save(e.toBuilder().stepCount(round).context(Map.of("step", round)).build()));
            }
        }
        long[] after = counters(one);
        assertThat(rows).allSatisfy(e -> assertThat(e.updatedAt()).isEqualTo(clock.instant()));
        return new long[] {after[0] - before[0], after[1] - before[1]};
    }

    private static long[] counters(DataSource flushing) throws SQLException {
        try (Connection c = flushing.getConnection(); Statement st = c.createStatement()) {
            st.execute("SELECT pg_stat_force_next_flush()");
            try (ResultSet rs = st.executeQuery("SELECT n_tup_hot_upd, n_tup_upd FROM pg_stat_user_tables "
                    + "WHERE relid = 'executions'::regclass")) {
                rs.next();
                return new long[] {rs.getLong(1), rs.getLong(2)};
            }
        }
    }
}
