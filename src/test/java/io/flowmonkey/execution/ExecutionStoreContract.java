package io.flowmonkey.execution;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The behaviour every {@link ExecutionStore} must have. Extended once per implementation; each
 * test starts from an empty store.
 */
public abstract class ExecutionStoreContract {

    /** A fixed instant with a sub-millisecond part, to prove truncation. */
    protected static final Instant T0 = Instant.parse("2026-03-01T10:15:30.123456Z");

    private final AtomicInteger ids = new AtomicInteger();

    /**
     * Returns the store under test, empty at the start of each test.
     *
     * @return the store
     */
    protected abstract ExecutionStore store();

    /**
     * Returns a store over the same data as {@link #store()} whose clock is {@code clock}.
     *
     * @param clock the store's clock
     * @return the store
     */
    protected abstract ExecutionStore storeWithClock(Clock clock);

    /**
     * Returns the clock time the store uses for idempotency expiry.
     *
     * @return now, as the store sees it
     */
    protected Instant now() {
        return Instant.now();
    }

    protected String newId() {
        return "exec-" + ids.incrementAndGet() + "-" + System.nanoTime();
    }

    protected Execution.Builder execution() {
        return Execution.builder(newId(), "order-flow", "1.0.0").createdAt(T0).updatedAt(T0);
    }

    @Test
    void an_execution_created_ahead_of_the_stores_clock_is_stamped_updated_no_earlier_than_created() {
        Instant ahead = now().plus(java.time.Duration.ofDays(1)).truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
        Execution saved = store().save(execution().createdAt(ahead).updatedAt(ahead).build());
        Execution again = store().save(saved.toBuilder().status(ExecutionStatus.RUNNING).build());

        assertThat(saved.updatedAt()).isEqualTo(ahead);
        assertThat(again.updatedAt()).isEqualTo(ahead);
        assertThat(store().load(saved.id()).orElseThrow().updatedAt()).isEqualTo(ahead);
        assertThat(store().query(ExecutionQuery.builder().updatedBetween(ahead, ahead.plusMillis(1)).build()).items())
                .extracting(Execution::id).containsExactly(saved.id());
    }

    @Test
    void save_inserts_a_new_execution_at_version_1() {
        Execution saved = store().save(execution().build());

        assertThat(saved.version()).isEqualTo(1);
        assertThat(store().load(saved.id())).contains(saved);
    }

    @Test
    void save_updates_when_the_version_matches_and_increments_it() {
        Execution v1 = store().save(execution().build());

        Execution v2 = store().save(v1.toBuilder().status(ExecutionStatus.RUNNING).currentStepId("charge").build());

        assertThat(v2.version()).isEqualTo(2);
        assertThat(store().load(v1.id()).orElseThrow())
                .returns(ExecutionStatus.RUNNING, Execution::status)
                .returns("charge", Execution::currentStepId)
                .returns(2L, Execution::version);
    }

    @Test
    void save_with_stale_version_throws_ConcurrentUpdateException_and_changes_nothing() {
        Execution v1 = store().save(execution().build());
        Execution v2 = store().save(v1.toBuilder().currentStepId("second").build());

        ConcurrentUpdateException e = catchThrowableOfType(ConcurrentUpdateException.class,
                () -> store().save(v1.toBuilder().currentStepId("stale").build()));

        assertThat(e.executionId()).isEqualTo(v1.id());
        assertThat(e.expectedVersion()).isEqualTo(1);
        assertThat(e).hasMessageContaining(v1.id()).hasMessageContaining("reload");
        assertThat(store().load(v1.id())).contains(v2);
    }

    @Test
    void save_of_an_existing_id_at_version_0_throws_DuplicateExecutionException() {
        Execution first = store().save(execution().context(Map.of("n", 1)).build());

        assertThatThrownBy(() -> store().save(Execution.builder(first.id(), "other", "2").build()))
                .isInstanceOf(DuplicateExecutionException.class)
                .hasMessageContaining(first.id())
                .extracting(e -> ((StoreException) e).executionId()).isEqualTo(first.id());
        assertThat(store().load(first.id())).contains(first);
    }

