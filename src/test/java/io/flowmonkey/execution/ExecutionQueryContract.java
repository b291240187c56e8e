package io.flowmonkey.execution;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flowmonkey.engine.MutableClock;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The query, count, stream and bulk-delete behaviour every {@link ExecutionStore} must have (issue 12).
 * Extended once per implementation, beside {@link ExecutionStoreContract}; each test starts from an
 * empty store whose clock the test sets, so that {@code updatedAt} is known.
 */
public abstract class ExecutionQueryContract {

    protected static final Instant T0 = Instant.parse("2026-03-01T10:00:00Z");

    protected final MutableClock clock = new MutableClock(T0);
    private ExecutionStore store;

    /**
     * Returns a new, empty store that stamps {@code updatedAt} from {@code clock}.
     *
     * @param clock the test's clock
     * @return the store
     */
    protected abstract ExecutionStore newStore(Clock clock);

    @BeforeEach
    void newStoreForTheTest() {
        store = newStore(clock);
    }

    /** Saves an execution created {@code minutes} after T0, last saved at the clock's time. */
    private Execution save(String id, int minutes, ExecutionStatus status) {
        return save(Execution.builder(id, "order-flow", "1").status(status), minutes);
    }

    private Execution save(Execution.Builder b, int minutes) {
        Instant created = T0.plus(Duration.ofMinutes(minutes));
        return store.save(b.createdAt(created).updatedAt(created).build());
    }

    private static List<String> ids(Page<Execution> page) {
        return page.items().stream().map(Execution::id).toList();
    }

    private List<String> all(ExecutionQuery q) {
        List<String> seen = new ArrayList<>();
        Page<Execution> page = store.query(q);
        seen.addAll(ids(page));
        while (page.hasNext()) {
            page = store.query(q.after(page.nextCursor()));
            seen.addAll(ids(page));
        }
        return seen;
    }

    @Test
    void query_returns_newest_first_and_pages_by_cursor_without_gaps_or_repeats() {
        for (int i = 0; i < 25; i++) {
            save(String.format("e%02d", i), i, ExecutionStatus.PENDING);
        }
        ExecutionQuery q = ExecutionQuery.builder().limit(10).build();

        Page<Execution> first = store.query(q);
        Page<Execution> second = store.query(q.after(first.nextCursor()));
        Page<Execution> third = store.query(q.after(second.nextCursor()));

        assertThat(ids(first)).containsExactly("e24", "e23", "e22", "e21", "e20", "e19", "e18", "e17", "e16", "e15");
        assertThat(ids(second)).startsWith("e14").endsWith("e05").hasSize(10);
        assertThat(ids(third)).containsExactly("e04", "e03", "e02", "e01", "e00");
        assertThat(third.hasNext()).isFalse();
        assertThat(third.nextCursor()).isNull();
    }

    @Test
    void a_page_that_ends_exactly_at_the_last_row_has_no_next_cursor() {
        for (int i = 0; i < 4; i++) {
            save("e" + i, i, ExecutionStatus.PENDING);
        }

        Page<Execution> page = store.query(ExecutionQuery.builder().limit(4).build());

        assertThat(page.items()).hasSize(4);
        assertThat(page.hasNext()).isFalse();
    }

    @Test
    void paging_through_equal_createdAt_orders_by_id_descending_and_loses_no_row() {
        for (String id : List.of("a", "b", "c", "d", "e")) {
            save(id, 0, ExecutionStatus.PENDING);
        }

        assertThat(all(ExecutionQuery.builder().limit(2).build())).containsExactly("e", "d", "c", "b", "a");
    }

    @Test
    void rows_written_between_pages_are_neither_skipped_nor_repeated() {
        for (int i = 0; i < 6; i++) {
            save("e" + i, i, ExecutionStatus.PENDING);
        }
        ExecutionQuery q = ExecutionQuery.builder().limit(3).build();
        Page<Execution> first = store.query(q);

        save("newer", 100, ExecutionStatus.PENDING);
        Execution updated = store.load("e1").orElseThrow();
        store.save(updated.toBuilder().status(ExecutionStatus.RUNNING).build());
        Page<Execution> second = store.query(q.after(first.nextCursor()));

        assertThat(ids(first)).containsExactly("e5", "e4", "e3");
        assertThat(ids(second)).containsExactly("e2", "e1", "e0");
    }

