package io.flowmonkey.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flowmonkey.execution.ConcurrentUpdateException;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.LeasingExecutionStore;
import io.flowmonkey.execution.LeasingExecutionStore.FlowVersion;
import io.flowmonkey.execution.WaitMetadata;
import io.flowmonkey.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Claims, leases and due-work notices of the PostgreSQL store. */
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
    void claimDue_leases_pending_and_due_waiting_executions_only() {
        Instant now = Instant.now();
        String pending = store.save(execution().build()).id();
        String due = store.save(waiting(now.minusSeconds(1))).id();
        store.save(waiting(now.plusSeconds(3600)));
        store.save(execution().status(ExecutionStatus.WAITING).waitMetadata(new WaitMetadata(null, "signal", now, null))
                .build());
        store.save(execution().status(ExecutionStatus.COMPLETED).build());
        store.save(execution().status(ExecutionStatus.RUNNING).build());

        List<Execution> claimed = claim("w1", FLOWS, LEASE, 10);

        assertThat(claimed).extracting(Execution::id).containsExactlyInAnyOrder(pending, due);
        assertThat(claimed).allSatisfy(e -> assertThat(e.version()).isEqualTo(2));
        assertThat(claim("w2", FLOWS, LEASE, 10)).as("leased rows are not handed out twice").isEmpty();
    }

    @Test
    void claimDue_leaves_executions_of_other_flows_alone() {
        store.save(Execution.builder("other-service", "invoicing", "1").build());
        String mine = store.save(execution().build()).id();

        assertThat(claim("w1", FLOWS, LEASE, 10)).extracting(Execution::id).containsExactly(mine);
        assertThat(claim("w2", List.of(new FlowVersion("invoicing", "1"), new FlowVersion("flow", "1")), LEASE, 10))
                .extracting(Execution::id)
                .containsExactly("other-service");
    }

    @Test
    void claimDue_respects_the_limit() {
        for (int i = 0; i < 5; i++) {
            store.save(execution().build());
        }

        assertThat(claim("w1", FLOWS, LEASE, 2)).hasSize(2);
        assertThat(claim("w2", FLOWS, LEASE, 10)).hasSize(3);
    }

    @Test
    void an_expired_lease_is_taken_over_and_the_old_holder_can_no_longer_save() throws SQLException {
        Execution created = store.save(execution().build());
        Execution heldByW1 = claim("w1", FLOWS, LEASE, 1).get(0);
        Execution running = store.save(heldByW1.toBuilder().status(ExecutionStatus.RUNNING).build());
        PG.execute("UPDATE executions SET lease_expires_at = 0 WHERE id = '" + created.id() + "'");

        Execution heldByW2 = claim("w2", FLOWS, LEASE, 1).get(0);

        assertThat(heldByW2.id()).isEqualTo(created.id());
        assertThat(heldByW2.version()).isEqualTo(running.version() + 1);
        assertThatThrownBy(() -> store.save(running.toBuilder().stepCount(1).build()))
                .isInstanceOf(ConcurrentUpdateException.class);
        assertThat(store.renewLeases("w1", List.of(created.id()), LEASE)).isEmpty();
        assertThat(store.renewLeases("w2", List.of(created.id()), LEASE)).containsExactly(created.id());
    }

    @Test
    void a_running_execution_nobody_holds_is_claimed_once_it_was_not_saved_for_a_lease() throws SQLException {
        Execution fresh = store.save(execution().status(ExecutionStatus.RUNNING).build());
        Execution stale = store.save(execution().status(ExecutionStatus.RUNNING).build());
        PG.execute("UPDATE executions SET updated_at = 0 WHERE id = '" + stale.id() + "'");

        assertThat(claim("w1", FLOWS, LEASE, 10)).extracting(Execution::id).containsExactly(stale.id());
        assertThat(store.load(fresh.id()).orElseThrow().version()).isEqualTo(1);
    }

    @Test
    void renewing_keeps_the_version_and_releasing_lets_others_claim() {
        Execution e = store.save(execution().build());
        Execution claimed = claim("w1", FLOWS, LEASE, 1).get(0);

        assertThat(store.renewLeases("w1", List.of(e.id(), "unknown"), LEASE)).containsExactly(e.id());
        assertThat(store.load(e.id()).orElseThrow().version()).isEqualTo(claimed.version());
        store.releaseLeases("w2", List.of(e.id()));
        assertThat(claim("w2", FLOWS, LEASE, 1)).as("someone else's release is ignored").isEmpty();

        store.releaseLeases("w1", List.of(e.id()));

        assertThat(claim("w2", FLOWS, LEASE, 1)).extracting(Execution::id).containsExactly(e.id());
    }

    @Test
    void eight_claimers_share_a_thousand_executions_without_a_duplicate() throws Exception {
        List<Execution> batch = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            batch.add(execution().build());
        }
        store.saveAll(batch);
        Set<String> claimed = ConcurrentHashMap.newKeySet();
        AtomicInteger duplicates = new AtomicInteger();
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int w = 0; w < 8; w++) {
                String worker = "w" + w;
                futures.add(pool.submit(() -> {
                    start.await();
                    List<Execution> got;
                    do {
                        got = claim(worker, FLOWS, LEASE, 10);
                        for (Execution e : got) {
                            if (!claimed.add(e.id())) {
                                duplicates.incrementAndGet();
                            }
                        }
                    } while (!got.isEmpty());
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> f : futures) {
                f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }

        assertThat(duplicates).hasValue(0);
        assertThat(claimed).hasSize(1000);
    }

    @Test
    void subscribers_hear_of_pending_and_waiting_work_but_not_of_claims_or_finished_work() throws Exception {
        BlockingQueue<String> heard = new LinkedBlockingQueue<>();
        try (LeasingExecutionStore.Subscription ignored = store.subscribe(recorder(heard, null))) {
            awaitListening(heard);
            Instant wakeAt = Instant.parse("2030-01-01T00:00:00Z");
            Execution pending = store.save(execution().build());
            assertThat(heard.poll(10, TimeUnit.SECONDS)).isEqualTo(pending.id() + "@now");

            claim("w1", FLOWS, LEASE, 10);
            store.save(execution().status(ExecutionStatus.COMPLETED).build());
            Execution waiting = store.save(waiting(wakeAt));

            assertThat(heard.poll(10, TimeUnit.SECONDS)).isEqualTo(waiting.id() + "@" + wakeAt);
            assertThat(heard).isEmpty();
        }
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
    void claimDue_takes_only_the_flow_versions_the_worker_serves() {
        String v1 = store.save(Execution.builder("v1", "flow", "1").build()).id();
        String v2 = store.save(Execution.builder("v2", "flow", "2").build()).id();
        String v3 = store.save(Execution.builder("v3", "flow", "3").status(ExecutionStatus.WAITING)
                .waitMetadata(new WaitMetadata(Instant.now().minusSeconds(1), "t", Instant.now(), Map.of())).build()).id();

        assertThat(claim("old", FLOWS, LEASE, 10)).extracting(Execution::id).containsExactly(v1);
        assertThat(claim("nobody-serves-3", List.of(new FlowVersion("flow", "2")), LEASE, 10))
                .extracting(Execution::id).containsExactly(v2);
        assertThat(store.load(v3).orElseThrow().leaseOwner()).as("a version nobody serves is never claimed").isNull();
        assertThat(claim("new", List.of(new FlowVersion("flow", "3")), LEASE, 10)).extracting(Execution::id)
                .containsExactly(v3);
    }

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
    void a_row_set_aside_is_skipped_by_findWakeReady_until_restored() throws SQLException {
        Execution due = store.save(waiting(Instant.now().minusSeconds(5)));

        assertThat(store.setAside(due.id(), "context", "operator test")).isTrue();
        assertThat(store.setAside(due.id(), "context", "again")).as("set aside once").isFalse();
        assertThat(store.findWakeReady(Instant.now())).isEmpty();
        assertThat(claim("w1", FLOWS, LEASE, 10)).isEmpty();

        assertThat(store.restoreSetAside(due.id())).isTrue();
        assertThat(store.restoreSetAside(due.id())).isFalse();
        assertThat(store.findSetAside(10)).isEmpty();
        assertThat(claim("w1", FLOWS, LEASE, 10)).extracting(Execution::id).containsExactly(due.id());
    }

    @Test
    void untilNextWake_tells_the_time_to_the_earliest_claimable_wait_of_the_served_flows() throws SQLException {
        assertThat(store.untilNextWake(FLOWS)).isEmpty();
        Instant now = Instant.now();
        store.save(Execution.builder("other-version", "flow", "2").status(ExecutionStatus.WAITING)
                .waitMetadata(new WaitMetadata(now.plusSeconds(10), "t", now, Map.of())).build());
        Execution held = store.save(waiting(now.plusSeconds(20)));
        PG.execute("UPDATE executions SET lease_owner = 'w9', lease_expires_at = 9e15 WHERE id = '" + held.id() + "'");
        store.save(waiting(now.plusSeconds(60)));

        Duration until = store.untilNextWake(FLOWS).orElseThrow();

        assertThat(until).isBetween(Duration.ofSeconds(50), Duration.ofSeconds(61));
        store.save(waiting(now.minusSeconds(3)));
        assertThat(store.untilNextWake(FLOWS).orElseThrow()).isNegative();
    }

    @Test
    void a_save_that_ends_or_parks_an_execution_gives_up_its_lease_in_the_same_statement() {
        Execution a = store.save(execution().build());
        Execution b = store.save(execution().build());
        Execution c = store.save(execution().build());
        List<Execution> held = claim("w1", FLOWS, LEASE, 10);
        Execution heldA = held.stream().filter(e -> e.id().equals(a.id())).findFirst().orElseThrow();
        Execution heldB = held.stream().filter(e -> e.id().equals(b.id())).findFirst().orElseThrow();
        assertThat(heldA.leaseOwner()).isEqualTo("w1");
        assertThat(heldA.leaseExpiresAt()).isAfter(Instant.now());

        store.save(heldA.toBuilder().status(ExecutionStatus.COMPLETED).completedAt(Instant.now()).build());
        store.save(heldB.toBuilder().status(ExecutionStatus.WAITING)
                .waitMetadata(new WaitMetadata(Instant.now().plusSeconds(60), "t", Instant.now(), Map.of())).build());

        assertThat(store.load(a.id()).orElseThrow().leaseOwner()).isNull();
        assertThat(store.load(b.id()).orElseThrow().leaseOwner()).isNull();
        assertThat(store.load(c.id()).orElseThrow().leaseOwner()).as("still running: still held").isEqualTo("w1");
        assertThat(store.renewLeases("w1", List.of(a.id(), b.id(), c.id()), LEASE)).containsExactly(c.id());
    }

    @Test
    void a_revoked_lease_frees_the_execution_and_refuses_the_old_holders_save() {
        store.save(execution().build());
        Execution held = claim("w1", FLOWS, LEASE, 1).get(0);

        assertThat(store.revokeLeases("w2", List.of(held.id()))).as("not w2's to revoke").isEmpty();
        assertThat(store.revokeLeases("w1", List.of(held.id()))).containsExactly(held.id());

        assertThatThrownBy(() -> store.save(held.toBuilder().stepCount(1).build()))
                .isInstanceOf(ConcurrentUpdateException.class);
        assertThat(claim("w2", FLOWS, LEASE, 1)).extracting(Execution::id).containsExactly(held.id());
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
        assertThat(claimPlan).contains("idx_executions_wake").contains("idx_executions_status_created")
                .contains("Index Cond: (id = executions_signals.execution_id)")
                .doesNotContainPattern("Seq Scan on executions(?!_signals)");
        assertThat(wakePlan).contains("idx_executions_wake").doesNotContain("Seq Scan on executions");
    }

    /** EXPLAIN of a statement whose first two parameters are the flow arrays and the rest numbers. */
    private static String plan(String statement, int parameters) throws SQLException {
        try (Connection c = PG.dataSource().getConnection();
             var ps = c.prepareStatement("EXPLAIN " + statement)) {
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

    /**
     * Waits until the subscription hears a probe, so that no notice of the test is sent before it
     * listens, then forgets the probes.
     */
    private void awaitListening(BlockingQueue<String> heard) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            String probe = store.save(execution().build()).id();
            // Notices arrive in commit order: once this probe is heard, every earlier one is queued too.
            for (String h = heard.poll(200, TimeUnit.MILLISECONDS); h != null; h = heard.poll(50, TimeUnit.MILLISECONDS)) {
                if (h.equals(probe + "@now")) {
                    heard.clear();
                    PG.execute("DELETE FROM executions");
                    return;
                }
            }
        }
        throw new AssertionError("the subscription heard nothing within 10 s");
    }

    private List<Execution> claim(String workerId, List<FlowVersion> flows, Duration lease, int limit) {
        return store.claimDue(workerId, flows, lease, limit).executions();
    }

    private static Execution waiting(Instant wakeAt) {
        return execution().status(ExecutionStatus.WAITING)
                .waitMetadata(new WaitMetadata(wakeAt, "timer", Instant.now(), Map.of())).build();
    }

}
