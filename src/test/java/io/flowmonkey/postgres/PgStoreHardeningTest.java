package io.flowmonkey.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.flowmonkey.execution.DuplicateIdempotencyKeyException;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionDataException;
import io.flowmonkey.execution.ExecutionError;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.ExecutionStore;
import io.flowmonkey.execution.StoreException;
import io.flowmonkey.execution.StoreUnavailableException;
import io.flowmonkey.execution.WaitMetadata;
import io.flowmonkey.testing.PostgresExtension;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 9 on the PostgreSQL store: writes and reads agree on the JSON limits (class 2), the caller's
 * mapper is honoured and what JSONB would change is refused (class 4), one corrupt row can be paged
 * past (class 6), and errors say what happened (class 9).
 */
class PgStoreHardeningTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    private static final Instant T0 = Instant.parse("2026-03-01T10:15:30.123Z");
    private static final AtomicInteger IDS = new AtomicInteger();

    private PgExecutionStore store;

    @BeforeEach
    void emptyTable() throws SQLException {
        PG.truncate("executions");
        store = new PgExecutionStore(PG.dataSource());
    }

    private static Execution.Builder execution() {
        return Execution.builder("hd-" + IDS.incrementAndGet(), "flow", "1").createdAt(T0).updatedAt(T0);
    }

    private static void assertRefused(PgExecutionStore s, Execution e, String column, String... words) {
        ExecutionDataException ex = catchThrowableOfType(ExecutionDataException.class, () -> s.save(e));
        assertThat(ex).as("save of %s", e.id()).isNotNull();
        assertThat(ex.executionId()).isEqualTo(e.id());
        assertThat(ex.column()).isEqualTo(column);
        assertThat(ex).hasMessageContaining(e.id()).hasMessageContaining(column);
        for (String word : words) {
            assertThat(ex).hasMessageContaining(word);
        }
        assertThat(s.load(e.id())).as("nothing written").isEmpty();
    }

    // --- class 2: written but unreadable ---

    @Test
    void values_beyond_the_default_read_limits_are_refused_before_writing_naming_id_and_column() {
        String overStringLimit = "x".repeat(PgStoreOptions.DEFAULT_MAX_STRING_LENGTH + 1);
        String overNameLimit = "k".repeat(PgStoreOptions.DEFAULT_MAX_NAME_LENGTH + 1);
        BigInteger thousandAndOneDigits = BigInteger.TEN.pow(1_000);

        assertRefused(store, execution().context(Map.of("blob", overStringLimit)).build(), "context",
                "/blob", "maxStringLength");
        assertRefused(store, execution().metadata(Map.of(overNameLimit, 1)).build(), "metadata", "maxNameLength");
        assertRefused(store, execution().context(Map.of("n", thousandAndOneDigits)).build(), "context",
                "maxNumberLength");
        // Short in scientific notation, but PostgreSQL gives numbers back in plain form.
        assertRefused(store, execution().context(Map.of("n", new BigDecimal("1E+1000"))).build(), "context",
                "maxNumberLength");
        assertRefused(store, execution().context(Map.of("n", new BigDecimal("1E-1000"))).build(), "context",
                "maxNumberLength");
        assertRefused(store, execution().error(new ExecutionError("E", overStringLimit, null, null, T0)).build(),
                "error", "maxStringLength");
        assertThat(store.findByStatus(ExecutionStatus.PENDING)).isEmpty();
    }

    @Test
    void a_refusal_deep_in_a_value_names_the_pointer_of_that_key_or_string_and_no_sibling() {
        // The writer builds the pointer only when it refuses; these pin that it is still the right one.
        String longKey = "k".repeat(PgStoreOptions.DEFAULT_MAX_NAME_LENGTH + 1);
        Map<String, Object> inner = new LinkedHashMap<>();
        inner.put("first", 1);
        inner.put(longKey, 2);
        Map<String, Object> context = new LinkedHashMap<>();
        context.put("before", "fine");
        context.put("outer", inner);
        ExecutionDataException key = catchThrowableOfType(ExecutionDataException.class,
                () -> store.save(execution().context(context).build()));
        assertThat(key).hasMessageContaining("at /outer/" + "k".repeat(33) + "...:")
                .hasMessageNotContaining("/first").hasMessageNotContaining("/before");

        String overStringLimit = "x".repeat(PgStoreOptions.DEFAULT_MAX_STRING_LENGTH + 1);
        assertRefused(store, execution().context(Map.of("items", List.of("ok", Map.of("s", overStringLimit)))).build(),
                "context", "at /items/1/s:", "maxStringLength");
        assertRefused(store, execution().metadata(Map.of("list", List.of("a", "b\0c"))).build(), "metadata",
                "at /list/1:", "NUL");
        assertRefused(store, execution().metadata(Map.of("list", List.of("a\0b"))).build(), "metadata",
                "at /list/0:", "NUL");
        assertRefused(store, execution().context(Map.of("o", Map.of("bad\0key", 1))).build(), "context",
                "at /o/bad", "NUL");
        assertThat(store.findByStatus(ExecutionStatus.PENDING)).isEmpty();
    }

    @Test
    void values_at_the_default_read_limits_round_trip() {
        String atStringLimit = "é".repeat(PgStoreOptions.DEFAULT_MAX_STRING_LENGTH);
        BigInteger thousandDigits = BigInteger.TEN.pow(999);
        BigDecimal tiny = new BigDecimal("1E-998");

        Execution e = store.save(execution().context(Map.of("blob", atStringLimit, "big", thousandDigits,
                "tiny", tiny, "k".repeat(PgStoreOptions.DEFAULT_MAX_NAME_LENGTH), true)).build());

        Map<String, Object> loaded = store.load(e.id()).orElseThrow().context();
        assertThat(loaded.get("blob")).isEqualTo(atStringLimit);
        assertThat(loaded.get("big")).isEqualTo(thousandDigits);
        assertThat(loaded.get("tiny")).isEqualTo(tiny);
        assertThat(loaded).containsKey("k".repeat(PgStoreOptions.DEFAULT_MAX_NAME_LENGTH));
    }

    @Test
    void limits_set_in_the_options_apply_to_writing_and_reading_alike() throws SQLException {
        PgStoreOptions tight = PgStoreOptions.builder().maxStringLength(40).maxNameLength(32).maxNumberLength(20)
                .maxNestingDepth(3).build();
        PgExecutionStore small = new PgExecutionStore(PG.dataSource(), tight);

        assertRefused(small, execution().context(Map.of("s", "x".repeat(41))).build(), "context", "maxStringLength 40");
        assertRefused(small, execution().context(Map.of("k".repeat(33), 1)).build(), "context", "maxNameLength 32");
        assertRefused(small, execution().context(Map.of("n", BigInteger.TEN.pow(20))).build(), "context",
                "maxNumberLength 20");
        assertRefused(small, execution().context(Map.of("n", 1.0E-19)).build(), "context", "maxNumberLength 20");
        // {"a": {"b": [[1]]}} opens four containers; three are allowed.
        assertRefused(small, execution().context(Map.of("a", Map.of("b", List.of(List.of(1))))).build(), "context",
                "nesting depth");
        // wait_metadata's data is one level down in its column.
        assertRefused(small, execution().waitMetadata(new WaitMetadata(null, "r", null,
                Map.of("a", Map.of("b", List.of(1))))).build(), "wait_metadata", "nesting depth");
        Execution fits = small.save(execution().context(Map.of("s", "x".repeat(40), "n", Long.MIN_VALUE,
                "k".repeat(32), Map.of("b", List.of()))).timeoutConfig(new io.flowmonkey.execution.TimeoutConfig(
                java.time.Duration.ofDays(1), null))
                .history(List.of(new io.flowmonkey.execution.StepHistory("s", "h", "failure", T0, T0, 0,
                        Map.of("code", "E")))).build());
        assertThat(small.load(fits.id()).orElseThrow()).isEqualTo(fits.toBuilder().updatedAt(
                small.load(fits.id()).orElseThrow().updatedAt()).build());

        // A row written by a store with the default limits is too much for these: reported, not crashed.
        Execution roomy = store.save(execution().context(Map.of("s", "x".repeat(41))).build());
        ExecutionDataException e = catchThrowableOfType(ExecutionDataException.class, () -> small.load(roomy.id()));
        assertThat(e.column()).isEqualTo("context");
        assertThat(e.executionId()).isEqualTo(roomy.id());
    }

    @Test
    void raised_limits_let_larger_values_round_trip() {
        PgExecutionStore roomy = new PgExecutionStore(PG.dataSource(),
                PgStoreOptions.builder().maxNumberLength(5_000).build());
        BigInteger fourThousandDigits = BigInteger.TEN.pow(3_999).add(BigInteger.ONE);

        Execution e = roomy.save(execution().context(Map.of("n", fourThousandDigits)).build());

        assertThat(roomy.load(e.id()).orElseThrow().context()).containsEntry("n", fourThousandDigits);
    }

    @Test
    void limits_out_of_range_are_refused_where_they_are_set() {
        assertThatThrownBy(() -> PgStoreOptions.builder().maxStringLength(PgStoreOptions.MIN_STRING_LENGTH - 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxStringLength");
        assertThatThrownBy(() -> PgStoreOptions.builder().maxNameLength(PgStoreOptions.MAX_STRING_LENGTH_LIMIT + 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxNameLength");
        assertThatThrownBy(() -> PgStoreOptions.builder().maxNumberLength(16_384))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("16383");
        assertThatThrownBy(() -> PgStoreOptions.builder().maxNestingDepth(Execution.MAX_NESTING_DEPTH + 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxNestingDepth");
        assertThat(PgStoreOptions.defaults().maxNestingDepth()).isEqualTo(Execution.MAX_NESTING_DEPTH);
    }

    // --- class 4: silently changed data, where only the JSON writer can see it ---

    public static final class Reading {
        private final double value;

        Reading(double value) {
            this.value = value;
        }

        public double getValue() {
            return value;
        }

        public String getLabel() {
            return "\uD800 lone";
        }
    }

    public static final class NoProperties {
    }

    @Test
    void a_pojo_whose_json_would_change_is_refused_by_the_writer_naming_the_pointer() {
        assertRefused(store, execution().context(Map.of("r", new Reading(Double.NaN))).build(), "context",
                "/r/value", "NaN");
        assertRefused(store, execution().context(Map.of("r", new Reading(1.5))).build(), "context",
                "/r/label", "unpaired surrogate");
    }

    @Test
    void an_object_without_properties_follows_the_callers_FAIL_ON_EMPTY_BEANS() {
        PgExecutionStore strict = new PgExecutionStore(PG.dataSource(), PgStoreOptions.builder()
                .objectMapper(new ObjectMapper().enable(SerializationFeature.FAIL_ON_EMPTY_BEANS)).build());
        PgExecutionStore lenient = new PgExecutionStore(PG.dataSource(), PgStoreOptions.builder()
                .objectMapper(new ObjectMapper().disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)).build());

        assertRefused(strict, execution().context(Map.of("empty", new NoProperties())).build(), "context",
                "NoProperties");
        assertRefused(store, execution().context(Map.of("empty", new NoProperties())).build(), "context");
        Execution asked = lenient.save(execution().context(Map.of("empty", new NoProperties())).build());
        assertThat(lenient.load(asked.id()).orElseThrow().context()).containsEntry("empty", Map.of());
    }

    // --- class 6: one corrupt row does not make a page unusable ---

    @Test
    void skippingUnreadableRows_pages_past_a_corrupt_row_and_names_it() throws SQLException {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            ids.add(store.save(execution().status(ExecutionStatus.FAILED).createdAt(T0.plusSeconds(i)).build()).id());
        }
        String corrupt = ids.get(1);
        PG.execute("UPDATE executions SET history = '{\"not\": \"a list\"}' WHERE id = '" + corrupt + "'");
        assertThatThrownBy(() -> store.findByStatus(ExecutionStatus.FAILED)).isInstanceOf(ExecutionDataException.class)
                .hasMessageContaining(corrupt);
        List<ExecutionDataException> skipped = new ArrayList<>();
        PgExecutionStore lenient = store.skippingUnreadableRows(skipped::add);

        assertThat(lenient.findByStatus(ExecutionStatus.FAILED)).extracting(Execution::id)
                .containsExactly(ids.get(2), ids.get(0));
        assertThat(skipped).singleElement().satisfies(e -> {
            assertThat(e.executionId()).isEqualTo(corrupt);
            assertThat(e.column()).isEqualTo("history");
        });
        assertThat(lenient.findByStatus(ExecutionStatus.FAILED, 1)).extracting(Execution::id)
                .containsExactly(ids.get(2));
        assertThatThrownBy(() -> lenient.load(corrupt)).as("a lookup of that one row still says why")
                .isInstanceOf(ExecutionDataException.class);
        List<Execution> inTransaction = lenient.inTransaction(tx -> tx.findByStatus(ExecutionStatus.FAILED));
        assertThat(inTransaction).hasSize(2);
    }

    // --- class 9: errors that say what happened ---

    @Test
    void a_corrupt_text_column_is_reported_with_its_own_column_not_row() throws SQLException {
        Execution blankFlow = store.save(execution().build());
        Execution blankTenant = store.save(execution().build());
        Execution negativeSteps = store.save(execution().build());
        PG.execute("UPDATE executions SET flow_id = '' WHERE id = '" + blankFlow.id() + "'");
        PG.execute("UPDATE executions SET tenant_id = ' ' WHERE id = '" + blankTenant.id() + "'");
        PG.execute("UPDATE executions SET step_count = -1 WHERE id = '" + negativeSteps.id() + "'");

        assertThat(catchThrowableOfType(ExecutionDataException.class, () -> store.load(blankFlow.id())).column())
                .isEqualTo("flow_id");
        assertThat(catchThrowableOfType(ExecutionDataException.class, () -> store.load(blankTenant.id())).column())
                .isEqualTo("tenant_id");
        assertThat(catchThrowableOfType(ExecutionDataException.class, () -> store.load(negativeSteps.id())).column())
                .isEqualTo("step_count");
    }

    @Test
    void a_keyed_create_on_a_connection_the_server_terminated_says_connection_lost_retry() throws SQLException {
        Execution keyed = execution().idempotencyKey("after-terminate").build();
        try (Connection c = PG.newDataSource(1).getConnection()) {
            int pid;
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT pg_backend_pid()")) {
                rs.next();
                pid = rs.getInt(1);
            }
            PG.execute("SELECT pg_terminate_backend(" + pid + ")");

            StoreException e = catchThrowableOfType(StoreException.class, () -> store.using(c).save(keyed));

            assertThat(e).isInstanceOf(StoreUnavailableException.class)
                    .hasMessageContaining("connection lost, retry").hasMessageContaining(keyed.id())
                    .hasMessageNotContaining("refused");
        }
        assertThat(store.save(keyed).version()).as("a retry works").isEqualTo(1);
    }

    @Test
    void a_pooled_connection_evicted_after_the_server_ended_it_is_reported_as_lost_too() throws SQLException {
        DataSource pool = PG.newDataSource(1);
        try (Connection c = pool.getConnection()) {
            int pid;
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT pg_backend_pid()")) {
                rs.next();
                pid = rs.getInt(1);
            }
            PG.execute("SELECT pg_terminate_backend(" + pid + ")");
            ExecutionStore joined = store.using(c);
            assertThatThrownBy(() -> joined.load("first-call")).isInstanceOf(StoreUnavailableException.class);

            // HikariCP has evicted the connection now: its every call says only "Connection is closed".
            assertThatThrownBy(() -> joined.save(execution().build())).isInstanceOf(StoreUnavailableException.class)
                    .hasMessageContaining("connection lost, retry");
        }
    }

    @Test
    void a_pool_timeout_is_worded_as_such_and_not_as_a_postgresql_refusal() throws SQLException {
        DataSource tiny = PG.newDataSource(1, config -> config.setConnectionTimeout(250));
        PgExecutionStore starved = new PgExecutionStore(tiny);
        try (Connection held = tiny.getConnection()) {
            StoreException e = catchThrowableOfType(StoreException.class, () -> starved.load("anything"));

            assertThat(e).isInstanceOf(StoreUnavailableException.class)
                    .hasMessageContaining("no connection became available from the pool")
                    .hasMessageNotContaining("refused");
            assertThat(held.isValid(1)).isTrue();
        }
        assertThat(starved.load("anything")).isEmpty();
    }

    @Test
    void a_key_whose_holder_vanished_is_not_reported_as_held_by_null() {
        DuplicateIdempotencyKeyException e = new DuplicateIdempotencyKeyException("mine", "k", null);

        assertThat(e).hasMessageNotContaining("null").hasMessageContaining("findByIdempotencyKey");
    }
}