    @Test
    void several_statuses_are_merged_in_one_order() {
        save("p1", 1, ExecutionStatus.PENDING);
        save("f2", 2, ExecutionStatus.FAILED);
        save("c3", 3, ExecutionStatus.COMPLETED);
        save("f4", 4, ExecutionStatus.FAILED);
        save("p5", 5, ExecutionStatus.PENDING);
        save("w6", 6, ExecutionStatus.WAITING);
        ExecutionQuery q = ExecutionQuery.builder()
                .statuses(EnumSet.of(ExecutionStatus.PENDING, ExecutionStatus.FAILED)).limit(2).build();

        assertThat(all(q)).containsExactly("p5", "f4", "f2", "p1");
        assertThat(store.count(q)).isEqualTo(4);
        assertThat(all(q.toBuilder().status(ExecutionStatus.WAITING).build())).containsExactly("w6");
        assertThat(all(q.toBuilder().statuses(Set.of()).build())).hasSize(6);
    }

    @Test
    void each_filter_matches_only_its_executions() {
        save(Execution.builder("a", "order-flow", "1").tenantId("acme")
                .metadata(Map.of("region", "eu", "priority", 3, "vip", true)), 1);
        save(Execution.builder("b", "order-flow", "2").tenantId("acme").parentExecutionId("a")
                .metadata(Map.of("region", "us")), 2);
        save(Execution.builder("c", "invoice-flow", "1").tenantId("globex").parentExecutionId("a")
                .status(ExecutionStatus.FAILED).failedAt(T0)
                .error(new ExecutionError("CARD_DECLINED", "declined", "charge", null, T0)), 3);
        save(Execution.builder("d", "invoice-flow", "1").status(ExecutionStatus.FAILED).failedAt(T0)
                .error(new ExecutionError("TIMEOUT", "slow", "charge", null, T0)), 4);

        assertThat(all(ExecutionQuery.builder().flow("order-flow").build())).containsExactly("b", "a");
        assertThat(all(ExecutionQuery.builder().flow("order-flow", "2").build())).containsExactly("b");
        assertThat(all(ExecutionQuery.builder().tenantId("acme").build())).containsExactly("b", "a");
        assertThat(all(ExecutionQuery.builder().parentExecutionId("a").build())).containsExactly("c", "b");
        assertThat(all(ExecutionQuery.builder().errorCode("CARD_DECLINED").build())).containsExactly("c");
        assertThat(all(ExecutionQuery.builder().metadata("region", "eu").build())).containsExactly("a");
        assertThat(all(ExecutionQuery.builder().metadata("priority", 3L).build())).containsExactly("a");
        assertThat(all(ExecutionQuery.builder().metadata("vip", true).build())).containsExactly("a");
        assertThat(all(ExecutionQuery.builder().metadata("region", "eu").metadata("vip", false).build())).isEmpty();
        assertThat(all(ExecutionQuery.builder().createdBetween(T0.plusSeconds(120), T0.plusSeconds(240)).build()))
                .containsExactly("c", "b");
        assertThat(all(ExecutionQuery.builder().createdBetween(T0.plusSeconds(180), null).build()))
                .containsExactly("d", "c");
        assertThat(all(ExecutionQuery.builder().status(ExecutionStatus.FAILED).tenantId("globex")
                .flow("invoice-flow", "1").build())).containsExactly("c");
    }

    /**
     * 600 executions, one a minute: "dense" on every 5th, "sparse" on every 150th, "old" on three of the
     * oldest ten, every 4th failed. A PostgreSQL page of one row reads the newest 200 rows (100 per row
     * of the page, and one more row than the page) in order first, and turns to the GIN index when they
     * do not fill it: dense values fill it from those, sparse ones do on some pages and not on others,
     * old ones never do. Whichever way a page was read, it must be the same.
     */
    @Test
    void metadata_filters_page_in_order_whether_their_matches_are_dense_sparse_or_only_among_the_oldest() {
        List<Execution> saved = new ArrayList<>();
        for (int i = 0; i < 600; i++) {
            String tag = i % 150 == 0 ? "sparse" : i % 5 == 0 ? "dense" : i == 1 || i == 4 || i == 7 ? "old" : "none";
            saved.add(save(Execution.builder(String.format("m%03d", i), "order-flow", "1").metadata(Map.of("tag", tag))
                    .status(i % 4 == 0 ? ExecutionStatus.FAILED : ExecutionStatus.COMPLETED), i));
        }
        for (String tag : List.of("dense", "sparse", "old")) {
            for (ExecutionQuery q : List.of(ExecutionQuery.builder().metadata("tag", tag).limit(1).build(),
                    ExecutionQuery.builder().metadata("tag", tag).limit(7).build(),
                    ExecutionQuery.builder().metadata("tag", tag).status(ExecutionStatus.FAILED).limit(2).build(),
                    ExecutionQuery.builder().metadata("tag", tag)
                            .statuses(EnumSet.of(ExecutionStatus.FAILED, ExecutionStatus.COMPLETED)).limit(3).build(),
                    ExecutionQuery.builder().metadata("tag", tag).createdBetween(T0.plus(Duration.ofMinutes(5)),
                            T0.plus(Duration.ofMinutes(450))).limit(2).build())) {
                List<String> expected = saved.stream().filter(q::matches)
                        .sorted(java.util.Comparator.comparing(Execution::createdAt).reversed())
                        .map(Execution::id).toList();
                assertThat(all(q)).as("%s", q).isNotEmpty().isEqualTo(expected);
                assertThat(store.count(q)).as("count of %s", q).isEqualTo(expected.size());
            }
        }
        assertThat(store.deleteAll(ExecutionQuery.builder().metadata("tag", "sparse").limit(1).build()))
                .isEqualTo(new BulkResult(4, 4, 0));
        assertThat(all(ExecutionQuery.builder().metadata("tag", "old").limit(1).build()))
                .containsExactly("m007", "m004", "m001");
    }

