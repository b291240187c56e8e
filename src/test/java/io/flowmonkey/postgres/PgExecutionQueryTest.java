package io.flowmonkey.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.flowmonkey.execution.BulkResult;
import io.flowmonkey.execution.ConcurrentUpdateException;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionNotFoundException;
import io.flowmonkey.execution.ExecutionQuery;
import io.flowmonkey.execution.ExecutionQueryContract;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.ExecutionStore;
import io.flowmonkey.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class PgExecutionQueryTest extends ExecutionQueryContract {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    @BeforeEach
    void emptyTable() throws SQLException {
        PG.truncate("executions");
    }

    @Override
    protected ExecutionStore newStore(Clock clock) {
        return new PgExecutionStore(PG.dataSource(), PgStoreOptions.builder().clock(clock).build());
    }

    @Test
    void deleteAll_racing_a_writer_deletes_only_rows_that_still_match_and_counts_the_rest_as_skipped() throws Exception {
        PgExecutionStore store = new PgExecutionStore(PG.dataSource());
        List<Execution> rows = new ArrayList<>();
        for (int i = 0; i < 2_000; i++) {
            rows.add(Execution.builder(String.format("c%04d", i), "f", "1").status(ExecutionStatus.COMPLETED).build());
        }
        store.saveAll(rows);
        List<Execution> shuffled = new ArrayList<>(store.query(ExecutionQuery.builder().limit(1_000).build()).items());
        shuffled.addAll(store.query(ExecutionQuery.builder().limit(1_000).build()
                .after(store.query(ExecutionQuery.builder().limit(1_000).build()).nextCursor())).items());
        Collections.shuffle(shuffled, new java.util.Random(7));
        Set<String> reopened = ConcurrentHashMap.newKeySet();
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<BulkResult> deleting = pool.submit(() -> {
                start.await();
                return store.deleteAll(ExecutionQuery.builder().status(ExecutionStatus.COMPLETED).limit(100).build());
            });
            Future<?> writing = pool.submit(() -> {
                start.await();
                for (Execution e : shuffled) {
                    try {
                        store.save(e.toBuilder().status(ExecutionStatus.RUNNING).build());
                        reopened.add(e.id());
                    } catch (ExecutionNotFoundException | ConcurrentUpdateException deleted) {
                        // Deleted before this save: the purge won the race for this row.
                    }
                }
                return null;
            });
            start.countDown();
            BulkResult result = assertTimeoutPreemptively(Duration.ofSeconds(60), () -> deleting.get());
            assertTimeoutPreemptively(Duration.ofSeconds(60), () -> writing.get());

            long left = store.count(ExecutionQuery.builder().build());
            assertThat(store.count(ExecutionQuery.builder().status(ExecutionStatus.COMPLETED).build())).isZero();
            assertThat(left).isEqualTo(reopened.size());
            assertThat(store.count(ExecutionQuery.builder().status(ExecutionStatus.RUNNING).build())).isEqualTo(left);
            assertThat(result.changed()).isEqualTo(2_000 - left);
            assertThat(result.matched()).isEqualTo(result.changed() + result.skipped()).isLessThanOrEqualTo(2_000);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void a_stream_reads_in_batches_within_one_transaction_and_returns_its_connection_when_closed() throws Exception {
        PgExecutionStore store = new PgExecutionStore(PG.newDataSource(1));
        List<Execution> rows = new ArrayList<>();
        for (int i = 0; i < 1_200; i++) {
            rows.add(Execution.builder(String.format("s%04d", i), "f", "1").build());
        }
        store.saveAll(rows);

        long streamed;
        try (Stream<Execution> s = store.stream(ExecutionQuery.builder().build())) {
            java.util.Iterator<Execution> it = s.iterator();
            it.next();
            // Open on the server between batches: a transaction holding back VACUUM, in one snapshot.
            assertThat(PG.queryLong("SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction' "
                    + "AND backend_xmin IS NOT NULL AND pid <> pg_backend_pid()")).isEqualTo(1);
            // Created long before the others, so it would come last in the stream's order if it were seen.
            new PgExecutionStore(PG.dataSource()).save(Execution.builder("s9999", "f", "1")
                    .createdAt(java.time.Instant.parse("2001-01-01T00:00:00Z")).build());
            streamed = 1;
            while (it.hasNext()) {
                assertThat(it.next().id()).as("a row saved after the stream began").isNotEqualTo("s9999");
                streamed++;
            }
        }

        assertThat(streamed).isEqualTo(1_200);
        // The pool has one connection: this would time out had the stream kept it.
        assertThat(store.count(ExecutionQuery.builder().build())).isEqualTo(1_201);
    }

    @Test
    void a_stream_on_a_connection_in_autocommit_is_refused_by_name() throws Exception {
        PgExecutionStore store = new PgExecutionStore(PG.dataSource());
        try (Connection c = PG.dataSource().getConnection()) {
            assertThatThrownBy(() -> store.using(c).stream(ExecutionQuery.builder().build()))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("autocommit");
        }
    }

    @Test
    void a_stream_on_a_store_joined_to_a_transaction_reads_in_it_and_leaves_it_open() throws Exception {
        PgExecutionStore store = new PgExecutionStore(PG.dataSource());
        try (Connection c = PG.dataSource().getConnection()) {
            c.setAutoCommit(false);
            ExecutionStore tx = store.using(c);
            tx.save(Execution.builder("uncommitted", "f", "1").build());

            List<String> seen;
            try (Stream<Execution> s = tx.stream(ExecutionQuery.builder().build())) {
                seen = s.map(Execution::id).toList();
            }

            assertThat(seen).containsExactly("uncommitted");
            assertThat(c.isClosed()).isFalse();
            assertThat(c.getAutoCommit()).isFalse();
            assertThat(store.load("uncommitted")).isEmpty();
            c.commit();
        }
        assertThat(store.load("uncommitted")).isPresent();
    }
}
