package io.flowmonkey.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionQuery;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.Signal;
import io.flowmonkey.execution.StoreException;
import io.flowmonkey.testing.PostgresExtension;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Times at the ends of Instant's range reach the newer entry points as typed answers, never raw arithmetic errors. */
class EdgeInstantsTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    private PgExecutionStore store;

    @BeforeEach
    void emptyTables() throws SQLException {
        PG.truncate("executions", "executions_signals");
        store = new PgExecutionStore(PG.dataSource());
        store.save(Execution.builder("e1", "f", "1").tenantId("t").build());
    }

    @Test
    void a_query_over_instants_beyond_epoch_millis_reads_as_the_whole_range() {
        ExecutionQuery all = ExecutionQuery.builder().createdBetween(Instant.MIN, Instant.MAX).build();

        assertThat(store.query(all).items()).extracting(Execution::id).containsExactly("e1");
        assertThat(store.count(all)).isEqualTo(1);
    }

    @Test
    void a_purge_of_executions_older_than_any_stored_time_removes_nothing() {
        store.save(store.load("e1").orElseThrow().toBuilder().status(ExecutionStatus.COMPLETED)
                .completedAt(Instant.now()).build());

        assertThat(store.purge(Duration.ofSeconds(Long.MAX_VALUE))).isZero();
        assertThat(store.load("e1")).isPresent();
    }

    @Test
    void a_signal_sent_by_a_store_whose_clock_is_beyond_epoch_millis_is_a_StoreException() {
        PgExecutionStore broken = new PgExecutionStore(PG.dataSource(), PgStoreOptions.builder()
                .clock(Clock.fixed(Instant.MAX, ZoneOffset.UTC)).build());

        assertThatThrownBy(() -> broken.sendSignal(Signal.of("e1", "go", null)))
                .isInstanceOf(StoreException.class).hasMessageContaining("clock");
        assertThat(store.findSignals("e1", "go", 10)).isEmpty();
    }
}
