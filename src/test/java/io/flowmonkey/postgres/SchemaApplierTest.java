package io.flowmonkey.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionQuery;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.Signal;
import io.flowmonkey.execution.StoreException;
import io.flowmonkey.execution.WaitMetadata;
import io.flowmonkey.execution.WorkerHeartbeat;
import io.flowmonkey.execution.WorkerInfo;
import io.flowmonkey.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Each test works in a schema or table of its own, in a database that starts without the schema. */
class SchemaApplierTest {

    @RegisterExtension
    static final PostgresExtension PG = PostgresExtension.withoutSchema();

    private static PgStoreOptions in(String schema) {
        return PgStoreOptions.builder().schema(schema).build();
    }

    @Test
    void version_16_leaves_no_row_trigger_before_an_update_and_its_after_triggers_do_for_other_writers_what_v5_and_v11_did()
            throws SQLException {
        SchemaApplier.apply(PG.dataSource(), in("no_before"));
        // Row level (bit 0), BEFORE (bit 1), UPDATE (bit 4) of pg_trigger.tgtype: PostgreSQL locks every row an
        // UPDATE changes before changing it while any such trigger exists. V5's end_lease and V11's
        // error_code were two.
        String rowUpdateTriggers = """
                SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = 'no_before' AND c.relname = 'executions' AND NOT t.tgisinternal
                  AND t.tgtype & 1 = 1 AND t.tgtype & 16 = 16 AND t.tgtype & 2 = %d ORDER BY t.tgname""";
        assertThat(PG.queryStrings(rowUpdateTriggers.formatted(2))).as("before").isEmpty();
        assertThat(PG.queryStrings(rowUpdateTriggers.formatted(0))).as("after: the same mask finds V16's")
                .contains("executions_end_lease", "executions_error_code_updated");

        PG.execute("INSERT INTO no_before.executions (id, flow_id, flow_version, status, context, error, created_at, "
                + "updated_at, lease_owner, lease_expires_at) VALUES "
                + "('a', 'f', '1', 'running', '{}', NULL, 1, 1, 'w1', 9999999999999), "
                + "('b', 'f', '1', 'failed', '{}', '{\"code\": \"INSERTED\"}', 1, 1, NULL, NULL)");
        assertThat(PG.queryStrings("SELECT error_code FROM no_before.executions WHERE id = 'b'"))
                .as("an insert's code, as V11 set it").containsExactly("INSERTED");
        // Another writer ends a leased row and sets an error without its code, in one statement each.
        PG.execute("UPDATE no_before.executions SET status = 'failed', error = '{\"code\": \"BY_SQL\"}' WHERE id = 'a'");
        PG.execute("UPDATE no_before.executions SET error = '{\"code\": \"CHANGED\"}' WHERE id = 'b'");
        assertThat(PG.queryStrings("SELECT id || ' ' || coalesce(lease_owner, '-') || ' ' || (lease_expires_at IS NULL) "
                + "|| ' ' || error_code FROM no_before.executions ORDER BY id"))
                .containsExactly("a - true BY_SQL", "b - true CHANGED");
        // A writer that keeps the lease on a row it leaves running, or sets the lease as it ends it, keeps it.
        PG.execute("UPDATE no_before.executions SET status = 'running', lease_owner = 'w2', lease_expires_at = 5 "
                + "WHERE id = 'a'");
        PG.execute("UPDATE no_before.executions SET step_count = 1 WHERE id = 'a'");
        PG.execute("UPDATE no_before.executions SET status = 'completed', lease_owner = 'w3' WHERE id = 'b'");
        assertThat(PG.queryStrings("SELECT id || ' ' || coalesce(lease_owner, '-') FROM no_before.executions ORDER BY id"))
                .containsExactly("a w2", "b w3");
    }