    @Test
    void update_of_a_deleted_execution_throws_ExecutionNotFoundException() {
        Execution saved = store().save(execution().build());
        assertThat(store().delete(saved.id())).isTrue();

        assertThatThrownBy(() -> store().save(saved))
                .isInstanceOf(ExecutionNotFoundException.class)
                .hasMessageContaining(saved.id());
        assertThat(store().load(saved.id())).isEmpty();
    }

    @Test
    void load_of_an_unknown_id_is_empty_and_delete_reports_false() {
        assertThat(store().load("no-such-execution")).isEmpty();
        assertThat(store().delete("no-such-execution")).isFalse();
    }

    @Test
    void every_field_survives_a_round_trip() {
        Map<String, Object> nested = new LinkedHashMap<>();
        nested.put("unicode", "Grüße, 世界, שלום");
        nested.put("emoji", "🐒🚀 and a surrogate pair 𝄞");
        nested.put("int", 42);
        nested.put("long", 9_007_199_254_740_993L);
        nested.put("huge", new BigInteger("123456789012345678901234567890"));
        nested.put("decimal", new BigDecimal("12345.678901234567890123"));
        nested.put("money", new BigDecimal("0.10"));
        nested.put("negative", new BigDecimal("-1.5E-7"));
        nested.put("bool", true);
        nested.put("nothing", null);
        nested.put("list", List.of(1, "two", List.of(3, Map.of("four", 4))));
        nested.put("quotes", "it's \"quoted\" \\ back\\slash");
        Map<String, Object> context = Map.of("order", nested, "empty", Map.of(), "emptyList", List.of());
        Execution e = execution()
                .tenantId("tenant-α")
                .status(ExecutionStatus.WAITING)
                .currentStepId("approve")
                .stepCount(3)
                .context(context)
                .history(List.of(
                        new StepHistory("validate", "validator", "success", T0, T0.plusMillis(5), 5, null),
                        new StepHistory("charge", "payments", "failure", T0.plusMillis(6), T0.plusMillis(9), 3,
                                Map.of("code", "DECLINED", "retry", false))))
                .error(new ExecutionError("DECLINED", "card declined", "charge",
                        Map.of("attempt", 2, "codes", List.of("a", "b")), T0.plusSeconds(1)))
                .waitMetadata(new WaitMetadata(T0.plusSeconds(60), "approval", T0, Map.of("approver", "ann")))
                .cancellation(new Cancellation(Cancellation.Source.ADMIN, "test", T0.plusSeconds(2)))
                .idempotencyKey("key-" + newId())
                .idempotencyExpiresAt(T0.plus(Duration.ofDays(3650)))
                .parentExecutionId("parent-1")
                .metadata(Map.of("source", "api", "labels", List.of("x", "y")))
                .timeoutConfig(new TimeoutConfig(Duration.ofMinutes(5), Duration.ofSeconds(30)))
                .completedAt(T0.plusSeconds(3))
                .failedAt(T0.plusSeconds(4))
                .cancelledAt(T0.plusSeconds(5))
                .build();

        Execution saved = store().save(e);
        Execution loaded = store().load(e.id()).orElseThrow();

        assertThat(loaded).isEqualTo(saved);
        assertThat(loaded.context()).isEqualTo(context);
        assertThat(loaded.createdAt()).isEqualTo(Instant.parse("2026-03-01T10:15:30.123Z"));
        assertThat(loaded.waitMetadata().data()).containsEntry("approver", "ann");
        assertThat(loaded.timeoutConfig().waitTimeout()).isEqualTo(Duration.ofSeconds(30));
    }

    @Test
    void empty_and_five_megabyte_contexts_survive_a_round_trip() {
        Execution empty = store().save(execution().context(Map.of()).build());
        StringBuilder big = new StringBuilder(5 * 1024 * 1024);
        while (big.length() < 5 * 1024 * 1024) {
            big.append("FlowMonkey-é-🐒-").append(big.length()).append('\n');
        }
        Map<String, Object> large = Map.of("blob", big.toString(), "n", 1);
        Execution huge = store().save(execution().context(large).build());

        assertThat(store().load(empty.id()).orElseThrow().context()).isEmpty();
        assertThat(store().load(huge.id()).orElseThrow().context()).isEqualTo(large);
    }

