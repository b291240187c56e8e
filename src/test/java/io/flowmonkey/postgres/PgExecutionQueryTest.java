package io.flowmonkey.postgres;

import io.flowmonkey.execution.ExecutionQueryContract;
import io.flowmonkey.execution.ExecutionStore;
import io.flowmonkey.testing.PostgresExtension;
import java.sql.SQLException;
import java.time.Clock;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.RegisterExtension;

class PgExecutionQueryTest extends ExecutionQueryContract {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    @BeforeEach
    void emptyTable() throws SQLException {
        PG.execute("TRUNCATE executions");
    }

    @Override
    protected ExecutionStore newStore(Clock clock) {
        return new PgExecutionStore(PG.dataSource(), PgStoreOptions.builder().clock(clock).build());
    }
}
