package io.flowmonkey.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.flowmonkey.testing.PostgresExtension;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The README's demo command runs {@link Demo#main}; CI runs it here: on "your server" (this class's
 * database, given as {@code FLOWMONKEY_JDBC_URL}), and once on an embedded PostgreSQL of its own.
 */
class DemoTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    /** Anything that looks like a date and a time of day, in whatever format. */
    private static final Pattern DATE_TIME = Pattern.compile("\\d{4}-\\d{2}-\\d{2}[T ]\\d{2}:\\d{2}[^\\s,)]*");
    /** An epoch-millisecond count of this century, printed bare (not followed by "ms" of a duration). */
    private static final Pattern EPOCH_MILLIS = Pattern.compile("(?<!\\d)1\\d{12}(?!\\d)(?! ms)");

    @Test
    void on_a_users_server_the_demo_works_in_its_own_schema_and_drops_it_because_it_created_it()
            throws Exception {
        String output = runDemo(usersServer());

        assertThat(schemaExists()).as("schema %s after the demo", Demo.SCHEMA).isFalse();
        assertThat(PG.queryLong("SELECT count(*) FROM public.executions")).isZero();
        assertThat(PG.queryLong("SELECT count(*) FROM public.executions_signals")).isZero();
        assertThat(output)
                .contains("Created schema flowmonkey_demo; the demo drops it at the end.")
                .contains("Applied the schema to flowmonkey_demo.executions")
                .contains("Dropped schema flowmonkey_demo (the demo created it)")
                .containsPattern("Your PostgreSQL \\d+\\.\\d+.* at " + Pattern.quote(PG.jdbcUrl()));
        assertThatTheOrderFlowRanAndEveryPartPrinted(output);
    }

    @Test
    void a_schema_that_was_there_before_is_kept_and_only_the_demos_rows_are_deleted() throws Exception {
        PG.execute("CREATE SCHEMA " + Demo.SCHEMA + "; CREATE TABLE " + Demo.SCHEMA + ".keep_me (x int);"
                + "INSERT INTO " + Demo.SCHEMA + ".keep_me VALUES (1)");
        try {
            String output = runDemo(usersServer());

            assertThat(schemaExists()).isTrue();
            assertThat(PG.queryLong("SELECT count(*) FROM " + Demo.SCHEMA + ".keep_me")).isEqualTo(1);
            assertThat(PG.queryLong("SELECT count(*) FROM " + Demo.SCHEMA + ".executions"))
                    .as("rows left behind in the demo's table").isZero();
            assertThat(PG.queryLong("SELECT count(*) FROM " + Demo.SCHEMA + ".executions_signals")).isZero();
            assertThat(PG.queryLong("SELECT count(*) FROM public.executions")).isZero();
            assertThat(output)
                    .contains("Schema flowmonkey_demo was there before: the demo uses it, deletes only the rows")
                    .contains("Schema flowmonkey_demo was there before the demo, so it is not dropped.")
                    .doesNotContain("Dropped schema")
                    .containsPattern("Deleted the 10 executions the demo added");
            assertThatTheOrderFlowRanAndEveryPartPrinted(output);
        } finally {
            PG.execute("DROP SCHEMA IF EXISTS " + Demo.SCHEMA + " CASCADE");
        }
    }

    @Test
    void a_role_that_may_not_create_the_schema_is_told_so_and_nothing_is_written() throws Exception {
        String role = "demo_no_create_" + ProcessHandle.current().pid();
        PG.execute("CREATE ROLE " + role + " LOGIN PASSWORD 'secret'");
        try {
            Map<String, String> env = Map.of("FLOWMONKEY_JDBC_URL", PG.jdbcUrl(), "FLOWMONKEY_JDBC_USER", role,
                    "FLOWMONKEY_JDBC_PASSWORD", "secret");

            assertThatThrownBy(() -> runDemo(env)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("flowmonkey_demo").hasMessageContaining("may not create it");
            assertThat(schemaExists()).isFalse();
            assertThat(PG.queryLong("SELECT count(*) FROM public.executions")).isZero();
        } finally {
            PG.execute("DROP ROLE " + role);
        }
    }

    @Test
    void without_a_jdbc_url_the_demo_says_when_its_embedded_postgresql_is_up_and_how_long_it_took() {
        String output = assertTimeoutPreemptively(Duration.ofMinutes(2), () -> runDemo(Map.of()));

        assertThat(output).contains("Starting an embedded PostgreSQL")
                .containsPattern("Embedded PostgreSQL \\d+\\.\\d+\\S* is up at \\S+ on port \\d+ "
                        + "\\(started in \\d+\\.\\d s\\)")
                .contains("Dropped schema flowmonkey_demo (the demo created it)");
        assertThatTheOrderFlowRanAndEveryPartPrinted(output);
    }

    private static void assertThatTheOrderFlowRanAndEveryPartPrinted(String output) {
        assertThat(output)
                .containsPattern("findByStatus\\(WAITING, 10\\) -> 2 executions")
                .containsPattern("findByTenant\\(\"acme\", 10\\) -> 5 executions")
                .containsPattern("findWakeReady\\(\\S+\\) -> 1 execution\n")
                .containsPattern("findByIdempotencyKey\\(\"checkout-\\w+\"\\) -> 1 execution\n  order-3-")
                .containsPattern("findChildren\\(\"batch-\\w+\"\\) -> 2 executions")
                .contains("pack-item: packed book", "pack-item: packed lamp")
                .contains("sent signal 'delivered'")
                .containsPattern("awaitEnd: completed at \\S+ after 5 steps")
                .containsPattern("child order-1001-\\w+/pack/\\S+: completed, box BOX-book")
                .contains("count(tenant acme) = 8", "page 2:")
                .contains("signedBy");
        // Every time printed is an ISO-8601 instant, and none is a bare epoch-millisecond count.
        Matcher m = DATE_TIME.matcher(output);
        List<String> times = new ArrayList<>();
        while (m.find()) {
            times.add(m.group());
        }
        assertThat(times).hasSizeGreaterThan(10);
        for (String time : times) {
            assertThatCode(() -> Instant.parse(time)).as("printed time '%s'", time).doesNotThrowAnyException();
            assertThat(time).endsWith("Z");
        }
        assertThat(EPOCH_MILLIS.matcher(output).results().map(r -> r.group()).toList()).isEmpty();
        // Short lines, so that the output reads in a terminal.
        assertThat(output.lines().filter(line -> line.length() > 120).toList()).isEmpty();
    }

    private static Map<String, String> usersServer() {
        return Map.of("FLOWMONKEY_JDBC_URL", PG.jdbcUrl(), "FLOWMONKEY_JDBC_USER", PG.database().user(),
                "FLOWMONKEY_JDBC_PASSWORD", PG.database().password());
    }

    private static String runDemo(Map<String, String> env) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
            Demo.run(env, out);
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    private static boolean schemaExists() throws Exception {
        return PG.queryLong("SELECT count(*) FROM pg_namespace WHERE nspname = '" + Demo.SCHEMA + "'") == 1;
    }
}
