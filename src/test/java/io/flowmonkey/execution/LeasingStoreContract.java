package io.flowmonkey.execution;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.flowmonkey.execution.LeasingExecutionStore.FlowVersion;
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
import org.junit.jupiter.api.Test;

/**
 * The lease contract every {@link LeasingExecutionStore} keeps: what a claim takes, that it takes it
 * once, how leases expire, are renewed, released and revoked, rows set aside, served flow versions,
 * priorities, and saves that give leases up. Extended once per implementation; each test starts from
 * an empty store. What only one store can show (unreadable rows, LISTEN/NOTIFY, plans) is tested by
 * that store's own class.
 */
public abstract class LeasingStoreContract {

    /** The lease of every claim here. */
    protected static final Duration LEASE = Duration.ofMinutes(5);
    private static final List<FlowVersion> FLOWS = List.of(new FlowVersion("flow", "1"));
    private static final AtomicInteger IDS = new AtomicInteger();

    /**
     * Returns the store under test, empty at the start of each test.
     *
     * @return the store
     */
    protected abstract LeasingExecutionStore store();

    /**
     * Returns now by the clock the store times leases with.
     *
     * @return now
     */
    protected abstract Instant now();

    /**
     * Lets {@code d} pass for every lease and every {@code updatedAt} stored so far, as the store's lease
     * clock would see it; timed waits may or may not move, so tests keep their {@code wakeAt} either
     * well past or further ahead than any {@code d} they let pass.
     *
     * @param d how much time passes
     */
    protected abstract void elapse(Duration d);

    /**
     * Returns once a subscription made before this call hears notices; then {@code heard} holds none.
     * A store that tells listeners on the saving thread has nothing to wait for.
     *
     * @param heard where the subscription records what it hears
     * @throws Exception if waiting fails
     */
    protected void awaitListening(BlockingQueue<String> heard) throws Exception {
    }

    /**
     * Returns a builder of a new pending execution of the flow the tests serve.
     *
     * @return the builder
     */
    protected Execution.Builder execution() {
        return Execution.builder("lease-" + IDS.incrementAndGet() + "-" + System.nanoTime(), "flow", "1");
    }

    private Execution waiting(Instant wakeAt) {
        return execution().status(ExecutionStatus.WAITING)
                .waitMetadata(new WaitMetadata(wakeAt, "timer", now(), Map.of())).build();
    }

    private List<Execution> claim(String workerId, List<FlowVersion> flows, int limit) {
        return store().claimDue(workerId, flows, LEASE, limit).executions();
    }

    @Test
    void claimDue_leases_pending_and_due_waiting_executions_only() {
        Instant now = now();
        String pending = store().save(execution().build()).id();
        String due = store().save(waiting(now.minusSeconds(1))).id();
        store().save(waiting(now.plusSeconds(3600)));
        store().save(execution().status(ExecutionStatus.WAITING).waitMetadata(new WaitMetadata(null, "signal", now, null))
                .build());
        store().save(execution().status(ExecutionStatus.COMPLETED).build());
        store().save(execution().status(ExecutionStatus.RUNNING).build());

        List<Execution> claimed = claim("w1", FLOWS, 10);

        assertThat(claimed).extracting(Execution::id).containsExactlyInAnyOrder(pending, due);
        assertThat(claimed).allSatisfy(e -> {
            assertThat(e.version()).as("a claim increments the version").isEqualTo(2);
            assertThat(e.leaseOwner()).isEqualTo("w1");
            assertThat(e.leaseExpiresAt()).isAfter(now);
        });
        assertThat(store().load(pending).orElseThrow().leaseOwner()).isEqualTo("w1");
        assertThat(claim("w2", FLOWS, 10)).as("leased rows are not handed out twice").isEmpty();
    }

    @Test
    void claimDue_leaves_executions_of_other_flows_alone() {
        store().save(Execution.builder("other-service-" + System.nanoTime(), "invoicing", "1").build());
        String mine = store().save(execution().build()).id();

        assertThat(claim("w1", FLOWS, 10)).extracting(Execution::id).containsExactly(mine);
        assertThat(claim("w2", List.of(new FlowVersion("invoicing", "1"), new FlowVersion("flow", "1")), 10))
                .extracting(Execution::flowId).containsExactly("invoicing");
        assertThat(claim("w3", List.of(), 10)).as("no flows served, nothing claimed").isEmpty();
    }

