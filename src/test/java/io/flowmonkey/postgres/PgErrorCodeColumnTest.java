package io.flowmonkey.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionError;
import io.flowmonkey.execution.ExecutionQuery;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.ExecutionStore;
import io.flowmonkey.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Migration V11: {@code error_code} follows {@code error ->> 'code'} whoever writes the row, so that the
 * error-code filter, which reads the column, finds rows written by plain SQL (or FlowMonkey for
 * TypeScript) as it finds the store's.
 */
class PgErrorCodeColumnTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    private final PgExecutionStore store = new PgExecutionStore(PG.dataSource());

    @BeforeEach
    void emptyTable() throws SQLException {
        PG.truncate("executions");
    }

    private static ExecutionQuery code(String code) {
        return ExecutionQuery.builder().errorCode(code).build();
    }

    private static String errorCodeColumnOf(String id) throws SQLException {
        try (Connection c = PG.dataSource().getConnection(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT error_code FROM executions WHERE id = '" + id + "'")) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static void insertBySql(String id, String errorJson) throws SQLException {
        PG.execute("INSERT INTO executions (id, flow_id, flow_version, status, context, error, created_at, updated_at) "
                + "VALUES ('" + id + "', 'f', '1', 'failed', '{}', " + (errorJson == null ? "NULL" : "'" + errorJson + "'")
                + ", 1700000000000, 1700000000000)");
    }

    @Test
    void a_row_written_by_plain_sql_with_an_error_is_found_by_its_error_code() throws SQLException {
        insertBySql("sql-1", "{\"code\": \"SQL_FAILED\", \"message\": \"boom\", \"stepId\": \"a\"}");
        insertBySql("sql-2", null);

        assertThat(store.query(code("SQL_FAILED")).items()).extracting(Execution::id).containsExactly("sql-1");
        assertThat(store.count(code("SQL_FAILED"))).isEqualTo(1);
        assertThat(store.load("sql-1").orElseThrow().error().code()).isEqualTo("SQL_FAILED");
        assertThat(errorCodeColumnOf("sql-2")).isNull();
    }

    @Test
    void an_error_changed_or_cleared_by_sql_is_followed_by_the_error_code_filter() throws SQLException {
        insertBySql("sql-1", "{\"code\": \"FIRST\", \"message\": \"boom\"}");

        PG.execute("UPDATE executions SET error = jsonb_set(error, '{code}', '\"SECOND\"') WHERE id = 'sql-1'");
        assertThat(store.count(code("FIRST"))).isZero();
        assertThat(store.query(code("SECOND")).items()).extracting(Execution::id).containsExactly("sql-1");

        PG.execute("UPDATE executions SET error = NULL, status = 'pending' WHERE id = 'sql-1'");
        assertThat(store.count(code("SECOND"))).isZero();
        assertThat(errorCodeColumnOf("sql-1")).isNull();

        // An error without a code, and a writer that sets the column itself: the column follows the error.
        PG.execute("UPDATE executions SET error = '{\"message\": \"no code\"}', error_code = 'FORGED' WHERE id = 'sql-1'");
        assertThat(errorCodeColumnOf("sql-1")).isNull();
        PG.execute("UPDATE executions SET error_code = 'FORGED' WHERE id = 'sql-1'");
        assertThat(store.count(code("FORGED"))).isZero();
    }

    @Test
    void the_store_s_own_saves_keep_the_column_equal_to_the_code_of_the_error_they_save() throws SQLException {
        Execution e = store.save(Execution.builder("own-1", "f", "1").build());
        Execution failed = store.save(e.toBuilder().status(ExecutionStatus.FAILED)
                .error(new ExecutionError("OWN_CODE", "boom", "a", Map.of("n", 1), Instant.EPOCH)).build());
        assertThat(errorCodeColumnOf("own-1")).isEqualTo("OWN_CODE");
        assertThat(store.query(code("OWN_CODE")).items()).containsExactly(failed);

        store.save(failed.toBuilder().status(ExecutionStatus.PENDING).error(null).build());
        assertThat(errorCodeColumnOf("own-1")).isNull();
        assertThat(store.count(code("OWN_CODE"))).isZero();
    }

    @Test
    void the_store_s_saves_never_call_a_trigger_function_of_the_column_as_they_set_it_themselves() throws SQLException {
        Execution plain = store.save(Execution.builder("steps", "f", "1").build());
        Execution failing = store.save(Execution.builder("failing", "f", "1").status(ExecutionStatus.FAILED)
                .error(new ExecutionError("KEPT", "boom", "a", null, Instant.EPOCH)).build());
        try (Connection c = PG.dataSource().getConnection(); Statement st = c.createStatement()) {
            c.setAutoCommit(false);
            // Counts the calls of PL/pgSQL functions in this transaction (pg_stat_xact_user_functions).
            st.execute("SET LOCAL track_functions = 'pl'");
            ExecutionStore tx = store.using(c);
            Execution saved = plain;
            for (int step = 1; step <= 20; step++) {
                saved = tx.save(saved.toBuilder().status(ExecutionStatus.RUNNING).stepCount(step).build());
            }
            tx.save(failing.toBuilder().context(Map.of("retried", false)).build());
            assertThat(callsOfTheTriggerFunction(st)).as("21 saves with an unchanged error").isZero();

            Execution failed = tx.save(saved.toBuilder().status(ExecutionStatus.FAILED)
                    .error(new ExecutionError("NEW", "boom", "a", null, Instant.EPOCH)).build());
            assertThat(errorCodeOf(st, failed.id())).isEqualTo("NEW");
            tx.save(failed.toBuilder().error(new ExecutionError("CHANGED", "boom", "a", null, Instant.EPOCH)).build());
            assertThat(errorCodeOf(st, failed.id())).isEqualTo("CHANGED");
            assertThat(callsOfTheTriggerFunction(st)).as("saves that set and change an error (V16: the store sets "
                    + "the column itself)").isZero();
            // The count is live: another writer's change of an error calls V16's function once.
            st.executeUpdate("UPDATE executions SET error = '{\"code\": \"BY_SQL\"}' WHERE id = 'failing'");
            assertThat(callsOfTheTriggerFunction(st)).as("an update of the error by SQL").isOne();
            c.rollback();
        }
    }

    @Test
    void a_batched_save_sets_the_column_itself_and_calls_no_trigger_function_of_it() throws SQLException {
        PgStoreOptions options = PgStoreOptions.builder().schema("own_codes").build();
        SchemaApplier.apply(PG.dataSource(), options);
        PgExecutionStore own = new PgExecutionStore(PG.dataSource(), options);
        // V16's function for other writers' updates, as it is, and a count of its calls. Batched saves run on
        // the pool's connections (a store bound to one connection saves row by row), so the calls are logged
        // rather than read from this session's statistics.
        String calls = PG.logCallsOf("own_codes", "executions_error_code_updated", """
                  UPDATE own_codes.executions SET error_code = NEW.error ->> 'code' WHERE id = NEW.id;
                  RETURN NULL;""");
        List<Execution> rows = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            rows.add(own.save(Execution.builder("b" + i, "f", "1").status(ExecutionStatus.FAILED)
                    .error(new ExecutionError("OLD_" + i, "boom", "a", null, Instant.EPOCH)).build()));
        }
        assertThat(own.saveAllVersioned(List.of(
                rows.get(0).toBuilder().error(new ExecutionError("CHANGED", "boom", "a", null, Instant.EPOCH)).build(),
                rows.get(1).toBuilder().status(ExecutionStatus.PENDING).error(null).build(),
                rows.get(2).toBuilder().stepCount(1).build())))
                .allSatisfy(o -> assertThat(o.failure()).isNull());

        assertThat(PG.queryStrings("SELECT id || '=' || coalesce(error_code, '-') FROM own_codes.executions ORDER BY id"))
                .containsExactly("b0=CHANGED", "b1=-", "b2=OLD_2");
        assertThat(PG.queryLong("SELECT count(*) FROM " + calls)).as("calls for the store's saves")
                .isZero();
        PG.execute("UPDATE own_codes.executions SET error = '{\"code\": \"BY_SQL\"}' WHERE id = 'b1'");
        assertThat(PG.queryStrings("SELECT id || '=' || error_code FROM own_codes.executions WHERE id = 'b1'"))
                .containsExactly("b1=BY_SQL");
        assertThat(PG.queryStrings("SELECT id FROM " + calls)).as("another writer's update")
                .containsExactly("b1");
    }

    private static String errorCodeOf(Statement st, String id) throws SQLException {
        try (ResultSet rs = st.executeQuery("SELECT error_code FROM executions WHERE id = '" + id + "'")) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static long callsOfTheTriggerFunction(Statement st) throws SQLException {
        try (ResultSet rs = st.executeQuery("SELECT coalesce(sum(calls), 0) FROM pg_stat_xact_user_functions "
                + "WHERE funcname IN ('executions_error_code', 'executions_error_code_updated')")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    @Test
    void upgrading_a_table_with_failed_rows_fills_the_column_of_every_row_with_an_error() throws SQLException {
        Flyway.configure().dataSource(PG.dataSource()).schemas("upgraded")
                .locations("classpath:io/flowmonkey/postgres/migration")
                .placeholders(Map.of("schema", "upgraded", "table", "executions"))
                .target("10").load().migrate();
        PG.execute("INSERT INTO upgraded.executions (id, flow_id, flow_version, status, context, error, created_at, "
                + "updated_at) SELECT 'old-' || g, 'f', '1', 'failed', '{}', CASE WHEN g % 2 = 0 "
                + "THEN jsonb_build_object('code', 'OLD_' || (g % 3), 'message', 'boom') END, g, g "
                + "FROM generate_series(1, 300) g");

        Flyway.configure().dataSource(PG.dataSource()).schemas("upgraded")
                .locations("classpath:io/flowmonkey/postgres/migration")
                .placeholders(Map.of("schema", "upgraded", "table", "executions")).load().migrate();
        PgExecutionStore upgraded = new PgExecutionStore(PG.dataSource(),
                PgStoreOptions.builder().schema("upgraded").build());

        assertThat(upgraded.count(code("OLD_0")) + upgraded.count(code("OLD_1")) + upgraded.count(code("OLD_2")))
                .isEqualTo(150);
        assertThat(upgraded.count(code("OLD_1"))).isEqualTo(PG.queryLong("SELECT count(*) FROM upgraded.executions "
                + "WHERE error ->> 'code' = 'OLD_1'"));
        assertThat(PG.queryLong("SELECT count(*) FROM upgraded.executions WHERE error_code IS DISTINCT FROM "
                + "(error ->> 'code')")).isZero();
        assertThat(PG.queryLong("SELECT count(*) FROM pg_indexes WHERE schemaname = 'upgraded' "
                + "AND indexname IN ('idx_executions_error_codes', 'idx_executions_error_code')"))
                .as("V7's expression index replaced by the column's").isEqualTo(1);
    }
}
