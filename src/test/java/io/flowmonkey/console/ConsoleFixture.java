package io.flowmonkey.console;

import io.flowmonkey.engine.CreateOptions;
import io.flowmonkey.engine.Engine;
import io.flowmonkey.engine.Flow;
import io.flowmonkey.engine.HandlerRegistry;
import io.flowmonkey.engine.InMemoryFlowRegistry;
import io.flowmonkey.engine.Step;
import io.flowmonkey.engine.StepResult;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.postgres.PgExecutionStore;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import javax.sql.DataSource;

/**
 * An engine on a real PostgreSQL store with three small flows, and the HTTP calls the console tests make:
 * order-flow (charge, then ship; charge throws while {@link #declining} is set), hold-flow (waits for
 * signal "approval"), and a parent that starts an order-flow child.
 */
final class ConsoleFixture {

    static final String TOKEN = "s3cret-token-for-the-console-tests";
    static final String SCRIPT = "<script>alert(1)</script>";

    final PgExecutionStore store;
    final Engine engine;
    final AtomicBoolean declining = new AtomicBoolean(true);
    final HttpClient http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER)
            .connectTimeout(Duration.ofSeconds(10)).build();

    ConsoleFixture(DataSource ds) {
        store = new PgExecutionStore(ds);
        HandlerRegistry handlers = new HandlerRegistry()
                .register("pay", ctx -> {
                    if (declining.get()) {
                        throw new IllegalStateException("card declined by the test bank");
                    }
                    return StepResult.success("paid");
                })
                .register("ship", ctx -> StepResult.success("shipped"))
                .register("hold", ctx -> StepResult.awaitSignal("approval", "waiting for approval"));
        InMemoryFlowRegistry flows = new InMemoryFlowRegistry()
                .register(Flow.builder("order-flow", "1").initialStep("charge")
                        .step(Step.builder("charge", "pay").onSuccess("ship").build())
                        .step(Step.builder("ship", "ship").build()).build())
                .register(Flow.builder("hold-flow", "1").initialStep("hold")
                        .step(Step.builder("hold", "hold").onResume("ship").build())
                        .step(Step.builder("ship", "ship").build()).build());
        engine = new Engine(store, handlers, flows);
    }

    /** A tenant of its own for each test's executions, so that tests do not see each other's. */
    static String tenant() {
        return "t-" + UUID.randomUUID().toString().substring(0, 8);
    }

    /** Runs an order-flow to its end: failed while declining, else completed. */
    Execution order(String tenant) {
        String id = engine.create("order-flow", Map.of("orderId", 7), CreateOptions.builder().tenantId(tenant).build())
                .execution().id();
        return engine.run(id).execution();
    }

    /** A hold-flow, waiting for its signal. */
    Execution held(String tenant) {
        String id = engine.create("hold-flow", Map.of("note", SCRIPT), CreateOptions.builder().tenantId(tenant).build())
                .execution().id();
        return engine.run(id).execution();
    }

    /** An execution saved as it is given, for shapes the engine would not make (an odd flow id, an old end). */
    Execution saved(String id, String flowId, String tenant, ExecutionStatus status, Instant ended, Map<String, ?> context) {
        Execution.Builder b = Execution.builder(id, flowId, "1").tenantId(tenant).status(status).context(context)
                .currentStepId("only");
        if (status == ExecutionStatus.COMPLETED) {
            b.completedAt(ended).createdAt(ended.minusSeconds(60)).updatedAt(ended);
        }
        return store.save(b.build());
    }

    /** A heartbeat of a worker serving {@code flowId@1}, three threads, one in flight, live for a minute. */
    io.flowmonkey.execution.WorkerHeartbeat heartbeat(String workerId, String flowId,
                                                    java.util.List<io.flowmonkey.execution.WorkerHeartbeat.ClaimLateness> lateness) {
        return new io.flowmonkey.execution.WorkerHeartbeat(workerId, "console-host", 99,
                java.util.List.of(new io.flowmonkey.execution.LeasingExecutionStore.FlowVersion(flowId, "1")), 3, 1,
                Instant.now(), null, Duration.ofMinutes(1), lateness);
    }

    // ---- HTTP ----

    static HttpRequest.Builder api(URI base, String pathAndQuery) {
        return HttpRequest.newBuilder(base.resolve(pathAndQuery)).timeout(Duration.ofSeconds(30))
                .header("Authorization", "Bearer " + TOKEN);
    }

    HttpResponse<String> get(HttpRequest.Builder request) throws IOException, InterruptedException {
        return http.send(request.GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> postJson(HttpRequest.Builder request, String json) throws IOException, InterruptedException {
        return http.send(request.header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Logs in through the form; returns the session cookie ("name=value"). */
    String login(URI base) throws IOException, InterruptedException {
        HttpResponse<String> r = postForm(base, "/login", null, Map.of("token", TOKEN));
        if (r.statusCode() != 303) {
            throw new AssertionError("login answered " + r.statusCode());
        }
        return r.headers().firstValue("Set-Cookie").orElseThrow().split(";")[0];
    }

    HttpResponse<String> page(URI base, String pathAndQuery, String cookie) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(pathAndQuery)).timeout(Duration.ofSeconds(30));
        if (cookie != null) {
            b.header("Cookie", cookie);
        }
        return get(b);
    }

    HttpResponse<String> postForm(URI base, String path, String cookie, Map<String, String> form)
            throws IOException, InterruptedException {
        String body = form.entrySet().stream()
                .map(e -> enc(e.getKey()) + "=" + enc(e.getValue())).collect(Collectors.joining("&"));
        HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (cookie != null) {
            b.header("Cookie", cookie);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The CSRF token a page's forms carry. */
    static String csrf(String html) {
        Matcher m = Pattern.compile("name=\"csrf\" value=\"([^\"]+)\"").matcher(html);
        if (!m.find()) {
            throw new AssertionError("no CSRF token on the page");
        }
        return m.group(1);
    }

    static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }
}
