package io.flowmonkey.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import io.flowmonkey.execution.LeasingExecutionStore;
import io.flowmonkey.testing.PostgresExtension;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** A LISTEN subscription whose pool the application closed stops instead of reconnecting forever. */
class ListenerAfterPoolCloseTest {

    @RegisterExtension
    static final PostgresExtension PG = PostgresExtension.withoutSchema();

    @Test
    void a_subscription_stops_listening_once_its_pool_is_closed() throws Exception {
        PgStoreOptions options = PgStoreOptions.builder().schema("closedpool").build();
        SchemaApplier.apply(PG.dataSource(), options);
        HikariDataSource pool = PG.newDataSource(3);
        PgExecutionStore store = new PgExecutionStore(pool, options);
        store.subscribe(new LeasingExecutionStore.DueWorkListener() {
            @Override
            public void onDue(String executionId, Instant wakeAt) {
            }

            @Override
            public void onMissedNotices() {
            }
        });
        Thread listener = listenerThread();
        assertThat(listener).as("the subscription's thread").isNotNull();

        pool.close();   // the subscription is left open, as an application shutting down out of order does

        listener.join(TimeUnit.SECONDS.toMillis(30));
        assertThat(listener.isAlive()).as("listener thread after its pool was closed").isFalse();
    }

    private static Thread listenerThread() throws InterruptedException {
        for (int i = 0; i < 100; i++) {
            for (Thread t : Thread.getAllStackTraces().keySet()) {
                if (t.getName().startsWith("flowmonkey-listen-") && t.getName().contains("closedpool")) {
                    return t;
                }
            }
            Thread.sleep(50);
        }
        return null;
    }
}