    @Test
    void version_15_indexes_only_rows_with_metadata_and_the_store_s_metadata_query_uses_it_in_generic_plans_too()
            throws SQLException {
        SchemaApplier.apply(PG.dataSource(), in("meta"));
        assertThat(predicatesOfIndexes("meta", "metadata")).containsExactly("idx_executions_metadata_set:  WHERE (metadata <> '{}'::jsonb)");
        try (Connection c = PG.dataSource().getConnection(); Statement st = c.createStatement()) {
            // One row in a hundred has metadata, as when most executions are created without any.
            st.execute("INSERT INTO meta.executions (id, flow_id, flow_version, status, context, metadata, created_at, "
                    + "updated_at) SELECT 'e' || i, 'f', '1', 'completed', '{}', CASE WHEN i % 100 = 0 "
                    + "THEN jsonb_build_object('batch', i % 7) ELSE '{}' END, i, i FROM generate_series(1, 20000) i");
            st.execute("ANALYZE meta.executions");
            st.execute("SET plan_cache_mode = force_generic_plan");
            st.execute("PREPARE by_metadata (jsonb) AS SELECT count(*) FROM meta.executions "
                    + "WHERE metadata @> $1 AND metadata <> '{}'::jsonb");
            assertThat(plan(st, "EXECUTE by_metadata('{\"batch\": 3}')")).contains("idx_executions_metadata_set");
            st.execute("DEALLOCATE ALL");
            st.execute("RESET plan_cache_mode");
        }
        // The store's filter finds what a scan finds.
        PgExecutionStore store = new PgExecutionStore(PG.dataSource(), in("meta"));
        assertThat(store.count(ExecutionQuery.builder().metadata("batch", 3).build()))
                .isEqualTo(PG.queryLong("SELECT count(*) FROM meta.executions WHERE metadata ->> 'batch' = '3'"));
    }

    @Test
    void version_14_indexes_only_rows_with_a_tenant_and_a_tenant_query_uses_them_in_generic_plans_too()
            throws SQLException {
        SchemaApplier.apply(PG.dataSource(), in("tenants"));
        assertThat(predicatesOfIndexes("tenants", "tenant")).containsExactly("idx_executions_tenants_created:  WHERE (tenant_id IS NOT NULL)",
                        "idx_executions_tenants_status:  WHERE (tenant_id IS NOT NULL)");
        try (Connection c = PG.dataSource().getConnection(); Statement st = c.createStatement()) {
            st.execute("INSERT INTO tenants.executions (id, flow_id, flow_version, tenant_id, status, context, created_at, "
                    + "updated_at) SELECT 'e' || i, 'f', '1', CASE WHEN i % 2 = 0 THEN 't' || (i % 100) END, "
                    + "CASE WHEN i % 3 = 0 THEN 'failed' ELSE 'completed' END, '{}', i, i FROM generate_series(1, 20000) i");
            st.execute("ANALYZE tenants.executions");
            st.execute("SET plan_cache_mode = force_generic_plan");
            st.execute("PREPARE by_tenant (text) AS SELECT id FROM tenants.executions WHERE tenant_id = $1 "
                    + "ORDER BY created_at DESC, id DESC LIMIT 100");
            st.execute("PREPARE count_of_tenant (text, text) AS SELECT count(*) FROM tenants.executions "
                    + "WHERE tenant_id = $1 AND status = $2");
            assertThat(plan(st, "EXECUTE by_tenant('t2')")).contains("idx_executions_tenants_created")
                    .doesNotContain("Sort");
            assertThat(plan(st, "EXECUTE count_of_tenant('t2', 'failed')")).contains("idx_executions_tenants_status");
            st.execute("DEALLOCATE ALL");
            st.execute("RESET plan_cache_mode");
        }
        assertThat(PG.queryLong("SELECT count(*) FROM tenants.executions WHERE tenant_id = 't2' AND status = 'failed'"))
                .isEqualTo(PG.queryLong("SELECT count(*) FROM tenants.executions "
                        + "WHERE tenant_id || '' = 't2' AND status = 'failed'"));
    }

    @Test
    void version_13_leaves_one_deferred_trigger_at_an_executions_end_in_place_of_v6s_two() throws SQLException {
        assertThat(SchemaApplier.apply(PG.dataSource(), in("one_end"))).isEqualTo(16).isEqualTo(SchemaApplier.latestVersion());

        assertThat(PG.queryLong("""
                SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = 'one_end' AND c.relname = 'executions' AND t.tgdeferrable AND t.tginitdeferred
                  AND t.tgname = 'executions_ended'""")).as("the end trigger, deferred to commit").isEqualTo(1);
        assertThat(PG.queryLong("""
                SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = 'one_end' AND t.tgname IN ('executions_notify_end', 'executions_signals_end')""")).isZero();
        assertThat(PG.queryLong("""
                SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname = 'one_end' AND p.proname IN ('executions_notify_end', 'executions_signals_end')"""))
                .as("V6's functions go with their triggers").isZero();
    }

