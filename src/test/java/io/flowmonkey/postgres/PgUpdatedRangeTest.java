package io.flowmonkey.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionQuery;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.testing.PostgresExtension;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Updated ranges bound the created range by their end, which holds because saves never stamp
 * {@code updated_at} before {@code created_at}, even when the execution was created by a clock ahead
 * of the store's.
 */
class PgUpdatedRangeTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    private static final Instant NOW = Instant.parse("2026-06-01T12:00:00Z");
    private PgExecutionStore store;

    @BeforeEach
    void storeAtAFixedTime() throws SQLException {
        PG.truncate("executions");
        store = new PgExecutionStore(PG.dataSource(), PgStoreOptions.builder().clock(Clock.fixed(NOW, ZoneOffset.UTC))
                .build());
    }

    @Test
    void an_updated_range_finds_rows_created_long_before_it_and_none_created_after_its_end() {
        Execution old = store.save(Execution.builder("old", "f", "1").createdAt(NOW.minus(Duration.ofDays(30)))
                .updatedAt(NOW.minus(Duration.ofDays(30))).build());
        store.save(old.toBuilder().status(ExecutionStatus.RUNNING).build());
        store.save(Execution.builder("new", "f", "1").createdAt(NOW).build());

        ExecutionQuery justNow = ExecutionQuery.builder().updatedBetween(NOW, NOW.plusMillis(1)).build();
        assertThat(store.query(justNow).items()).extracting(Execution::id).containsExactly("new", "old");
        assertThat(store.count(justNow)).isEqualTo(2);
        ExecutionQuery before = ExecutionQuery.builder().updatedBetween(null, NOW).build();
        assertThat(store.count(before)).isZero();
    }
}
