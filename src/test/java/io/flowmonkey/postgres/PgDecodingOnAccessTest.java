package io.flowmonkey.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionDataException;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.LeasingExecutionStore.FlowVersion;
import io.flowmonkey.execution.StepHistory;
import io.flowmonkey.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@link PgExecutionStore#decodingOnAccess()}: list finders that leave context and history to be
 * decoded on first use, and report an unreadable one there as the eager finder reports it.
 */
class PgDecodingOnAccessTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    private static final Instant T0 = Instant.parse("2026-03-01T10:15:30.123Z");
    private static final AtomicInteger IDS = new AtomicInteger();

    private PgExecutionStore store;

    @BeforeEach
    void emptyTable() throws SQLException {
        PG.truncate("executions");
        store = new PgExecutionStore(PG.dataSource());
    }

    private static Execution.Builder execution(int second) {
        return Execution.builder("doa-" + IDS.incrementAndGet(), "flow", "1").tenantId("t")
                .status(ExecutionStatus.FAILED).createdAt(T0.plusSeconds(second)).updatedAt(T0)
                .context(Map.of("order", Map.of("id", "o-1", "lines", List.of(1, 2, "three")), "n", 7))
                .history(List.of(new StepHistory("a", "h", "success", T0, T0.plusMillis(3), 3, null),
                        new StepHistory("b", "h", "failure", T0, T0.plusMillis(5), 5, Map.of("code", "E"))));
    }

    private List<String> threeRowsTheMiddleOneWithAnUnreadable(String column) throws SQLException {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            ids.add(store.save(execution(i).build()).id());
        }
        String value = column.equals("history") ? "{\"not\": \"a list\"}" : "[1, 2]";
        PG.execute("UPDATE executions SET " + column + " = '" + value + "' WHERE id = '" + ids.get(1) + "'");
        return ids;
    }

    @Test
    void rows_read_on_access_equal_rows_read_eagerly_in_every_field() {
        List<Execution> saved = List.of(store.save(execution(0).build()), store.save(execution(1).build()));
        PgExecutionStore deferring = store.decodingOnAccess();

        List<Execution> deferred = deferring.findByStatus(ExecutionStatus.FAILED, 10);
        List<Execution> eager = store.findByStatus(ExecutionStatus.FAILED, 10);
        assertThat(deferred).isEqualTo(eager).hasSize(2);
        assertThat(deferring.findByTenant("t", 10)).isEqualTo(store.findByTenant("t", 10));
        Execution newest = deferring.findByTenant("t", 1).get(0);
        assertThat(newest.context()).isEqualTo(saved.get(1).context());
        assertThat(newest.history()).isEqualTo(saved.get(1).history());
        assertThat(newest.version()).isEqualTo(saved.get(1).version());
    }

    @Test
    void an_unreadable_history_surfaces_on_first_use_naming_execution_and_column_as_the_eager_finder_does()
            throws SQLException {
        List<String> ids = threeRowsTheMiddleOneWithAnUnreadable("history");
        String corrupt = ids.get(1);
        ExecutionDataException eagerly = catchThrowableOfType(ExecutionDataException.class,
                () -> store.findByStatus(ExecutionStatus.FAILED));

        List<Execution> found = store.decodingOnAccess().findByStatus(ExecutionStatus.FAILED);
        assertThat(found).extracting(Execution::id).containsExactly(ids.get(2), corrupt, ids.get(0));
        Execution bad = found.get(1);
        assertThat(bad.status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(bad.context()).as("the readable columns of that row").containsEntry("n", 7);
        for (int attempt = 0; attempt < 2; attempt++) {
            ExecutionDataException onUse = catchThrowableOfType(ExecutionDataException.class, () -> bad.history().size());
            assertThat(onUse).as("use %d", attempt).isNotNull();
            assertThat(onUse.executionId()).isEqualTo(corrupt);
            assertThat(onUse.column()).isEqualTo("history");
            assertThat(onUse).hasMessage(eagerly.getMessage());
        }
        assertThat(found.get(0).history()).extracting(StepHistory::stepId).containsExactly("a", "b");

        // A save of it cannot write what it cannot read: refused naming it, nothing written.
        ExecutionDataException onSave = catchThrowableOfType(ExecutionDataException.class,
                () -> store.save(bad.toBuilder().stepCount(9).build()));
        assertThat(onSave.executionId()).isEqualTo(corrupt);
        assertThat(onSave.column()).isEqualTo("history");
        assertThat(PG.queryLong("SELECT step_count FROM executions WHERE id = '" + corrupt + "'")).isZero();
    }

    @Test
    void an_unreadable_context_surfaces_on_first_use_too() throws SQLException {
        List<String> ids = threeRowsTheMiddleOneWithAnUnreadable("context");
        Execution bad = store.decodingOnAccess().findByTenant("t", 10).get(1);
        assertThat(bad.history()).hasSize(2);
        ExecutionDataException onUse = catchThrowableOfType(ExecutionDataException.class, () -> bad.context().get("n"));
        assertThat(onUse.executionId()).isEqualTo(ids.get(1));
        assertThat(onUse.column()).isEqualTo("context");
    }

    @Test
    void threads_using_a_deferred_row_at_once_all_see_the_one_stored_value() {
        Execution saved = store.save(execution(0).build());
        Execution deferred = store.decodingOnAccess().findByTenant("t", 1).get(0);
        int threads = 8;
        CountDownLatch start = new CountDownLatch(1);
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            try {
                List<Future<List<Object>>> seen = new ArrayList<>();
                for (int i = 0; i < threads; i++) {
                    seen.add(pool.submit(() -> {
                        start.await();
                        return List.of(deferred.context(), deferred.context().get("order"), deferred.history(),
                                deferred.history().get(1).error());
                    }));
                }
                start.countDown();
                for (Future<List<Object>> f : seen) {
                    List<Object> got = f.get();
                    assertThat(got.get(0)).isEqualTo(saved.context());
                    assertThat(got.get(1)).isEqualTo(saved.context().get("order"));
                    assertThat(got.get(2)).isEqualTo(saved.history());
                    assertThat(got.get(3)).isEqualTo(Map.of("code", "E"));
                }
            } finally {
                pool.shutdownNow();
            }
        });
        assertThat(deferred).isEqualTo(saved);
    }

    @Test
    void views_made_from_a_deferring_store_keep_deferring() throws SQLException {
        List<String> ids = threeRowsTheMiddleOneWithAnUnreadable("history");
        PgExecutionStore deferring = store.decodingOnAccess();

        List<Execution> inTransaction = deferring.inTransaction(tx -> tx.findByStatus(ExecutionStatus.FAILED));
        assertThat(inTransaction).extracting(Execution::id).containsExactly(ids.get(2), ids.get(1), ids.get(0));
        try (Connection c = PG.dataSource().getConnection()) {
            List<Execution> onConnection = deferring.using(c).findByTenant("t", 10);
            assertThat(onConnection).hasSize(3);
            assertThatThrownBy(() -> onConnection.get(1).history().isEmpty()).isInstanceOf(ExecutionDataException.class)
                    .hasMessageContaining(ids.get(1));
        }
        assertThatThrownBy(() -> store.inTransaction(tx -> tx.findByStatus(ExecutionStatus.FAILED)))
                .as("the store it was made from still decodes as it reads").isInstanceOf(ExecutionDataException.class);
    }

    @Test
    void lookups_claims_and_skipping_views_still_decode_as_they_read() throws SQLException {
        List<String> ids = threeRowsTheMiddleOneWithAnUnreadable("history");
        String corrupt = ids.get(1);
        PgExecutionStore deferring = store.decodingOnAccess();

        assertThatThrownBy(() -> deferring.load(corrupt)).isInstanceOf(ExecutionDataException.class)
                .hasMessageContaining(corrupt);
        List<ExecutionDataException> skipped = new ArrayList<>();
        assertThat(deferring.skippingUnreadableRows(skipped::add).findByStatus(ExecutionStatus.FAILED))
                .extracting(Execution::id).containsExactly(ids.get(2), ids.get(0));
        assertThat(store.skippingUnreadableRows(skipped::add).decodingOnAccess().findByStatus(ExecutionStatus.FAILED))
                .extracting(Execution::id).containsExactly(ids.get(2), ids.get(0));
        assertThat(skipped).extracting(ExecutionDataException::executionId).containsExactly(corrupt, corrupt);

        PG.execute("UPDATE executions SET status = 'pending' WHERE id = '" + corrupt + "'");
        var claim = deferring.claimDue("w", List.of(new FlowVersion("flow", "1")), Duration.ofMinutes(1), 10);
        assertThat(claim.executions()).isEmpty();
        assertThat(claim.setAside()).singleElement().satisfies(s -> {
            assertThat(s.executionId()).isEqualTo(corrupt);
            assertThat(s.column()).isEqualTo("history");
        });
    }
}
