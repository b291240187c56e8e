package io.flowmonkey.execution;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The query value itself: cursors, equality, matching; the stores' behaviour is in {@link ExecutionQueryContract}. */
class ExecutionQueryTest {

    private static final Instant T = Instant.parse("2026-03-01T10:00:00Z");

    private static Execution at(String id, Instant createdAt) {
        return Execution.builder(id, "f", "1").createdAt(createdAt).updatedAt(createdAt).build();
    }

    @Test
    void a_cursor_does_not_depend_on_the_order_filters_were_set_in() {
        ExecutionQuery a = ExecutionQuery.builder().tenantId("acme").metadata("x", "1").metadata("y", 2)
                .statuses(EnumSet.of(ExecutionStatus.FAILED, ExecutionStatus.PENDING)).build();
        ExecutionQuery b = ExecutionQuery.builder().metadata("y", 2L).metadata("x", "1")
                .statuses(List.of(ExecutionStatus.PENDING, ExecutionStatus.FAILED)).tenantId("acme").build();

        String cursor = a.cursorAfter(at("e1", T));

        assertThat(b.after(cursor).position()).contains(new ExecutionQuery.Position(T, "e1"));
        assertThat(a).isEqualTo(b).hasSameHashCodeAs(b);
    }

    /** A cursor as the library made it before the unambiguous filter text: its fingerprint hashed the old text. */
    private static String cursorOfTheOldForm(String oldFilterText, long createdAtMillis, String id) throws Exception {
        java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-256");
        String fingerprint = java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(java.util.Arrays.copyOf(
                sha.digest(oldFilterText.getBytes(java.nio.charset.StandardCharsets.UTF_8)), 9));
        byte[] body = ("c1|" + createdAtMillis + "|" + fingerprint + "|" + id).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] all = java.util.Arrays.copyOf(body, body.length + 8);
        System.arraycopy(sha.digest(body), 0, all, body.length, 8);
        return java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(all);
    }

    @Test
    void cursors_made_before_the_unambiguous_filter_text_are_refused_as_cursors_of_another_query() throws Exception {
        ExecutionQuery unfiltered = ExecutionQuery.builder().build();
        ExecutionQuery failedOfFlow = ExecutionQuery.builder().status(ExecutionStatus.FAILED).flow("orders").build();

        // The old text: statuses, then flow, version, tenant, parent, four times, error code, metadata.
        assertThatThrownBy(() -> unfiltered.after(cursorOfTheOldForm(
                "[]|null|null|null|null|null|null|null|null|null|{}", 1_000, "e-1")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("query with other filters");
        assertThatThrownBy(() -> failedOfFlow.after(cursorOfTheOldForm(
                "[FAILED]|orders|null|null|null|null|null|null|null|null|{}", 1_000, "e-1")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("query with other filters");
        // The same cursor made now is taken: only the fingerprint differs.
        Execution last = Execution.builder("e-1", "orders", "1").createdAt(Instant.ofEpochMilli(1_000)).build();
        assertThat(unfiltered.after(unfiltered.cursorAfter(last)).position()).isPresent();
    }

    @Test
    void filters_that_read_alike_are_different_queries_and_refuse_each_others_cursors() {
        List<ExecutionQuery> different = List.of(
                ExecutionQuery.builder().metadata("k", "1").build(),
                ExecutionQuery.builder().metadata("k", 1).build(),
                ExecutionQuery.builder().metadata("k", "true").build(),
                ExecutionQuery.builder().metadata("k", true).build(),
                ExecutionQuery.builder().flow("a|b").build(),
                ExecutionQuery.builder().flow("a", "b").build(),
                ExecutionQuery.builder().tenantId("a").build(),
                ExecutionQuery.builder().parentExecutionId("a").build());

        for (ExecutionQuery a : different) {
            for (ExecutionQuery b : different) {
                if (a != b) {
                    assertThat(a).as("%s vs %s", a, b).isNotEqualTo(b);
                    assertThatThrownBy(() -> b.after(a.cursorAfter(at("e1", T))))
                            .as("%s's cursor in %s", a, b).isInstanceOf(IllegalArgumentException.class)
                            .hasMessageContaining("other filters");
                }
            }
        }
    }

    @Test
    void an_id_holding_the_cursor_separator_survives_the_round_trip() {
        ExecutionQuery q = ExecutionQuery.builder().build();

        assertThat(q.after(q.cursorAfter(at("a|b|c", T))).position()).contains(new ExecutionQuery.Position(T, "a|b|c"));
    }

    @Test
    void page_keeps_limit_rows_and_makes_a_cursor_only_when_one_more_was_read() {
        ExecutionQuery q = ExecutionQuery.builder().limit(2).build();
        List<Execution> three = List.of(at("c", T), at("b", T), at("a", T));

        Page<Execution> page = q.page(three);

        assertThat(page.items()).extracting(Execution::id).containsExactly("c", "b");
        assertThat(q.after(page.nextCursor()).position()).contains(new ExecutionQuery.Position(T, "b"));
        assertThat(q.page(three.subList(0, 2)).hasNext()).isFalse();
    }

    @Test
    void position_orders_newest_first_then_by_id_descending() {
        ExecutionQuery.Position p = new ExecutionQuery.Position(T, "m");

        assertThat(p.comesBefore(at("a", T))).isTrue();
        assertThat(p.comesBefore(at("z", T))).isFalse();
        assertThat(p.comesBefore(at("m", T))).isFalse();
        assertThat(p.comesBefore(at("z", T.minusMillis(1)))).isTrue();
        assertThat(p.comesBefore(at("a", T.plusMillis(1)))).isFalse();
    }

    @Test
    void toString_names_the_filters_that_are_set() {
        assertThat(ExecutionQuery.builder().errorCode("E1").limit(5).build().toString())
                .isEqualTo("ExecutionQuery[errorCode=E1, limit=5]");
    }

    @Test
    void bulk_counts_must_add_up() {
        assertThatThrownBy(() -> new BulkResult(3, 1, 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("changed + skipped = matched");
        assertThat(new BulkResult(3, 2, 1).plus(new BulkResult(1, 0, 1))).isEqualTo(new BulkResult(4, 2, 2));
    }
}
