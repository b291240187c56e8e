package io.flowmonkey.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.flowmonkey.execution.LeasingExecutionStore;
import io.flowmonkey.postgres.PgExecutionStore;
import io.flowmonkey.postgres.PgStoreOptions;
import io.flowmonkey.testing.PostgresExtension;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Flow control on {@link PgExecutionStore}; each call of {@link #newStore} is a store over one database. */
class PgFlowControlTest extends AbstractFlowControlTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    @BeforeEach
    void emptyTable() throws SQLException {
        PG.truncate("executions");
    }

    @Override
    LeasingExecutionStore newStore(Clock clock) {
        return new PgExecutionStore(PG.dataSource(), PgStoreOptions.builder().clock(clock).build());
    }

    @Test
    void a_scheduled_start_is_stored_as_the_documented_schemas_timed_wait_at_the_first_step()
            throws SQLException {
        Instant startAt = clock.instant().plus(Duration.ofHours(3));
        String id = engine.create("scheduled", Map.of(), CreateOptions.builder().startAt(startAt).priority(3).build())
                .execution().id();

        assertThat(PG.queryLong("SELECT count(*) FROM executions WHERE id = '" + id + "' AND status = 'waiting'"
                + " AND current_step_id = 'first' AND history = '[]' AND step_count = 0 AND priority = 3"
                + " AND jsonb_typeof(wait_metadata -> 'wakeAt') = 'number'"
                + " AND (wait_metadata ->> 'wakeAt')::bigint = " + startAt.toEpochMilli()
                + " AND wait_metadata ->> 'reason' = 'scheduled start'"
                + " AND wait_metadata -> 'data' ->> 'wake' = 'start'"
                + " AND wake_at = " + startAt.toEpochMilli())).isEqualTo(1);
    }

    /** Claims go by the database's clock, which cannot be moved: the start moves back instead. */
    @Override
    void passTimeForTheStore(String id, Duration d) {
        clock.advance(d);
        try {
            PG.execute("UPDATE executions SET wait_metadata = jsonb_set(wait_metadata, '{wakeAt}', "
                    + "to_jsonb((wait_metadata ->> 'wakeAt')::bigint - " + d.toMillis() + ")) WHERE id = '" + id + "'");
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }
}
