package io.flowmonkey.engine;

import io.flowmonkey.execution.ExecutionStore;
import io.flowmonkey.postgres.PgExecutionStore;
import io.flowmonkey.postgres.PgStoreOptions;
import io.flowmonkey.testing.PostgresExtension;
import java.sql.SQLException;
import java.time.Clock;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Retry, restart and bulk operations on {@link PgExecutionStore}. */
class PgOperateTest extends AbstractOperateTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    @BeforeEach
    void emptyTable() throws SQLException {
        PG.truncate("executions");
    }

    @Override
    ExecutionStore newStore(Clock clock) {
        return new PgExecutionStore(PG.dataSource(), PgStoreOptions.builder().clock(clock).build());
    }
}