    @Test
    void updated_range_compares_the_time_of_the_last_save() {
        Execution a = save("a", 1, ExecutionStatus.PENDING);
        Execution b = save("b", 2, ExecutionStatus.PENDING);
        clock.set(T0.plus(Duration.ofHours(1)));
        store.save(a.toBuilder().status(ExecutionStatus.RUNNING).build());
        Instant hour = T0.plus(Duration.ofHours(1));

        assertThat(all(ExecutionQuery.builder().updatedBetween(hour, null).build())).containsExactly("a");
        assertThat(all(ExecutionQuery.builder().updatedBetween(null, hour).build())).containsExactly("b");
        assertThat(store.count(ExecutionQuery.builder().updatedBetween(T0, hour.plusMillis(1)).build())).isEqualTo(2);
        assertThat(b.id()).isEqualTo("b");
    }

    @Test
    void updated_since_pages_merge_rows_created_before_the_start_and_saved_after_it_with_newer_rows_in_order() {
        // Each saved when it is created: a, b, c at minute 0, d and e at 10, f at 20, g at 30.
        for (String id : List.of("a", "b", "c", "d", "e", "f", "g")) {
            int minutes = List.of(0, 0, 0, 10, 10, 20, 30).get(id.charAt(0) - 'a');
            clock.set(T0.plus(Duration.ofMinutes(minutes)));
            save(id, minutes, ExecutionStatus.PENDING);
        }
        clock.set(T0.plus(Duration.ofMinutes(14)));
        store.save(store.load("c").orElseThrow().toBuilder().stepCount(1).build());
        clock.set(T0.plus(Duration.ofMinutes(40)));
        store.save(store.load("b").orElseThrow().toBuilder().status(ExecutionStatus.RUNNING).build());
        store.save(store.load("d").orElseThrow().toBuilder().stepCount(1).build());
        Instant from = T0.plus(Duration.ofMinutes(15));

        ExecutionQuery since = ExecutionQuery.builder().updatedBetween(from, null).limit(2).build();
        assertThat(all(since)).containsExactly("g", "f", "d", "b");
        assertThat(ids(store.query(since.after(store.query(since).nextCursor())))).containsExactly("d", "b");
        assertThat(store.count(since)).isEqualTo(4);
        assertThat(all(ExecutionQuery.builder().status(ExecutionStatus.RUNNING).updatedBetween(from, null).limit(1)
                .build())).containsExactly("b");
        assertThat(all(ExecutionQuery.builder().updatedBetween(from, T0.plus(Duration.ofMinutes(35))).limit(1)
                .build())).containsExactly("g", "f");
        assertThat(all(ExecutionQuery.builder().updatedBetween(T0.plus(Duration.ofMinutes(41)), null).build())).isEmpty();
    }

    @Test
    void count_matches_the_filters_and_ignores_position_and_limit() {
        for (int i = 0; i < 7; i++) {
            save("e" + i, i, i % 2 == 0 ? ExecutionStatus.COMPLETED : ExecutionStatus.FAILED);
        }
        ExecutionQuery completed = ExecutionQuery.builder().status(ExecutionStatus.COMPLETED).limit(1).build();

        assertThat(store.count(completed)).isEqualTo(4);
        assertThat(store.count(completed.after(store.query(completed).nextCursor()))).isEqualTo(4);
        assertThat(store.count(ExecutionQuery.builder().build())).isEqualTo(7);
        assertThat(store.count(ExecutionQuery.builder().tenantId("nobody").build())).isZero();
        assertThat(store.countEstimate(completed)).isGreaterThanOrEqualTo(0);
    }