    @Test
    void applying_twice_is_a_no_op_the_second_time() throws SQLException {
        assertThat(SchemaApplier.apply(PG.dataSource(), in("twice"))).isEqualTo(SchemaApplier.latestVersion());
        assertThat(SchemaApplier.apply(PG.dataSource(), in("twice"))).isEqualTo(SchemaApplier.latestVersion());

        assertThat(PG.queryLong("SELECT count(*) FROM twice.flowmonkey_schema_history"))
                .isEqualTo(SchemaApplier.migrationCount());
    }

    @Test
    void four_processes_applying_to_two_tables_of_a_new_schema_apply_each_migration_once() throws Exception {
        int threads = 4;
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<Future<Integer>> results = new ArrayList<>();
        try {
            for (int i = 0; i < threads; i++) {
                DataSource ownPool = PG.newDataSource(1);
                // Two threads per table, two tables in one schema that none of them has created yet.
                PgStoreOptions table = PgStoreOptions.builder().schema("together").tableName("t" + i % 2).build();
                results.add(pool.submit(() -> {
                    start.await();
                    return SchemaApplier.apply(ownPool, table);
                }));
            }
            start.countDown();
            pool.shutdown();
            assertThat(pool.awaitTermination(60, TimeUnit.SECONDS)).isTrue();
            for (Future<Integer> r : results) {
                assertThat(r.get()).isEqualTo(SchemaApplier.latestVersion());
            }
        } finally {
            pool.shutdownNow();
        }

        assertThat(PG.queryLong("SELECT count(*) FROM together.flowmonkey_schema_history"))
                .isEqualTo(2L * SchemaApplier.migrationCount());
        for (String table : List.of("t0", "t1")) {
            assertThat(new PgExecutionStore(PG.dataSource(), PgStoreOptions.builder().schema("together")
                    .tableName(table).build()).save(Execution.builder("after-race", "f", "1").build()).version())
                    .isEqualTo(1);
        }
    }

    @Test
    void a_table_made_from_the_seed_ddl_alone_upgrades_in_place_and_its_rows_load() throws SQLException {
        PG.execute("CREATE SCHEMA seeded");
        PG.execute("SET search_path TO seeded; "
                + "CREATE TABLE IF NOT EXISTS executions ("
                + "  id TEXT PRIMARY KEY, flow_id TEXT NOT NULL, flow_version TEXT NOT NULL, tenant_id TEXT,"
                + "  status TEXT NOT NULL, context JSONB NOT NULL, history JSONB NOT NULL DEFAULT '[]', error JSONB,"
                + "  wait_metadata JSONB, cancellation JSONB, idempotency_key TEXT UNIQUE, idempotency_expires_at BIGINT,"
                + "  created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, completed_at BIGINT, failed_at BIGINT,"
                + "  cancelled_at BIGINT);"
                + "CREATE INDEX idx_executions_status ON executions(status);"
                + "CREATE INDEX idx_executions_tenant ON executions(tenant_id);"
                + "CREATE INDEX idx_executions_idempotency ON executions(idempotency_key);"
                + "INSERT INTO executions (id, flow_id, flow_version, tenant_id, status, context, history, error,"
                + "  wait_metadata, created_at, updated_at) VALUES"
                + " ('ts-1', 'order', '1', 'acme', 'waiting', '{\"orderId\": 7}',"
                + "  '[{\"stepId\": \"a\", \"handlerType\": \"h\", \"outcome\": \"success\", \"startedAt\": 1,"
                + "    \"completedAt\": 3, \"durationMs\": 2}]', NULL,"
                + "  '{\"wakeAt\": 1700000000000, \"reason\": \"timer\"}', 1600000000000, 1600000000001),"
                + " ('ts-2', 'order', '1', NULL, 'completed', '{}', '[]', NULL, NULL, 1600000000002, 1600000000003);"
                + "SET search_path TO public");

        SchemaApplier.apply(PG.dataSource(), in("seeded"));
        PgExecutionStore store = new PgExecutionStore(PG.dataSource(), in("seeded"));

        Execution ts1 = store.load("ts-1").orElseThrow();
        assertThat(ts1.context()).isEqualTo(Map.of("orderId", 7));
        assertThat(ts1.version()).isEqualTo(1);
        assertThat(ts1.history()).singleElement().returns(2L, h -> h.durationMs());
        assertThat(store.findWakeReady(Instant.ofEpochMilli(1700000000000L))).extracting(Execution::id)
                .containsExactly("ts-1");
        assertThat(store.findByTenant("acme")).extracting(Execution::id).containsExactly("ts-1");
        assertThat(store.save(ts1.toBuilder().status(ExecutionStatus.RUNNING).build()).version()).isEqualTo(2);
        assertThat(indexes("seeded")).contains("idx_executions_status_created", "idx_executions_wake")
                .doesNotContain("idx_executions_status", "idx_executions_idempotency");
    }

