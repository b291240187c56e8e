package io.flowmonkey.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flowmonkey.execution.ConcurrentUpdateException;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionDataException;
import io.flowmonkey.execution.ExecutionNotFoundException;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.LeasingExecutionStore.FlowVersion;
import io.flowmonkey.execution.LeasingExecutionStore.SaveOutcome;
import io.flowmonkey.execution.StoreException;
import io.flowmonkey.execution.WaitMetadata;
import io.flowmonkey.testing.Plans;
import io.flowmonkey.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@code saveAllVersioned}: many executions' saves in one statement, each row on its own version. */
class PgSaveAllVersionedTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    private static final AtomicInteger IDS = new AtomicInteger();

    private PgExecutionStore store;

    @BeforeEach
    void emptyTable() throws SQLException {
        PG.truncate("executions");
        store = new PgExecutionStore(PG.dataSource());
    }

    private List<Execution> stored(int n) {
        List<Execution> created = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            created.add(Execution.builder("batch-" + IDS.incrementAndGet(), "flow", "1")
                    .context(Map.of("n", i, "payload", "x".repeat(200))).metadata(Map.of("team", "a")).build());
        }
        return store.saveAll(created);
    }

    private static Execution completed(Execution e, int n) {
        Instant end = Instant.ofEpochMilli(1_700_000_000_000L + n);
        return e.toBuilder().status(ExecutionStatus.COMPLETED).stepCount(1).currentStepId("a")
                .context(Map.of("n", n, "done", true, "ratio", new java.math.BigDecimal("0.125"))).completedAt(end)
                .build();
    }

    private long transactionsThatWrote(List<Execution> executions) throws SQLException {
        String ids = String.join("','", executions.stream().map(Execution::id).toList());
        return PG.queryLong("SELECT count(DISTINCT xmin::text) FROM executions WHERE id IN ('" + ids + "')");
    }

    @Test
    void saveAllVersioned_stores_every_column_a_single_save_stores_priority_included() {
        List<Execution> before = stored(2);
        Execution raised = before.get(0).toBuilder().priority(Execution.MAX_PRIORITY).build();
        Execution lowered = before.get(1).toBuilder().priority(Execution.MIN_PRIORITY).tenantId("t").build();

        List<SaveOutcome> outcomes = store.saveAllVersioned(List.of(raised, lowered));

        Execution first = store.load(raised.id()).orElseThrow();
        Execution second = store.load(lowered.id()).orElseThrow();
        assertThat(first).isEqualTo(outcomes.get(0).saved());
        assertThat(first.priority()).isEqualTo(Execution.MAX_PRIORITY);
        assertThat(second.priority()).isEqualTo(Execution.MIN_PRIORITY);
        assertThat(second.tenantId()).isEqualTo("t");
    }

    @Test
    void saveAllVersioned_writes_every_row_in_one_transaction_at_the_next_version() throws SQLException {
        List<Execution> before = stored(20);
        List<Execution> next = new ArrayList<>();
        for (int i = 0; i < before.size(); i++) {
            next.add(completed(before.get(i), i));
        }

        List<SaveOutcome> outcomes = store.saveAllVersioned(next);

        assertThat(outcomes).hasSize(20).allSatisfy(o -> assertThat(o.failure()).isNull());
        for (int i = 0; i < next.size(); i++) {
            Execution saved = outcomes.get(i).saved();
            assertThat(saved.id()).isEqualTo(next.get(i).id());
            assertThat(saved.version()).isEqualTo(next.get(i).version() + 1);
            assertThat(store.load(saved.id()).orElseThrow()).as("stored exactly as returned").isEqualTo(saved);
        }
        assertThat(transactionsThatWrote(next)).as("one statement, one commit").isEqualTo(1);
    }

    @Test
    void a_row_saved_by_someone_else_meanwhile_fails_alone_with_ConcurrentUpdateException() {
        List<Execution> before = stored(5);
        Execution raced = store.save(before.get(2).toBuilder().context(Map.of("by", "someone else")).build());
        List<Execution> next = before.stream().map(e -> completed(e, 1)).toList();

        List<SaveOutcome> outcomes = store.saveAllVersioned(next);

        assertThat(outcomes.get(2).failure()).isInstanceOf(ConcurrentUpdateException.class)
                .hasMessageContaining(raced.id()).hasMessageContaining("expected version 1, found 2");
        assertThatThrownBy(outcomes.get(2)::orThrow).isSameAs(outcomes.get(2).failure());
        assertThat(store.load(raced.id()).orElseThrow()).as("the other writer's save stands").isEqualTo(raced);
        for (int i : new int[] {0, 1, 3, 4}) {
            assertThat(outcomes.get(i).orThrow().status()).isEqualTo(ExecutionStatus.COMPLETED);
            assertThat(store.load(next.get(i).id()).orElseThrow().status()).isEqualTo(ExecutionStatus.COMPLETED);
        }
    }

    @Test
    void a_row_that_was_deleted_fails_alone_with_ExecutionNotFoundException() {
        List<Execution> before = stored(3);
        store.delete(before.get(0).id());

        List<SaveOutcome> outcomes = store.saveAllVersioned(before.stream().map(e -> completed(e, 2)).toList());

        assertThat(outcomes.get(0).failure()).isInstanceOf(ExecutionNotFoundException.class);
        assertThat(outcomes.subList(1, 3)).allSatisfy(o -> assertThat(o.saved()).isNotNull());
        assertThat(store.load(before.get(0).id())).isEmpty();
    }

    @Test
    void an_unstorable_row_is_refused_alone_and_nothing_of_it_is_written() {
        List<Execution> before = stored(3);
        List<Execution> next = new ArrayList<>(before.stream().map(e -> completed(e, 3)).toList());
        next.set(1, next.get(1).toBuilder().context(Map.of("bad", "nul \0 inside")).build());

        List<SaveOutcome> outcomes = store.saveAllVersioned(next);

        assertThat(outcomes.get(1).failure()).isInstanceOf(ExecutionDataException.class)
                .satisfies(f -> assertThat(((ExecutionDataException) f).column()).isEqualTo("context"))
                .hasMessageContaining(next.get(1).id());
        assertThat(store.load(next.get(1).id()).orElseThrow()).as("untouched").isEqualTo(before.get(1));
        assertThat(outcomes.get(0).orThrow().version()).isEqualTo(2);
        assertThat(outcomes.get(2).orThrow().version()).isEqualTo(2);
    }

    @Test
    void a_row_PostgreSQL_refuses_fails_alone_when_the_rows_are_then_saved_one_by_one() throws SQLException {
        List<Execution> before = stored(4);
        PG.execute("ALTER TABLE executions ADD CONSTRAINT no_refused_tenant CHECK (tenant_id IS DISTINCT FROM 'refused')");
        try {
            List<Execution> next = new ArrayList<>(before.stream().map(e -> completed(e, 4)).toList());
            next.set(3, next.get(3).toBuilder().tenantId("refused").build());

            List<SaveOutcome> outcomes = store.saveAllVersioned(next);

            assertThat(outcomes.get(3).failure()).isInstanceOf(StoreException.class)
                    .hasMessageContaining(next.get(3).id());
            assertThat(store.load(next.get(3).id()).orElseThrow()).isEqualTo(before.get(3));
            for (int i = 0; i < 3; i++) {
                assertThat(store.load(next.get(i).id()).orElseThrow()).isEqualTo(outcomes.get(i).orThrow());
            }
        } finally {
            PG.execute("ALTER TABLE executions DROP CONSTRAINT no_refused_tenant");
        }
    }

    @Test
    void the_second_save_of_one_id_in_a_batch_loses_to_the_first() {
        List<Execution> before = stored(2);
        Execution first = completed(before.get(0), 5);
        Execution second = before.get(0).toBuilder().status(ExecutionStatus.FAILED).build();

        List<SaveOutcome> outcomes = store.saveAllVersioned(List.of(first, before.get(1), second));

        assertThat(outcomes.get(0).orThrow()).isEqualTo(store.load(first.id()).orElseThrow());
        assertThat(outcomes.get(1).saved()).isNotNull();
        assertThat(outcomes.get(2).failure()).isInstanceOf(ConcurrentUpdateException.class)
                .hasMessageContaining("more than once");
    }

    @Test
    void an_execution_never_stored_is_refused_before_anything_is_saved() {
        List<Execution> before = stored(1);
        Execution fresh = Execution.builder("never-stored", "flow", "1").build();

        assertThatThrownBy(() -> store.saveAllVersioned(List.of(completed(before.get(0), 6), fresh)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("never-stored")
                .hasMessageContaining("version 0");
        assertThat(store.load(before.get(0).id()).orElseThrow()).isEqualTo(before.get(0));
        assertThat(store.load("never-stored")).isEmpty();
    }

    @Test
    void a_batched_save_that_ends_or_parks_an_execution_gives_up_its_lease_as_a_single_save_does() {
        List<Execution> before = stored(3);
        List<Execution> claimed = store.claimDue("w1", List.of(new FlowVersion("flow", "1")), Duration.ofMinutes(5), 3)
                .executions();
        assertThat(claimed).hasSize(3).allSatisfy(e -> assertThat(e.leaseOwner()).isEqualTo("w1"));
        Execution byId0 = claimed.stream().filter(e -> e.id().equals(before.get(0).id())).findFirst().orElseThrow();
        Execution byId1 = claimed.stream().filter(e -> e.id().equals(before.get(1).id())).findFirst().orElseThrow();
        Execution byId2 = claimed.stream().filter(e -> e.id().equals(before.get(2).id())).findFirst().orElseThrow();
        Instant wakeAt = Instant.now().plusSeconds(3600);

        List<SaveOutcome> outcomes = store.saveAllVersioned(List.of(
                completed(byId0, 7),
                byId1.toBuilder().status(ExecutionStatus.WAITING)
                        .waitMetadata(new WaitMetadata(wakeAt, "timer", Instant.now(), null)).build(),
                byId2.toBuilder().status(ExecutionStatus.RUNNING).stepCount(1).build()));

        assertThat(outcomes).allSatisfy(o -> assertThat(o.failure()).isNull());
        assertThat(store.load(byId0.id()).orElseThrow().leaseOwner()).as("completed: released (V5)").isNull();
        Execution parked = store.load(byId1.id()).orElseThrow();
        assertThat(parked.leaseOwner()).as("waiting: released (V5)").isNull();
        assertThat(parked.waitMetadata().wakeAt()).isEqualTo(Instant.ofEpochMilli(wakeAt.toEpochMilli()));
        assertThat(store.load(byId2.id()).orElseThrow().leaseOwner()).as("still running: still leased").isEqualTo("w1");
        assertThat(store.renewLeases("w1", List.of(byId0.id(), byId1.id(), byId2.id()), Duration.ofMinutes(5)))
                .containsExactly(byId2.id());
    }

    @Test
    void the_stores_saves_give_up_the_lease_themselves_so_the_lease_trigger_function_runs_only_for_other_writers()
            throws SQLException {
        PgStoreOptions options = PgStoreOptions.builder().schema("own_lease").build();
        SchemaApplier.apply(PG.dataSource(), options);
        PgExecutionStore own = new PgExecutionStore(PG.dataSource(), options);
        // The function of V5's trigger as V16 left it (run after the update), and a count of its calls.
        String calls = PG.logCallsOf("own_lease", "executions_end_lease", """
                  UPDATE own_lease.executions SET lease_owner = NULL, lease_expires_at = NULL WHERE id = NEW.id;
                  RETURN NULL;""");
        List<Execution> created = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            created.add(Execution.builder("own-" + i, "flow", "1").build());
        }
        own.saveAll(created);
        Map<String, Execution> claimed = new java.util.HashMap<>();
        own.claimDue("w1", List.of(new FlowVersion("flow", "1")), Duration.ofMinutes(5), 7).executions()
                .forEach(e -> claimed.put(e.id(), e));
        assertThat(claimed).hasSize(7);
        Instant wakeAt = Instant.now().plusSeconds(3600);
        WaitMetadata timer = new WaitMetadata(wakeAt, "timer", Instant.now(), null);

        own.save(completed(claimed.get("own-0"), 0));
        own.save(claimed.get("own-1").toBuilder().status(ExecutionStatus.WAITING).waitMetadata(timer).build());
        own.save(claimed.get("own-2").toBuilder().status(ExecutionStatus.RUNNING).stepCount(1).build());
        assertThat(own.saveAllVersioned(List.of(completed(claimed.get("own-3"), 3),
                claimed.get("own-4").toBuilder().status(ExecutionStatus.WAITING).waitMetadata(timer).build(),
                claimed.get("own-5").toBuilder().status(ExecutionStatus.RUNNING).stepCount(1).build())))
                .allSatisfy(o -> assertThat(o.failure()).isNull());

        assertThat(PG.queryLong("SELECT count(*) FROM " + calls)).as("calls of the V5 function").isZero();
        assertThat(PG.queryStrings("SELECT id || ' ' || coalesce(lease_owner, '-') || ' ' || "
                + "(lease_expires_at IS NULL) FROM own_lease.executions WHERE id <> 'own-6' ORDER BY id"))
                .containsExactly("own-0 - true", "own-1 - true", "own-2 w1 false", "own-3 - true", "own-4 - true",
                        "own-5 w1 false");

        PG.execute("UPDATE own_lease.executions SET status = 'completed' WHERE id = 'own-6'");
        assertThat(PG.queryStrings("SELECT id FROM " + calls)).as("another writer's save")
                .containsExactly("own-6");
        assertThat(PG.queryLong("SELECT count(*) FROM own_lease.executions WHERE id = 'own-6' AND lease_owner IS NULL "
                + "AND lease_expires_at IS NULL")).isEqualTo(1);
    }

    @Test
    void a_batched_save_is_planned_once_per_connection_and_its_plan_reused_whatever_its_size() throws SQLException {
        List<Execution> rows = new ArrayList<>(stored(8));
        // A table with statistics, as the benchmark's drains have: a plan made for a batch's own few rows
        // then looks cheaper than the generic plan.
        PG.execute("""
                INSERT INTO executions (id, flow_id, flow_version, status, context, created_at, updated_at)
                SELECT 'other-' || g, 'flow', '1', 'pending', '{}', g, g FROM generate_series(1, 2000) AS g""");
        PG.execute("ANALYZE executions");
        Plans.Cached plans;
        try (var one = PG.newDataSource(1)) {
            PgExecutionStore onOne = new PgExecutionStore(one);
            // pgjdbc prepares a statement on the server at its fifth use; PostgreSQL then plans it five times
            // with the values bound before it considers the generic plan.
            for (int i = 0; i < 20; i++) {
                List<Execution> batch = rows.subList(0, 2 + i % 7);
                List<SaveOutcome> outcomes = onOne.saveAllVersioned(batch.stream()
                        .map(e -> e.toBuilder().stepCount(e.stepCount() + 1).build()).toList());
                for (int j = 0; j < outcomes.size(); j++) {
                    rows.set(j, outcomes.get(j).orThrow());
                }
            }
            plans = Plans.cachedOn(one, "unnest");
        }

        // Batches that differ only in how many rows they hold must not each pay for planning the statement
        // (139 us of a 372 us call of 2.5 rows at 4 worker threads, docs/PERFORMANCE.md).
        assertThat(plans.generic()).as("executions that reused the generic plan").isGreaterThanOrEqualTo(10);
        assertThat(plans.custom()).as("executions planned with their values").isLessThanOrEqualTo(5);
        assertThat(rows.get(0).stepCount()).isEqualTo(20);

        // The plan kept finds each row by its key, whatever the table's size: never a scan of the table.
        PG.execute("""
                INSERT INTO executions (id, flow_id, flow_version, status, context, created_at, updated_at)
                SELECT 'more-' || g, 'flow', '1', 'completed', '{}', g, g FROM generate_series(1, 50000) AS g""");
        PG.execute("ANALYZE executions");
        String statement = new ExecutionSql(PgStoreOptions.defaults()).updateRows;
        int[] n = {0};
        String numbered = java.util.regex.Pattern.compile("\\?").matcher(statement).replaceAll(m -> "\\$" + ++n[0]);
        StringBuilder plan = new StringBuilder();
        // The generic plan as PostgreSQL keeps it (EXPLAIN (GENERIC_PLAN) would need PostgreSQL 16).
        try (Connection c = PG.dataSource().getConnection(); Statement st = c.createStatement()) {
            st.execute("SET plan_cache_mode = force_generic_plan");
            st.execute("PREPARE batched_save AS " + numbered);
            try (var rs = st.executeQuery("EXPLAIN EXECUTE batched_save(" + String.join(", ",
                    java.util.Collections.nCopies(n[0], "NULL")) + ")")) {
                while (rs.next()) {
                    plan.append(rs.getString(1)).append('\n');
                }
            } finally {
                st.execute("DEALLOCATE batched_save");
                st.execute("RESET plan_cache_mode");
            }
        }
        assertThat(plan.toString()).contains("executions_pkey").doesNotContain("Seq Scan on executions");
    }

    @Test
    void in_a_transaction_the_rows_are_saved_one_by_one_and_a_lost_race_leaves_the_transaction_usable() {
        List<Execution> before = stored(3);
        store.save(before.get(0).toBuilder().context(Map.of("by", "someone else")).build());

        List<SaveOutcome> outcomes = store.inTransaction(tx -> {
            List<SaveOutcome> inside = ((PgExecutionStore) tx).saveAllVersioned(
                    before.stream().map(e -> completed(e, 8)).toList());
            tx.save(completed(inside.get(1).orThrow(), 9));
            return inside;
        });

        assertThat(outcomes.get(0).failure()).isInstanceOf(ConcurrentUpdateException.class);
        assertThat(store.load(before.get(1).id()).orElseThrow().version()).as("saved twice in the transaction")
                .isEqualTo(3);
        assertThat(outcomes.get(2).orThrow()).isEqualTo(store.load(before.get(2).id()).orElseThrow());
    }

    @Test
    void a_row_beyond_the_stores_read_limits_is_refused_alone_as_a_single_save_would_be() {
        List<Execution> before = stored(3);
        PgExecutionStore limited = new PgExecutionStore(PG.dataSource(), PgStoreOptions.builder().maxStringLength(1_000)
                .build());
        List<Execution> next = new ArrayList<>(before.stream().map(e -> completed(e, 10)).toList());
        next.set(0, next.get(0).toBuilder().context(Map.of("long", "y".repeat(1_001))).build());

        List<SaveOutcome> outcomes = limited.saveAllVersioned(next);

        assertThat(outcomes.get(0).failure()).isInstanceOf(ExecutionDataException.class)
                .hasMessageContaining(next.get(0).id());
        assertThat(store.load(next.get(0).id()).orElseThrow()).as("nothing written that could not be read back")
                .isEqualTo(before.get(0));
        assertThat(outcomes.subList(1, 3)).allSatisfy(o -> assertThat(o.saved()).isNotNull());
    }

    @Test
    void json_columns_left_null_stay_sql_null_and_each_row_gets_its_own_json() throws SQLException {
        List<Execution> before = stored(3);
        List<Execution> next = List.of(completed(before.get(0), 0),
                before.get(1).toBuilder().error(new io.flowmonkey.execution.ExecutionError("E", "m", "a",
                        Map.of("d", List.of(1, "]},{")), Instant.ofEpochMilli(5))).status(ExecutionStatus.FAILED)
                        .failedAt(Instant.ofEpochMilli(6)).build(),
                before.get(2).toBuilder().context(Map.of("quote", "\"\\\"[{")).build());

        List<SaveOutcome> outcomes = store.saveAllVersioned(next);

        assertThat(transactionsThatWrote(next)).as("one statement").isEqualTo(1);
        for (SaveOutcome o : outcomes) {
            assertThat(store.load(o.saved().id()).orElseThrow()).isEqualTo(o.saved());
        }
        assertThat(PG.queryStrings("SELECT (error IS NULL) || ' ' || (wait_metadata IS NULL) || ' ' "
                + "|| (cancellation IS NULL) FROM executions WHERE id = '" + next.get(0).id() + "'"))
                .as("SQL NULL, not JSON null").containsExactly("true true true");
    }

    /** A value whose encoding is whatever text it holds, as a caller's {@code @JsonRawValue} is. */
    record Raw(@com.fasterxml.jackson.annotation.JsonRawValue String json) {
    }

    @Test
    void a_caller_raw_json_that_is_not_one_value_cannot_reach_the_other_rows_of_its_batch() throws SQLException {
        List<Execution> before = stored(3);
        // {"raw": {"json": 1}}, {"forged": true, "x": {"y": 1}}: in one array with the others, two elements.
        Execution splitting = before.get(1).toBuilder().context(Map.of("raw", new Raw("1}}, {\"forged\": true, \"x\": {\"y\": 1"))).build();
        List<Execution> next = List.of(completed(before.get(0), 0), splitting, completed(before.get(2), 2));

        List<SaveOutcome> outcomes = store.saveAllVersioned(next);

        assertThat(outcomes.get(1).failure()).as("PostgreSQL parses it alone, and refuses it")
                .isInstanceOf(StoreException.class).hasMessageContaining(splitting.id());
        assertThat(store.load(before.get(1).id()).orElseThrow()).isEqualTo(before.get(1));
        for (int i : new int[] {0, 2}) {
            assertThat(store.load(next.get(i).id()).orElseThrow()).isEqualTo(outcomes.get(i).saved());
        }
        assertThat(PG.queryLong("SELECT count(*) FROM executions WHERE context ? 'forged'")).isZero();
    }

    @Test
    void one_bracketed_value_is_an_object_or_array_closed_at_its_last_character_outside_strings() {
        for (String one : List.of("{}", "[]", "{\"a\": [1, {\"b\": \"}]\"}]}", "[\"\\\"]\", 2]", "{\"k\\\\\": 1}")) {
            assertThat(ExecutionRow.oneBracketedValue(one)).as(one).isTrue();
        }
        for (String notOne : List.of("", "1", "\"s\"", "null", "{}, {}", "{} ", "{\"a\": 1}]", "[1, 2", "{\"a\": \"}",
                "}{", "{\"a\": 1}, {\"b\": 2}")) {
            assertThat(ExecutionRow.oneBracketedValue(notOne)).as(notOne).isFalse();
        }
    }
}
