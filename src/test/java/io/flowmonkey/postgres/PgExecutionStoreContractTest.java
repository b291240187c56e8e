package io.flowmonkey.postgres;

import io.flowmonkey.execution.ExecutionStore;
import io.flowmonkey.execution.ExecutionStoreContract;
import io.flowmonkey.testing.PostgresExtension;
import java.sql.SQLException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.RegisterExtension;

class PgExecutionStoreContractTest extends ExecutionStoreContract {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    private PgExecutionStore store;

    @BeforeEach
    void emptyTable() throws SQLException {
        PG.truncate("executions");
        store = new PgExecutionStore(PG.dataSource());
    }

    @Override
    protected ExecutionStore store() {
        return store;
    }
    @Override
    protected ExecutionStore storeWithClock(java.time.Clock clock) {
        return new PgExecutionStore(PG.dataSource(), PgStoreOptions.builder().clock(clock).build());
    }
}
