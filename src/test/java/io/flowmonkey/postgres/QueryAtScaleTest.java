package io.flowmonkey.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionQuery;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.Page;
import io.flowmonkey.testing.Plans;
import io.flowmonkey.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The query API and purge on a table of 1,000,000 executions, generated in SQL: every documented
 * filter combination's first page is planned without a sequential scan or a sort (EXPLAIN), pages deep
 * in the order cost what the first costs, counts of up to 10,000 matches are quick, the estimate is
 * close, and a purge of ended rows in batches leaves concurrent saves unblocked. Figures go to the log
 * (logger {@code io.flowmonkey.postgres.QueryAtScaleTest}); bounds on time are generous, as the machine
 * is shared, but far below what a sequential scan of the table costs.
 */
@Tag("slow")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class QueryAtScaleTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    private static final Logger LOG = LoggerFactory.getLogger(QueryAtScaleTest.class);
    private static final int ROWS = 1_000_000;
    /** The generated rows are created from here on, one every 2.592 s: thirty days in all. */
    private static final Instant BASE = Instant.parse("2026-01-01T00:00:00Z");
    private static final long STEP_MS = 2_592;
    private static final Instant MID = BASE.plusMillis(STEP_MS * ROWS / 2);
    private static final ObjectMapper MAPPER = new ObjectMapper();
    /** Runs per measured query; the median is reported and bounded. */
    private static final int RUNS = 21;
    /** Far above the 10 ms target, far below a scan of a million rows on this machine (about 300 ms or more). */
    private static final long BOUND_MS = 100;
    /**
     * The combinations of a metadata filter: their plan reads the created index in order for a bounded
     * head, then the GIN index when the head did not fill the page, whose matches it sorts (as many as the
     * planner estimates the value to have: the sort runs only when they are few).
     */
    private static final Set<String> METADATA = Set.of("metadata", "status+metadata");
    /**
     * Queries whose page after their last match reads the rest of the index they read in order where
     * V12's BRIN index is missing (PostgreSQL 15): an updated range has no lower bound on created_at (a
     * row created long ago may be updated now), so the position half-way down the table, below every
     * match of an "updated since" query, is such a page. There it is measured and logged, and bounded
     * only by a scan of half the index; with the BRIN index, by {@link #BOUND_MS} as any page.
     */
    private static final Set<String> READS_PAST_LAST_MATCH = Set.of("updated since");
    private static final long HALF_INDEX_BOUND_MS = 5_000;
    /** The end of the generated rows' created_at, and the start of the "updated since" query: six hours before. */
    private static final Instant END = BASE.plusMillis(STEP_MS * ROWS);
    private static final Instant SIX_HOURS_BEFORE_END = END.minus(Duration.ofHours(6));
    /** Whether V12's BRIN index on (updated_at, created_at) exists: PostgreSQL 16 and later. */
    private static boolean updatedIndex;
    /** The most rows a plan may sort: a handful of pages, found through an index. */
    private static final long SMALL_SORT = 1_000;

    private static PgExecutionStore store;

    @BeforeAll
    static void loadAMillionExecutions() throws SQLException {
        store = new PgExecutionStore(PG.dataSource());
        long started = System.nanoTime();
        try (Connection c = PG.dataSource().getConnection(); Statement st = c.createStatement()) {
            // The indexes are dropped for the load and built again from their own definitions afterwards:
            // building an index once is several times faster than maintaining it over a million inserts.
            List<String> indexes = new ArrayList<>();
            List<String> names = new ArrayList<>();
            try (ResultSet rs = st.executeQuery("""
                    SELECT indexname, indexdef FROM pg_indexes
                    WHERE schemaname = 'public' AND tablename = 'executions' AND indexname NOT IN
                      (SELECT conname FROM pg_constraint WHERE conrelid = 'executions'::regclass)""")) {
                while (rs.next()) {
                    names.add(rs.getString(1));
                    indexes.add(rs.getString(2));
                }
            }
            for (String name : names) {
                st.execute("DROP INDEX \"" + name + "\"");
            }
            st.execute("SET flowmonkey.notify = 'off'");
            st.execute("SELECT setseed(0.42)");
            // Statuses: 70 % completed, 5 % failed, 10 % waiting, 5 % running, 5 % pending, 5 % cancelled.
            // 100 tenants (10,000 rows each), 20 flows of 3 versions, 1,000 parents of 100 children each
            // (10 % of rows), 10 error codes of the failed rows, metadata region (50 values) and batch
            // (1,000 values).
            st.execute("""
                    INSERT INTO executions (id, flow_id, flow_version, tenant_id, status, current_step_id, step_count,
                      context, history, error, parent_execution_id, metadata, created_at, updated_at,
                      completed_at, failed_at, cancelled_at, version)
                    SELECT 'e' || lpad(g::text, 7, '0'), 'flow-' || (r.f %% 20), (1 + r.f %% 3)::text,
                           'tenant-' || (g %% 100), r.status, 'step-1', 3,
                           jsonb_build_object('orderId', g, 'total', 42.5), '[]',
                           CASE WHEN r.status = 'failed' THEN jsonb_build_object('code', 'E' || (g %% 10),
                             'message', 'boom', 'stepId', 'step-1', 'timestamp', r.updated) END,
                           CASE WHEN g %% 10 = 0 THEN 'p' || (g / 10 %% 1000) END,
                           jsonb_build_object('region', 'r' || (g %% 50), 'batch', g %% 1000),
                           r.created, r.updated,
                           CASE WHEN r.status = 'completed' THEN r.updated END,
                           CASE WHEN r.status = 'failed' THEN r.updated END,
                           CASE WHEN r.status = 'cancelled' THEN r.updated END, 1
                    FROM generate_series(1::bigint, %1$d) g,
                    LATERAL (SELECT %2$d + g * %3$d AS created,
                                    %2$d + g * %3$d + (random() * 3600000)::bigint AS updated,
                                    (random() * 1000)::int AS f,
                                    CASE WHEN x < 0.70 THEN 'completed' WHEN x < 0.75 THEN 'failed'
                                         WHEN x < 0.85 THEN 'waiting' WHEN x < 0.90 THEN 'running'
                                         WHEN x < 0.95 THEN 'pending' ELSE 'cancelled' END AS status
                             FROM (SELECT random() + g * 0 AS x) rx) r"""
                    .formatted(ROWS, BASE.toEpochMilli(), STEP_MS));
            long loaded = System.nanoTime();
            for (String definition : indexes) {
                st.execute(definition);
            }
            st.execute("VACUUM ANALYZE executions");
            updatedIndex = PG.queryLong("SELECT count(*) FROM pg_class WHERE relname = 'idx_executions_updated'") == 1;
            LOG.info("loaded {} rows in {} ms, rebuilt {} indexes and vacuumed in {} ms", ROWS,
                    (loaded - started) / 1_000_000, indexes.size(), (System.nanoTime() - loaded) / 1_000_000);
        }
    }

    /** The filter combinations the README documents, each with a selective and a common value where it matters. */
    private static Map<String, ExecutionQuery> documentedQueries() {
        Map<String, ExecutionQuery> q = new LinkedHashMap<>();
        q.put("all", ExecutionQuery.builder().build());
        q.put("status", ExecutionQuery.builder().status(ExecutionStatus.FAILED).build());
        q.put("statuses", ExecutionQuery.builder()
                .statuses(EnumSet.of(ExecutionStatus.FAILED, ExecutionStatus.CANCELLED, ExecutionStatus.RUNNING)).build());
        q.put("flow", ExecutionQuery.builder().flow("flow-7").build());
        q.put("flow+version", ExecutionQuery.builder().flow("flow-7", "2").build());
        q.put("tenant", ExecutionQuery.builder().tenantId("tenant-42").build());
        q.put("parent", ExecutionQuery.builder().parentExecutionId("p123").build());
        q.put("created range", ExecutionQuery.builder().createdBetween(MID.minus(Duration.ofDays(3)), MID).build());
        q.put("error code", ExecutionQuery.builder().errorCode("E3").build());
        q.put("status+tenant", ExecutionQuery.builder().status(ExecutionStatus.FAILED).tenantId("tenant-42").build());
        q.put("statuses+tenant", ExecutionQuery.builder()
                .statuses(EnumSet.of(ExecutionStatus.FAILED, ExecutionStatus.CANCELLED)).tenantId("tenant-42").build());
        q.put("status+flow", ExecutionQuery.builder().status(ExecutionStatus.WAITING).flow("flow-3").build());
        q.put("status+created range", ExecutionQuery.builder().status(ExecutionStatus.FAILED)
                .createdBetween(BASE, MID).build());
        q.put("tenant+created range", ExecutionQuery.builder().tenantId("tenant-42")
                .createdBetween(MID.minus(Duration.ofDays(7)), MID).build());
        q.put("status+updated range", ExecutionQuery.builder().status(ExecutionStatus.FAILED)
                .updatedBetween(MID.minus(Duration.ofDays(1)), MID).build());
        q.put("updated range", ExecutionQuery.builder().updatedBetween(MID.minus(Duration.ofDays(1)), MID).build());
        q.put("updated since", ExecutionQuery.builder().updatedBetween(SIX_HOURS_BEFORE_END, null).build());
        q.put("error code+tenant", ExecutionQuery.builder().errorCode("E3").tenantId("tenant-43").build());
        q.put("metadata", ExecutionQuery.builder().metadata("batch", 417).build());
        q.put("status+metadata", ExecutionQuery.builder().status(ExecutionStatus.FAILED).metadata("batch", 417).build());
        return q;
    }

    @Test
    @Order(1)
    void every_documented_filter_combination_is_planned_without_seq_scan_or_sort() throws Exception {
        Map<String, List<String>> plans = new LinkedHashMap<>();
        for (Map.Entry<String, ExecutionQuery> e : documentedQueries().entrySet()) {
            for (ExecutionQuery q : List.of(e.getValue(), e.getValue().afterPosition(new ExecutionQuery.Position(MID, "e")))) {
                List<String> nodes = new ArrayList<>();
                collectNodes(explain(q, ExecutionSql.Shape.PAGE), nodes);
                plans.put(e.getKey() + (q.position().isPresent() ? " (deep)" : ""), nodes);
            }
        }
        plans.forEach((name, plan) -> LOG.info("plan of {}: {}", name, String.join(" > ", plan)));

        // A sort is admitted only of a small set of matches that an index found (a parent's hundred
        // children, one tenant's rows of one error code), where the planner rightly prefers it to reading
        // an index in order; of the GIN index's matches of a metadata filter, read only when the head read
        // in order did not fill the page (see metadata_filters_...); and of the rows of an updated range
        // created before its start, which the BRIN index finds: the planner takes their two bounds for
        // independent and expects thousands where there are hundreds (a_page_of_updated_since_past_its_last_
        // match_... counts them).
        plans.forEach((name, nodes) -> assertThat(nodes).as("plan of %s: %s", name, nodes)
                .noneMatch(n -> n.startsWith("Seq Scan"))
                .noneMatch(n -> !METADATA.contains(name.replace(" (deep)", ""))
                        && (n.startsWith("Sort") || n.startsWith("Incremental Sort")) && sortedRows(n) > SMALL_SORT
                        && !n.endsWith(" of older_updated")));
        plans.forEach((name, nodes) -> {
            if (METADATA.contains(name.replace(" (deep)", ""))) {
                assertThat(nodes).as("plan of %s: %s", name, nodes).contains("Index Scan on idx_executions_created",
                        "Bitmap Index Scan on idx_executions_metadata_set");
            }
        });
    }

    @Test
    @Order(2)
    void metadata_values_rare_selective_and_common_fill_their_first_page_quickly_whatever_the_planner_estimates()
            throws Exception {
        // Ten rows of a rare value, spread over the table between generated rows (running: neither purged
        // nor drained below, and outside the ranges counted below).
        PG.execute("""
                INSERT INTO executions (id, flow_id, flow_version, tenant_id, status, context, metadata, created_at,
                  updated_at)
                SELECT 'e-rare-' || g, 'flow-1', '1', 'tenant-1', 'running', '{}', '{"rare": "yes"}',
                       %1$d + g * %2$d - %3$d, %1$d + g * %2$d - %3$d FROM generate_series(1::bigint, 10) g"""
                .formatted(BASE.toEpochMilli(), STEP_MS * ROWS / 10, STEP_MS / 2));
        PG.execute("ANALYZE executions");
        Map<String, ExecutionQuery> values = new LinkedHashMap<>();
        values.put("rare (10 matches)", ExecutionQuery.builder().metadata("rare", "yes").build());
        values.put("selective (1,000 matches)", ExecutionQuery.builder().metadata("batch", 417).build());
        values.put("selective, judged common (1,000)", ExecutionQuery.builder().metadata("batch", 1).build());
        values.put("common (20,000 matches)", ExecutionQuery.builder().metadata("region", "r7").build());
        values.put("failed and selective (47)", ExecutionQuery.builder().status(ExecutionStatus.FAILED)
                .metadata("batch", 417).build());

        for (Map.Entry<String, ExecutionQuery> e : values.entrySet()) {
            ExecutionQuery q = e.getValue();
            JsonNode plan = explainAnalyze(q, ExecutionSql.Shape.PAGE);
            long estimate = store.countEstimate(q);
            double ms = medianMillis(() -> store.query(q).items().size());
            double deepMs = medianMillis(() -> store.query(q.afterPosition(new ExecutionQuery.Position(MID, "e")))
                    .items().size());
            long ginRows = rowsOf(plan, "idx_executions_metadata_set");
            LOG.info("metadata, {}: first page {} ms, half-way {} ms; planner's estimate {}; head read {} rows, GIN "
                    + "index {}", e.getKey(), String.format("%.2f", ms), String.format("%.2f", deepMs), estimate,
                    rowsOf(plan, "idx_executions_created"), ginRows < 0 ? "not read" : ginRows + " matches");
            List<Execution> items = store.query(q).items();
            assertThat(items).as(e.getKey()).isNotEmpty().allMatch(q::matches);
            assertThat(ms).as("first page of %s", e.getKey()).isLessThan(BOUND_MS);
            assertThat(deepMs).as("page half-way of %s", e.getKey()).isLessThan(BOUND_MS);
            // A value that fills the page from the newest rows never reads the GIN index; one too rare to do
            // so reads it, and its matches only.
            if (e.getKey().startsWith("common")) {
                assertThat(ginRows).as("GIN index of %s", e.getKey()).isEqualTo(-1);
            } else {
                assertThat(ginRows).as("GIN index of %s", e.getKey()).isBetween(1L, 1_000L);
            }
        }
    }

    @Test
    @Order(3)
    void first_pages_and_pages_deep_in_the_order_are_fast_on_a_million_rows() {
        Map<String, double[]> figures = new LinkedHashMap<>();
        for (Map.Entry<String, ExecutionQuery> e : documentedQueries().entrySet()) {
            ExecutionQuery first = e.getValue();
            ExecutionQuery deep = first.afterPosition(new ExecutionQuery.Position(MID, "e"));
            assertThat(store.query(first).items()).as(e.getKey()).isNotEmpty();
            figures.put(e.getKey(), new double[] {medianMillis(() -> store.query(first).items().size()),
                medianMillis(() -> store.query(deep).items().size())});
        }
        figures.forEach((name, ms) -> LOG.info("median of {} runs, 50 rows, {}: first page {} ms, deep page {} ms",
                RUNS, name, String.format("%.2f", ms[0]), String.format("%.2f", ms[1])));

        figures.forEach((name, ms) -> {
            long bound = BOUND_MS;
            assertThat(ms[0]).as("first page of %s", name).isLessThan(bound);
            assertThat(ms[1]).as("deep page of %s", name).isLessThan(READS_PAST_LAST_MATCH.contains(name)
                    && !updatedIndex ? HALF_INDEX_BOUND_MS : bound);
        });
    }

    @Test
    @Order(3)
    void a_page_of_updated_since_past_its_last_match_reads_no_index_to_its_end() throws Exception {
        ExecutionQuery since = ExecutionQuery.builder().updatedBetween(SIX_HOURS_BEFORE_END, null).build();
        // Half-way down the order: every row updated in the last six hours was created in the last seven.
        ExecutionQuery past = since.afterPosition(new ExecutionQuery.Position(MID, "e"));
        JsonNode firstRun = explainAnalyze(since);
        JsonNode pastRun = explainAnalyze(past);
        List<String> firstNodes = new ArrayList<>();
        collectRunNodes(firstRun, firstNodes);
        List<String> pastNodes = new ArrayList<>();
        collectRunNodes(pastRun, pastNodes);
        List<String> countNodes = new ArrayList<>();
        collectNodes(explain(since, ExecutionSql.Shape.COUNT), countNodes);
        double firstMs = medianMillis(() -> store.query(since).items().size());
        double pastMs = medianMillis(() -> store.query(past).items().size());
        double countMs = medianMillis(() -> store.count(since));
        long matches = countSql("SELECT count(*) FROM executions WHERE updated_at >= " + SIX_HOURS_BEFORE_END.toEpochMilli());
        long createdBefore = countSql("SELECT count(*) FROM executions WHERE updated_at >= "
                + SIX_HOURS_BEFORE_END.toEpochMilli() + " AND created_at < " + SIX_HOURS_BEFORE_END.toEpochMilli());
        LOG.info("updated since (the last 6 hours, {} matches, {} of them created before): first page {} ms, {} "
                + "buffers, {}; page past the last match {} ms, {} buffers, {}; count {} ms, {}", matches, createdBefore,
                String.format("%.2f", firstMs), buffers(firstRun), String.join(" > ", firstNodes),
                String.format("%.2f", pastMs), buffers(pastRun), String.join(" > ", pastNodes),
                String.format("%.2f", countMs), String.join(" > ", countNodes));

        assertThat(store.query(since).items()).hasSize(ExecutionQuery.DEFAULT_LIMIT)
                .allSatisfy(e -> assertThat(e.updatedAt()).isAfterOrEqualTo(SIX_HOURS_BEFORE_END));
        assertThat(store.query(past).items()).isEmpty();
        assertThat(store.count(since)).isEqualTo(matches);
        assertThat(firstNodes).noneMatch(n -> n.startsWith("Seq Scan"));
        assertThat(pastNodes).noneMatch(n -> n.startsWith("Seq Scan"));
        if (updatedIndex) {
            // The planner's choice for the rows created before the start, custom and generic (pgjdbc prepares
            // a statement on the server from its fifth run; PostgreSQL may then plan it once for any
            // values), with a status too, and starting half-way, where the planner, taking the two bounds
            // for independent, expects a quarter of the table.
            ExecutionQuery failedSince = ExecutionQuery.builder().status(ExecutionStatus.FAILED)
                    .updatedBetween(SIX_HOURS_BEFORE_END, null).build();
            ExecutionQuery sinceMid = ExecutionQuery.builder().updatedBetween(MID, null).build();
            for (ExecutionQuery q : List.of(since, past, failedSince, failedSince.afterPosition(
                    new ExecutionQuery.Position(MID, "e")), sinceMid, sinceMid.afterPosition(new ExecutionQuery.Position(MID, "e")))) {
                for (boolean generic : new boolean[] {false, true}) {
                    List<String> nodes = new ArrayList<>();
                    collectNodes(generic ? explainGeneric(q) : explain(q, ExecutionSql.Shape.PAGE), nodes);
                    assertThat(nodes).as("%s plan of %s: %s", generic ? "generic" : "custom", q, nodes)
                            .noneMatch(n -> n.startsWith("Seq Scan"))
                            .containsSubsequence("Bitmap Index Scan on idx_executions_updated", "Merge Append");
                }
            }
            // The old plan read 37,000 buffers (the rest of the created index and the heap rows it points to).
            assertThat(pastNodes).anyMatch(n -> n.contains("on idx_executions_updated"));
            assertThat(buffers(pastRun)).isLessThan(1_000);
            assertThat(buffers(firstRun)).isLessThan(2_000);
            // What the sort of the rows created before the start sorts: those rows, not the table's.
            assertThat(firstNodes).filteredOn(n -> n.startsWith("CTE Scan on older_updated"))
                    .singleElement().satisfies(n -> assertThat(actualRows(n)).isEqualTo(createdBefore));
            assertThat(countNodes).noneMatch(n -> n.startsWith("Seq Scan"));
            assertThat(firstMs).isLessThan(BOUND_MS);
            assertThat(pastMs).isLessThan(BOUND_MS);
            assertThat(countMs).isLessThan(BOUND_MS);
        } else {
            // PostgreSQL 15: the usual plan, which reads the created index to its end past the last match.
            assertThat(pastNodes).anyMatch(n -> n.startsWith("Index Scan on idx_executions_created"));
            assertThat(pastMs).isLessThan(HALF_INDEX_BOUND_MS);
        }
    }

    @Test
    @Order(4)
    void walking_a_thousand_pages_deep_by_cursor_costs_no_more_per_page() {
        ExecutionQuery q = ExecutionQuery.builder().status(ExecutionStatus.COMPLETED).limit(100).build();
        Page<Execution> page = store.query(q);
        long started = System.nanoTime();
        int pages = 1;
        for (; pages < 1_000 && page.hasNext(); pages++) {
            page = store.query(q.after(page.nextCursor()));
        }
        double perPage = (System.nanoTime() - started) / 1e6 / (pages - 1);
        double atDepth = medianMillis(() -> store.query(q.after(store.query(q).nextCursor())).items().size()) / 2;
        LOG.info("walked {} pages of 100 completed executions: {} ms per page; page 2 alone {} ms",
                pages, String.format("%.2f", perPage), String.format("%.2f", atDepth));

        assertThat(pages).isEqualTo(1_000);
        assertThat(page.items()).hasSize(100);
        assertThat(perPage).isLessThan(BOUND_MS);
    }

    @Test
    @Order(5)
    void counts_of_up_to_ten_thousand_matches_are_fast_and_the_estimate_is_close() throws Exception {
        Map<String, ExecutionQuery> counted = new LinkedHashMap<>();
        counted.put("tenant (10,000)", ExecutionQuery.builder().tenantId("tenant-42").build());
        counted.put("error code (5,000)", ExecutionQuery.builder().errorCode("E3").build());
        counted.put("status+tenant (500)", ExecutionQuery.builder().status(ExecutionStatus.FAILED).tenantId("tenant-42").build());
        counted.put("parent (100)", ExecutionQuery.builder().parentExecutionId("p123").build());
        counted.put("created range (10,000)", ExecutionQuery.builder()
                .createdBetween(MID, MID.plusMillis(STEP_MS * 10_000)).build());
        for (Map.Entry<String, ExecutionQuery> e : counted.entrySet()) {
            long exact = store.count(e.getValue());
            long estimate = store.countEstimate(e.getValue());
            double ms = medianMillis(() -> store.count(e.getValue()));
            double estimateMs = medianMillis(() -> store.countEstimate(e.getValue()));
            LOG.info("count of {}: {} in {} ms; estimate {} in {} ms", e.getKey(), exact, String.format("%.2f", ms),
                    estimate, String.format("%.2f", estimateMs));
            assertThat(exact).as(e.getKey()).isBetween(50L, 10_000L);
            assertThat(ms).as("count of %s", e.getKey()).isLessThan(BOUND_MS);
            assertThat((double) estimate).as("estimate of %s", e.getKey()).isBetween(exact / 3.0, exact * 3.0);
        }
        // V11: the error code is a column of the index, so its count reads the index alone, and the table
        // only for pages the visibility map does not mark all-visible (none, after the load's VACUUM).
        ExecutionQuery byCode = ExecutionQuery.builder().errorCode("E3").build();
        List<String> countNodes = new ArrayList<>();
        collectNodes(explain(byCode, ExecutionSql.Shape.COUNT), countNodes);
        JsonNode scan = nodeOf(explainAnalyze(byCode, ExecutionSql.Shape.COUNT), "idx_executions_error_codes");
        LOG.info("count by error code: plan {}; {} rows, heap fetches {}", String.join(" > ", countNodes),
                scan.path("Actual Rows").asLong(), scan.path("Heap Fetches").asLong());
        assertThat(countNodes).contains("Index Only Scan on idx_executions_error_codes");
        assertThat(scan.path("Heap Fetches").asLong()).isLessThan(scan.path("Actual Rows").asLong() / 10);

        ExecutionQuery completed = ExecutionQuery.builder().status(ExecutionStatus.COMPLETED).build();
        long estimate = store.countEstimate(completed);
        double estimateMs = medianMillis(() -> store.countEstimate(completed));
        long exact = store.count(completed);
        LOG.info("count of completed: {}; estimate {} in {} ms", exact, estimate, String.format("%.2f", estimateMs));
        assertThat((double) estimate).isBetween(exact * 0.9, exact * 1.1);
        assertThat(estimateMs).isLessThan(BOUND_MS);
    }

    @Test
    @Order(5)
    void an_updated_range_finds_exactly_the_rows_updated_in_it_through_the_created_bound() throws SQLException {
        Instant from = MID.minus(Duration.ofDays(1));
        ExecutionQuery q = ExecutionQuery.builder().updatedBetween(from, MID).limit(1_000).build();
        long expected = countSql("SELECT count(*) FROM executions WHERE updated_at >= " + from.toEpochMilli()
                + " AND updated_at < " + MID.toEpochMilli());
        assertThat(store.count(q)).isEqualTo(expected);
        Page<Execution> page = store.query(q);
        assertThat(page.items()).hasSize(1_000).allSatisfy(e -> assertThat(e.updatedAt()).isBetween(from,
                MID.minusMillis(1)));
    }

    /**
     * The worst case of "updated since" with V12's index: rows created long before the start and saved
     * after it, spread over the table. Each makes the BRIN index select its block range (16 pages), and
     * all of them are sorted for every page. Measured with 1,000 such rows, one every 900 rows (each in a
     * range of its own: a quarter of the table's ranges), then 9,000, one every 100 (every range); pages
     * and counts stay exact.
     */
    @Test
    // After the other reads: its updates leave pages no longer all-visible, which index-only counts read.
    @Order(6)
    void old_rows_saved_after_the_start_of_updated_since_are_found_at_the_cost_of_reading_their_ranges()
            throws Exception {
        Instant from = SIX_HOURS_BEFORE_END;
        ExecutionQuery since = ExecutionQuery.builder().updatedBetween(from, null).build();
        ExecutionQuery deep = since.afterPosition(new ExecutionQuery.Position(MID, "e"));
        String expected = "SELECT id FROM executions WHERE updated_at >= " + from.toEpochMilli();
        List<String> figures = new ArrayList<>();
        for (int spread : new int[] {1_000, 9_000}) {
            // Rows of the first 29 days (created before the start), one in every 29 or 29 * 9 / 10: HOT updates.
            PG.execute("UPDATE executions SET updated_at = " + END.toEpochMilli() + " + g FROM generate_series(1, "
                    + spread + ") g WHERE id = 'e' || lpad((g * " + (900_000 / spread) + " - 7)::text, 7, '0')");
            PG.execute("ANALYZE executions");
            long matches = countSql("SELECT count(*) FROM (" + expected + ") m");
            assertThat(store.count(since)).isEqualTo(matches);
            assertThat(store.query(since).items()).extracting(Execution::id)
                    .containsExactlyElementsOf(ids(expected + " ORDER BY created_at DESC, id DESC LIMIT 50"));
            assertThat(store.query(deep).items()).extracting(Execution::id).containsExactlyElementsOf(ids(expected
                    + " AND (created_at, id) < (" + MID.toEpochMilli() + ", 'e') ORDER BY created_at DESC, id DESC LIMIT 50"));
            double firstMs = medianMillis(() -> store.query(since).items().size());
            double deepMs = medianMillis(() -> store.query(deep).items().size());
            figures.add(String.format("%,d old rows saved since (%,d matches): first page %.2f ms (%d buffers), "
                    + "page half-way %.2f ms (%d buffers)", countSql("SELECT count(*) FROM (" + expected + ") m "
                    + "WHERE id < 'e0900000'"), matches, firstMs, buffers(explainAnalyze(since)), deepMs,
                    buffers(explainAnalyze(deep))));
            assertThat(firstMs).isLessThan(HALF_INDEX_BOUND_MS);
        }
        figures.forEach(f -> LOG.info("updated since, worst case: {}", f));
    }

    @Test
    @Order(5)
    void the_consoles_counts_per_minute_of_an_hour_read_index_ranges_only() throws Exception {
        Instant from = MID.minus(Duration.ofHours(1));
        ExecutionSql sql = new ExecutionSql(PgStoreOptions.defaults());
        List<String> ended = new ArrayList<>();
        collectNodes(explainSql(sql.endedPerMinute(), from.toEpochMilli(), MID.toEpochMilli()), ended);
        List<String> created = new ArrayList<>();
        collectNodes(explainSql(sql.createdPerMinute(), from.toEpochMilli(), MID.toEpochMilli()), created);
        List<PgExecutionStore.MinuteCounts> minutes = store.countsPerMinute(from, 60);
        double ms = medianMillis(() -> store.countsPerMinute(from, 60).size());
        LOG.info("counts per minute of an hour ({} created, {} completed): {} ms; plans {} and {}",
                minutes.stream().mapToLong(PgExecutionStore.MinuteCounts::created).sum(),
                minutes.stream().mapToLong(PgExecutionStore.MinuteCounts::completed).sum(), String.format("%.2f", ms),
                String.join(" > ", ended), String.join(" > ", created));

        assertThat(ended).noneMatch(n -> n.startsWith("Seq Scan")).anyMatch(n -> n.contains("idx_executions_ended"));
        assertThat(created).noneMatch(n -> n.startsWith("Seq Scan")).anyMatch(n -> n.contains("idx_executions_created"));
        assertThat(minutes).hasSize(60);
        assertThat(minutes.stream().mapToLong(PgExecutionStore.MinuteCounts::created).sum()).isEqualTo(countSql(
                "SELECT count(*) FROM executions WHERE created_at >= " + from.toEpochMilli() + " AND created_at < "
                        + MID.toEpochMilli()));
        assertThat(minutes.stream().mapToLong(PgExecutionStore.MinuteCounts::failed).sum()).isEqualTo(countSql(
                "SELECT count(*) FROM executions WHERE status = 'failed' AND failed_at >= " + from.toEpochMilli()
                        + " AND failed_at < " + MID.toEpochMilli()));
        assertThat(ms).isLessThan(BOUND_MS);
    }

    @Test
    @Order(7)
    void purge_deletes_old_ended_rows_in_batches_while_saves_go_on_and_vacuum_reclaims_them() throws Exception {
        Instant cutoff = MID;
        long expected = countSql("SELECT count(*) FROM executions WHERE status IN ('completed', 'failed', 'cancelled') "
                + "AND coalesce(completed_at, failed_at, cancelled_at) < " + cutoff.toEpochMilli());
        long live = countSql("SELECT count(*) FROM executions") - expected;
        // One connection, so that its statistics can be flushed for the dead-tuple figures below.
        Clock at = Clock.fixed(cutoff.plus(Duration.ofDays(1)), ZoneOffset.UTC);
        javax.sql.DataSource one = PG.newDataSource(1);
        PgExecutionStore purging = new PgExecutionStore(one, PgStoreOptions.builder().clock(at).build());
        // Autovacuum would start on the purged rows at once (V7's 5 % threshold) and make the dead-tuple
        // count after the purge depend on its timing; the test's own VACUUM below is the one measured.
        PG.execute("ALTER TABLE executions SET (autovacuum_enabled = false)");
        long deadBefore = deadTuples(one);
        AtomicBoolean purgeDone = new AtomicBoolean();
        AtomicLong saves = new AtomicLong();
        AtomicLong slowestSaveNanos = new AtomicLong();
        CountDownLatch writing = new CountDownLatch(1);
        List<Throwable> writerFailures = new ArrayList<>();
        Thread writer = new Thread(() -> {
            try {
                for (int i = 0; !purgeDone.get(); i++) {
                    long t = System.nanoTime();
                    Execution created = store.save(Execution.builder("w" + i, "flow-1", "1").build());
                    store.save(created.toBuilder().status(ExecutionStatus.RUNNING).build());
                    slowestSaveNanos.accumulateAndGet((System.nanoTime() - t) / 2, Math::max);
                    saves.addAndGet(2);
                    writing.countDown();
                }
            } catch (Throwable t) {
                writerFailures.add(t);
                writing.countDown();
            }
        }, "writer-beside-purge");
        writer.start();
        writing.await();

        long started = System.nanoTime();
        int removed = assertTimeoutPreemptively(Duration.ofSeconds(180),
                () -> purging.purge(Duration.ofDays(1), PgExecutionStore.ENDED, 1_000));
        double seconds = (System.nanoTime() - started) / 1e9;
        purgeDone.set(true);
        writer.join(30_000);

        long deadAfterPurge = deadTuples(one);
        try (Connection c = one.getConnection(); Statement st = c.createStatement()) {
            st.execute("VACUUM executions");
        }
        long deadAfterVacuum = deadTuples(one);
        PG.execute("ALTER TABLE executions RESET (autovacuum_enabled)");
        LOG.info("purge removed {} of {} rows in {} s ({} rows/s) in batches of 1,000; meanwhile {} saves, slowest "
                + "{} ms; n_dead_tup before {}, after purge {}, after VACUUM {}", removed, ROWS,
                String.format("%.1f", seconds), Math.round(removed / seconds), saves.get(),
                String.format("%.1f", slowestSaveNanos.get() / 1e6), deadBefore, deadAfterPurge, deadAfterVacuum);

        assertThat(writerFailures).isEmpty();
        assertThat(removed).isEqualTo(expected);
        assertThat(countSql("SELECT count(*) FROM executions WHERE id LIKE 'e%'")).isEqualTo(live);
        assertThat(saves.get()).isGreaterThan(10);
        assertThat(slowestSaveNanos.get()).as("no save waited for the purge").isLessThan(Duration.ofSeconds(2).toNanos());
        assertThat(deadAfterPurge).isGreaterThanOrEqualTo(expected);
        assertThat(deadAfterVacuum).isLessThan(expected / 100);
    }

    @Test
    @Order(8)
    void counts_by_error_code_and_by_status_in_a_tenant_stay_quick_while_a_worker_drains_the_table() throws Exception {
        io.flowmonkey.engine.InMemoryFlowRegistry flows = new io.flowmonkey.engine.InMemoryFlowRegistry();
        for (int f = 0; f < 20; f++) {
            for (int v = 1; v <= 3; v++) {
                flows.register(io.flowmonkey.engine.Flow.builder("flow-" + f, String.valueOf(v)).initialStep("step-1")
                        .step(io.flowmonkey.engine.Step.builder("step-1", "ok").build()).build());
            }
        }
        javax.sql.DataSource pool = PG.newDataSource(12);
        PgExecutionStore draining = new PgExecutionStore(pool);
        io.flowmonkey.engine.Engine engine = new io.flowmonkey.engine.Engine(draining,
                new io.flowmonkey.engine.HandlerRegistry().register("ok", ctx -> io.flowmonkey.engine.StepResult.success(1)),
                flows);
        ExecutionQuery errorCode = ExecutionQuery.builder().errorCode("E3").build();
        ExecutionQuery statusInTenant = ExecutionQuery.builder().status(ExecutionStatus.FAILED).tenantId("tenant-42")
                .build();
        long pendingBefore = store.count(ExecutionQuery.builder().status(ExecutionStatus.PENDING).build());
        double[] quiet = {medianMillis(() -> store.count(errorCode)), medianMillis(() -> store.count(statusInTenant))};
        double[] busy = new double[2];
        long drained;
        try (io.flowmonkey.engine.EngineWorker worker = io.flowmonkey.engine.EngineWorker.builder(engine)
                .workerId("drainer").threads(8).build().start()) {
            io.flowmonkey.testing.Await.awaitTrue(Duration.ofSeconds(60), () -> worker.stats().completed() >= 2_000);
            busy[0] = medianMillis(() -> store.count(errorCode));
            busy[1] = medianMillis(() -> store.count(statusInTenant));
            drained = worker.stats().completed();
            JsonNode scan = nodeOf(explainAnalyze(errorCode, ExecutionSql.Shape.COUNT), "idx_executions_error_codes");
            LOG.info("count by error code while the worker drains: {} of {} rows read from the table (heap fetches)",
                    scan.path("Heap Fetches").asLong(), scan.path("Actual Rows").asLong());
            assertThat(scan.path("Node Type").asText()).isEqualTo("Index Only Scan");
        }
        LOG.info("counts while a worker of 8 threads drained {} of {} pending executions: error code ({}) {} ms (quiet "
                + "{} ms), failed in a tenant ({}) {} ms (quiet {} ms)", drained, pendingBefore, store.count(errorCode),
                String.format("%.2f", busy[0]), String.format("%.2f", quiet[0]), store.count(statusInTenant),
                String.format("%.2f", busy[1]), String.format("%.2f", quiet[1]));
        assertThat(drained).isPositive();
        assertThat(busy[0]).isLessThan(BOUND_MS);
        assertThat(busy[1]).isLessThan(BOUND_MS);
    }

    private static JsonNode explainSql(String sql, long from, long before) throws Exception {
        try (Connection c = PG.dataSource().getConnection();
             PreparedStatement ps = c.prepareStatement("EXPLAIN (FORMAT JSON) " + sql)) {
            ps.setLong(1, from);
            ps.setLong(2, before);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return MAPPER.readTree(rs.getString(1)).path(0).path("Plan");
            }
        }
    }

    /**
     * The table's dead tuples as the statistics view shows them, after {@code flushing} (the session
     * that deleted or vacuumed) has sent its pending statistics: backends send them at most once a
     * second, and only when idle.
     */
    private static long deadTuples(javax.sql.DataSource flushing) throws SQLException {
        try (Connection c = flushing.getConnection(); Statement st = c.createStatement()) {
            st.execute("SELECT pg_stat_force_next_flush()");
        }
        return countSql("SELECT n_dead_tup FROM pg_stat_user_tables WHERE relid = 'executions'::regclass");
    }

    private static long countSql(String sql) throws SQLException {
        return PG.queryLong(sql);
    }

    private static double medianMillis(LongSupplier work) {
        double[] ms = new double[RUNS];
        for (int i = 0; i < RUNS; i++) {
            long t = System.nanoTime();
            work.getAsLong();
            ms[i] = (System.nanoTime() - t) / 1e6;
        }
        Arrays.sort(ms);
        return ms[RUNS / 2];
    }

    private static JsonNode explain(ExecutionQuery q, ExecutionSql.Shape shape) throws Exception {
        return plan("EXPLAIN (FORMAT JSON) ", q, shape);
    }

    /** EXPLAIN (ANALYZE, BUFFERS) of a page: the statement runs. */
    private static JsonNode explainAnalyze(ExecutionQuery q) throws Exception {
        return explainAnalyze(q, ExecutionSql.Shape.PAGE);
    }

    /** The plan of running a query's statement, with the rows each node returned and the pages it read. */
    private static JsonNode explainAnalyze(ExecutionQuery q, ExecutionSql.Shape shape) throws Exception {
        return plan("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ", q, shape);
    }

    private static JsonNode plan(String explain, ExecutionQuery q, ExecutionSql.Shape shape) throws Exception {
        ExecutionSql.Bound s = store.statementOf(q, shape);
        try (Connection c = PG.dataSource().getConnection(); PreparedStatement ps = c.prepareStatement(explain + s.sql())) {
            PgExecutionStore.bindAll(ps, s.params());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return MAPPER.readTree(rs.getString(1)).path(0).path("Plan");
            }
        }
    }

    /**
     * EXPLAIN of the plan PostgreSQL makes of a page's statement for any values (what a prepared statement
     * may run with from its sixth execution): PREPARE, then EXPLAIN EXECUTE with plan_cache_mode set to
     * force it. The parameters (numbers and text only, in these queries) are written as literals.
     */
    private static JsonNode explainGeneric(ExecutionQuery q) throws Exception {
        ExecutionSql.Bound s = store.statementOf(q, ExecutionSql.Shape.PAGE);
        StringBuilder sql = new StringBuilder();
        int n = 0;
        for (char ch : s.sql().toCharArray()) {
            sql.append(ch == '?' ? "$" + ++n : String.valueOf(ch));
        }
        List<String> values = new ArrayList<>();
        for (Object p : s.params()) {
            values.add(p instanceof String text ? "'" + text.replace("'", "''") + "'" : p.toString());
        }
        try (Connection c = PG.dataSource().getConnection(); Statement st = c.createStatement()) {
            st.execute("SET plan_cache_mode = force_generic_plan");
            st.execute("PREPARE generic_page AS " + sql);
            try (ResultSet rs = st.executeQuery("EXPLAIN (FORMAT JSON) EXECUTE generic_page(" + String.join(", ", values)
                    + ")")) {
                rs.next();
                return MAPPER.readTree(rs.getString(1)).path(0).path("Plan");
            } finally {
                st.execute("DEALLOCATE generic_page");
                st.execute("RESET plan_cache_mode");
            }
        }
    }

    /** The pages a run of a statement read, from cache or not. */
    private static long buffers(JsonNode run) {
        return run.path("Shared Hit Blocks").asLong() + run.path("Shared Read Blocks").asLong();
    }

    /** The nodes of a run that ran, as "type on index (actual rows=N)". */
    private static void collectRunNodes(JsonNode node, List<String> into) {
        if (node.path("Actual Loops").asLong() == 0) {
            return;
        }
        String index = node.path("Index Name").asText(node.path("CTE Name").asText(""));
        into.add(node.path("Node Type").asText() + (index.isEmpty() ? "" : " on " + index) + " (actual rows="
                + node.path("Actual Rows").asLong() * node.path("Actual Loops").asLong() + ")");
        for (JsonNode child : node.path("Plans")) {
            collectRunNodes(child, into);
        }
    }

    private static long actualRows(String node) {
        return Long.parseLong(node.replaceAll(".*\\(actual rows=(\\d+)\\).*", "$1"));
    }

    private static List<String> ids(String sql) throws SQLException {
        return PG.queryStrings(sql);
    }

    /** The rows the node that read {@code index} returned, or -1 when it never ran (or is not in the plan). */
    private static long rowsOf(JsonNode plan, String index) {
        JsonNode node = nodeOf(plan, index);
        return node == null || node.path("Actual Loops").asLong() == 0 ? -1 : node.path("Actual Rows").asLong();
    }

    /** The first node of the plan that reads {@code index}, or null. */
    private static JsonNode nodeOf(JsonNode plan, String index) {
        return Plans.first(plan, n -> index.equals(n.path("Index Name").asText()));
    }

    private static long sortedRows(String node) {
        return Long.parseLong(node.replaceAll(".*\\(rows=(\\d+)\\).*", "$1"));
    }

    /**
     * The plan's nodes, as "type on index (rows=estimate)", leaving out what an updated range's one-time
     * filter on V12's index never runs on this server: the branches for a table without it where it
     * exists, and the other way round. A sort of a CTE's rows ends with " of" the CTE's name.
     */
    private static void collectNodes(JsonNode node, List<String> into) {
        String guard = node.path("One-Time Filter").asText("");
        if (guard.contains("idx_executions_updated")
                && (guard.contains("IS NULL") || guard.contains("NOT (to_regclass")) == updatedIndex) {
            return;
        }
        String index = node.path("Index Name").asText(node.path("CTE Name").asText(""));
        String type = node.path("Node Type").asText();
        into.add(type + (index.isEmpty() ? "" : " on " + index)
                + (type.endsWith("Sort") ? " (rows=" + node.path("Plan Rows").asLong() + ")" + sortedCte(node) : ""));
        for (JsonNode child : node.path("Plans")) {
            collectNodes(child, into);
        }
    }

    /** " of" the CTE a sort reads, through any Result nodes; empty when it sorts something else. */
    private static String sortedCte(JsonNode sort) {
        JsonNode input = sort.path("Plans").path(0);
        while ("Result".equals(input.path("Node Type").asText())) {
            input = input.path("Plans").path(0);
        }
        return "CTE Scan".equals(input.path("Node Type").asText()) ? " of " + input.path("CTE Name").asText() : "";
    }
}