    @Test
    void a_custom_schema_and_table_work_side_by_side_with_the_default() {
        PgStoreOptions custom = PgStoreOptions.builder().schema("flow").tableName("runs").build();
        PgStoreOptions other = PgStoreOptions.builder().schema("flow").tableName("archive").build();
        SchemaApplier.apply(PG.dataSource());
        SchemaApplier.apply(PG.dataSource(), custom);
        SchemaApplier.apply(PG.dataSource(), other);
        PgExecutionStore defaults = new PgExecutionStore(PG.dataSource());
        PgExecutionStore runs = new PgExecutionStore(PG.dataSource(), custom);

        defaults.save(Execution.builder("same-id", "default-flow", "1").build());
        runs.save(Execution.builder("same-id", "custom-flow", "1").build());

        assertThat(defaults.load("same-id").orElseThrow().flowId()).isEqualTo("default-flow");
        assertThat(runs.load("same-id").orElseThrow().flowId()).isEqualTo("custom-flow");
        assertThat(new PgExecutionStore(PG.dataSource(), other).load("same-id")).isEmpty();
    }

    @Test
    void an_invalid_identifier_is_refused_when_the_options_are_built() {
        for (String bad : List.of("a;b", "Executions", "1table", "", "x\"y", "public.executions", "drop table x")) {
            assertThatThrownBy(() -> PgStoreOptions.builder().tableName(bad))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("table name must be a lower-case SQL identifier");
            assertThatThrownBy(() -> PgStoreOptions.builder().schema(bad))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("schema must be a lower-case SQL identifier");
        }
        assertThatThrownBy(() -> PgStoreOptions.builder().tableName("t".repeat(41)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at most 40");
        assertThatThrownBy(() -> PgStoreOptions.builder().schema("pg_flows"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("pg_");
        assertThatThrownBy(() -> PgStoreOptions.builder().tableName(SchemaApplier.HISTORY_TABLE))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("migration history");
    }

    @Test
    void a_database_upgraded_by_a_newer_library_is_refused() throws SQLException {
        SchemaApplier.apply(PG.dataSource(), in("future"));
        PG.execute("INSERT INTO future.flowmonkey_schema_history (table_name, version, description, checksum) "
                + "VALUES ('executions', 99, 'from the future', 0)");

        assertThatThrownBy(() -> SchemaApplier.apply(PG.dataSource(), in("future")))
                .isInstanceOf(StoreException.class)
                .hasMessageContaining("99").hasMessageContaining("newer").hasMessageContaining("upgrade");
    }

    @Test
    void a_shipped_migration_whose_text_changed_is_reported() throws Exception {
        SchemaApplier.apply(PG.dataSource(), in("edited"));
        PG.execute("UPDATE edited.flowmonkey_schema_history SET checksum = 42 WHERE version = 2");
        java.io.PrintStream original = System.err;
        java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
        System.setErr(new java.io.PrintStream(captured, true, java.nio.charset.StandardCharsets.UTF_8));
        try {
            SchemaApplier.apply(PG.dataSource(), in("edited"));
        } finally {
            System.setErr(original);
        }

        assertThat(captured.toString(java.nio.charset.StandardCharsets.UTF_8))
                .contains("migration 2").contains("differs from the one applied");
    }

    @Test
    void a_failing_migration_is_rolled_back_and_reported() throws SQLException {
        PG.execute("CREATE SCHEMA broken");
        // A view with the table's name makes migration 1 fail after the history table exists.
        PG.execute("CREATE VIEW broken.executions AS SELECT 1 AS id");

        assertThatThrownBy(() -> SchemaApplier.apply(PG.dataSource(), in("broken")))
                .isInstanceOf(StoreException.class).hasMessageContaining("rolled back");
        assertThat(PG.queryLong("SELECT count(*) FROM broken.flowmonkey_schema_history")).isZero();
    }

    @Test
    void the_indexes_serve_the_finders_without_sorting() throws SQLException {
        SchemaApplier.apply(PG.dataSource(), in("plans"));
        String table = "plans.executions";
        try (Connection c = PG.dataSource().getConnection(); Statement st = c.createStatement()) {
            st.execute("SET enable_seqscan = off");
            assertThat(plan(st, "SELECT id FROM " + table + " WHERE status = 'running' "
                    + "ORDER BY created_at DESC, id DESC LIMIT 100"))
                    .contains("idx_executions_status_created").doesNotContain("Sort");
            assertThat(plan(st, "SELECT id FROM " + table + " WHERE tenant_id = 't' "
                    + "ORDER BY created_at DESC, id DESC LIMIT 100"))
                    .contains("idx_executions_tenants_created").doesNotContain("Sort");
            assertThat(plan(st, "SELECT id FROM " + table + " WHERE status = 'waiting' AND wake_at <= 5 "
                    + "ORDER BY wake_at, id LIMIT 100"))
                    .contains("idx_executions_wake").doesNotContain("Sort");
            st.execute("RESET enable_seqscan");
        }
    }

    @Test
    void the_application_role_with_the_documented_grants_uses_the_store_and_checks_a_current_schema()
            throws SQLException {
        SchemaApplier.apply(PG.dataSource(), in("app"));
        String role = newRole("app");
        PG.execute("GRANT USAGE ON SCHEMA app TO " + role);
        PG.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON app.executions, app.executions_signals, "
                + "app.executions_workers TO " + role);
        PG.execute("GRANT SELECT ON app.flowmonkey_schema_history TO " + role);
        DataSource appPool = PG.newDataSource(4, role, "app-secret");
        PgExecutionStore store = new PgExecutionStore(appPool, in("app"));

        Execution e = store.save(Execution.builder("lp-1", "f", "1").tenantId("t").idempotencyKey("k")
                .idempotencyExpiresAt(Instant.now().plus(Duration.ofHours(1))).build());
        store.save(e.toBuilder().status(ExecutionStatus.WAITING)
                .waitMetadata(new WaitMetadata(Instant.EPOCH, "timer", null, null)).build());
        store.saveAll(List.of(Execution.builder("lp-2", "f", "1").parentExecutionId("lp-1").build()));
        store.inTransaction(tx -> tx.save(Execution.builder("lp-3", "f", "1").idempotencyKey("k3").build()));
        assertThat(store.load("lp-1")).isPresent();
        assertThat(store.findByStatus(ExecutionStatus.WAITING)).hasSize(1);
        assertThat(store.findByTenant("t")).hasSize(1);
        assertThat(store.findWakeReady(Instant.now())).hasSize(1);
        assertThat(store.findByIdempotencyKey("k")).isPresent();
        assertThat(store.findChildren("lp-1")).hasSize(1);
        store.sendSignal(Signal.of("lp-2", "go", Map.of("n", 1)));
        assertThat(store.findSignals("lp-2", "go", 10)).hasSize(1);
        assertThat(store.delete("lp-2")).isTrue();
        assertThat(store.findSignals("lp-2", "go", 10)).as("signals go with their execution").isEmpty();
        store.heartbeat(new WorkerHeartbeat("w-1", "host", 1, List.of(), 1, 0, Instant.now(), null,
                Duration.ofMinutes(1), List.of()));
        assertThat(store.workers()).extracting(WorkerInfo::workerId).containsExactly("w-1");
        assertThat(store.remove("w-1")).isTrue();
        long historyRows = PG.queryLong("SELECT count(*) FROM app.flowmonkey_schema_history");

        assertThat(SchemaApplier.apply(appPool, in("app"))).isEqualTo(SchemaApplier.latestVersion());
        assertThat(PG.queryLong("SELECT count(*) FROM app.flowmonkey_schema_history")).isEqualTo(historyRows);
        assertThatThrownBy(() -> SchemaApplier.apply(appPool, PgStoreOptions.builder().schema("app")
                .tableName("other").build()))
                .isInstanceOf(StoreException.class).hasMessageContaining("lacks the privilege")
                .hasMessageContaining("owner");
    }

    @Test
    void apply_under_a_role_that_cannot_read_the_history_names_the_grant_it_needs() throws SQLException {
        SchemaApplier.apply(PG.dataSource(), in("nohistory"));
        String role = newRole("nohistory");
        PG.execute("GRANT USAGE ON SCHEMA nohistory TO " + role);
        PG.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON nohistory.executions TO " + role);
        DataSource appPool = PG.newDataSource(2, role, "app-secret");

        assertThatThrownBy(() -> SchemaApplier.apply(appPool, in("nohistory")))
                .isInstanceOf(StoreException.class)
                .hasMessageContaining("GRANT SELECT ON \"nohistory\".\"flowmonkey_schema_history\"")
                .hasMessageContaining("owner");
    }

    @Test
    void a_table_dropped_under_a_running_store_is_reported_and_apply_creates_it_again() throws SQLException {
        SchemaApplier.apply(PG.dataSource(), in("dropped"));
        PgExecutionStore store = new PgExecutionStore(PG.dataSource(), in("dropped"));
        store.save(Execution.builder("before-drop", "f", "1").build());
        PG.execute("DROP TABLE dropped.executions");

        assertThatThrownBy(() -> store.save(Execution.builder("after-drop", "f", "1").build()))
                .isInstanceOf(StoreException.class)
                .hasMessageContaining("\"dropped\".\"executions\" does not exist")
                .hasMessageContaining("SchemaApplier.apply");
        assertThat(SchemaApplier.apply(PG.dataSource(), in("dropped"))).isEqualTo(SchemaApplier.latestVersion());

        assertThat(store.save(Execution.builder("after-drop", "f", "1").build()).version()).isEqualTo(1);
        assertThat(store.load("before-drop")).isEmpty();
        assertThat(PG.queryLong("SELECT count(*) FROM dropped.flowmonkey_schema_history"))
                .isEqualTo(SchemaApplier.migrationCount());
    }

    @Test
    void system_schemas_are_refused_as_the_schema_name() {
        for (String system : List.of("information_schema", "pg_catalog", "pg_toast")) {
            assertThatThrownBy(() -> PgStoreOptions.builder().schema(system))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("system schema").hasMessageContaining(system);
        }
    }

    private static String newRole(String schema) throws SQLException {
        String role = "fm_app_" + schema + "_" + ProcessHandle.current().pid();
        PG.execute("DROP ROLE IF EXISTS " + role);
        PG.execute("CREATE ROLE " + role + " LOGIN PASSWORD 'app-secret'");
        return role;
    }

    /** "name: WHERE predicate" of each index of the schema's table whose name holds {@code fragment}. */
    private static List<String> predicatesOfIndexes(String schema, String fragment) throws SQLException {
        List<String> found = new ArrayList<>();
        try (Connection c = PG.dataSource().getConnection(); var ps = c.prepareStatement("""
                SELECT indexname || ': ' || substring(indexdef from ' WHERE .*') FROM pg_indexes
                WHERE schemaname = ? AND strpos(indexname, ?) > 0 ORDER BY indexname""")) {
            ps.setString(1, schema);
            ps.setString(2, fragment);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    found.add(rs.getString(1));
                }
            }
        }
        return found;
    }

    private static String plan(Statement st, String query) throws SQLException {
        StringBuilder plan = new StringBuilder();
        try (ResultSet rs = st.executeQuery("EXPLAIN " + query)) {
            while (rs.next()) {
                plan.append(rs.getString(1)).append('\n');
            }
        }
        return plan.toString();
    }

    private static List<String> indexes(String schema) throws SQLException {
        List<String> names = new ArrayList<>();
        try (Connection c = PG.dataSource().getConnection(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT indexname FROM pg_indexes WHERE schemaname = '" + schema + "'")) {
            while (rs.next()) {
                names.add(rs.getString(1));
            }
        }
        return names;
    }


}
