package io.flowmonkey.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.flowmonkey.execution.ConcurrentUpdateException;
import io.flowmonkey.execution.DuplicateExecutionException;
import io.flowmonkey.execution.DuplicateIdempotencyKeyException;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.ExecutionStore;
import io.flowmonkey.execution.StoreException;
import io.flowmonkey.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Issue 9, class 1: a transaction never reports a commit that did not happen, and nesting is honest. */
class PgTransactionHardeningTest {

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

    private static Execution.Builder execution() {
        return Execution.builder("tx-" + IDS.incrementAndGet(), "flow", "1").createdAt(T0).updatedAt(T0);
    }

    @Test
    void a_duplicate_caught_inside_inTransaction_keeps_the_earlier_writes_and_commits() {
        Execution existing = store.save(execution().build());
        Execution before = execution().build();
        Execution after = execution().build();

        boolean wasDuplicate = store.inTransaction(tx -> {
            tx.save(before);
            boolean duplicate;
            try {
                tx.save(Execution.builder(existing.id(), "flow", "1").build());
                duplicate = false;
            } catch (DuplicateExecutionException e) {
                duplicate = true;
            }
            tx.save(after);
            return duplicate;
        });

        assertThat(wasDuplicate).isTrue();
        assertThat(store.load(before.id())).isPresent();
        assertThat(store.load(after.id())).isPresent();
    }

    @Test
    void a_taken_key_or_a_stale_save_caught_inside_inTransaction_keeps_the_earlier_writes() {
        Execution holder = store.save(execution().idempotencyKey("taken").build());
        Execution stored = store.save(execution().build());
        store.save(stored.toBuilder().currentStepId("moved").build());
        Execution before = execution().build();

        store.inTransaction(tx -> {
            tx.save(before);
            assertThatThrownBy(() -> tx.save(execution().idempotencyKey("taken").build()))
                    .isInstanceOf(DuplicateIdempotencyKeyException.class).hasMessageContaining(holder.id());
            assertThatThrownBy(() -> tx.save(stored.toBuilder().currentStepId("stale").build()))
                    .isInstanceOf(ConcurrentUpdateException.class);
            assertThatThrownBy(() -> tx.saveAll(List.of(execution().tenantId("half").build(),
                    stored.toBuilder().currentStepId("stale").build())))
                    .isInstanceOf(ConcurrentUpdateException.class);
            return null;
        });

        assertThat(store.load(before.id())).isPresent();
        assertThat(store.findByTenant("half")).as("a failed saveAll leaves none of its rows").isEmpty();
        assertThat(store.load(stored.id()).orElseThrow().currentStepId()).isEqualTo("moved");
    }

    @Test
    void inTransaction_whose_statement_aborted_the_transaction_throws_instead_of_reporting_success()
            throws SQLException {
        // A constraint the store does not know of makes PostgreSQL abort the transaction on that insert.
        PG.execute("ALTER TABLE executions ADD CONSTRAINT no_boom CHECK (flow_id <> 'boom')");
        try {
            Execution before = execution().build();

            StoreException e = catchThrowableOfType(StoreException.class, () -> store.inTransaction(tx -> {
                tx.save(before);
                try {
                    tx.save(Execution.builder("boom-1", "boom", "1").build());
                } catch (StoreException swallowed) {
                    // work carries on as if the failed save did not matter
                }
                return "reported as committed";
            }));

            assertThat(e).hasMessageContaining("rolled back").hasMessageContaining("nothing in it was committed")
                    .hasMessageContaining("boom-1");
            assertThat(e.getCause()).isInstanceOf(StoreException.class).hasMessageContaining("23514");
            assertThat(store.load(before.id())).isEmpty();
            assertThat(store.save(execution().build()).version()).as("the store is usable afterwards").isEqualTo(1);
        } finally {
            PG.execute("ALTER TABLE executions DROP CONSTRAINT no_boom");
        }
    }