    @Test
    void claimDue_takes_only_the_flow_versions_the_worker_serves() {
        String v1 = store().save(Execution.builder("v1-" + System.nanoTime(), "flow", "1").build()).id();
        String v2 = store().save(Execution.builder("v2-" + System.nanoTime(), "flow", "2").build()).id();
        String v3 = store().save(Execution.builder("v3-" + System.nanoTime(), "flow", "3")
                .status(ExecutionStatus.WAITING)
                .waitMetadata(new WaitMetadata(now().minusSeconds(1), "t", now(), Map.of())).build()).id();

        assertThat(claim("old", FLOWS, 10)).extracting(Execution::id).containsExactly(v1);
        assertThat(claim("nobody-serves-3", List.of(new FlowVersion("flow", "2")), 10))
                .extracting(Execution::id).containsExactly(v2);
        assertThat(store().load(v3).orElseThrow().leaseOwner()).as("a version nobody serves is never claimed").isNull();
        assertThat(claim("new", List.of(new FlowVersion("flow", "3")), 10)).extracting(Execution::id)
                .containsExactly(v3);
    }

    @Test
    void claimDue_respects_the_limit() {
        for (int i = 0; i < 5; i++) {
            store().save(execution().build());
        }

        assertThat(claim("w1", FLOWS, 2)).hasSize(2);
        assertThat(claim("w2", FLOWS, 10)).hasSize(3);
        assertThatThrownBy(() -> store().claimDue("w3", FLOWS, LEASE, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("limit");
        assertThatThrownBy(() -> store().claimDue("w3", FLOWS, Duration.ZERO, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("leaseTtl");
    }

    @Test
    void pending_executions_are_claimed_by_priority_then_oldest_first() {
        Instant t = now().minusSeconds(60);
        Execution low = store().save(execution().priority(-5).createdAt(t).build());
        Execution highLater = store().save(execution().priority(10).createdAt(t.plusSeconds(2)).build());
        Execution normalFirst = store().save(execution().createdAt(t.plusSeconds(1)).build());
        Execution normalLast = store().save(execution().createdAt(t.plusSeconds(3)).build());
        Execution highFirst = store().save(execution().priority(10).createdAt(t.plusSeconds(1)).build());

        List<String> order = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            order.add(claim("w1", FLOWS, 1).get(0).id());
        }

        assertThat(order).containsExactly(highFirst.id(), highLater.id(), normalFirst.id(), normalLast.id(), low.id());
        assertThat(store().load(highFirst.id()).orElseThrow().priority()).isEqualTo(10);
    }

    @Test
    void priority_is_stored_exactly_and_a_save_can_change_it() {
        Execution saved = store().save(execution().priority(Execution.MIN_PRIORITY).build());
        assertThat(store().load(saved.id()).orElseThrow().priority()).isEqualTo(Execution.MIN_PRIORITY);

        Execution raised = store().save(saved.toBuilder().priority(Execution.MAX_PRIORITY).build());

        assertThat(raised.priority()).isEqualTo(Execution.MAX_PRIORITY);
        assertThat(store().load(saved.id())).contains(raised);
        assertThat(store().save(execution().build()).priority()).isEqualTo(Execution.DEFAULT_PRIORITY);
    }

    @Test
    void a_lease_that_has_not_expired_is_never_handed_out() {
        Execution held = store().save(execution().build());
        claim("w1", FLOWS, 1);
        store().save(store().load(held.id()).orElseThrow().toBuilder().status(ExecutionStatus.RUNNING).build());

        elapse(LEASE.minusSeconds(30));

        assertThat(claim("w2", FLOWS, 10)).isEmpty();
        assertThat(store().load(held.id()).orElseThrow().leaseOwner()).isEqualTo("w1");
    }

    @Test
    void an_expired_lease_is_taken_over_and_the_old_holder_can_no_longer_save() {
        Execution created = store().save(execution().build());
        Execution heldByW1 = claim("w1", FLOWS, 1).get(0);
        Execution running = store().save(heldByW1.toBuilder().status(ExecutionStatus.RUNNING).build());
        elapse(LEASE.plusSeconds(1));

        Execution heldByW2 = claim("w2", FLOWS, 1).get(0);

        assertThat(heldByW2.id()).isEqualTo(created.id());
        assertThat(heldByW2.leaseOwner()).isEqualTo("w2");
        assertThat(heldByW2.version()).isEqualTo(running.version() + 1);
        assertThatThrownBy(() -> store().save(running.toBuilder().stepCount(1).build()))
                .isInstanceOf(ConcurrentUpdateException.class);
        assertThat(store().renewLeases("w1", List.of(created.id()), LEASE)).as("no longer w1's").isEmpty();
        assertThat(store().renewLeases("w2", List.of(created.id()), LEASE)).containsExactly(created.id());
    }

    @Test
    void a_running_execution_nobody_holds_is_claimed_once_it_was_not_saved_for_a_lease() {
        Execution stale = store().save(execution().status(ExecutionStatus.RUNNING).build());
        elapse(LEASE.plusSeconds(1));
        Execution fresh = store().save(execution().status(ExecutionStatus.RUNNING).build());

        assertThat(claim("w1", FLOWS, 10)).extracting(Execution::id).containsExactly(stale.id());
        assertThat(store().load(fresh.id()).orElseThrow().version()).isEqualTo(1);
    }

    @Test
    void renewing_keeps_the_version_and_releasing_lets_others_claim() {
        Execution e = store().save(execution().build());
        Execution claimed = claim("w1", FLOWS, 1).get(0);

        assertThat(store().renewLeases("w1", List.of(e.id(), "unknown"), LEASE)).containsExactly(e.id());
        assertThat(store().load(e.id()).orElseThrow().version()).isEqualTo(claimed.version());
        store().releaseLeases("w2", List.of(e.id()));
        assertThat(claim("w2", FLOWS, 1)).as("someone else's release is ignored").isEmpty();

        store().releaseLeases("w1", List.of(e.id()));

        assertThat(store().load(e.id()).orElseThrow().leaseOwner()).isNull();
        assertThat(claim("w2", FLOWS, 1)).extracting(Execution::id).containsExactly(e.id());
    }

    @Test
    void a_renewed_lease_outlasts_its_first_expiry_and_only_its_owner_can_renew_it() {
        Execution e = store().save(execution().build());
        claim("w1", FLOWS, 1);
        store().save(store().load(e.id()).orElseThrow().toBuilder().status(ExecutionStatus.RUNNING).build());
        elapse(LEASE.dividedBy(2));

        assertThat(store().renewLeases("w2", List.of(e.id()), LEASE)).as("not w2's to renew").isEmpty();
        assertThat(store().renewLeases("w1", List.of(e.id()), LEASE)).containsExactly(e.id());
        elapse(LEASE.dividedBy(4).multipliedBy(3));
        assertThat(claim("w2", FLOWS, 1)).as("renewed: still w1's past its first expiry").isEmpty();

        elapse(LEASE.dividedBy(4).plusSeconds(1));

        assertThat(claim("w2", FLOWS, 1)).extracting(Execution::id).containsExactly(e.id());
    }

    @Test
    void a_released_running_execution_is_claimable_at_once() {
        Execution e = store().save(execution().build());
        Execution held = claim("w1", FLOWS, 1).get(0);
        store().save(held.toBuilder().status(ExecutionStatus.RUNNING).build());

        store().releaseLeases("w1", List.of(e.id()));

        assertThat(claim("w2", FLOWS, 1)).extracting(Execution::id).containsExactly(e.id());
    }

    @Test
    void eight_claimers_share_a_thousand_executions_without_a_duplicate_or_a_loss() {
        List<Execution> batch = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            batch.add(execution().build());
        }
        store().saveAll(batch);
        Map<String, String> claimedBy = new ConcurrentHashMap<>();
        AtomicInteger duplicates = new AtomicInteger();
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            assertTimeoutPreemptively(Duration.ofSeconds(120), () -> {
                List<Future<?>> futures = new ArrayList<>();
                for (int w = 0; w < 8; w++) {
                    String worker = "w" + w;
                    futures.add(pool.submit(() -> {
                        start.await();
                        List<Execution> got;
                        do {
                            got = claim(worker, FLOWS, 10);
                            for (Execution e : got) {
                                if (claimedBy.putIfAbsent(e.id(), worker) != null) {
                                    duplicates.incrementAndGet();
                                }
                            }
                        } while (!got.isEmpty());
                        return null;
                    }));
                }
                start.countDown();
                for (Future<?> f : futures) {
                    f.get(100, TimeUnit.SECONDS);
                }
            });
        } finally {
            pool.shutdownNow();
        }

        assertThat(duplicates).hasValue(0);
        assertThat(claimedBy).hasSize(1000);
        for (Execution e : batch) {
            Execution stored = store().load(e.id()).orElseThrow();
            assertThat(stored.leaseOwner()).as("held by its one claimer").isEqualTo(claimedBy.get(e.id()));
            assertThat(stored.version()).as("claimed once").isEqualTo(2);
        }
    }

    @Test
    void a_save_that_ends_or_parks_an_execution_gives_up_its_lease() {
        Execution a = store().save(execution().build());
        Execution b = store().save(execution().build());
        Execution c = store().save(execution().build());
        List<Execution> held = claim("w1", FLOWS, 10);
        Execution heldA = held.stream().filter(e -> e.id().equals(a.id())).findFirst().orElseThrow();
        Execution heldB = held.stream().filter(e -> e.id().equals(b.id())).findFirst().orElseThrow();
        Execution heldC = held.stream().filter(e -> e.id().equals(c.id())).findFirst().orElseThrow();

        store().save(heldA.toBuilder().status(ExecutionStatus.COMPLETED).completedAt(now()).build());
        store().save(heldB.toBuilder().status(ExecutionStatus.WAITING)
                .waitMetadata(new WaitMetadata(now().plusSeconds(3600), "t", now(), Map.of())).build());
        store().save(heldC.toBuilder().status(ExecutionStatus.RUNNING).build());

        assertThat(store().load(a.id()).orElseThrow().leaseOwner()).isNull();
        assertThat(store().load(b.id()).orElseThrow().leaseOwner()).isNull();
        assertThat(store().load(c.id()).orElseThrow().leaseOwner()).as("still running: still held").isEqualTo("w1");
        assertThat(store().renewLeases("w1", List.of(a.id(), b.id(), c.id()), LEASE)).containsExactly(c.id());
    }

    @Test
    void a_revoked_lease_frees_the_execution_and_refuses_the_old_holders_save() {
        store().save(execution().build());
        Execution held = claim("w1", FLOWS, 1).get(0);

        assertThat(store().revokeLeases("w2", List.of(held.id()))).as("not w2's to revoke").isEmpty();
        assertThat(store().revokeLeases("w1", List.of(held.id()))).containsExactly(held.id());

        assertThatThrownBy(() -> store().save(held.toBuilder().stepCount(1).build()))
                .isInstanceOf(ConcurrentUpdateException.class);
        assertThat(claim("w2", FLOWS, 1)).extracting(Execution::id).containsExactly(held.id());
    }

    @Test
    void a_row_set_aside_is_skipped_by_claims_and_findWakeReady_until_restored() {
        Execution due = store().save(waiting(now().minusSeconds(5)));

        assertThat(store().setAside(due.id(), "context", "operator test")).isTrue();
        assertThat(store().setAside(due.id(), "context", "again")).as("set aside once").isFalse();
        assertThat(store().setAside("no-such-execution", "context", "x")).isFalse();
        assertThat(store().findSetAside(10)).singleElement().satisfies(row -> {
            assertThat(row.executionId()).isEqualTo(due.id());
            assertThat(row.column()).isEqualTo("context");
            assertThat(row.reason()).isEqualTo("operator test");
        });
        assertThat(store().findWakeReady(now())).isEmpty();
        assertThat(claim("w1", FLOWS, 10)).isEmpty();

        assertThat(store().restoreSetAside(due.id())).isTrue();
        assertThat(store().restoreSetAside(due.id())).isFalse();
        assertThat(store().findSetAside(10)).isEmpty();
        assertThat(claim("w1", FLOWS, 10)).extracting(Execution::id).containsExactly(due.id());
    }

    @Test
    void setting_aside_a_claimed_row_releases_its_lease() {
        store().save(execution().build());
        Execution held = claim("w1", FLOWS, 1).get(0);

        store().setAside(held.id(), "context", "bad");

        assertThat(store().load(held.id()).orElseThrow().leaseOwner()).isNull();
        assertThat(store().renewLeases("w1", List.of(held.id()), LEASE)).isEmpty();
    }

    @Test
    void untilNextWake_tells_the_time_to_the_earliest_claimable_wait_of_the_served_flows() {
        assertThat(store().untilNextWake(FLOWS)).isEmpty();
        Instant now = now();
        store().save(Execution.builder("other-version-" + System.nanoTime(), "flow", "2")
                .status(ExecutionStatus.WAITING)
                .waitMetadata(new WaitMetadata(now.plusSeconds(10), "t", now, Map.of())).build());
        Execution held = store().save(waiting(now.minusSeconds(30)));
        assertThat(claim("w9", FLOWS, 1)).extracting(Execution::id).containsExactly(held.id());
        store().save(waiting(now.plusSeconds(60)));

        Duration until = store().untilNextWake(FLOWS).orElseThrow();

        assertThat(until).as("neither the other version's wait nor the leased one").isBetween(Duration.ofSeconds(50),
                Duration.ofSeconds(61));
        store().save(waiting(now.minusSeconds(3)));
        assertThat(store().untilNextWake(FLOWS).orElseThrow()).isNegative();
    }

    @Test
    void subscribers_hear_of_pending_and_waiting_work_but_not_of_claims_or_finished_work() throws Exception {
        BlockingQueue<String> heard = new LinkedBlockingQueue<>();
        LeasingExecutionStore.DueWorkListener recorder = new LeasingExecutionStore.DueWorkListener() {
            @Override
            public void onDue(String executionId, Instant wakeAt) {
                heard.add(executionId + "@" + (wakeAt == null ? "now" : wakeAt.toString()));
            }

            @Override
            public void onMissedNotices() {
            }
        };
        try (LeasingExecutionStore.Subscription ignored = store().subscribe(recorder)) {
            awaitListening(heard);
            Instant wakeAt = Instant.parse("2030-01-01T00:00:00Z");
            Execution pending = store().save(execution().build());
            assertThat(heard.poll(10, TimeUnit.SECONDS)).isEqualTo(pending.id() + "@now");

            claim("w1", FLOWS, 10);
            store().save(execution().status(ExecutionStatus.COMPLETED).build());
            Execution waiting = store().save(waiting(wakeAt));

            assertThat(heard.poll(10, TimeUnit.SECONDS)).isEqualTo(waiting.id() + "@" + wakeAt);
            assertThat(heard).isEmpty();
        }
    }

    @Test
    void a_waiting_execution_whose_awaited_signal_is_buffered_is_claimed() {
        SignalStore signals = (SignalStore) store();
        Execution awaiting = store().save(execution().status(ExecutionStatus.WAITING)
                .waitMetadata(new WaitMetadata(null, "approval", now(), Map.of("signal", "approved"))).build());
        signals.sendSignal(Signal.of(awaiting.id(), "rejected", Map.of()));
        signals.sendSignal(Signal.of(awaiting.id(), SignalStore.WATCH_END_SIGNAL, null));
        assertThat(claim("w1", FLOWS, 10)).as("neither another name nor a watch makes it due").isEmpty();

        signals.sendSignal(Signal.of(awaiting.id(), "approved", Map.of()));

        assertThat(claim("w1", FLOWS, 10)).extracting(Execution::id).containsExactly(awaiting.id());
        assertThat(claim("w2", FLOWS, 10)).isEmpty();
    }
}
