package io.flowmonkey.postgres;

import io.flowmonkey.execution.LeasingExecutionStore;
import io.flowmonkey.execution.LeasingStoreContract;
import io.flowmonkey.testing.PostgresExtension;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
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

    /**
     * Saves probes until the subscription hears one, so that no notice of the test is sent before it
     * listens, then forgets the probes.
     */
    @Override
    protected void awaitListening(BlockingQueue<String> heard) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            String probe = store.save(execution().build()).id();
            // Notices arrive in commit order: once this probe is heard, every earlier one is queued too.
            for (String h = heard.poll(200, TimeUnit.MILLISECONDS); h != null; h = heard.poll(50, TimeUnit.MILLISECONDS)) {
                if (h.equals(probe + "@now")) {
                    heard.clear();
                    PG.execute("DELETE FROM executions");
                    return;
                }
            }
        }
        throw new AssertionError("the subscription heard nothing within 10 s");
    }
}
