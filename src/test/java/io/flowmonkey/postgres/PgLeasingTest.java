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
        PG.execute("TRUNCATE executions");
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
