package io.flowmonkey.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import io.flowmonkey.execution.Cancellation;
import io.flowmonkey.execution.DuplicateExecutionException;
import io.flowmonkey.execution.DuplicateIdempotencyKeyException;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.LeasingExecutionStore;
import io.flowmonkey.execution.ExecutionDataException;
import io.flowmonkey.execution.ExecutionError;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.ExecutionStore;
import io.flowmonkey.execution.StoreException;
import io.flowmonkey.execution.WaitMetadata;
import io.flowmonkey.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** What only the PostgreSQL store has: transactions, the stored JSON shapes, bad input and faults. */
class PgExecutionStoreTest {

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
        return Execution.builder("pg-" + IDS.incrementAndGet(), "flow", "1").createdAt(T0).updatedAt(T0);
    }

    @Test
    void inTransaction_commits_everything_when_work_returns() {
        List<String> ids = store.inTransaction(tx -> List.of(
                tx.save(execution().build()).id(),
                tx.save(execution().build()).id()));

        assertThat(ids).allSatisfy(id -> assertThat(store.load(id)).isPresent());
    }

    @Test
    void inTransaction_rolls_back_everything_when_work_throws() {
        Execution existing = store.save(execution().build());
        Execution fresh = execution().build();

        assertThatThrownBy(() -> store.inTransaction(tx -> {
            tx.save(fresh);
            tx.save(existing.toBuilder().status(ExecutionStatus.FAILED).build());
            tx.delete(existing.id());
            throw new IllegalStateException("boom");
        })).isInstanceOf(IllegalStateException.class).hasMessage("boom");

        assertThat(store.load(fresh.id())).isEmpty();
        assertThat(store.load(existing.id())).contains(existing);
    }

    @Test
    void inTransaction_sees_its_own_writes_before_commit() {
        Execution seen = store.inTransaction(tx -> {
            Execution saved = tx.save(execution().tenantId("own").build());
            return tx.findByTenant("own").get(0);
        });

        assertThat(seen.tenantId()).isEqualTo("own");
    }

    @Test
    void using_joins_the_callers_transaction_and_a_rollback_leaves_nothing() throws SQLException {
        Execution fresh = execution().build();
        try (Connection c = PG.dataSource().getConnection()) {
            c.setAutoCommit(false);
            ExecutionStore joined = store.using(c);
            joined.save(fresh);
            joined.saveAll(List.of(execution().tenantId("batch").build(), execution().tenantId("batch").build()));
            assertThat(joined.load(fresh.id())).isPresent();
            assertThat(store.load(fresh.id())).as("invisible outside the open transaction").isEmpty();
            c.rollback();
            assertThat(c.isClosed()).isFalse();
            c.setAutoCommit(true);
        }

        assertThat(store.load(fresh.id())).isEmpty();
        assertThat(store.findByTenant("batch")).isEmpty();
    }

    @Test
    void using_commits_with_the_callers_commit_alongside_their_own_sql() throws SQLException {
        Execution fresh = execution().build();
        try (Connection c = PG.dataSource().getConnection()) {
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                st.execute("CREATE TEMP TABLE audit (id TEXT)");
            }
            store.using(c).save(fresh);
            c.commit();
            c.setAutoCommit(true);
        }

        assertThat(store.load(fresh.id())).isPresent();
    }

    @Test
    void a_taken_key_inside_the_callers_transaction_names_the_holder_and_leaves_it_usable() throws SQLException {
        Execution holder = store.save(execution().idempotencyKey("tx-key").build());
        Execution after = execution().build();
        try (Connection c = PG.dataSource().getConnection()) {
            c.setAutoCommit(false);
            ExecutionStore joined = store.using(c);

            DuplicateIdempotencyKeyException e = catchThrowableOfType(DuplicateIdempotencyKeyException.class,
                    () -> joined.save(execution().idempotencyKey("tx-key").build()));
            joined.save(after);
            c.commit();
            c.setAutoCommit(true);

            assertThat(e.holderExecutionId()).isEqualTo(holder.id());
        }
        assertThat(store.load(after.id())).isPresent();
    }

    @Test
    void saveAll_beyond_one_statement_is_still_all_or_nothing() throws SQLException {
        List<Execution> thousand = new java.util.ArrayList<>();
        for (int i = 0; i < 1_000; i++) {
            thousand.add(execution().tenantId("one-statement").build());
        }
        store.saveAll(thousand);
        List<Execution> more = new java.util.ArrayList<>();
        for (int i = 0; i < 1_000; i++) {
            more.add(execution().tenantId("batch").build());
        }
        more.add(Execution.builder(thousand.get(0).id(), "flow", "1").build());

        assertThatThrownBy(() -> store.saveAll(more)).isInstanceOf(io.flowmonkey.execution.DuplicateExecutionException.class)
                .hasMessageContaining(thousand.get(0).id());
        more.remove(more.size() - 1);
        more.add(execution().tenantId("batch").build());
        store.saveAll(more);

        assertThat(PG.queryLong("SELECT count(*) FROM executions WHERE tenant_id = 'one-statement'")).isEqualTo(1_000);
        assertThat(PG.queryLong("SELECT count(*) FROM executions WHERE tenant_id = 'batch'")).isEqualTo(1_001);
    }

    @Test
    void json_columns_use_FlowMonkey_camelCase_shapes_and_epoch_millis() throws SQLException {
        Execution e = store.save(execution()
                .status(ExecutionStatus.WAITING)
                .error(new ExecutionError("E", "msg", "step-1", Map.of("k", 1), T0))
                .waitMetadata(new WaitMetadata(T0.plusSeconds(5), "timer", null, null))
                .cancellation(new Cancellation(Cancellation.Source.USER, "changed mind", T0))
                .build());

        Map<String, String> row = rawRow(e.id(), "error::text", "wait_metadata::text", "cancellation::text",
                "wake_at::text", "status", "created_at::text", "version::text");

        assertThat(row.get("error")).isEqualTo("{\"code\": \"E\", \"stepId\": \"step-1\", \"details\": {\"k\": 1}, "
                + "\"message\": \"msg\", \"timestamp\": " + T0.toEpochMilli() + "}");
        assertThat(row.get("wait_metadata")).isEqualTo("{\"data\": {}, \"reason\": \"timer\", \"wakeAt\": "
                + (T0.toEpochMilli() + 5000) + "}");
        assertThat(row.get("cancellation")).isEqualTo("{\"reason\": \"changed mind\", \"source\": \"user\", "
                + "\"cancelledAt\": " + T0.toEpochMilli() + "}");
        assertThat(row.get("wake_at")).isEqualTo(Long.toString(T0.toEpochMilli() + 5000));
        assertThat(row.get("status")).isEqualTo("waiting");
        assertThat(row.get("created_at")).isEqualTo(Long.toString(T0.toEpochMilli()));
        assertThat(row.get("version")).isEqualTo("1");
    }

    @Test
    void rows_written_by_other_versions_with_unknown_fields_still_load() throws SQLException {
        Execution e = store.save(execution().error(new ExecutionError("E", "m", null, null, T0)).build());
        PG.execute("UPDATE executions SET error = error || '{\"addedLater\": [1, 2]}', "
                + "history = '[{\"stepId\": \"a\", \"handlerType\": \"h\", \"outcome\": \"success\", \"startedAt\": 1, "
                + "\"completedAt\": 2, \"durationMs\": 1, \"attempt\": 3, \"tags\": {}}]' WHERE id = '" + e.id() + "'");

        Execution loaded = store.load(e.id()).orElseThrow();

        assertThat(loaded.error().code()).isEqualTo("E");
        assertThat(loaded.history()).singleElement().returns("a", h -> h.stepId());
    }

    @Test
    void a_context_value_jackson_cannot_write_is_refused_naming_id_and_column() {
        Execution e = execution().context(Map.of("thread", new Object() {
            @SuppressWarnings("unused")
            public Object getSelf() {
                return this;
            }
        })).build();

        ExecutionDataException ex = catchThrowableOfType(ExecutionDataException.class, () -> store.save(e));

        assertThat(ex.executionId()).isEqualTo(e.id());
        assertThat(ex.column()).isEqualTo("context");
        assertThat(ex).hasMessageContaining(e.id()).hasMessageContaining("context");
        assertThat(store.load(e.id())).isEmpty();
    }

    @Test
    void a_nul_character_is_refused_before_anything_is_written() {
        Execution inContext = execution().context(Map.of("note", "before\u0000after")).build();
        Execution inTenant = execution().tenantId("bad\u0000tenant").build();
        Execution inHistoryKey = execution().metadata(Map.of("k\u0000", 1)).build();

        assertThatThrownBy(() -> store.save(inContext)).isInstanceOf(ExecutionDataException.class)
                .hasMessageContaining(inContext.id()).hasMessageContaining("context").hasMessageContaining("U+0000");
        assertThatThrownBy(() -> store.save(inTenant)).isInstanceOf(ExecutionDataException.class)
                .hasMessageContaining(inTenant.id()).hasMessageContaining("tenant_id");
        assertThatThrownBy(() -> store.saveAll(List.of(execution().build(), inHistoryKey)))
                .isInstanceOf(ExecutionDataException.class).hasMessageContaining("metadata");
        assertThat(store.findByStatus(ExecutionStatus.PENDING)).isEmpty();
    }

    @Test
    void lookup_arguments_postgresql_cannot_hold_are_refused_with_the_field_named() {
        assertThatThrownBy(() -> store.load("a\u0000b")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("id").hasMessageContaining("NUL");
        assertThatThrownBy(() -> store.findByTenant("t\u0000", 10)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("tenantId");
        assertThatThrownBy(() -> store.claimDue("w", List.of(new LeasingExecutionStore.FlowVersion("fl\u0000w", "1")),
                java.time.Duration.ofSeconds(1), 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("flowId");
        assertThatThrownBy(() -> store.renewLeases("w", null, java.time.Duration.ofSeconds(1)))
                .isInstanceOf(NullPointerException.class).hasMessageContaining("executionIds");
    }

    @Test
    void keys_too_long_for_their_index_are_refused_before_anything_is_written() {
        Execution longTenant = execution().tenantId("t".repeat(256)).build();
        Execution longKey = execution().idempotencyKey("k".repeat(3000)).build();

        assertThatThrownBy(() -> store.save(longTenant)).isInstanceOf(ExecutionDataException.class)
                .hasMessageContaining(longTenant.id()).hasMessageContaining("tenant_id").hasMessageContaining("255");
        assertThatThrownBy(() -> store.saveAll(List.of(execution().build(), longKey)))
                .isInstanceOf(ExecutionDataException.class).hasMessageContaining("idempotency_key");
        assertThatThrownBy(() -> store.claimDue("w", List.of(new LeasingExecutionStore.FlowVersion("flow", "1")),
                java.time.Duration.ofDays(366), 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("leaseTtl");
        // The error's code is indexed too (V11's error_code).
        Execution longCode = execution().status(ExecutionStatus.FAILED).error(new io.flowmonkey.execution.ExecutionError(
                "E".repeat(256), "boom", "a", null, java.time.Instant.EPOCH)).build();
        assertThatThrownBy(() -> store.save(longCode)).isInstanceOf(ExecutionDataException.class)
                .hasMessageContaining(longCode.id()).hasMessageContaining("error").hasMessageContaining("255");
        assertThat(store.findByStatus(ExecutionStatus.PENDING)).isEmpty();
        assertThat(store.findByStatus(ExecutionStatus.FAILED)).isEmpty();
    }

    @Test
    void using_a_connection_in_autocommit_mode_still_saves_a_batch_all_or_nothing() throws SQLException {
        Execution stored = store.save(execution().build());
        Execution fresh = execution().build();
        try (Connection c = PG.dataSource().getConnection()) {
            assertThatThrownBy(() -> store.using(c).saveAll(List.of(fresh, stored.toBuilder().version(0).build())))
                    .isInstanceOf(DuplicateExecutionException.class);

            assertThat(c.getAutoCommit()).isTrue();
        }
        assertThat(store.load(fresh.id())).isEmpty();
    }

    @Test
    void an_escaped_backslash_before_u0000_is_ordinary_text() {
        Execution e = store.save(execution().context(Map.of("path", "C:\\u0000\\dir")).build());

        assertThat(store.load(e.id()).orElseThrow().context()).containsEntry("path", "C:\\u0000\\dir");
    }

    @Test
    void a_corrupt_row_is_reported_with_its_id_and_column() throws SQLException {
        Execution badJson = store.save(execution().build());
        PG.execute("UPDATE executions SET history = '{\"not\": \"a list\"}' WHERE id = '" + badJson.id() + "'");
        Execution badContext = store.save(execution().build());
        PG.execute("UPDATE executions SET context = '[1, 2]' WHERE id = '" + badContext.id() + "'");
        Execution badStatus = store.save(execution().build());
        PG.execute("ALTER TABLE executions DROP CONSTRAINT executions_status_check");
        try {
            PG.execute("UPDATE executions SET status = 'exploded' WHERE id = '" + badStatus.id() + "'");

            assertCorrupt(badJson.id(), "history");
            assertCorrupt(badContext.id(), "context");
            assertCorrupt(badStatus.id(), "status");
        } finally {
            PG.execute("DELETE FROM executions WHERE id = '" + badStatus.id() + "'");
            PG.execute("ALTER TABLE executions ADD CONSTRAINT executions_status_check CHECK (status IN ('pending', "
                    + "'running', 'waiting', 'cancelling', 'cancelled', 'completed', 'failed')) NOT VALID");
        }
    }

    private void assertCorrupt(String id, String column) {
        ExecutionDataException e = catchThrowableOfType(ExecutionDataException.class, () -> store.load(id));
        assertThat(e.executionId()).isEqualTo(id);
        assertThat(e.column()).isEqualTo(column);
        assertThat(e).hasMessageContaining(id).hasMessageContaining(column);
    }

    @Test
    void the_status_check_refuses_unknown_statuses_written_behind_the_stores_back() {
        Execution e = store.save(execution().build());

        assertThatThrownBy(() -> PG.execute("UPDATE executions SET status = 'bogus' WHERE id = '" + e.id() + "'"))
                .isInstanceOf(SQLException.class).hasMessageContaining("executions_status_check");
    }

    @Test
    void sql_injection_strings_are_stored_verbatim_as_data() throws SQLException {
        String tenant = "x'); DROP TABLE executions; --";
        String key = "k' OR '1'='1";
        String id = "id\"; DELETE FROM executions; --";
        Execution e = store.save(Execution.builder(id, "f' --", "1").tenantId(tenant).idempotencyKey(key).build());

        assertThat(store.findByTenant(tenant)).singleElement().returns(id, Execution::id);
        assertThat(store.findByIdempotencyKey(key)).contains(e);
        assertThat(store.findByIdempotencyKey("anything' OR '1'='1")).isEmpty();
        assertThat(store.load(id)).contains(e);
        assertThat(rawRow(id, "tenant_id")).containsEntry("tenant_id", tenant);
    }

    @Test
    void a_killed_connection_surfaces_as_StoreException_and_the_next_call_works() throws SQLException {
        Execution e = store.save(execution().build());
        try (Connection admin = PG.newDataSource(1).getConnection(); Statement st = admin.createStatement()) {
            st.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                    + "AND pid <> pg_backend_pid()");
        }

        // Every pooled connection is dead now; one call may fail, and then the pool recovers.
        StoreException failure = null;
        for (int i = 0; i < 20 && failure == null; i++) {
            try {
                store.load(e.id());
            } catch (StoreException expected) {
                failure = expected;
            }
        }
        assertThat(failure).isNotNull();
        assertThat(failure).hasMessageContaining("connection").hasMessageContaining(e.id());
        assertThat(store.load(e.id())).contains(e);
    }

    @Test
    void a_callers_object_mapper_serves_context_values_but_not_the_stored_shapes() throws SQLException {
        ObjectMapper mapper = new ObjectMapper();
        mapper.addMixIn(Money.class, MoneyMixIn.class);
        mapper.setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE);
        mapper.setSerializationInclusion(JsonInclude.Include.NON_EMPTY);
        PgExecutionStore custom = new PgExecutionStore(PG.dataSource(),
                PgStoreOptions.builder().objectMapper(mapper).build());

        Execution e = custom.save(execution().context(Map.of("price", new Money(1999, "EUR")))
                .error(new ExecutionError("E", "m", "step-1", null, T0)).build());

        assertThat(custom.load(e.id()).orElseThrow().context())
                .containsEntry("price", Map.of("amountCents", 1999, "ccy", "EUR"));
        assertThat(rawRow(e.id(), "error::text").get("error")).contains("\"stepId\": \"step-1\"");
        assertThat(custom.load(e.id()).orElseThrow().error().stepId()).isEqualTo("step-1");
    }

    record Money(long cents, String currency) {
    }

    private interface MoneyMixIn {
        @com.fasterxml.jackson.annotation.JsonProperty("amountCents")
        long cents();

        @com.fasterxml.jackson.annotation.JsonProperty("ccy")
        String currency();
    }

    @Test
    void a_missing_table_is_reported_with_what_to_do() {
        PgExecutionStore elsewhere = new PgExecutionStore(PG.dataSource(),
                PgStoreOptions.builder().tableName("never_created").build());

        assertThatThrownBy(() -> elsewhere.load("x")).isInstanceOf(StoreException.class)
                .hasMessageContaining("never_created").hasMessageContaining("SchemaApplier.apply");
    }


    private static Map<String, String> rawRow(String id, String... columns) throws SQLException {
        try (Connection c = PG.dataSource().getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT " + String.join(", ", columns)
                     + " FROM executions WHERE id = ?")) {
            ps.setString(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                assertThat(rs.next()).as("row %s exists", id).isTrue();
                Map<String, String> row = new java.util.HashMap<>();
                for (int i = 1; i <= columns.length; i++) {
                    row.put(rs.getMetaData().getColumnLabel(i), rs.getString(i));
                }
                return row;
            }
        }
    }
}
