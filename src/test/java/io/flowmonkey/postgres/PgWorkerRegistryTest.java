package io.flowmonkey.postgres;

import static io.flowmonkey.testing.Await.awaitTrue;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.flowmonkey.execution.LeasingExecutionStore.FlowVersion;
import io.flowmonkey.execution.WorkerHeartbeat;
import io.flowmonkey.execution.WorkerHeartbeat.ClaimLateness;
import io.flowmonkey.execution.WorkerInfo;
import io.flowmonkey.testing.PostgresExtension;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@link PgExecutionStore} as a {@link io.flowmonkey.execution.WorkerRegistry}: the V9 worker table. */
class PgWorkerRegistryTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    private PgExecutionStore store;

    @BeforeEach
    void emptyTable() throws SQLException {
        PG.truncate("executions_workers");
        store = new PgExecutionStore(PG.dataSource());
    }

    private static WorkerHeartbeat beat(String id, Duration liveFor) {
        return new WorkerHeartbeat(id, "host-1", 4242, List.of(new FlowVersion("order-flow", "2")), 4, 1,
                Instant.parse("2026-03-01T10:00:00Z"), Instant.parse("2026-03-01T10:05:00Z"), liveFor,
                List.of(new ClaimLateness(Instant.parse("2026-03-01T10:05:00Z"), 12, 340, 300)));
    }

    @Test
    void a_heartbeat_or_a_set_aside_holding_a_nul_is_refused_by_name_before_the_database() throws SQLException {
        WorkerHeartbeat nulFlow = new WorkerHeartbeat("w", "host-1", 1, List.of(new FlowVersion("order\u0000flow", "2")),
                1, 0, Instant.parse("2026-03-01T10:00:00Z"), null, Duration.ofSeconds(30), List.of());

        assertThatThrownBy(() -> store.heartbeat(nulFlow)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("U+0000");
        assertThatThrownBy(() -> store.setAside("e-1", "con\u0000text", "why"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("column");
        assertThat(PG.queryLong("SELECT count(*) FROM executions_workers")).isZero();
    }

    @Test
    void a_heartbeat_is_read_back_as_written_and_stamped_by_the_database_clock() throws SQLException {
        long before = PG.queryLong("SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint");
        WorkerHeartbeat sent = beat("orders-<script>'", Duration.ofSeconds(30));
        store.heartbeat(sent);

        List<WorkerInfo> live = store.workers();

        assertThat(live).hasSize(1);
        assertThat(live.get(0).reported()).isEqualTo(sent);
        assertThat(live.get(0).lastHeartbeat().toEpochMilli()).isGreaterThanOrEqualTo(before);
        assertThat(live.get(0).expiresAt()).isEqualTo(live.get(0).lastHeartbeat().plusSeconds(30));
        assertThat(live.get(0).serves("order-flow", "2")).isTrue();
    }

    @Test
    void a_second_heartbeat_replaces_the_first_in_one_row() throws SQLException {
        store.heartbeat(beat("w", Duration.ofSeconds(30)));
        WorkerHeartbeat later = new WorkerHeartbeat("w", "host-2", 7, List.of(), 8, 3, Instant.EPOCH, null,
                Duration.ofSeconds(10), List.of());
        store.heartbeat(later);

        assertThat(store.workers()).extracting(WorkerInfo::reported).containsExactly(later);
        assertThat(PG.queryLong("SELECT count(*) FROM executions_workers")).isEqualTo(1);
    }

    @Test
    void a_row_past_its_expiry_is_not_listed_and_the_next_heartbeat_of_another_worker_deletes_it() throws Exception {
        store.heartbeat(beat("alive", Duration.ofMinutes(1)));
        store.heartbeat(beat("dead", Duration.ofMillis(1)));

        awaitTrue(Duration.ofSeconds(10), () -> store.workers().stream().noneMatch(w -> w.workerId().equals("dead")));
        assertThat(PG.queryLong("SELECT count(*) FROM executions_workers WHERE worker_id = 'dead'"))
                .as("readers ignore it; it stays until someone heartbeats").isEqualTo(1);

        store.heartbeat(beat("alive", Duration.ofMinutes(1)));

        assertThat(PG.queryLong("SELECT count(*) FROM executions_workers WHERE worker_id = 'dead'")).isZero();
        assertThat(store.workers()).extracting(WorkerInfo::workerId).containsExactly("alive");
    }

    @Test
    void remove_deletes_the_row_and_says_whether_there_was_one() {
        store.heartbeat(beat("w", Duration.ofSeconds(30)));

        assertThat(store.remove("w")).isTrue();
        assertThat(store.remove("w")).isFalse();
        assertThat(store.workers()).isEmpty();
        assertThatThrownBy(() -> store.remove(" ")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("workerId");
    }

    @Test
    void eight_threads_heartbeating_while_rows_expire_lose_no_live_row_and_fail_none() throws InterruptedException {
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
                CountDownLatch go = new CountDownLatch(1);
                List<Future<?>> done = new ArrayList<>();
                for (int t = 0; t < 8; t++) {
                    String id = "w" + t;
                    done.add(pool.submit(() -> {
                        go.await();
                        for (int i = 0; i < 50; i++) {
                            store.heartbeat(beat(id + "-short-" + i, Duration.ofMillis(1)));
                            store.heartbeat(beat(id, Duration.ofMinutes(1)));
                        }
                        return null;
                    }));
                }
                go.countDown();
                for (Future<?> f : done) {
                    f.get();
                }
            });
        } finally {
            pool.shutdownNow();
        }
        // The last short rows may still be inside their millisecond when the threads finish.
        awaitTrue(Duration.ofSeconds(10), () -> store.workers().stream().noneMatch(w -> w.workerId().contains("-short-")));
        assertThat(store.workers()).extracting(WorkerInfo::workerId)
                .containsExactly("w0", "w1", "w2", "w3", "w4", "w5", "w6", "w7");
    }

    @Test
    void a_heartbeat_to_a_table_without_the_worker_table_fails_with_a_store_exception_naming_the_worker() {
        PgExecutionStore elsewhere = new PgExecutionStore(PG.dataSource(),
                PgStoreOptions.builder().tableName("never_made").build());

        assertThatThrownBy(() -> elsewhere.heartbeat(beat("w9", Duration.ofSeconds(1))))
                .isInstanceOf(io.flowmonkey.execution.StoreException.class).hasMessageContaining("w9");
    }

    @Test
    void table_names_ending_in_workers_are_refused_as_another_tables_heartbeats() {
        assertThatThrownBy(() -> PgStoreOptions.builder().tableName("orders_workers"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("_workers");
    }
}
