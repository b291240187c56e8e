package io.flowmonkey.engine;

import io.flowmonkey.execution.LeasingExecutionStore;
import io.flowmonkey.postgres.PgExecutionStore;
import io.flowmonkey.postgres.PgStoreOptions;
import io.flowmonkey.testing.PostgresExtension;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.BeforeEach;
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
