package io.flowmonkey.engine;

import io.flowmonkey.execution.SignalStore;
import io.flowmonkey.postgres.PgExecutionStore;
import io.flowmonkey.postgres.PgStoreOptions;
import io.flowmonkey.testing.PostgresExtension;
import java.sql.SQLException;
import java.time.Clock;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Child flows, signals and results on {@link PgExecutionStore}. */
class PgChildFlowsAndSignalsTest extends AbstractChildFlowsAndSignalsTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    @BeforeEach
    void emptyTables() throws SQLException {
        PG.truncate("executions", "executions_signals");
    }

    @Override
    SignalStore newStore(Clock clock) {
        return new PgExecutionStore(PG.dataSource(), PgStoreOptions.builder().clock(clock).build());
    }
}
