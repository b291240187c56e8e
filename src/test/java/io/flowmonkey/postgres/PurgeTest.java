package io.flowmonkey.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import com.zaxxer.hikari.HikariDataSource;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionQuery;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.StoreException;
import io.flowmonkey.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@link PgExecutionStore#purge} and {@link Purger} on a handful of rows; the million-row run is in {@link QueryAtScaleTest}. */
class PurgeTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    private static final Instant NOW = Instant.parse("2026-06-01T12:00:00Z");
    private static final Instant TEN_DAYS_AGO = NOW.minus(Duration.ofDays(10));

    private PgExecutionStore store;

    @BeforeEach
    void emptyTable() throws SQLException {
        PG.truncate("executions");
        store = new PgExecutionStore(PG.dataSource(), PgStoreOptions.builder()
                .clock(Clock.fixed(NOW, ZoneOffset.UTC)).build());
    }

    private void save(String id, ExecutionStatus status, Instant createdAt, Instant endedAt) {
        Execution.Builder b = Execution.builder(id, "order-flow", "1").status(status).createdAt(createdAt);
        switch (status) {
            case COMPLETED -> b.completedAt(endedAt);
            case FAILED -> b.failedAt(endedAt);
            case CANCELLED -> b.cancelledAt(endedAt);
            default -> { }
        }
        store.save(b.build());
    }

    private List<String> remaining() {
        return store.query(ExecutionQuery.builder().build()).items().stream().map(Execution::id).sorted().toList();
    }

    @Test
    void purge_removes_ended_executions_whose_own_end_time_is_older_than_the_duration() {
        save("completed-old", ExecutionStatus.COMPLETED, TEN_DAYS_AGO, TEN_DAYS_AGO);
        save("failed-old", ExecutionStatus.FAILED, TEN_DAYS_AGO, TEN_DAYS_AGO);
        save("cancelled-old", ExecutionStatus.CANCELLED, TEN_DAYS_AGO, TEN_DAYS_AGO);
        save("completed-recently", ExecutionStatus.COMPLETED, TEN_DAYS_AGO, NOW.minus(Duration.ofDays(1)));
        save("running-old", ExecutionStatus.RUNNING, TEN_DAYS_AGO, null);
        save("waiting-old", ExecutionStatus.WAITING, TEN_DAYS_AGO, null);

        int removed = store.purge(Duration.ofDays(5));

        assertThat(removed).isEqualTo(3);
        assertThat(remaining()).containsExactly("completed-recently", "running-old", "waiting-old");
        assertThat(store.purge(Duration.ofDays(5))).isZero();
    }

    @Test
    void purge_by_status_in_batches_of_one_removes_only_those_statuses() {
        for (int i = 0; i < 5; i++) {
            save("failed-" + i, ExecutionStatus.FAILED, TEN_DAYS_AGO, TEN_DAYS_AGO);
        }
        save("completed", ExecutionStatus.COMPLETED, TEN_DAYS_AGO, TEN_DAYS_AGO);

        int removed = store.purge(Duration.ZERO, Set.of(ExecutionStatus.FAILED), 1);

        assertThat(removed).isEqualTo(5);
        assertThat(remaining()).containsExactly("completed");
    }

    @Test
    void purge_skips_a_row_a_writer_holds_locked_and_does_not_wait_for_it() throws Exception {
        for (int i = 0; i < 4; i++) {
            save("old-" + i, ExecutionStatus.COMPLETED, TEN_DAYS_AGO, TEN_DAYS_AGO);
        }
        try (Connection writer = PG.dataSource().getConnection()) {
            writer.setAutoCommit(false);
            try (Statement st = writer.createStatement()) {
                st.execute("SELECT id FROM executions WHERE id = 'old-2' FOR UPDATE");
            }

            int removed = assertTimeoutPreemptively(Duration.ofSeconds(30), () -> store.purge(Duration.ofDays(1)));

            assertThat(removed).isEqualTo(3);
            assertThat(remaining()).containsExactly("old-2");
            writer.commit();
        }
        assertThat(store.purge(Duration.ofDays(1))).isEqualTo(1);
    }

    @Test
    void purge_refuses_bad_arguments_by_name() {
        assertThatThrownBy(() -> store.purge(Duration.ofDays(-1))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("olderThan must not be negative");
        assertThatThrownBy(() -> store.purge(Duration.ZERO, Set.of(ExecutionStatus.RUNNING), 10))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ended statuses");
        assertThatThrownBy(() -> store.purge(Duration.ZERO, Set.of(), 10)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> store.purge(Duration.ZERO, PgExecutionStore.ENDED, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("batchSize");
    }

    @Test
    void a_purger_run_purges_as_configured() {
        save("failed-old", ExecutionStatus.FAILED, TEN_DAYS_AGO, TEN_DAYS_AGO);
        save("completed-old", ExecutionStatus.COMPLETED, TEN_DAYS_AGO, TEN_DAYS_AGO);
        Purger purger = Purger.builder(store).olderThan(Duration.ofDays(7)).statuses(Set.of(ExecutionStatus.COMPLETED))
                .batchSize(10).interval(Duration.ofMinutes(10)).build();

        purger.run();

        assertThat(remaining()).containsExactly("failed-old");
        assertThat(purger.interval()).isEqualTo(Duration.ofMinutes(10));
    }

    @Test
    void a_failing_purger_run_is_logged_not_thrown_while_purgeNow_throws() {
        HikariDataSource closed = PG.newDataSource(1);
        closed.close();
        Purger purger = Purger.builder(new PgExecutionStore(closed)).build();

        purger.run();

        assertThatThrownBy(purger::purgeNow).isInstanceOf(StoreException.class);
    }

    @Test
    void purger_settings_are_checked_when_set() {
        Purger.Builder b = Purger.builder(store);

        assertThatThrownBy(() -> b.interval(Duration.ofMillis(10))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("interval");
        assertThatThrownBy(() -> b.statuses(Set.of(ExecutionStatus.PENDING))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> b.batchSize(PgExecutionStore.MAX_PURGE_BATCH + 1))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(b.build().olderThan()).isEqualTo(Purger.DEFAULT_OLDER_THAN);
    }
}
