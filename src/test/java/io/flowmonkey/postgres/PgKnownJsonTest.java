package io.flowmonkey.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionDataException;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.StepHistory;
import io.flowmonkey.internal.json.Values;
import io.flowmonkey.testing.PostgresExtension;
import java.math.BigDecimal;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Saves that send JSON the store already knows ({@code KnownJson}): an unchanged context, metadata or
 * history goes back as it was read, and a history one step longer as that text with the new entry
 * spliced in. What is stored must be exactly what encoding the whole value would store, and refused
 * where encoding it would be refused.
 */
class PgKnownJsonTest {

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
        return Execution.builder("kj-" + IDS.incrementAndGet(), "flow", "1").status(ExecutionStatus.RUNNING)
                .createdAt(T0).updatedAt(T0);
    }

    private static StepHistory entry(int i, Object error) {
        return new StepHistory("step-" + i, "h", error == null ? "success" : "failure", T0.plusMillis(i),
                T0.plusMillis(i + 1), 1, error);
    }

    private String column(String sql, String id) throws SQLException {
        return PG.queryStrings(sql.replace("?", "'" + id + "'")).get(0);
    }

    @Test
    void an_unchanged_context_and_metadata_go_back_as_they_were_read_and_a_changed_one_is_encoded() throws Exception {
        String id = store.save(execution().context(Map.of("n", 5, "s", "x")).metadata(Map.of("m", 1)).build()).id();
        // A mapper that encodes every number as a string: what it encodes is visible in the row.
        PgExecutionStore stringly = new PgExecutionStore(PG.dataSource(), PgStoreOptions.builder()
                .objectMapper(new ObjectMapper().enable(JsonGenerator.Feature.WRITE_NUMBERS_AS_STRINGS)).build());

        Execution loaded = stringly.load(id).orElseThrow();
        Execution saved = stringly.save(loaded.toBuilder().stepCount(1).build());
        assertThat(column("SELECT jsonb_typeof(context -> 'n') || ' ' || jsonb_typeof(metadata -> 'm') "
                + "FROM executions WHERE id = ?", id)).as("sent as read").isEqualTo("number number");

        stringly.save(saved.toBuilder().context(Map.of("n", 5, "t", "y")).build());
        assertThat(column("SELECT jsonb_typeof(context -> 'n') || ' ' || jsonb_typeof(metadata -> 'm') "
                + "FROM executions WHERE id = ?", id)).as("the new context encoded").isEqualTo("string number");

        // A row of a list page keeps no text (pages are not kept twice in memory): encoded again.
        String other = store.save(execution().metadata(Map.of("m", 2)).build()).id();
        Execution listed = stringly.findByStatus(ExecutionStatus.RUNNING, 10).stream()
                .filter(e -> e.id().equals(other)).findFirst().orElseThrow();
        stringly.save(listed.toBuilder().stepCount(1).build());
        assertThat(column("SELECT jsonb_typeof(metadata -> 'm') FROM executions WHERE id = ?", other)).isEqualTo("string");

        // Read by one store, saved by another: the other encodes it (its limits, its mapper).
        Execution viaDefault = store.load(id).orElseThrow();
        stringly.save(viaDefault.toBuilder().stepCount(2).build());
        assertThat(column("SELECT jsonb_typeof(metadata -> 'm') FROM executions WHERE id = ?", id)).isEqualTo("string");
    }

    @Test
    void a_value_holding_a_callers_object_is_encoded_again_on_every_save_as_the_object_may_have_changed() {
        java.util.concurrent.atomic.AtomicInteger counter = new java.util.concurrent.atomic.AtomicInteger(1);
        Execution saved = store.save(execution().context(Map.of("counter", counter, "n", 5)).build());
        counter.set(2);
        store.save(saved.toBuilder().stepCount(1).build());

        assertThat(store.load(saved.id()).orElseThrow().context()).containsEntry("counter", 2);
    }

    @Test
    void a_history_one_step_longer_keeps_the_stored_entries_as_stored_and_encodes_the_new_one_as_a_whole_would()
            throws Exception {
        String id = store.save(execution().history(List.of(entry(0, null))).build()).id();
        // Another writer (FlowMonkey for TypeScript, plain SQL) stored a field this model does not read.
        PG.execute("UPDATE executions SET history = jsonb_set(history, '{0,writtenBy}', '\"typescript\"') "
                + "WHERE id = '" + id + "'");

        Execution loaded = store.load(id).orElseThrow();
        Execution longer = loaded.toBuilder().history(Values.appended(loaded.history(),
                entry(1, Map.of("code", "E", "details", List.of(1, "two", Map.of("deep", true)))))).build();
        store.save(longer);

        String copy = wholeEncodingOf(longer);
        assertThat(column("SELECT (history -> 0 ->> 'writtenBy') || ' ' || jsonb_array_length(history) "
                + "FROM executions WHERE id = ?", id)).isEqualTo("typescript 2");
        assertThat(PG.queryLong("SELECT count(*) FROM executions a, executions b WHERE a.id = '" + id
                + "' AND b.id = '" + copy + "' AND a.history -> 1 = b.history -> 1")).isEqualTo(1);
    }

    @Test
    void histories_grown_step_by_step_from_written_and_read_text_are_stored_as_their_whole_encodings()
            throws Exception {
        Execution e = store.save(execution().build());
        List<Object> errors = List.of(Map.of("code", "E1", "msg", "naïve \"quoted\" \\ text ✓"),
                List.of(new BigDecimal("1.50"), Long.MAX_VALUE, -0.0, "", Map.of()), "plain",
                Map.of("nested", Map.of("a", List.of(List.of(List.of("x"))))));
        for (int step = 0; step < 12; step++) {
            Object error = step % 3 == 0 ? null : errors.get(step % errors.size());
            e = store.save(e.toBuilder().history(Values.appended(e.history(), entry(step, error)))
                    .stepCount(step + 1).build());
            if (step % 4 == 3) {
                e = store.load(e.id()).orElseThrow(); // from here on, the prefix is the text as read
            }
            String copy = wholeEncodingOf(e);
            assertThat(PG.queryLong("SELECT count(*) FROM executions a, executions b WHERE a.id = '" + e.id()
                    + "' AND b.id = '" + copy + "' AND a.history = b.history")).as("after step %d", step).isEqualTo(1);
        }
        assertThat(store.load(e.id()).orElseThrow().history()).isEqualTo(e.history()).hasSize(12);
    }

    @Test
    void nesting_in_a_spliced_entry_counts_from_the_history_array_as_in_the_whole() throws Exception {
        // The history [ 1, an entry { 2, its error { 3, the value of a { 4, the list of b [ 5.
        PgExecutionStore shallow = new PgExecutionStore(PG.dataSource(),
                PgStoreOptions.builder().maxNestingDepth(5).build());
        Execution e = shallow.save(execution().history(List.of(entry(0, null))).build());
        Execution loaded = shallow.load(e.id()).orElseThrow();

        Execution atTheLimit = shallow.save(loaded.toBuilder()
                .history(Values.appended(loaded.history(), entry(1, Map.of("a", Map.of("b", List.of(1)))))).build());
        assertThat(atTheLimit.history()).hasSize(2);

        Execution tooDeep = atTheLimit.toBuilder().history(Values.appended(atTheLimit.history(),
                entry(2, Map.of("a", Map.of("b", List.of(List.of(1))))))).build();
        ExecutionDataException refused = catchThrowableOfType(ExecutionDataException.class, () -> shallow.save(tooDeep));
        assertThat(refused).isNotNull();
        assertThat(refused.executionId()).isEqualTo(e.id());
        assertThat(refused.column()).isEqualTo("history");
        assertThat(PG.queryLong("SELECT jsonb_array_length(history) FROM executions WHERE id = '" + e.id() + "'"))
                .as("nothing written").isEqualTo(2);
    }

    /** Saves a copy of {@code e} under a new id with its history in a plain list, which no text is known for. */
    private String wholeEncodingOf(Execution e) {
        Map<String, Object> context = new LinkedHashMap<>(e.context());
        return new PgExecutionStore(PG.dataSource()).save(Execution.builder("kj-" + IDS.incrementAndGet(),
                        e.flowId(), e.flowVersion()).status(e.status()).createdAt(T0).updatedAt(T0).context(context)
                .history(new ArrayList<>(e.history())).build()).id();
    }
}