    @Test
    void returned_executions_are_unmodifiable() {
        Execution saved = store().save(execution().context(Map.of("items", List.of(1, 2))).build());
        Execution loaded = store().load(saved.id()).orElseThrow();

        assertThatThrownBy(() -> loaded.context().put("x", 1)).isInstanceOf(UnsupportedOperationException.class);
        @SuppressWarnings("unchecked")
        List<Object> items = (List<Object>) loaded.context().get("items");
        assertThatThrownBy(() -> items.add(3)).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> loaded.history().add(null)).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void findByStatus_returns_newest_first_up_to_the_limit() {
        List<String> running = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            running.add(store().save(execution().status(ExecutionStatus.RUNNING).createdAt(T0.plusSeconds(i))
                    .build()).id());
        }
        store().save(execution().status(ExecutionStatus.COMPLETED).build());

        assertThat(store().findByStatus(ExecutionStatus.RUNNING)).extracting(Execution::id)
                .containsExactly(running.get(4), running.get(3), running.get(2), running.get(1), running.get(0));
        assertThat(store().findByStatus(ExecutionStatus.RUNNING, 2)).extracting(Execution::id)
                .containsExactly(running.get(4), running.get(3));
        assertThat(store().findByStatus(ExecutionStatus.FAILED)).isEmpty();
    }

    @Test
    void finders_without_a_limit_return_at_most_100() {
        List<Execution> many = new ArrayList<>();
        for (int i = 0; i < 105; i++) {
            many.add(execution().tenantId("bulk").createdAt(T0.plusMillis(i)).build());
        }
        store().saveAll(many);

        assertThat(store().findByStatus(ExecutionStatus.PENDING)).hasSize(100)
                .first().returns(many.get(104).id(), Execution::id);
        assertThat(store().findByTenant("bulk")).hasSize(100);
    }

    @Test
    void findByTenant_returns_only_that_tenant_newest_first() {
        String a1 = store().save(execution().tenantId("acme").createdAt(T0).build()).id();
        String a2 = store().save(execution().tenantId("acme").createdAt(T0.plusSeconds(1)).build()).id();
        store().save(execution().tenantId("globex").build());
        store().save(execution().build());

        assertThat(store().findByTenant("acme")).extracting(Execution::id).containsExactly(a2, a1);
        assertThat(store().findByTenant("acme", 1)).extracting(Execution::id).containsExactly(a2);
        assertThat(store().findByTenant("nobody")).isEmpty();
    }

    @Test
    void findWakeReady_returns_only_waiting_rows_due_at_now_earliest_first() {
        Instant now = T0.plusSeconds(100);
        String late = waiting(now.minusSeconds(1)).id();
        String exactlyNow = waiting(now).id();
        String earliest = waiting(now.minusSeconds(50)).id();
        waiting(now.plusMillis(1));
        store().save(execution().status(ExecutionStatus.WAITING)
                .waitMetadata(new WaitMetadata(null, "signal", T0, null)).build());
        store().save(execution().status(ExecutionStatus.RUNNING)
                .waitMetadata(new WaitMetadata(now.minusSeconds(90), "stale", T0, null)).build());

        assertThat(store().findWakeReady(now)).extracting(Execution::id).containsExactly(earliest, late, exactlyNow);
        assertThat(store().findWakeReady(now, 1)).extracting(Execution::id).containsExactly(earliest);
        assertThat(store().findWakeReady(now.minusSeconds(60))).isEmpty();
    }

    @Test
    void findWakeReady_skips_rows_not_yet_due() {
        waiting(T0.plusSeconds(10));

        assertThat(store().findWakeReady(T0.plusSeconds(9))).isEmpty();
        assertThat(store().findWakeReady(T0.plusSeconds(10))).hasSize(1);
    }

    private Execution waiting(Instant wakeAt) {
        return store().save(execution().status(ExecutionStatus.WAITING)
                .waitMetadata(new WaitMetadata(wakeAt, "timer", T0, null)).build());
    }

    @Test
    void findChildren_returns_the_executions_started_by_a_parent() {
        Execution parent = store().save(execution().build());
        String c1 = store().save(execution().parentExecutionId(parent.id()).createdAt(T0).build()).id();
        String c2 = store().save(execution().parentExecutionId(parent.id()).createdAt(T0.plusSeconds(1)).build()).id();
        store().save(execution().parentExecutionId("someone-else").build());

        assertThat(store().findChildren(parent.id())).extracting(Execution::id).containsExactly(c1, c2);
        assertThat(store().findChildren("childless")).isEmpty();
    }

    @Test
    void an_unexpired_idempotency_key_is_unique_and_the_loser_learns_the_holder() {
        Instant future = now().plus(Duration.ofHours(1));
        Execution holder = store().save(execution().idempotencyKey("order-42").idempotencyExpiresAt(future).build());
        Execution loser = execution().idempotencyKey("order-42").idempotencyExpiresAt(future).build();

        DuplicateIdempotencyKeyException e = catchThrowableOfType(DuplicateIdempotencyKeyException.class,
                () -> store().save(loser));

        assertThat(e.holderExecutionId()).isEqualTo(holder.id());
        assertThat(e.executionId()).isEqualTo(loser.id());
        assertThat(e.idempotencyKey()).isEqualTo("order-42");
        assertThat(e).hasMessageContaining(holder.id()).hasMessageContaining("order-42");
        assertThat(store().load(loser.id())).isEmpty();
        assertThat(store().findByIdempotencyKey("order-42")).contains(holder);
    }

    @Test
    void a_key_without_expiry_never_expires() {
        Execution holder = store().save(execution().idempotencyKey("forever").build());

        assertThatThrownBy(() -> store().save(execution().idempotencyKey("forever").build()))
                .isInstanceOf(DuplicateIdempotencyKeyException.class);
        assertThat(store().findByIdempotencyKey("forever")).contains(holder);
    }

    @Test
    void an_expired_idempotency_key_can_be_reused() {
        Execution old = store().save(execution().idempotencyKey("order-7")
                .idempotencyExpiresAt(now().minusSeconds(1)).build());
        assertThat(store().findByIdempotencyKey("order-7")).isEmpty();

        Execution fresh = store().save(execution().idempotencyKey("order-7")
                .idempotencyExpiresAt(now().plus(Duration.ofHours(1))).build());

        assertThat(store().findByIdempotencyKey("order-7").map(Execution::id)).contains(fresh.id());
        assertThat(store().load(old.id())).isPresent();
    }

    @Test
    void the_old_holder_of_a_reused_key_can_still_be_saved() {
        Execution old = store().save(execution().idempotencyKey("order-8")
                .idempotencyExpiresAt(now().minusSeconds(1)).build());
        Execution fresh = store().save(execution().idempotencyKey("order-8")
                .idempotencyExpiresAt(now().plus(Duration.ofHours(1))).build());

        Execution oldSavedAgain = store().save(old.toBuilder().status(ExecutionStatus.COMPLETED).build());

        assertThat(oldSavedAgain.version()).isEqualTo(2);
        assertThat(store().load(old.id()).orElseThrow().idempotencyKey()).isNull();
        assertThat(store().findByIdempotencyKey("order-8").map(Execution::id)).contains(fresh.id());
    }

    @Test
    void an_update_leaves_the_stored_key_alone() {
        Execution saved = store().save(execution().idempotencyKey("kept").build());

        store().save(saved.toBuilder().idempotencyKey(null).build());

        assertThat(store().findByIdempotencyKey("kept").map(Execution::id)).contains(saved.id());
    }

    @Test
    void saveAll_inserts_and_updates_in_one_call() {
        Execution existing = store().save(execution().build());
        List<Execution> saved = store().saveAll(List.of(
                execution().build(),
                existing.toBuilder().status(ExecutionStatus.COMPLETED).build(),
                execution().tenantId("t").build()));

        assertThat(saved).extracting(Execution::version).containsExactly(1L, 2L, 1L);
        for (Execution e : saved) {
            assertThat(store().load(e.id())).contains(e);
        }
        assertThat(store().saveAll(List.of())).isEmpty();
    }

    @Test
    void saveAll_is_all_or_nothing_when_one_update_is_stale() {
        Execution existing = store().save(execution().build());
        store().save(existing.toBuilder().currentStepId("moved-on").build());
        Execution fresh = execution().build();

        assertThatThrownBy(() -> store().saveAll(List.of(fresh, existing.toBuilder().currentStepId("stale").build())))
                .isInstanceOf(ConcurrentUpdateException.class)
                .hasMessageContaining(existing.id());
        assertThat(store().load(fresh.id())).isEmpty();
        assertThat(store().load(existing.id()).orElseThrow().currentStepId()).isEqualTo("moved-on");
    }

    @Test
    void saveAll_is_all_or_nothing_when_one_insert_is_a_duplicate() {
        Execution existing = store().save(execution().build());
        Execution fresh = execution().build();

        assertThatThrownBy(() -> store().saveAll(List.of(fresh, Execution.builder(existing.id(), "f", "1").build())))
                .isInstanceOf(DuplicateExecutionException.class)
                .hasMessageContaining(existing.id());
        assertThat(store().load(fresh.id())).isEmpty();
    }

    @Test
    void saveAll_is_all_or_nothing_when_one_key_is_taken() {
        Execution holder = store().save(execution().idempotencyKey("batch-key").build());
        Execution fresh = execution().build();
        Execution clash = execution().idempotencyKey("batch-key").build();

        DuplicateIdempotencyKeyException e = catchThrowableOfType(DuplicateIdempotencyKeyException.class,
                () -> store().saveAll(List.of(fresh, clash)));

        assertThat(e.holderExecutionId()).isEqualTo(holder.id());
        assertThat(e.executionId()).isEqualTo(clash.id());
        assertThat(store().load(fresh.id())).isEmpty();
    }

    @Test
    void bad_arguments_are_refused_with_the_field_named() {
        assertThatThrownBy(() -> store().findByStatus(ExecutionStatus.PENDING, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("limit");
        assertThatThrownBy(() -> store().findWakeReady(T0, -1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("limit");
        assertThatThrownBy(() -> store().load(" ")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("id");
        assertThatThrownBy(() -> store().load(null)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("id");
        assertThatThrownBy(() -> store().save(null)).isInstanceOf(NullPointerException.class)
                .hasMessageContaining("execution");
        assertThatThrownBy(() -> Execution.builder(" ", "f", "1").build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("id");
        assertThatThrownBy(() -> Execution.builder("x", null, "1").build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("flowId").hasMessageContaining("x");
        assertThatThrownBy(() -> Execution.builder("x", "f", "1").tenantId(" ").build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("tenantId").hasMessageContaining("x");
        assertThatThrownBy(() -> Execution.builder("x", "f", "1").idempotencyKey("").build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("idempotencyKey");
        assertThatThrownBy(() -> Execution.builder("x", "f", "1").idempotencyExpiresAt(Instant.MAX).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("idempotencyExpiresAt")
                .hasMessageContaining("x");
        assertThatThrownBy(() -> new TimeoutConfig(Duration.ofNanos(500), null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("executionTimeout");
    }

    @Test
    void arrays_and_nested_collections_are_copied_so_the_caller_cannot_change_a_stored_execution() {
        int[] numbers = {1, 2};
        List<Object> items = new ArrayList<>(List.of("a"));
        Execution saved = store().save(execution().context(Map.of("numbers", numbers, "items", items))
                .timeoutConfig(new TimeoutConfig(Duration.ofNanos(2_500_000), null)).build());
        numbers[0] = 99;
        items.add("b");

        Execution loaded = store().load(saved.id()).orElseThrow();
        assertThat(loaded.context()).containsEntry("numbers", List.of(1, 2)).containsEntry("items", List.of("a"));
        assertThat(loaded.timeoutConfig().executionTimeout()).isEqualTo(Duration.ofMillis(2));
    }

    @Test
    void sixteen_threads_load_modify_save_without_losing_an_update() throws Exception {
        Execution initial = store().save(execution().context(Map.of("count", 0)).build());
        int threads = 16;
        int attemptsPerThread = 25;
        AtomicInteger successes = new AtomicInteger();
        List<Throwable> unexpected = new ArrayList<>();
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                futures.add(pool.submit(() -> {
                    start.await();
                    for (int i = 0; i < attemptsPerThread; i++) {
                        Execution current = store().load(initial.id()).orElseThrow();
                        int count = ((Number) current.context().get("count")).intValue();
                        try {
                            store().save(current.toBuilder().context(Map.of("count", count + 1)).build());
                            successes.incrementAndGet();
                        } catch (ConcurrentUpdateException expected) {
                            // Lost the race: the other writer's increment stands, ours is not applied.
                        } catch (RuntimeException other) {
                            synchronized (unexpected) {
                                unexpected.add(other);
                            }
                        }
                    }
                    return null;
                }));
            }
            start.countDown();
            assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
                for (Future<?> f : futures) {
                    f.get();
                }
            });
        } finally {
            pool.shutdownNow();
        }

        Execution last = store().load(initial.id()).orElseThrow();
        assertThat(unexpected).isEmpty();
        assertThat(successes.get()).isPositive();
        assertThat(last.version()).isEqualTo(1L + successes.get());
        assertThat(((Number) last.context().get("count")).intValue()).isEqualTo(successes.get());
    }

    @Test
    void thirty_two_concurrent_inserts_with_one_key_store_exactly_one() throws Exception {
        int threads = 32;
        Instant expires = now().plus(Duration.ofHours(1));
        Set<String> winners = ConcurrentHashMap.newKeySet();
        Set<String> reportedHolders = ConcurrentHashMap.newKeySet();
        List<Throwable> unexpected = new ArrayList<>();
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<String> attempted = new ArrayList<>();
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                Execution e = execution().idempotencyKey("race").idempotencyExpiresAt(expires).build();
                attempted.add(e.id());
                futures.add(pool.submit(() -> {
                    start.await();
                    try {
                        winners.add(store().save(e).id());
                    } catch (DuplicateIdempotencyKeyException lost) {
                        reportedHolders.add(lost.holderExecutionId());
                    } catch (RuntimeException other) {
                        synchronized (unexpected) {
                            unexpected.add(other);
                        }
                    }
                    return null;
                }));
            }
            start.countDown();
            pool.shutdown();
            assertThat(pool.awaitTermination(60, TimeUnit.SECONDS)).isTrue();
            for (Future<?> f : futures) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }

        assertThat(unexpected).isEmpty();
        assertThat(winners).hasSize(1);
        assertThat(reportedHolders).containsExactlyElementsOf(winners);
        long stored = attempted.stream().map(store()::load).filter(Optional::isPresent).count();
        assertThat(stored).isEqualTo(1);
    }
    // --- hardening (issue 9): what no store can keep exactly is refused alike, by name ---

    @Test
    void numbers_json_cannot_hold_are_refused_by_build_naming_the_path() {
        for (Object notJson : List.of(Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, Float.NaN,
                Float.NEGATIVE_INFINITY)) {
            InvalidFieldException e = catchThrowableOfType(InvalidFieldException.class, () -> execution()
                    .context(Map.of("order", Map.of("total", List.of(1, notJson)))).build());

            assertThat(e.field()).isEqualTo("context.order.total[1]");
            assertThat(e).hasMessageContaining(notJson.toString()).hasMessageContaining("JSON");
        }
        assertThatThrownBy(() -> new WaitMetadata(null, "r", null, Map.of("x", Double.NaN)))
                .isInstanceOf(InvalidFieldException.class).hasMessageContaining("waitMetadata.data.x");
        assertThatThrownBy(() -> new ExecutionError("E", "m", null, List.of(Float.POSITIVE_INFINITY), null))
                .isInstanceOf(InvalidFieldException.class).hasMessageContaining("error.details[0]");
    }

    @Test
    void map_keys_that_are_not_strings_or_null_are_refused_by_build_instead_of_colliding() {
        Map<Object, Object> colliding = new LinkedHashMap<>();
        colliding.put("1", "text key");
        colliding.put(1, "number key");
        Map<Object, Object> nullKey = new java.util.HashMap<>();
        nullKey.put(null, "v");
        @SuppressWarnings("unchecked")
        Map<String, Object> raw = (Map<String, Object>) (Map<?, ?>) Map.of("m", colliding);

        InvalidFieldException e = catchThrowableOfType(InvalidFieldException.class,
                () -> execution().context(raw).build());
        InvalidFieldException n = catchThrowableOfType(InvalidFieldException.class,
                () -> execution().metadata(Map.of("inner", nullKey)).build());

        assertThat(e.field()).isEqualTo("context.m");
        assertThat(e).hasMessageContaining("java.lang.Integer").hasMessageContaining("strings");
        assertThat(n.field()).isEqualTo("metadata.inner");
        assertThat(n).hasMessageContaining("key null");
    }

    @Test
    void unpaired_surrogates_are_refused_in_values_keys_and_ids_by_name() {
        String lone = "a\uD83D";
        String reversed = "\uDC12\uD83D";
        assertThat(catchThrowableOfType(InvalidFieldException.class,
                () -> execution().context(Map.of("note", lone)).build()).field()).isEqualTo("context.note");
        assertThat(catchThrowableOfType(InvalidFieldException.class,
                () -> execution().context(Map.of("k" + reversed, 1)).build()).field()).isEqualTo("context");
        for (String field : List.of("tenantId", "idempotencyKey", "parentExecutionId", "currentStepId")) {
            Execution.Builder b = execution();
            switch (field) {
                case "tenantId" -> b.tenantId(lone);
                case "idempotencyKey" -> b.idempotencyKey(lone);
                case "parentExecutionId" -> b.parentExecutionId(lone);
                default -> b.currentStepId(lone);
            }
            InvalidFieldException e = catchThrowableOfType(InvalidFieldException.class, b::build);
            assertThat(e.field()).isEqualTo(field);
            assertThat(e).hasMessageContaining("unpaired surrogate U+D83D");
        }
        assertThat(catchThrowableOfType(InvalidFieldException.class,
                () -> Execution.builder(lone, "f", "1").build()).field()).isEqualTo("id");
        assertThat(catchThrowableOfType(InvalidFieldException.class,
                () -> Execution.builder("x", "f" + reversed, "1").build()).field()).isEqualTo("flowId");
        assertThatThrownBy(() -> new Cancellation(Cancellation.Source.USER, lone, null))
                .isInstanceOf(InvalidFieldException.class).hasMessageContaining("cancellation.reason");
        // A lookup by such a string would find another row in PostgreSQL (it would send '?'): refused.
        assertThatThrownBy(() -> store().load(lone)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("id").hasMessageContaining("unpaired surrogate");
        assertThatThrownBy(() -> store().findByTenant(lone, 5)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("tenantId");
        assertThatThrownBy(() -> store().findByIdempotencyKey(reversed)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("idempotency key");
        // Whole code points of every plane are fine.
        String planes = "\u0001\u007F\u00E9\uFFFD\uD83D\uDC12\uDBFF\uDFFF";
        Execution saved = store().save(execution().tenantId("t" + planes).context(Map.of(planes, planes)).build());
        assertThat(store().load(saved.id()).orElseThrow().context()).containsEntry(planes, planes);
        assertThat(store().findByTenant("t" + planes)).extracting(Execution::id).containsExactly(saved.id());
    }

    @Test
    void cyclic_and_too_deep_values_are_refused_by_build_not_by_a_StackOverflowError() {
        Map<String, Object> cyclicMap = new LinkedHashMap<>();
        cyclicMap.put("self", cyclicMap);
        List<Object> cyclicList = new ArrayList<>();
        cyclicList.add(List.of(cyclicList));
        Object deep = "bottom";
        for (int i = 0; i < 100_000; i++) {
            deep = i % 2 == 0 ? List.of(deep) : Map.of("d", deep);
        }
        Object hundredThousandDeep = deep;

        assertThatThrownBy(() -> execution().context(Map.of("loop", cyclicMap)).build())
                .isInstanceOf(InvalidFieldException.class).hasMessageContaining("context.loop.self")
                .hasMessageContaining("contains itself");
        assertThatThrownBy(() -> execution().metadata(Map.of("loop", cyclicList)).build())
                .isInstanceOf(InvalidFieldException.class).hasMessageContaining("metadata.loop")
                .hasMessageContaining("contains itself");
        InvalidFieldException tooDeep = catchThrowableOfType(InvalidFieldException.class,
                () -> execution().context(Map.of("deep", hundredThousandDeep)).build());
        assertThat(tooDeep).hasMessageContaining("deeper than " + Execution.MAX_NESTING_DEPTH);
        assertThat(tooDeep.getMessage()).hasSizeLessThan(500);
    }

    @Test
    void build_refuses_cyclic_and_too_deep_values_even_on_a_thread_with_a_small_stack() throws Exception {
        Map<String, Object> cyclic = new LinkedHashMap<>();
        cyclic.put("again", List.of(cyclic));
        Object atLimit = chain(Execution.MAX_NESTING_DEPTH - 1);
        java.util.concurrent.atomic.AtomicReference<Object> outcome = new java.util.concurrent.atomic.AtomicReference<>();
        // The walk keeps its own stack: 64 KB of thread stack is plenty at any depth.
        Thread small = new Thread(null, () -> {
            try {
                Execution built = execution().context(Map.of("ok", atLimit)).build();
                execution().context(Map.of("loop", cyclic)).build();
                outcome.set(built);
            } catch (Throwable t) {
                outcome.set(t);
            }
        }, "small-stack", 64 * 1024);
        small.start();
        small.join(TimeUnit.SECONDS.toMillis(30));

        assertThat(outcome.get()).isInstanceOf(InvalidFieldException.class);
        assertThat((Throwable) outcome.get()).hasMessageContaining("context.loop.again[0]")
                .hasMessageContaining("contains itself");
    }

    @Test
    void nesting_up_to_the_limit_round_trips_and_one_level_more_is_refused() {
        // context is level 1 of its column; a chain of n - 1 containers under it reaches level n.
        Execution atLimit = store().save(execution().context(Map.of("deep", chain(Execution.MAX_NESTING_DEPTH - 1)))
                .build());

        assertThat(store().load(atLimit.id()).orElseThrow().context()).isEqualTo(atLimit.context());
        assertThatThrownBy(() -> execution().context(Map.of("deep", chain(Execution.MAX_NESTING_DEPTH))).build())
                .isInstanceOf(InvalidFieldException.class).hasMessageContaining("deeper than");
        // Nested values count from their column: waitMetadata.data is level 2 of wait_metadata.
        assertThatThrownBy(() -> new WaitMetadata(null, "r", null, Map.of("deep",
                chain(Execution.MAX_NESTING_DEPTH - 1)))).isInstanceOf(InvalidFieldException.class);
        // A frozen value (a loaded context) nested in a new one counts its full depth, without a second walk.
        Map<String, Object> loaded = store().load(atLimit.id()).orElseThrow().context();
        assertThatThrownBy(() -> execution().context(Map.of("again", loaded)).build())
                .isInstanceOf(InvalidFieldException.class).hasMessageContaining("context.again");
    }

    private static Object chain(int containers) {
        Object value = 1;
        for (int i = 0; i < containers; i++) {
            value = i % 2 == 0 ? List.of(value) : Map.of("n", value);
        }
        return value;
    }

    @Test
    void findWakeReady_accepts_instants_beyond_epoch_millis() {
        Execution due = store().save(execution().status(ExecutionStatus.WAITING)
                .waitMetadata(new WaitMetadata(T0, "timer", T0, null)).build());

        assertThat(store().findWakeReady(Instant.MAX)).extracting(Execution::id).containsExactly(due.id());
        assertThat(store().findWakeReady(Instant.MIN, 10)).isEmpty();
    }

    @Test
    void a_store_clock_beyond_epoch_millis_is_a_StoreException_not_an_ArithmeticException() {
        ExecutionStore broken = storeWithClock(Clock.fixed(Instant.MAX, ZoneOffset.UTC));

        assertThatThrownBy(() -> broken.save(execution().build())).isInstanceOf(StoreException.class)
                .hasMessageContaining("clock");
        assertThatThrownBy(() -> broken.findByIdempotencyKey("k")).isInstanceOf(StoreException.class)
                .hasMessageContaining("clock");
    }

    @Test
    void a_key_repeated_within_one_saveAll_names_the_earlier_execution_as_its_holder() {
        Execution first = execution().idempotencyKey("twice-in-batch").build();
        Execution second = execution().idempotencyKey("twice-in-batch").build();

        DuplicateIdempotencyKeyException e = catchThrowableOfType(DuplicateIdempotencyKeyException.class,
                () -> store().saveAll(List.of(execution().build(), first, second)));

        assertThat(e.executionId()).isEqualTo(second.id());
        assertThat(e.holderExecutionId()).isEqualTo(first.id());
        assertThat(e).hasMessageContaining(first.id()).hasMessageNotContaining("null");
        assertThat(store().load(first.id())).isEmpty();
        assertThatThrownBy(() -> store().saveAll(List.of(first, execution().build(),
                Execution.builder(first.id(), "f", "1").build())))
                .isInstanceOf(DuplicateExecutionException.class).hasMessageContaining(first.id());
        assertThat(store().load(first.id())).isEmpty();
    }
}
