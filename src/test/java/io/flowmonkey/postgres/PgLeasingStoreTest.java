package io.flowmonkey.postgres;

import io.flowmonkey.execution.LeasingExecutionStore;
import io.flowmonkey.execution.LeasingStoreContract;
import io.flowmonkey.testing.PostgresExtension;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.BlockingQueue;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The lease contract on PostgreSQL, whose leases are timed by the database's clock. */
class PgLeasingStoreTest extends LeasingStoreContract {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    private PgExecutionStore store;

    @BeforeEach
    void emptyTable() throws SQLException {
        PG.truncate("executions");
        store = new PgExecutionStore(PG.dataSource());
    }

    @Override
    protected LeasingExecutionStore store() {
        return store;
    }

    @Override
    protected Instant now() {
        return Instant.now();
    }

    /** The database's clock cannot be moved: the stored times move back instead. */
    @Override
    protected void elapse(Duration d) {
        try {
            PG.execute("UPDATE executions SET lease_expires_at = lease_expires_at - " + d.toMillis()
                    + ", updated_at = updated_at - " + d.toMillis());
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Waits until the subscription hears a probe, then forgets the probes. */
    @Override
    protected void awaitListening(BlockingQueue<String> heard) throws Exception {
        DueWorkProbe.awaitListening(store, () -> execution().build(), PG, heard);
    }
}
