package io.flowmonkey.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flowmonkey.engine.MutableClock;
import io.flowmonkey.execution.BulkResult;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionQuery;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.Page;
import io.flowmonkey.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Random;
import javax.sql.DataSource;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Every page of "updated since" walks, on real PostgreSQL, against a brute-force SQL answer (a plain
 * filter on updated_at, sorted): rows created before and after the start, rows saved again later (after
 * the BRIN index summarized their pages, so that only the widening of a summary by a HOT update makes
 * them found), rows on pages no summary covers yet, and ties of created_at, with and without V12's
 * index. The store's connections do without sequential scans, so that the BRIN index is read even on
 * this small table.
 */
class PgUpdatedSincePagingTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    private static final Instant T0 = Instant.parse("2026-06-01T00:00:00Z");
    private static final String INDEX = "CREATE INDEX idx_executions_updated ON executions USING brin "
            + "(updated_at, created_at) WITH (pages_per_range = 16, autosummarize = on)";
    private static final List<ExecutionStatus> STATUSES = List.of(ExecutionStatus.PENDING, ExecutionStatus.RUNNING,
            ExecutionStatus.WAITING, ExecutionStatus.COMPLETED);

    private final MutableClock clock = new MutableClock(T0);
    private DataSource noSeqScan;
    private PgExecutionStore store;

    @BeforeEach
    void aTableWrittenAndRewrittenOverTenHours() throws SQLException {
        PG.truncate("executions");
        if (PG.queryLong("SELECT count(*) FROM pg_class WHERE relname = 'idx_executions_updated'") == 0) {
            PG.execute(INDEX);
        }
        noSeqScan = PG.newDataSource(2, config -> config.setConnectionInitSql("SET enable_seqscan = off"));
        store = new PgExecutionStore(noSeqScan, PgStoreOptions.builder().clock(clock).build());
        Random random = new Random(12);
        // 3,000 executions created over five hours, three at each second in 1,000 seconds, then a gap
        // (created_at ties; ids in no relation to the insert order), saved as created.
        List<Execution> created = new ArrayList<>();
        for (int i = 0; i < 3_000; i++) {
            Instant at = T0.plus(Duration.ofSeconds(i / 3 * 18L));
            created.add(Execution.builder(Integer.toString(random.nextInt(1 << 30), 36) + "-" + i, "flow", "1")
                    .status(STATUSES.get(random.nextInt(STATUSES.size()))).createdAt(at).updatedAt(at).build());
        }
        List<Execution> stored = new ArrayList<>();
        for (int i = 0; i < created.size(); i += 500) {
            stored.addAll(store.saveAll(created.subList(i, i + 500)));
        }
        // Summarize every range, then save a tenth of the rows again at later times: their ranges'
        // summaries must widen as they are updated (HOT, on PostgreSQL 16 and later).
        PG.execute("SELECT brin_summarize_new_values('idx_executions_updated')");
        for (int i = 0; i < 300; i++) {
            Execution e = stored.get(random.nextInt(stored.size()));
            clock.set(e.createdAt().plus(Duration.ofMinutes(30 + random.nextInt(300))));
            Execution current = store.load(e.id()).orElseThrow();
            store.save(current.toBuilder().stepCount(current.stepCount() + 1)
                    .status(random.nextBoolean() ? current.status() : ExecutionStatus.RUNNING).build());
        }
        // 600 more created later, on pages added at the table's end that no summary covers yet.
        clock.set(T0.plus(Duration.ofHours(10)));
        List<Execution> later = new ArrayList<>();
        for (int i = 0; i < 600; i++) {
            Instant at = T0.plus(Duration.ofHours(8)).plusSeconds(i / 2 * 7L);
            later.add(Execution.builder("later-" + Integer.toString(random.nextInt(1 << 30), 36), "flow", "1")
                    .status(STATUSES.get(i % STATUSES.size())).createdAt(at).updatedAt(at).build());
        }
        store.saveAll(later);
    }

    private static List<Instant> starts() {
        return List.of(T0.minusSeconds(1), T0.plus(Duration.ofMinutes(90)), T0.plus(Duration.ofHours(4)),
                T0.plus(Duration.ofHours(8)).plusSeconds(700), T0.plus(Duration.ofHours(9).plusMinutes(59)),
                T0.plus(Duration.ofHours(11)));
    }

    @Test
    void every_page_of_updated_since_walks_is_what_a_filter_on_updated_at_finds_with_and_without_the_index()
            throws Exception {
        int walks = walkAndCompare();
        PG.execute("DROP INDEX idx_executions_updated");
        try {
            walks += walkAndCompare();
        } finally {
            PG.execute(INDEX);
        }
        assertThat(walks).isEqualTo(2 * starts().size() * 4 * 3);
    }

    @Test
    void the_rows_created_before_the_start_are_found_through_the_brin_index() throws Exception {
        ExecutionQuery q = ExecutionQuery.builder().updatedBetween(T0.plus(Duration.ofHours(4)), null).limit(20).build();
        ExecutionSql.Bound s = store.statementOf(q, ExecutionSql.Shape.PAGE);
        List<String> nodes = new ArrayList<>();
        try (Connection c = noSeqScan.getConnection();
             PreparedStatement ps = c.prepareStatement("EXPLAIN (ANALYZE, FORMAT JSON) " + s.sql())) {
            PgExecutionStore.bindAll(ps, s.params());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                ran(new ObjectMapper().readTree(rs.getString(1)).path(0).path("Plan"), nodes);
            }
        }
        assertThat(nodes).contains("Bitmap Index Scan on idx_executions_updated", "CTE Scan on older_updated")
                .noneMatch(n -> n.startsWith("Seq Scan"));
        assertThat(count("updated_at >= " + q.updatedFrom().toEpochMilli() + " AND created_at < "
                + q.updatedFrom().toEpochMilli())).as("rows created before the start, updated since").isPositive();
    }

    @Test
    void delete_all_of_updated_since_deletes_exactly_its_matches_in_batches() throws Exception {
        Instant from = T0.plus(Duration.ofHours(4));
        String match = "updated_at >= " + from.toEpochMilli();
        long matches = count(match);
        long others = count("NOT (" + match + ")");

        BulkResult deleted = store.deleteAll(ExecutionQuery.builder().updatedBetween(from, null).limit(37).build());

        assertThat(deleted.matched()).isEqualTo(matches);
        assertThat(deleted.changed()).isEqualTo(matches);
        assertThat(count(match)).isZero();
        assertThat(count("true")).isEqualTo(others);
    }

    /** Walks of every start, four filter sets and three page sizes; returns how many walks it compared. */
    private int walkAndCompare() throws SQLException {
        int walks = 0;
        for (Instant from : starts()) {
            long f = from.toEpochMilli();
            long before = T0.plus(Duration.ofHours(9)).toEpochMilli();
            List<ExecutionQuery.Builder> filters = List.of(
                    ExecutionQuery.builder().updatedBetween(from, null),
                    ExecutionQuery.builder().status(ExecutionStatus.RUNNING).updatedBetween(from, null),
                    ExecutionQuery.builder().statuses(EnumSet.of(ExecutionStatus.PENDING, ExecutionStatus.WAITING))
                            .updatedBetween(from, null),
                    ExecutionQuery.builder().updatedBetween(from, Instant.ofEpochMilli(Math.max(before, f + 1))));
            List<String> conditions = List.of("updated_at >= " + f,
                    "status = 'running' AND updated_at >= " + f,
                    "status IN ('pending', 'waiting') AND updated_at >= " + f,
                    "updated_at >= " + f + " AND updated_at < " + Math.max(before, f + 1));
            for (int i = 0; i < filters.size(); i++) {
                List<String> expected = ids("SELECT id FROM executions WHERE " + conditions.get(i)
                        + " ORDER BY created_at DESC, id DESC");
                for (int limit : new int[] {11, 37, 1_000}) {
                    ExecutionQuery q = filters.get(i).limit(limit).build();
                    List<String> seen = new ArrayList<>();
                    Page<Execution> page = store.query(q);
                    seen.addAll(page.items().stream().map(Execution::id).toList());
                    while (page.hasNext()) {
                        assertThat(page.items()).hasSize(limit);
                        page = store.query(q.after(page.nextCursor()));
                        seen.addAll(page.items().stream().map(Execution::id).toList());
                    }
                    assertThat(seen).as("%s, %d a page", conditions.get(i), limit).containsExactlyElementsOf(expected);
                    assertThat(store.count(q)).isEqualTo(expected.size());
                    walks++;
                }
            }
        }
        return walks;
    }

    private static void ran(JsonNode node, List<String> into) {
        if (node.path("Actual Loops").asLong() == 0) {
            return;
        }
        String name = node.path("Index Name").asText(node.path("CTE Name").asText(""));
        into.add(node.path("Node Type").asText() + (name.isEmpty() ? "" : " on " + name));
        for (JsonNode child : node.path("Plans")) {
            ran(child, into);
        }
    }

    private static long count(String condition) throws SQLException {
        return PG.queryLong("SELECT count(*) FROM executions WHERE " + condition);
    }

    private static List<String> ids(String sql) throws SQLException {
        return PG.queryStrings(sql);
    }
}