    @Test
    void a_nested_inTransaction_whose_work_threw_rolls_back_only_its_own_writes() {
        Execution outerBefore = execution().build();
        Execution inner = execution().build();
        Execution outerAfter = execution().build();

        store.inTransaction(tx -> {
            tx.save(outerBefore);
            assertThatThrownBy(() -> ((PgExecutionStore) tx).inTransaction(nested -> {
                nested.save(inner);
                throw new IllegalStateException("inner gives up");
            })).hasMessage("inner gives up");
            tx.save(outerAfter);
            return null;
        });

        assertThat(store.load(outerBefore.id())).isPresent();
        assertThat(store.load(inner.id())).as("the inner writes were rolled back to its savepoint").isEmpty();
        assertThat(store.load(outerAfter.id())).isPresent();
    }

    @Test
    void a_nested_inTransaction_that_swallowed_an_aborting_failure_throws_and_the_outer_can_go_on()
            throws SQLException {
        PG.execute("ALTER TABLE executions ADD CONSTRAINT no_boom CHECK (flow_id <> 'boom')");
        try {
            Execution inner = execution().build();
            Execution outer = execution().build();

            store.inTransaction(tx -> {
                assertThatThrownBy(() -> ((PgExecutionStore) tx).inTransaction(nested -> {
                    nested.save(inner);
                    try {
                        nested.save(Execution.builder("boom-2", "boom", "1").build());
                    } catch (StoreException swallowed) {
                        // as above: the inner work pretends nothing happened
                    }
                    return null;
                })).isInstanceOf(StoreException.class).hasMessageContaining("rolled back");
                tx.save(outer);
                return null;
            });

            assertThat(store.load(inner.id())).isEmpty();
            assertThat(store.load(outer.id())).isPresent();
        } finally {
            PG.execute("ALTER TABLE executions DROP CONSTRAINT no_boom");
        }
    }

    @Test
    void inTransaction_on_a_store_using_a_callers_transaction_is_a_savepoint_of_it() throws SQLException {
        Execution kept = execution().build();
        Execution undone = execution().build();
        try (Connection c = PG.dataSource().getConnection()) {
            c.setAutoCommit(false);
            PgExecutionStore joined = (PgExecutionStore) store.using(c);
            joined.save(kept);
            assertThatThrownBy(() -> joined.inTransaction(tx -> {
                tx.save(undone);
                throw new IllegalStateException("undo mine only");
            })).hasMessage("undo mine only");
            c.commit();
            c.setAutoCommit(true);
        }

        assertThat(store.load(kept.id())).isPresent();
        assertThat(store.load(undone.id())).isEmpty();
    }

    @Test
    void inTransaction_on_a_store_using_an_autocommit_connection_is_one_transaction_of_its_own() throws SQLException {
        Execution first = execution().build();
        try (Connection c = PG.dataSource().getConnection()) {
            PgExecutionStore joined = (PgExecutionStore) store.using(c);

            assertThatThrownBy(() -> joined.inTransaction(tx -> {
                tx.save(first);
                throw new IllegalStateException("all or nothing");
            })).hasMessage("all or nothing");
            Execution second = joined.inTransaction(tx -> tx.save(execution().build()));

            assertThat(c.getAutoCommit()).isTrue();
            assertThat(store.load(second.id())).isPresent();
        }
        assertThat(store.load(first.id())).isEmpty();
    }

    @Test
    void a_failed_saveAll_in_a_callers_transaction_leaves_none_of_its_rows_and_the_transaction_usable()
            throws SQLException {
        Execution stored = store.save(execution().build());
        Execution fresh = execution().build();
        Execution later = execution().build();
        try (Connection c = PG.dataSource().getConnection()) {
            c.setAutoCommit(false);
            ExecutionStore joined = store.using(c);
            assertThatThrownBy(() -> joined.saveAll(List.of(fresh, Execution.builder(stored.id(), "f", "1").build())))
                    .isInstanceOf(DuplicateExecutionException.class);
            assertThatThrownBy(() -> joined.save(Execution.builder(stored.id(), "f", "1").build()))
                    .isInstanceOf(DuplicateExecutionException.class);
            joined.save(later);
            c.commit();
            c.setAutoCommit(true);
        }

        assertThat(store.load(fresh.id())).isEmpty();
        assertThat(store.load(later.id())).isPresent();
        assertThat(store.findByStatus(ExecutionStatus.PENDING)).hasSize(2);
    }
}