    @Test
    void stream_returns_every_match_after_the_position_in_order_ignoring_the_limit() {
        for (int i = 0; i < 12; i++) {
            save("e" + (char) ('a' + i), i, i < 10 ? ExecutionStatus.COMPLETED : ExecutionStatus.PENDING);
        }
        ExecutionQuery q = ExecutionQuery.builder().status(ExecutionStatus.COMPLETED).limit(3).build();

        List<String> streamed;
        List<String> afterFirstPage;
        try (Stream<Execution> s = store.stream(q)) {
            streamed = s.map(Execution::id).toList();
        }
        try (Stream<Execution> s = store.stream(q.after(store.query(q).nextCursor()))) {
            afterFirstPage = s.map(Execution::id).toList();
        }

        assertThat(streamed).containsExactly("ej", "ei", "eh", "eg", "ef", "ee", "ed", "ec", "eb", "ea");
        assertThat(afterFirstPage).containsExactly("eg", "ef", "ee", "ed", "ec", "eb", "ea");
    }

    @Test
    void deleteAll_deletes_every_match_in_batches_and_reports_counts() {
        for (int i = 0; i < 11; i++) {
            save("e" + i, i, i < 8 ? ExecutionStatus.CANCELLED : ExecutionStatus.RUNNING);
        }

        BulkResult result = store.deleteAll(ExecutionQuery.builder().status(ExecutionStatus.CANCELLED).limit(3).build());

        assertThat(result).isEqualTo(new BulkResult(8, 8, 0));
        assertThat(all(ExecutionQuery.builder().build())).containsExactly("e10", "e9", "e8");
        assertThat(store.deleteAll(ExecutionQuery.builder().status(ExecutionStatus.CANCELLED).build()))
                .isEqualTo(BulkResult.EMPTY);
    }

    @Test
    void deleteAll_takes_the_signals_of_what_it_deletes_with_it() {
        save("e0", 0, ExecutionStatus.WAITING);
        SignalStore signals = (SignalStore) store;
        signals.sendSignal(Signal.of("e0", "go", java.util.Map.of("n", 1)));

        store.deleteAll(ExecutionQuery.builder().status(ExecutionStatus.WAITING).build());

        assertThat(signals.findSignals("e0", "go", 10)).as("a later execution of the same id finds none").isEmpty();
    }

    @Test
    void a_cursor_with_a_changed_character_is_refused_by_name() {
        for (int i = 0; i < 3; i++) {
            save("e" + i, i, ExecutionStatus.PENDING);
        }
        ExecutionQuery q = ExecutionQuery.builder().limit(1).build();
        String cursor = store.query(q).nextCursor();
        byte[] bytes = Base64.getUrlDecoder().decode(cursor);
        bytes[5] ^= 1;
        String tampered = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);

        assertThatThrownBy(() -> q.after(tampered)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("cursor").hasMessageContaining("altered");
        assertThatThrownBy(() -> q.after("not a cursor!")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("not a cursor this library made");
        assertThatThrownBy(() -> q.after("")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("too short");
    }

    @Test
    void a_cursor_of_a_query_with_other_filters_is_refused_but_another_limit_is_fine() {
        for (int i = 0; i < 3; i++) {
            save("e" + i, i, ExecutionStatus.PENDING);
        }
        ExecutionQuery pending = ExecutionQuery.builder().status(ExecutionStatus.PENDING).limit(1).build();
        String cursor = store.query(pending).nextCursor();

        assertThatThrownBy(() -> ExecutionQuery.builder().status(ExecutionStatus.FAILED).build().after(cursor))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("other filters");
        assertThat(ids(store.query(pending.withLimit(5).after(cursor)))).containsExactly("e1", "e0");
    }

    @Test
    void bad_filter_values_are_refused_when_set() {
        ExecutionQuery.Builder b = ExecutionQuery.builder();

        assertThatThrownBy(() -> b.limit(0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("limit");
        assertThatThrownBy(() -> b.limit(ExecutionQuery.MAX_LIMIT + 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> b.tenantId(" ")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("tenantId");
        assertThatThrownBy(() -> b.flow("f\0")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("NUL");
        assertThatThrownBy(() -> b.metadata("k", 1.5)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("metadata value of 'k'");
        assertThatThrownBy(() -> b.createdBetween(T0, T0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("created range is empty");
        assertThatThrownBy(() -> b.statuses(java.util.Arrays.asList(ExecutionStatus.FAILED, null)))
                .isInstanceOf(NullPointerException.class);
    }

}
