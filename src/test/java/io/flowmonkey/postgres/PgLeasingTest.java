package io.flowmonkey.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.LeasingExecutionStore;
import io.flowmonkey.execution.LeasingExecutionStore.FlowVersion;
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
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What only the PostgreSQL store shows of claims, leases and due-work notices: unreadable rows set
 * aside by a claim, LISTEN/NOTIFY, index plans, pool checks. The lease contract both stores keep is
 * {@link io.flowmonkey.execution.LeasingStoreContract} ({@link PgLeasingStoreTest} here).
 */
class PgLeasingTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    private static final Duration LEASE = Duration.ofMinutes(5);
    private static final List<FlowVersion> FLOWS = List.of(new FlowVersion("flow", "1"));
    private static final AtomicInteger IDS = new AtomicInteger();

    private PgExecutionStore store;

    @BeforeEach
    void emptyTable() throws SQLException {
        PG.truncate("executions");
        store = new PgExecutionStore(PG.dataSource());
    }

    private static Execution.Builder execution() {
        return Execution.builder("lease-" + IDS.incrementAndGet(), "flow", "1");
    }

    @Test
    void a_session_may_opt_out_of_notices() throws Exception {
        BlockingQueue<String> heard = new LinkedBlockingQueue<>();
        try (LeasingExecutionStore.Subscription ignored = store.subscribe(recorder(heard, null))) {
            awaitListening(heard);
            try (Connection c = PG.dataSource().getConnection()) {
                try (Statement st = c.createStatement()) {
                    st.execute("SET flowmonkey.notify = 'off'");
                }
                store.using(c).save(execution().build());
                try (Statement st = c.createStatement()) {
                    st.execute("RESET flowmonkey.notify");
                }
            }
            Execution marker = store.save(execution().build());

            assertThat(heard.poll(10, TimeUnit.SECONDS)).isEqualTo(marker.id() + "@now");
        }
    }

    @Test
    void a_pending_row_committed_beside_one_announcing_pending_work_leaves_its_notice_to_it_but_a_waiting_one_does_not()
            throws Exception {
        BlockingQueue<String> heard = new LinkedBlockingQueue<>();
        try (LeasingExecutionStore.Subscription ignored = store.subscribe(recorder(heard, null));
             Connection announcer = PG.dataSource().getConnection()) {
            awaitListening(heard);
            announcer.setAutoCommit(false);
            PostgresExtension.takeNoticeOfPendingWork(announcer);
            Execution announced = store.using(announcer).save(execution().build());
            Instant wakeAt = Instant.parse("2030-01-01T00:00:00Z");

            Execution coalesced = store.save(execution().build());
            Execution waiting = store.save(waiting(wakeAt));
            assertThat(heard.poll(10, TimeUnit.SECONDS)).isEqualTo(waiting.id() + "@" + wakeAt);
            announcer.commit();

            assertThat(heard.poll(10, TimeUnit.SECONDS)).isEqualTo(announced.id() + "@now");
            assertThat(heard.poll(200, TimeUnit.MILLISECONDS)).isNull();
            assertThat(store.load(coalesced.id())).isPresent();
        }
    }

    @Test
    void a_transaction_announces_all_its_pending_rows_with_one_notice_when_it_commits() throws Exception {
        BlockingQueue<String> heard = new LinkedBlockingQueue<>();
        try (LeasingExecutionStore.Subscription ignored = store.subscribe(recorder(heard, null));
             Connection c = PG.dataSource().getConnection()) {
            awaitListening(heard);
            c.setAutoCommit(false);
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < 30; i++) {
                ids.add(store.using(c).save(execution().build()).id());
            }
            store.using(c).saveAll(List.of(execution().build(), execution().build()));
            assertThat(heard.poll(300, TimeUnit.MILLISECONDS)).as("nothing before the commit").isNull();
            c.commit();

            assertThat(heard.poll(10, TimeUnit.SECONDS)).isEqualTo(ids.get(0) + "@now");
            assertThat(heard.poll(500, TimeUnit.MILLISECONDS)).isNull();
        }
    }

    @Test
    void the_subscription_reconnects_after_its_connection_is_killed() throws Exception {
        BlockingQueue<String> heard = new LinkedBlockingQueue<>();
        // Told once when it starts listening, and once more when it listens again after the kill.
        CountDownLatch missed = new CountDownLatch(2);
        try (LeasingExecutionStore.Subscription ignored = store.subscribe(recorder(heard, missed))) {
            awaitListening(heard);
            PG.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'");

            assertThat(missed.await(30, TimeUnit.SECONDS)).as("told that notices may have been missed").isTrue();
            Execution after = store.save(execution().build());
            assertThat(heard.poll(10, TimeUnit.SECONDS)).isEqualTo(after.id() + "@now");
        }
    }

    // ---- version-aware claims, rows set aside, revocation, the next wake-up (issue 9, classes 6, 7, 9, 11) ----

    @Test
    void an_unreadable_row_in_a_claim_is_set_aside_once_and_the_rest_of_the_batch_is_returned() throws SQLException {
        List<String> good = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            good.add(store.save(execution().build()).id());
        }
        Execution bad = store.save(execution().build());
        PG.execute("UPDATE executions SET context = '[1, 2]' WHERE id = '" + bad.id() + "'");

        LeasingExecutionStore.Claim claim = store.claimDue("w1", FLOWS, LEASE, 10);

        assertThat(claim.executions()).extracting(Execution::id).containsExactlyInAnyOrderElementsOf(good);
        assertThat(claim.setAside()).singleElement().satisfies(row -> {
            assertThat(row.executionId()).isEqualTo(bad.id());
            assertThat(row.column()).isEqualTo("context");
            assertThat(row.reason()).contains(bad.id());
        });
        PG.execute("UPDATE executions SET lease_expires_at = 0");
        assertThat(store.claimDue("w2", FLOWS, LEASE, 10).setAside()).as("never claimed again").isEmpty();
        assertThat(PG.queryLong("SELECT count(*) FROM executions WHERE id = '" + bad.id() + "' AND lease_owner IS NULL"))
                .as("released for good").isEqualTo(1);
        assertThat(store.findSetAside(10)).extracting(LeasingExecutionStore.SetAside::executionId)
                .containsExactly(bad.id());
    }

    @Test
    void the_claim_and_the_next_wake_look_up_read_through_the_indexes() throws SQLException {
        List<Execution> rows = new ArrayList<>();
        Instant now = Instant.now();
        for (int i = 0; i < 20_000; i++) {
            Execution.Builder b = execution().status(i % 2 == 0 ? ExecutionStatus.COMPLETED : ExecutionStatus.WAITING);
            rows.add((i % 2 == 0 ? b : b.waitMetadata(new WaitMetadata(now.plusSeconds(i), "t", now, Map.of()))).build());
        }
        store.saveAll(rows);
        PG.execute("ANALYZE executions");
        ExecutionSql sql = new ExecutionSql(PgStoreOptions.defaults());

        String claimPlan = plan(sql.claimDue, 10);
        String wakePlan = plan(sql.nextWake, 2);

        // The signals table may be scanned (it holds only buffered signals); the executions table never.
        assertThat(claimPlan).contains("idx_executions_wake").contains("idx_executions_pending_priority")
                .contains("Index Cond: (id = executions_signals.execution_id)")
                .doesNotContainPattern("Seq Scan on executions(?!_signals)");
        assertThat(wakePlan).contains("idx_executions_wake").doesNotContain("Seq Scan on executions");
    }

    @Test
    void a_claim_is_planned_once_per_connection_and_its_plan_reused_whatever_its_limit() throws SQLException {
        pendingRows("plan-", 200);
        OnOneConnection run = claimOnOneConnection(FLOWS, 20, 7);

        // Claims that differ only in how many rows they take must not each pay for planning the statement
        // (about 0.7 ms, most of the server's time of a claim of a few rows).
        assertThat(run.claims().generic()).as("executions that reused the generic plan").isGreaterThanOrEqualTo(10);
        assertThat(run.claims().custom()).as("executions planned with their values").isLessThanOrEqualTo(5);
        assertThat(run.claimed()).as("each claim took its rows, oldest first, none twice").doesNotHaveDuplicates()
                .hasSize(run.asked()).startsWith("plan-1", "plan-2", "plan-3");
    }

    @Test
    void a_claim_of_several_flows_on_a_large_table_is_planned_once_per_connection_too() throws SQLException {
        // The benchmark's case: tens of thousands of pending rows, three flow versions served. With the
        // flow arrays bound as values, each call's own plan knew how many flows there were and costed a
        // little less than the generic one, so PostgreSQL planned every claim anew (0.7 ms a claim, three
        // times its execution). As sub-selects they are unknown to every plan alike.
        pendingRows("big-", 30000);
        OnOneConnection run = claimOnOneConnection(List.of(new FlowVersion("flow", "1"), new FlowVersion("flow", "2"),
                new FlowVersion("other", "1")), 30, 5);

        assertThat(run.claimed()).hasSize(run.asked());
        assertThat(run.claims().custom()).as("claims planned with their values").isLessThanOrEqualTo(5);
        assertThat(run.claims().generic()).as("claims that reused the generic plan").isGreaterThanOrEqualTo(20);
        assertThat(run.wakes().custom()).as("next-wake look-ups planned with their values").isLessThanOrEqualTo(5);
        // And the plan kept reads the queue through its index, as each call's own plan did.
        assertThat(plan(new ExecutionSql(PgStoreOptions.defaults()).claimDue, 10))
                .contains("idx_executions_pending_priority").doesNotContainPattern("Seq Scan on executions(?!_signals)");
    }

    /** {@code count} pending rows of flow 1 with ids {@code prefix1} on, created in that order; analyzed. */
    private static void pendingRows(String prefix, int count) throws SQLException {
        PG.execute("INSERT INTO executions (id, flow_id, flow_version, status, context, created_at, updated_at) "
                + "SELECT '" + prefix + "' || g, 'flow', '1', 'pending', '{}', g, g FROM generate_series(1, " + count
                + ") AS g");
        PG.execute("ANALYZE executions");
    }

    /** What {@link #claimOnOneConnection} claimed, how many it asked for, and the plans its connection kept. */
    private record OnOneConnection(List<String> claimed, int asked, Plans.Cached claims, Plans.Cached wakes) {
    }

    /**
     * Claims {@code calls} times, {@code 1 + i % cycle} rows the i-th time, each followed by a look-up of
     * the next wake-up, on a pool of one connection, and reads that connection's cached plans of both.
     * pgjdbc prepares a statement on the server at its fifth use; PostgreSQL then plans it five times
     * with the values bound before it considers the generic plan.
     */
    private static OnOneConnection claimOnOneConnection(List<FlowVersion> flows, int calls, int cycle)
            throws SQLException {
        List<String> claimed = new ArrayList<>();
        try (var one = PG.newDataSource(1)) {
            PgExecutionStore onOne = new PgExecutionStore(one);
            for (int i = 0; i < calls; i++) {
                onOne.claimDue("w1", flows, LEASE, 1 + i % cycle).executions().forEach(e -> claimed.add(e.id()));
                onOne.untilNextWake(flows);
            }
            return new OnOneConnection(claimed, IntStream.range(0, calls).map(i -> 1 + i % cycle).sum(),
                    Plans.cachedOn(one, "woken AS"), Plans.cachedOn(one, "ORDER BY wake_at LIMIT 1"));
        }
    }

    @Test
    void the_pending_claim_reads_a_large_queue_in_priority_order_from_its_index_without_a_sort() throws Exception {
        // 200,000 rows, 100,000 of them pending with mixed priorities, written by SQL for speed.
        PG.execute("""
                INSERT INTO executions (id, flow_id, flow_version, status, context, created_at, updated_at, priority)
                SELECT 'bulk-' || g, 'flow', '1', CASE WHEN g % 2 = 0 THEN 'pending' ELSE 'completed' END, '{}',
                       g, g, (g % 21) - 10
                FROM generate_series(1, 200000) AS g""");
        PG.execute("ANALYZE executions");
        ExecutionSql sql = new ExecutionSql(PgStoreOptions.defaults());

        JsonNode pending;
        try (Connection c = PG.dataSource().getConnection();
             var ps = c.prepareStatement("EXPLAIN (FORMAT JSON) " + sql.claimDue)) {
            ps.setArray(1, c.createArrayOf("text", new Object[] {"flow"}));
            ps.setArray(2, c.createArrayOf("text", new Object[] {"1"}));
            for (int i = 3; i <= 10; i++) {
                if (i == 9) {
                    ps.setString(i, "w1");
                } else {
                    ps.setLong(i, 10);
                }
            }
            try (var rs = ps.executeQuery()) {
                rs.next();
                pending = Plans.first(new ObjectMapper().readTree(rs.getString(1)).get(0).get("Plan"),
                        n -> "CTE pending".equals(n.path("Subplan Name").asText()));
            }
        }

        assertThat(pending).as("the plan has the pending CTE").isNotNull();
        String nodes = pending.toString();
        assertThat(nodes).contains("\"Index Name\":\"idx_executions_pending_priority\"")
                .doesNotContain("\"Node Type\":\"Sort\"").doesNotContain("\"Node Type\":\"Incremental Sort\"")
                .doesNotContain("\"Node Type\":\"Seq Scan\"");
        List<Execution> first = store.claimDue("w1", FLOWS, LEASE, 3).executions();
        assertThat(first).extracting(Execution::priority).containsOnly(10);
        assertThat(first).extracting(Execution::id).containsExactlyInAnyOrder("bulk-20", "bulk-62", "bulk-104");
    }

    @Test
    void other_writers_get_priority_zero_by_default_and_cannot_store_one_out_of_range() throws SQLException {
        PG.execute("INSERT INTO executions (id, flow_id, flow_version, status, context, created_at, updated_at) "
                + "VALUES ('typescript-1', 'flow', '1', 'pending', '{}', 1, 1)");

        assertThat(store.load("typescript-1").orElseThrow().priority()).isZero();
        assertThatThrownBy(() -> PG.execute("UPDATE executions SET priority = 1001 WHERE id = 'typescript-1'"))
                .isInstanceOf(SQLException.class).hasMessageContaining("executions_priority_check");
        assertThat(store.load("typescript-1").orElseThrow().priority()).isZero();
    }

    /**
     * The generic plan (the one a connection keeps once it has run the statement five times) of a
     * statement whose first two parameters are the flow arrays and the rest numbers.
     */
    private static String plan(String statement, int parameters) throws SQLException {
        try (Connection c = PG.dataSource().getConnection();
             var ps = c.prepareStatement("EXPLAIN " + statement)) {
            // For this transaction only: the pooled connection is not left planning generically.
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                st.execute("SET LOCAL plan_cache_mode = force_generic_plan");
            }
            ps.setArray(1, c.createArrayOf("text", new Object[] {"flow"}));
            ps.setArray(2, c.createArrayOf("text", new Object[] {"1"}));
            for (int i = 3; i <= parameters; i++) {
                if (i == 9) {
                    ps.setString(i, "w1");
                } else {
                    ps.setLong(i, 10);
                }
            }
            StringBuilder plan = new StringBuilder();
            try (var rs = ps.executeQuery()) {
                while (rs.next()) {
                    plan.append(rs.getString(1)).append('\n');
                }
            }
            c.rollback();
            return plan.toString();
        }
    }

    @Test
    void a_listener_reconnects_promptly_after_each_of_many_connection_kills() throws Exception {
        BlockingQueue<String> heard = new LinkedBlockingQueue<>();
        BlockingQueue<Long> listening = new LinkedBlockingQueue<>();
        LeasingExecutionStore.DueWorkListener listener = new LeasingExecutionStore.DueWorkListener() {
            @Override
            public void onDue(String executionId, Instant wakeAt) {
                heard.add(executionId);
            }

            @Override
            public void onMissedNotices() {
                listening.add(System.nanoTime());
            }
        };
        try (LeasingExecutionStore.Subscription ignored = store.subscribe(listener)) {
            assertThat(listening.poll(10, TimeUnit.SECONDS)).isNotNull();
            List<Duration> reconnects = new ArrayList<>();
            // Without the reset, the pause doubles each time: 100 ms ... 6.4 s before the eighth reconnect.
            for (int kill = 0; kill < 8; kill++) {
                long killedAt = System.nanoTime();
                PG.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'");
                Long back = listening.poll(30, TimeUnit.SECONDS);
                assertThat(back).as("listening again after kill %d", kill).isNotNull();
                reconnects.add(Duration.ofNanos(back - killedAt));
            }

            assertThat(reconnects.get(reconnects.size() - 1)).as("reconnect times %s", reconnects)
                    .isLessThan(Duration.ofSeconds(3));
        }
    }

    @Test
    void a_subscription_is_refused_when_the_pool_cannot_also_hold_a_claim() {
        var tiny = PG.newDataSource(1);
        PgExecutionStore small = new PgExecutionStore(tiny);

        assertThatThrownBy(() -> small.subscribe(recorder(new LinkedBlockingQueue<>(), null)))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("maximumPoolSize to at least 2")
                .hasMessageContaining("LISTEN");
        var two = PG.newDataSource(2);
        PgExecutionStore enough = new PgExecutionStore(two);
        try (LeasingExecutionStore.Subscription first = enough.subscribe(recorder(new LinkedBlockingQueue<>(), null))) {
            assertThatThrownBy(() -> new PgExecutionStore(two).subscribe(recorder(new LinkedBlockingQueue<>(), null)))
                    .as("counted over every store on the pool").isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("at least 3");
        }
        new PgExecutionStore(two).subscribe(recorder(new LinkedBlockingQueue<>(), null)).close();
    }

    private static LeasingExecutionStore.DueWorkListener recorder(BlockingQueue<String> heard, CountDownLatch missed) {
        return new LeasingExecutionStore.DueWorkListener() {
            @Override
            public void onDue(String executionId, Instant wakeAt) {
                heard.add(executionId + "@" + (wakeAt == null ? "now" : wakeAt.toString()));
            }

            @Override
            public void onMissedNotices() {
                if (missed != null) {
                    missed.countDown();
                }
            }
        };
    }

    /** Waits until the subscription hears a probe, then forgets the probes. */
    private void awaitListening(BlockingQueue<String> heard) throws Exception {
        DueWorkProbe.awaitListening(store, () -> execution().build(), PG, heard);
    }

    private List<Execution> claim(String workerId, List<FlowVersion> flows, Duration lease, int limit) {
        return store.claimDue(workerId, flows, lease, limit).executions();
    }

    private static Execution waiting(Instant wakeAt) {
        return execution().status(ExecutionStatus.WAITING)
                .waitMetadata(new WaitMetadata(wakeAt, "timer", Instant.now(), Map.of())).build();
    }

}
