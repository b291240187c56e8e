package io.flowmonkey.console;

import static io.flowmonkey.console.ConsoleFixture.SCRIPT;
import static io.flowmonkey.console.ConsoleFixture.TOKEN;
import static io.flowmonkey.console.ConsoleFixture.api;
import static io.flowmonkey.console.ConsoleFixture.csrf;
import static io.flowmonkey.console.ConsoleFixture.enc;
import static io.flowmonkey.console.ConsoleFixture.tenant;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.testing.PostgresExtension;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The console's JSON API and HTML pages over HTTP, with the JDK's HttpClient, on a real PostgreSQL:
 * authentication, filters and paging, each action, read-only refusal, CSRF refusal, confirmation and
 * escaping. Each test works in a tenant of its own.
 */
class AdminConsoleApiTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    private static final ObjectMapper JSON = new ObjectMapper();
    private static ConsoleFixture fx;
    private static AdminConsole console;
    private static URI base;

    @BeforeAll
    static void start() {
        fx = new ConsoleFixture(PG.dataSource());
        console = AdminConsole.builder(fx.engine, fx.store).port(0).token(TOKEN).build().start();
        base = console.uri();
    }

    @AfterAll
    static void stop() {
        console.close();
    }

    private static JsonNode json(HttpResponse<String> r) throws Exception {
        return JSON.readTree(r.body());
    }

    private static List<String> ids(JsonNode page) {
        List<String> ids = new ArrayList<>();
        page.get("items").forEach(i -> ids.add(i.get("id").asText()));
        return ids;
    }

    // ---- authentication ----

    @Test
    void it_listens_on_loopback_by_default() {
        assertThat(base.getHost()).isEqualTo("127.0.0.1");
    }

    @Test
    void api_without_a_token_is_refused_with_401() throws Exception {
        HttpResponse<String> r = fx.get(HttpRequest.newBuilder(base.resolve("/api/executions")));
        assertThat(r.statusCode()).isEqualTo(401);
        assertThat(r.headers().firstValue("WWW-Authenticate")).hasValueSatisfying(v -> assertThat(v).startsWith("Bearer"));
        assertThat(r.body()).doesNotContain("items");
    }

    @Test
    void api_with_a_wrong_token_is_refused_with_401() throws Exception {
        HttpResponse<String> wrong = fx.get(HttpRequest.newBuilder(base.resolve("/api/executions"))
                .header("Authorization", "Bearer " + TOKEN.substring(1) + "x"));
        HttpResponse<String> prefix = fx.get(HttpRequest.newBuilder(base.resolve("/api/executions"))
                .header("Authorization", "Bearer " + TOKEN.substring(0, 10)));
        HttpResponse<String> basic = fx.get(HttpRequest.newBuilder(base.resolve("/api/executions"))
                .header("Authorization", "Basic " + TOKEN));
        assertThat(List.of(wrong.statusCode(), prefix.statusCode(), basic.statusCode())).containsOnly(401);
    }

    @Test
    void api_does_not_accept_the_browser_session_cookie_in_place_of_the_token() throws Exception {
        Execution held = fx.held(tenant());
        String cookie = fx.login(base);
        HttpResponse<String> r = fx.http.send(HttpRequest.newBuilder(base.resolve("/api/executions/" + held.id() + "/cancel"))
                .header("Cookie", cookie).POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(401);
        assertThat(fx.store.load(held.id()).orElseThrow().status()).isEqualTo(ExecutionStatus.WAITING);
    }

    @Test
    void pages_without_a_session_redirect_to_the_login_form() throws Exception {
        HttpResponse<String> r = fx.page(base, "/", null);
        assertThat(r.statusCode()).isEqualTo(303);
        assertThat(r.headers().firstValue("Location")).hasValue("/login");
        HttpResponse<String> forged = fx.page(base, "/", AdminConsole.COOKIE + "=not-a-session");
        assertThat(forged.statusCode()).isEqualTo(303);
    }

    @Test
    void login_with_a_wrong_token_is_refused_and_opens_no_session() throws Exception {
        HttpResponse<String> r = fx.postForm(base, "/login", null, Map.of("token", "wrong-token-wrong-token"));
        assertThat(r.statusCode()).isEqualTo(401);
        assertThat(r.headers().firstValue("Set-Cookie")).isEmpty();
    }

    @Test
    void login_sets_an_http_only_same_site_strict_cookie_that_opens_the_pages() throws Exception {
        HttpResponse<String> r = fx.postForm(base, "/login", null, Map.of("token", TOKEN));
        assertThat(r.statusCode()).isEqualTo(303);
        String cookie = r.headers().firstValue("Set-Cookie").orElseThrow();
        assertThat(cookie).startsWith(AdminConsole.COOKIE + "=").contains("HttpOnly").contains("SameSite=Strict")
                .doesNotContain(TOKEN);
        HttpResponse<String> list = fx.page(base, "/", cookie.split(";")[0]);
        assertThat(list.statusCode()).isEqualTo(200);
        assertThat(list.headers().firstValue("Content-Security-Policy")).hasValueSatisfying(
                csp -> assertThat(csp).contains("default-src 'none'").doesNotContain("script-src"));
    }

    @Test
    void the_builder_refuses_a_short_token_and_a_missing_one() {
        assertThatThrownBy(() -> AdminConsole.builder(fx.engine, fx.store).token("short"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least 16");
        assertThatThrownBy(() -> AdminConsole.builder(fx.engine, fx.store).build())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("token");
        assertThatThrownBy(() -> AdminConsole.builder(fx.engine, fx.store).port(70_000))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("port");
        assertThatThrownBy(() -> AdminConsole.builder(fx.engine, fx.store).token("sixteen chars ok"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("whitespace");
        assertThatThrownBy(() -> AdminConsole.builder(fx.engine, fx.store).bindAddress(" "))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("bind address");
        assertThatThrownBy(() -> AdminConsole.builder(fx.engine, fx.store).sessionTtl(Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("session TTL");
    }

    // ---- list, filters, paging, counts ----

    @Test
    void list_filters_by_status_flow_tenant_error_code_and_created_range() throws Exception {
        String t = tenant();
        Execution failed = fx.order(t);
        Execution held = fx.held(t);
        fx.held(tenant());

        assertThat(ids(json(fx.get(api(base, "/api/executions?tenant=" + t))))).containsExactly(held.id(), failed.id());
        assertThat(ids(json(fx.get(api(base, "/api/executions?tenant=" + t + "&status=failed"))))).containsExactly(failed.id());
        assertThat(ids(json(fx.get(api(base, "/api/executions?tenant=" + t + "&status=failed&status=waiting")))))
                .containsExactly(held.id(), failed.id());
        assertThat(ids(json(fx.get(api(base, "/api/executions?tenant=" + t + "&flow=hold-flow&flowVersion=1")))))
                .containsExactly(held.id());
        assertThat(ids(json(fx.get(api(base, "/api/executions?tenant=" + t + "&errorCode=HANDLER_ERROR")))))
                .containsExactly(failed.id());
        String from = enc(held.createdAt().toString());
        String before = enc(held.createdAt().plusMillis(1).toString());
        assertThat(ids(json(fx.get(api(base, "/api/executions?tenant=" + t + "&createdFrom=" + from + "&createdBefore=" + before)))))
                .containsExactly(held.id());
        JsonNode item = json(fx.get(api(base, "/api/executions?tenant=" + t + "&status=failed"))).get("items").get(0);
        assertThat(item.get("errorCode").asText()).isEqualTo("HANDLER_ERROR");
        assertThat(item.has("context")).as("the list carries no contexts").isFalse();
    }

    @Test
    void list_pages_by_cursor_without_repeating_or_skipping() throws Exception {
        String t = tenant();
        List<String> created = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            created.add(fx.held(t).id());
        }
        List<String> seen = new ArrayList<>();
        JsonNode page = json(fx.get(api(base, "/api/executions?tenant=" + t + "&limit=2")));
        seen.addAll(ids(page));
        int pages = 1;
        while (!page.get("nextCursor").isNull()) {
            page = json(fx.get(api(base, "/api/executions?tenant=" + t + "&limit=2&cursor=" + enc(page.get("nextCursor").asText()))));
            seen.addAll(ids(page));
            pages++;
        }
        // Executions created in the same millisecond sort by id: the one-page listing gives the order.
        List<String> inOrder = ids(json(fx.get(api(base, "/api/executions?tenant=" + t + "&limit=50"))));
        assertThat(inOrder).containsExactlyInAnyOrderElementsOf(created);
        assertThat(seen).containsExactlyElementsOf(inOrder);
        assertThat(pages).isEqualTo(3);
    }

    @Test
    void bad_filters_and_altered_cursors_are_400_with_the_reason() throws Exception {
        HttpResponse<String> status = fx.get(api(base, "/api/executions?status=lost"));
        assertThat(status.statusCode()).isEqualTo(400);
        assertThat(json(status).get("error").asText()).contains("unknown execution status 'lost'");
        HttpResponse<String> time = fx.get(api(base, "/api/executions?createdFrom=yesterday"));
        assertThat(time.statusCode()).isEqualTo(400);
        assertThat(json(time).get("error").asText()).contains("createdFrom");
        HttpResponse<String> cursor = fx.get(api(base, "/api/executions?cursor=AAAAbogus"));
        assertThat(cursor.statusCode()).isEqualTo(400);
        assertThat(json(cursor).get("error").asText()).contains("cursor");
        assertThat(fx.get(api(base, "/api/executions/no-such-id")).statusCode()).isEqualTo(404);
    }

    @Test
    void counts_by_status_are_exact_below_ten_thousand() throws Exception {
        fx.held(tenant());
        JsonNode counts = json(fx.get(api(base, "/api/counts")));
        assertThat(counts.get("waiting").get("count").asLong()).isEqualTo(fx.store.count(
                io.flowmonkey.execution.ExecutionQuery.builder().status(ExecutionStatus.WAITING).build()));
        assertThat(counts.get("waiting").get("estimated").asBoolean()).isFalse();
        assertThat(counts.fieldNames()).toIterable().contains("pending", "running", "failed", "completed", "cancelled");
    }

    @Test
    void charts_count_the_last_hour_a_minute_at_a_time_by_each_executions_own_end() throws Exception {
        long failedBefore = fx.store.count(io.flowmonkey.execution.ExecutionQuery.builder()
                .status(ExecutionStatus.FAILED).updatedBetween(Instant.now().minusSeconds(3600), null).build());
        fx.order(tenant());
        JsonNode minutes = json(fx.get(api(base, "/api/charts")));
        assertThat(minutes).hasSize(60);
        JsonNode last = minutes.get(59);
        long failed = 0;
        for (JsonNode m : minutes) {
            failed += m.get("failed").asLong();
        }
        assertThat(failed).isEqualTo(failedBefore + 1);
        assertThat(last.get("created").asLong() + minutes.get(58).get("created").asLong()).isPositive();
        assertThat(Duration.between(Instant.parse(minutes.get(0).get("start").asText()),
                Instant.parse(last.get("start").asText()))).isEqualTo(Duration.ofMinutes(59));
        assertThat(Instant.parse(last.get("start").asText())).isBeforeOrEqualTo(Instant.now())
                .isAfter(Instant.now().minusSeconds(120));
    }

    @Test
    void charts_show_the_latest_claim_lateness_across_live_workers_per_minute() throws Exception {
        Instant minute = Instant.ofEpochMilli(System.currentTimeMillis() / 60_000 * 60_000);
        fx.store.heartbeat(fx.heartbeat("late-a", "order-flow", List.of(
                new io.flowmonkey.execution.WorkerHeartbeat.ClaimLateness(minute, 10, 900, 800))));
        fx.store.heartbeat(fx.heartbeat("late-b", "order-flow", List.of(
                new io.flowmonkey.execution.WorkerHeartbeat.ClaimLateness(minute, 3, 400, 1_200))));
        try {
            JsonNode minutes = json(fx.get(api(base, "/api/charts")));
            JsonNode at = null;
            for (JsonNode m : minutes) {
                if (Instant.parse(m.get("start").asText()).equals(minute)) {
                    at = m;
                }
            }
            assertThat(at).as("the minute of the heartbeats").isNotNull();
            assertThat(at.get("latenessMaxMs").asLong()).isEqualTo(900);
            assertThat(at.get("latenessP99Ms").asLong()).isEqualTo(1_200);
            assertThat(minutes.get(0).get("latenessMaxMs").isNull()).isTrue();
        } finally {
            fx.store.remove("late-a");
            fx.store.remove("late-b");
        }
    }

    // ---- workers and diagnose ----

    @Test
    void api_workers_lists_live_workers_with_what_they_serve_and_ids_exactly_as_reported() throws Exception {
        String id = "w-" + SCRIPT;
        fx.store.heartbeat(fx.heartbeat(id, "fl" + SCRIPT, List.of()));
        try {
            JsonNode workers = json(fx.get(api(base, "/api/workers")));
            JsonNode mine = null;
            for (JsonNode w : workers) {
                if (w.get("workerId").asText().equals(id)) {
                    mine = w;
                }
            }
            assertThat(mine).isNotNull();
            assertThat(mine.get("serves").get(0).get("flowId").asText()).isEqualTo("fl" + SCRIPT);
            assertThat(mine.get("threads").asInt()).isEqualTo(3);
            assertThat(mine.get("inFlight").asInt()).isEqualTo(1);
            assertThat(Instant.parse(mine.get("lastHeartbeat").asText())).isAfter(Instant.now().minusSeconds(60));
        } finally {
            fx.store.remove(id);
        }
        assertThat(fx.get(api(base, "/api/workers/x")).statusCode()).isEqualTo(404);
    }

    @Test
    void the_workers_page_shows_live_workers_escaped() throws Exception {
        String id = "w2-" + SCRIPT;
        fx.store.heartbeat(fx.heartbeat(id, "fl" + SCRIPT, List.of()));
        try {
            String html = fx.page(base, "/workers", fx.login(base)).body();
            assertThat(html).contains("<table id=\"workers\">").contains("w2-&lt;script&gt;alert(1)&lt;/script&gt;")
                    .contains("fl&lt;script&gt;alert(1)&lt;/script&gt;@1").doesNotContain(SCRIPT);
        } finally {
            fx.store.remove(id);
        }
    }

    @Test
    void api_diagnose_says_why_an_execution_is_not_moving_and_the_execution_page_shows_it() throws Exception {
        Execution held = fx.held(tenant());
        JsonNode d = json(fx.get(api(base, "/api/diagnose/" + held.id())));
        assertThat(d.get("kind").asText()).isEqualTo("WAITING_FOR_SIGNAL");
        assertThat(d.get("sentence").asText()).startsWith("waiting for signal 'approval' since ");
        assertThat(d.get("status").asText()).isEqualTo("waiting");

        String page = fx.page(base, "/executions/" + held.id(), fx.login(base)).body();
        assertThat(page).contains("<td id=\"diagnosis\">waiting for signal &#39;approval&#39; since ");

        HttpResponse<String> missing = fx.get(api(base, "/api/diagnose/no-such-execution"));
        assertThat(missing.statusCode()).isEqualTo(404);
        assertThat(json(missing).get("error").asText()).contains("no-such-execution");
    }

    // ---- one execution ----

    @Test
    void an_execution_shows_history_context_error_with_stack_trace_and_children() throws Exception {
        Execution failed = fx.order(tenant());
        Execution child = fx.store.save(Execution.builder(failed.id() + "-child", "order-flow", "1")
                .parentExecutionId(failed.id()).tenantId(failed.tenantId()).build());
        JsonNode e = json(fx.get(api(base, "/api/executions/" + failed.id())));
        assertThat(e.get("status").asText()).isEqualTo("failed");
        assertThat(e.get("context").get("orderId").asInt()).isEqualTo(7);
        assertThat(e.get("history").get(0).get("stepId").asText()).isEqualTo("charge");
        assertThat(e.get("history").get(0).get("outcome").asText()).isEqualTo("failure");
        assertThat(e.get("error").get("code").asText()).isEqualTo("HANDLER_ERROR");
        assertThat(e.get("error").get("stackTrace").asText()).contains("IllegalStateException")
                .contains("card declined by the test bank").contains("ConsoleFixture");
        assertThat(e.get("children")).extracting(c -> c.get("id").asText()).containsExactly(child.id());
    }

    @Test
    void a_waiting_execution_shows_the_signals_sent_to_it() throws Exception {
        Execution held = fx.held(tenant());
        fx.engine.signal(held.id(), "approval", Map.of("by", "ops"));
        JsonNode e = json(fx.get(api(base, "/api/executions/" + held.id())));
        assertThat(e.get("wait").get("awaitedSignal").asText()).isEqualTo("approval");
        assertThat(e.get("signals")).hasSize(1);
        assertThat(e.get("signals").get(0).get("data").get("by").asText()).isEqualTo("ops");
    }

    @Test
    void malformed_requests_are_refused_with_400_naming_what_is_wrong() throws Exception {
        Execution held = fx.held(tenant());
        String badEscape = rawGet("/api/executions/%zz");   // no HTTP client sends this: written by hand
        String nulId = rawGet("/api/executions/a%00b");
        HttpResponse<String> nullBody = fx.postJson(api(base, "/api/executions/" + held.id() + "/cancel"), "null");
        HttpResponse<String> objectName = fx.postJson(api(base, "/api/executions/" + held.id() + "/signal"),
                "{\"name\":{\"a\":1}}");

        assertThat(badEscape).startsWith("HTTP/1.1 400");
        assertThat(nulId).as("an id no execution can have").startsWith("HTTP/1.1 400").contains("U+0000");
        assertThat(nullBody.statusCode()).isEqualTo(400);
        assertThat(json(nullBody).get("error").asText()).contains("JSON object");
        assertThat(objectName.statusCode()).isEqualTo(400);
        assertThat(json(objectName).get("error").asText()).contains("'name' must be a string");
        assertThat(fx.store.load(held.id()).orElseThrow().status()).isNotEqualTo(ExecutionStatus.CANCELLED);
    }

    private String rawGet(String path) throws Exception {
        try (java.net.Socket socket = new java.net.Socket(base.getHost(), base.getPort())) {
            socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer "
                    + ConsoleFixture.TOKEN + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            return new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    // ---- actions ----

    @Test
    void cancel_through_the_api_cancels_the_execution() throws Exception {
        Execution held = fx.held(tenant());
        HttpResponse<String> r = fx.postJson(api(base, "/api/executions/" + held.id() + "/cancel"), "{\"reason\":\"test\"}");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(json(r).get("cancelled").asBoolean()).isTrue();
        Execution now = fx.store.load(held.id()).orElseThrow();
        assertThat(now.status()).isEqualTo(ExecutionStatus.CANCELLED);
        assertThat(now.cancellation().reason()).isEqualTo("test");
    }

    @Test
    void retry_through_the_api_runs_a_failed_execution_on_from_its_failed_step() throws Exception {
        Execution failed = fx.order(tenant());
        fx.declining.set(false);
        try {
            HttpResponse<String> r = fx.postJson(api(base, "/api/executions/" + failed.id() + "/retry"), "{}");
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(json(r).get("status").asText()).isEqualTo("completed");
        } finally {
            fx.declining.set(true);
        }
        HttpResponse<String> again = fx.postJson(api(base, "/api/executions/" + failed.id() + "/retry"), "{}");
        assertThat(again.statusCode()).as("a completed execution cannot be retried").isEqualTo(409);
    }

    @Test
    void restart_through_the_api_forks_an_ended_execution_from_a_step() throws Exception {
        Execution failed = fx.order(tenant());
        HttpResponse<String> r = fx.postJson(api(base, "/api/executions/" + failed.id() + "/restart"), "{\"stepId\":\"ship\"}");
        assertThat(r.statusCode()).isEqualTo(200);
        String fork = json(r).get("newExecutionId").asText();
        assertThat(fork).isNotEqualTo(failed.id());
        assertThat(fx.store.load(fork).orElseThrow().status()).isEqualTo(ExecutionStatus.COMPLETED);
        HttpResponse<String> unknown = fx.postJson(api(base, "/api/executions/" + failed.id() + "/restart"), "{\"stepId\":\"nope\"}");
        assertThat(unknown.statusCode()).isEqualTo(400);
        HttpResponse<String> missing = fx.postJson(api(base, "/api/executions/" + failed.id() + "/restart"), "{}");
        assertThat(json(missing).get("error").asText()).isEqualTo("stepId is required");
    }

    @Test
    void signal_through_the_api_stores_the_signal_for_the_execution() throws Exception {
        Execution held = fx.held(tenant());
        HttpResponse<String> r = fx.postJson(api(base, "/api/executions/" + held.id() + "/signal"),
                "{\"name\":\"approval\",\"data\":{\"ok\":true}}");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(fx.store.findSignals(held.id(), "approval", 10)).singleElement()
                .satisfies(s -> assertThat(s.data()).containsEntry("ok", true));
        HttpResponse<String> reserved = fx.postJson(api(base, "/api/executions/" + held.id() + "/signal"),
                "{\"name\":\"flowmonkey.x\"}");
        assertThat(reserved.statusCode()).isEqualTo(400);
    }

    @Test
    void purge_through_the_api_deletes_ended_executions_older_than_asked() throws Exception {
        String t = tenant();
        Instant now = Instant.now();
        Execution old = fx.saved(t + "-old", "order-flow", t, ExecutionStatus.COMPLETED, now.minus(Duration.ofDays(40)), Map.of());
        Execution recent = fx.saved(t + "-recent", "order-flow", t, ExecutionStatus.COMPLETED, now.minus(Duration.ofDays(1)), Map.of());
        HttpResponse<String> r = fx.postJson(api(base, "/api/purge"), "{\"olderThan\":\"P30D\",\"status\":[\"completed\"]}");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(json(r).get("deleted").asInt()).isGreaterThanOrEqualTo(1);
        assertThat(fx.store.load(old.id())).isEmpty();
        assertThat(fx.store.load(recent.id())).isPresent();
        HttpResponse<String> bad = fx.postJson(api(base, "/api/purge"), "{\"olderThan\":\"30 days\"}");
        assertThat(bad.statusCode()).isEqualTo(400);
    }

    @Test
    void actions_need_post() throws Exception {
        Execution held = fx.held(tenant());
        assertThat(fx.get(api(base, "/api/executions/" + held.id() + "/cancel")).statusCode()).isEqualTo(404);
        assertThat(fx.store.load(held.id()).orElseThrow().status()).isEqualTo(ExecutionStatus.WAITING);
    }

    @Test
    void a_read_only_console_refuses_every_action_in_the_api_and_the_pages() throws Exception {
        Execution held = fx.held(tenant());
        Execution failed = fx.order(held.tenantId());
        try (AdminConsole readOnly = AdminConsole.builder(fx.engine, fx.store).port(0).token(TOKEN).readOnly(true)
                .build().start()) {
            URI ro = readOnly.uri();
            for (String action : List.of("cancel", "retry", "restart", "signal")) {
                HttpResponse<String> r = fx.postJson(api(ro, "/api/executions/" + held.id() + "/" + action),
                        "{\"stepId\":\"hold\",\"name\":\"approval\"}");
                assertThat(r.statusCode()).as(action).isEqualTo(403);
                assertThat(json(r).get("error").asText()).contains("read-only");
            }
            assertThat(fx.postJson(api(ro, "/api/purge"), "{\"olderThan\":\"PT0S\"}").statusCode()).isEqualTo(403);
            assertThat(fx.postJson(api(ro, "/api/executions/" + failed.id() + "/retry"), "{}").statusCode()).isEqualTo(403);

            String cookie = fx.login(ro);
            String page = fx.page(ro, "/executions/" + held.id(), cookie).body();
            assertThat(page).contains("Read-only console").doesNotContain("action-cancel");
            HttpResponse<String> html = fx.postForm(ro, "/executions/" + held.id() + "/cancel", cookie,
                    Map.of("csrf", csrf(page), "confirm", "yes"));
            assertThat(html.statusCode()).isEqualTo(403);
            assertThat(fx.get(api(ro, "/api/executions/" + held.id())).statusCode()).as("reading still works").isEqualTo(200);
        }
        assertThat(fx.store.load(held.id()).orElseThrow().status()).isEqualTo(ExecutionStatus.WAITING);
        assertThat(fx.store.load(failed.id()).orElseThrow().status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(fx.store.findSignals(held.id(), "approval", 10)).isEmpty();
    }

    // ---- HTML actions: CSRF and confirmation ----

    @Test
    void a_page_action_without_the_sessions_csrf_token_is_refused() throws Exception {
        Execution held = fx.held(tenant());
        String cookie = fx.login(base);
        String otherCsrf = csrf(fx.page(base, "/", fx.login(base)).body());
        HttpResponse<String> none = fx.postForm(base, "/executions/" + held.id() + "/cancel", cookie, Map.of("confirm", "yes"));
        HttpResponse<String> other = fx.postForm(base, "/executions/" + held.id() + "/cancel", cookie,
                Map.of("confirm", "yes", "csrf", otherCsrf));
        HttpResponse<String> noSession = fx.postForm(base, "/executions/" + held.id() + "/cancel", null,
                Map.of("confirm", "yes", "csrf", otherCsrf));
        assertThat(none.statusCode()).isEqualTo(403);
        assertThat(other.statusCode()).as("another session's token").isEqualTo(403);
        assertThat(noSession.statusCode()).isEqualTo(303);
        assertThat(fx.store.load(held.id()).orElseThrow().status()).isEqualTo(ExecutionStatus.WAITING);
    }

    @Test
    void a_page_action_asks_for_confirmation_before_it_acts() throws Exception {
        Execution held = fx.held(tenant());
        String cookie = fx.login(base);
        String page = fx.page(base, "/executions/" + held.id(), cookie).body();
        String token = csrf(page);
        HttpResponse<String> ask = fx.postForm(base, "/executions/" + held.id() + "/cancel", cookie,
                Map.of("csrf", token, "reason", "from the page"));
        assertThat(ask.statusCode()).isEqualTo(200);
        assertThat(ask.body()).contains("Confirm: cancel").contains("name=\"confirm\" value=\"yes\"")
                .contains("value=\"from the page\"");
        assertThat(fx.store.load(held.id()).orElseThrow().status()).isEqualTo(ExecutionStatus.WAITING);

        HttpResponse<String> done = fx.postForm(base, "/executions/" + held.id() + "/cancel", cookie,
                Map.of("csrf", token, "reason", "from the page", "confirm", "yes"));
        assertThat(done.statusCode()).isEqualTo(303);
        assertThat(fx.store.load(held.id()).orElseThrow().status()).isEqualTo(ExecutionStatus.CANCELLED);
        String location = done.headers().firstValue("Location").orElseThrow();
        assertThat(location).isEqualTo("/executions/" + held.id());
        HttpResponse<String> after = fx.page(base, location, cookie);
        assertThat(after.body()).contains("cancel: done, now cancelled");
        assertThat(fx.page(base, location, cookie).body()).as("told once").doesNotContain("cancel: done");
    }

    @Test
    void a_link_cannot_make_a_page_say_what_an_action_did() throws Exception {
        String cookie = fx.login(base);
        Execution e = fx.store.save(Execution.builder("e-" + java.util.UUID.randomUUID(), "f", "1").build());

        HttpResponse<String> list = fx.page(base, "/?done=" + java.net.URLEncoder.encode(
                "your token expired: log in at evil.example", java.nio.charset.StandardCharsets.UTF_8), cookie);
        HttpResponse<String> page = fx.page(base, "/executions/" + e.id() + "?done=purged+everything", cookie);

        // The pages themselves, not an error or the login page, which would say nothing either.
        assertThat(list.statusCode()).isEqualTo(200);
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(list.body()).contains(e.id()).doesNotContain("evil.example").doesNotContain("id=\"done\"");
        assertThat(page.body()).contains(e.id()).doesNotContain("purged everything").doesNotContain("id=\"done\"");
    }

    @Test
    void logout_ends_the_session() throws Exception {
        String cookie = fx.login(base);
        String token = csrf(fx.page(base, "/", cookie).body());
        assertThat(fx.postForm(base, "/logout", cookie, Map.of("csrf", token)).statusCode()).isEqualTo(303);
        assertThat(fx.page(base, "/", cookie).statusCode()).isEqualTo(303);
    }

    @Test
    void a_page_restart_goes_through_the_confirmation_and_lands_on_the_new_execution() throws Exception {
        Execution failed = fx.order(tenant());
        String cookie = fx.login(base);
        String token = csrf(fx.page(base, "/executions/" + failed.id(), cookie).body());
        HttpResponse<String> ask = fx.postForm(base, "/executions/" + failed.id() + "/restart", cookie,
                Map.of("csrf", token, "stepId", "ship"));
        assertThat(ask.body()).contains("Confirm: restart").contains("value=\"ship\"");
        HttpResponse<String> done = fx.postForm(base, "/executions/" + failed.id() + "/restart", cookie,
                Map.of("csrf", token, "stepId", "ship", "confirm", "yes"));
        assertThat(done.statusCode()).isEqualTo(303);
        String location = done.headers().firstValue("Location").orElseThrow();
        String fork = location.substring("/executions/".length());
        assertThat(fork).isNotEqualTo(failed.id());
        assertThat(fx.store.load(fork).orElseThrow().status()).isEqualTo(ExecutionStatus.COMPLETED);
        assertThat(fx.page(base, location, cookie).body()).contains("restarted from execution " + failed.id());
    }

    @Test
    void a_page_purge_goes_through_the_confirmation_and_reports_what_it_deleted() throws Exception {
        String t = tenant();
        Execution old = fx.saved(t + "-old", "order-flow", t, ExecutionStatus.COMPLETED,
                Instant.now().minus(Duration.ofDays(90)), Map.of());
        String cookie = fx.login(base);
        String list = fx.page(base, "/", cookie).body();
        assertThat(list).contains("action-purge");
        HttpResponse<String> ask = fx.postForm(base, "/purge", cookie, Map.of("csrf", csrf(list), "olderThan", "P60D"));
        assertThat(ask.body()).contains("all ended executions older than P60D");
        assertThat(fx.store.load(old.id())).isPresent();
        HttpResponse<String> done = fx.postForm(base, "/purge", cookie,
                Map.of("csrf", csrf(list), "olderThan", "P60D", "confirm", "yes"));
        assertThat(done.statusCode()).isEqualTo(303);
        assertThat(fx.store.load(old.id())).isEmpty();
        assertThat(fx.page(base, done.headers().firstValue("Location").orElseThrow(), cookie).body())
                .containsPattern("purged [1-9][0-9]* executions");
    }

    @Test
    void the_charts_page_draws_a_bar_a_minute_for_throughput_failures_lateness_and_creations() throws Exception {
        fx.order(tenant());
        String cookie = fx.login(base);
        String charts = fx.page(base, "/charts", cookie).body();
        assertThat(charts).contains("<svg id=\"chart-throughput\"").contains("<svg id=\"chart-failures\"")
                .contains("<svg id=\"chart-lateness\"").contains("<svg id=\"chart-created\"");
        assertThat(charts.split("<rect ", -1)).hasSize(1 + 4 * 60);
        assertThat(charts).doesNotContain("<script");
    }

    @Test
    void a_session_ends_when_its_time_to_live_has_passed() throws Exception {
        Instant[] now = {Instant.now()};
        java.time.Clock clock = new java.time.Clock() {
            @Override
            public java.time.ZoneId getZone() {
                return java.time.ZoneOffset.UTC;
            }

            @Override
            public java.time.Clock withZone(java.time.ZoneId zone) {
                return this;
            }

            @Override
            public Instant instant() {
                return now[0];
            }
        };
        try (AdminConsole c = AdminConsole.builder(fx.engine, fx.store).port(0).token(TOKEN)
                .sessionTtl(Duration.ofMinutes(30)).clock(clock).build().start()) {
            String cookie = fx.login(c.uri());
            now[0] = now[0].plus(Duration.ofMinutes(29));
            assertThat(fx.page(c.uri(), "/", cookie).statusCode()).isEqualTo(200);
            now[0] = now[0].plus(Duration.ofMinutes(1));
            assertThat(fx.page(c.uri(), "/", cookie).statusCode()).isEqualTo(303);
        }
    }

    // ---- escaping and logs ----

    @Test
    void every_value_is_html_escaped_on_the_list_and_the_execution_page() throws Exception {
        String t = tenant();
        String flow = "fl\"ow'<b>x</b>";
        Execution odd = fx.saved(t + "-<i>", flow, t, ExecutionStatus.PENDING, null,
                Map.of("note", SCRIPT, "quote", "\" onmouseover=\"alert(2)"));
        String cookie = fx.login(base);

        String list = fx.page(base, "/?tenant=" + t, cookie).body();
        assertThat(list).contains("fl&quot;ow&#39;&lt;b&gt;x&lt;/b&gt;").doesNotContain(flow).doesNotContain("<b>x")
                .contains(t + "-&lt;i&gt;");
        String echoed = fx.page(base, "/?tenant=" + t + "&flow=" + enc("\"><script>alert(3)</script>"), cookie).body();
        assertThat(echoed).contains("value=\"&quot;&gt;&lt;script&gt;alert(3)&lt;/script&gt;\"").doesNotContain("<script");

        String page = fx.page(base, "/executions/" + enc(odd.id()), cookie).body();
        assertThat(page).doesNotContain("<script").doesNotContain(flow)
                .contains("&lt;script&gt;alert(1)&lt;/script&gt;")
                .contains("\\&quot; onmouseover=\\&quot;alert(2)")
                .contains("fl&quot;ow&#39;&lt;b&gt;x&lt;/b&gt;");
        HttpResponse<String> missing = fx.page(base, "/executions/" + enc("<img src=x>"), cookie);
        assertThat(missing.statusCode()).isEqualTo(404);
        assertThat(missing.body()).contains("&lt;img src=x&gt;").doesNotContain("<img");
    }

    @Test
    void logs_hold_neither_the_token_nor_contexts() throws Exception {
        PrintStream original = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            Execution held = fx.held(tenant());
            fx.get(HttpRequest.newBuilder(base.resolve("/api/executions")).header("Authorization", "Bearer " + TOKEN + "x"));
            fx.postForm(base, "/login", null, Map.of("token", TOKEN + "y"));
            fx.get(api(base, "/api/executions/" + held.id()));
            fx.postJson(api(base, "/api/executions/" + held.id() + "/signal"), "{\"name\":\"approval\",\"data\":{\"pin\":\"" + SCRIPT + "\"}}");
            fx.postJson(api(base, "/api/executions/" + held.id() + "/cancel"), "{\"reason\":\"reason-secret-ish\"}");
        } finally {
            System.setErr(original);
        }
        String log = captured.toString(StandardCharsets.UTF_8);
        assertThat(log).contains("admin console: cancel of").contains("API request refused").contains("login refused");
        assertThat(log).doesNotContain(TOKEN).doesNotContain("alert(1)").doesNotContain("reason-secret-ish");
    }
}
