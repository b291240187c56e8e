package io.flowmonkey.console;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.flowmonkey.engine.Engine;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionQuery;
import io.flowmonkey.execution.ExecutionStore;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An embeddable admin console: a JSON API and HTML pages to list, inspect and operate executions,
 * served by the JDK's own HTTP server ({@code com.sun.net.httpserver}) from inside the application.
 *
 * <pre>{@code
 * try (AdminConsole console = AdminConsole.builder(engine, store).port(8090).token(secret).build().start()) {
 *     // http://127.0.0.1:8090/ until closed
 * }
 * }</pre>
 *
 * <p><b>Secure by default.</b> It listens on {@value #DEFAULT_BIND_ADDRESS} unless
 * {@link Builder#bindAddress(String)} says otherwise, and every request needs the access token: the
 * JSON API under {@code /api/} as {@code Authorization: Bearer <token>}; the HTML pages through a login
 * form that opens a session held in an {@code HttpOnly}, {@code SameSite=Strict} cookie. Tokens are
 * compared in constant time. Actions are POST only; an HTML action must carry its session's CSRF token
 * and pass a confirmation page; the API's actions need the bearer header, which no other site can make
 * a browser send. {@link Builder#readOnly(boolean)} refuses every action. Every value shown is
 * HTML-escaped, and pages are served with a Content-Security-Policy that runs no script. Logs name
 * actions and execution ids, never the token, contexts or signal data. The HTTP is plain: behind
 * anything but loopback, put TLS in front.
 *
 * <p><b>JSON API.</b> {@code GET /api/executions} (filters {@code status} (repeatable), {@code flow},
 * {@code flowVersion}, {@code tenant}, {@code createdFrom}, {@code createdBefore} (ISO-8601 instants),
 * {@code errorCode}, {@code limit}, {@code cursor}); {@code GET /api/executions/{id}} (with history,
 * context, error and stack trace, children and pending signals); {@code GET /api/counts};
 * {@code GET /api/charts} (the last hour a minute at a time: created, completed, failed, claim lateness);
 * {@code GET /api/workers} (live workers, on a {@link io.flowmonkey.execution.WorkerRegistry} store);
 * {@code GET /api/diagnose/{id}} ({@link Engine#diagnose(String)}); {@code POST /api/executions/{id}/cancel|retry|restart|signal} and
 * {@code POST /api/purge} (a {@link io.flowmonkey.postgres.PgExecutionStore} only), each with a JSON
 * object or form body of parameters ({@code reason}, {@code stepId}, {@code name} and {@code data},
 * {@code olderThan} and {@code status}).
 *
 * <p>Retry and restart run the execution's next steps on the request's thread, as
 * {@link Engine#retry(String)} does. Thread-safe; {@link #close()} stops the server.
 */
public final class AdminConsole implements AutoCloseable {

    /** The address listened on unless set: {@value}, loopback only. */
    public static final String DEFAULT_BIND_ADDRESS = "127.0.0.1";
    /** The port unless set: {@value}. */
    public static final int DEFAULT_PORT = 8090;
    /** The shortest access token accepted: {@value} characters. */
    public static final int MIN_TOKEN_LENGTH = 16;
    /** How long a browser session lasts unless set: 8 hours. */
    public static final Duration DEFAULT_SESSION_TTL = Duration.ofHours(8);
    /** Request threads unless set: {@value}. */
    public static final int DEFAULT_THREADS = 4;

    static final String COOKIE = "flowmonkey_console";
    private static final String CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
            + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
    private static final Logger log = LoggerFactory.getLogger(AdminConsole.class);

    private final Builder options;
    private final Sessions sessions;
    private final Operations ops;
    private final Pages pages;
    private final ObjectMapper json;
    private HttpServer server;
    private ExecutorService executor;

    private AdminConsole(Builder b) {
        this.options = b;
        this.json = new ObjectMapper();
        this.sessions = new Sessions(b.token, b.sessionTtl, b.clock);
        this.ops = new Operations(b.engine, b.store, b.readOnly, b.clock, json);
        this.pages = new Pages(ops, json.copy().enable(SerializationFeature.INDENT_OUTPUT).writer());
    }

    /**
     * Starts configuring a console over an engine and the store it runs on.
     *
     * @param engine the engine whose executions are operated (cancel, retry, restart, signal)
     * @param store the engine's store, which the console lists and reads
     * @return a builder
     * @throws NullPointerException if either is null
     */
    public static Builder builder(Engine engine, ExecutionStore store) {
        return new Builder(engine, store);
    }

    /**
     * Binds the port and starts serving.
     *
     * @return this console
     * @throws IllegalStateException if it was started already
     * @throws UncheckedIOException if the address cannot be bound (the port is taken, say)
     */
    public synchronized AdminConsole start() {
        if (server != null) {
            throw new IllegalStateException("the admin console was started already");
        }
        try {
            server = HttpServer.create(new InetSocketAddress(options.bindAddress, options.port), 0);
        } catch (IOException e) {
            throw new UncheckedIOException("the admin console cannot listen on " + options.bindAddress.getHostAddress()
                    + ":" + options.port + ": " + e.getMessage(), e);
        }
        AtomicInteger n = new AtomicInteger();
        executor = Executors.newFixedThreadPool(options.threads, r -> {
            Thread t = new Thread(r, "flowmonkey-console-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(executor);
        server.createContext("/", this::handle);
        server.start();
        log.info("admin console listening on {}{}", uri(), options.readOnly ? " (read-only)" : "");
        return this;
    }

    /**
     * Returns the port listened on: the one set, or the one the system chose for port 0.
     *
     * @return the port
     * @throws IllegalStateException if not started
     */
    public synchronized int port() {
        if (server == null) {
            throw new IllegalStateException("the admin console is not started");
        }
        return server.getAddress().getPort();
    }

    /**
     * Returns the console's address, such as {@code http://127.0.0.1:8090/}.
     *
     * @return the base URI
     * @throws IllegalStateException if not started
     */
    public URI uri() {
        String host = options.bindAddress.getHostAddress();
        return URI.create("http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port() + "/");
    }

    /** Stops serving: requests in progress get a second to finish. Closing twice does nothing. */
    @Override
    public synchronized void close() {
        if (server != null && executor != null) {
            server.stop(1);
            executor.shutdownNow();
            executor = null;
            log.info("admin console stopped");
        }
    }

    // ---- routing ----

    private void handle(HttpExchange exchange) throws IOException {
        long started = System.nanoTime();
        boolean api = exchange.getRequestURI().getRawPath().startsWith("/api/");
        Sessions.Session session = null;
        try {
            Request r = Request.read(exchange);
            if (api) {
                handleApi(r, started);
                return;
            }
            if (r.path.equals("/login")) {
                login(r, started);
                return;
            }
            session = sessions.find(r.cookie(COOKIE));
            if (session == null) {
                redirect(exchange, "/login");
                return;
            }
            handlePage(r, session, started);
        } catch (ConsoleException e) {
            problem(exchange, api, session, e.status, e.getMessage(), started);
        } catch (RuntimeException e) {
            // The message may quote stored values; the log keeps the type and the place only.
            log.warn("admin console: {} {} failed with {}", exchange.getRequestMethod(),
                    exchange.getRequestURI().getRawPath(), e.getClass().getName());
            problem(exchange, api, session, 500, "the request failed: " + e.getClass().getSimpleName(), started);
        } finally {
            exchange.close();
        }
    }

    private void handleApi(Request r, long started) throws IOException {
        String auth = r.header("Authorization");
        String presented = auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7) ? auth.substring(7).strip() : null;
        if (!sessions.tokenMatches(presented)) {
            r.exchange.getResponseHeaders().set("WWW-Authenticate", "Bearer realm=\"flowmonkey\"");
            log.warn("admin console: API request refused, {} token, from {}", presented == null ? "no" : "a wrong",
                    r.exchange.getRemoteAddress().getAddress().getHostAddress());
            throw new ConsoleException(401, "an Authorization: Bearer header with the console's token is required");
        }
        List<String> parts = segments(r.path.substring("/api".length()));
        Object body;
        if (r.method.equals("GET")) {
            body = switch (parts.size() > 0 ? parts.get(0) : "") {
                case "executions" -> parts.size() == 1 ? JsonViews.page(ops.store.query(ops.query(r)))
                        : parts.size() == 2 ? detail(parts.get(1)) : notFound();
                case "counts" -> JsonViews.counts(ops.countsByStatus());
                case "charts" -> JsonViews.minutes(ops.lastHour());
                case "workers" -> parts.size() == 1 ? JsonViews.workers(workersOr404()) : notFound();
                case "diagnose" -> parts.size() == 2 ? JsonViews.diagnosis(ops.diagnose(parts.get(1))) : notFound();
                default -> notFound();
            };
        } else if (r.method.equals("POST")) {
            jsonParams(r);
            if (parts.size() == 1 && parts.get(0).equals("purge")) {
                body = ops.perform("purge", null, r);
            } else if (parts.size() == 3 && parts.get(0).equals("executions") && !parts.get(2).equals("purge")
                    && Operations.ACTIONS.contains(parts.get(2))) {
                body = ops.perform(parts.get(2), parts.get(1), r);
            } else {
                body = notFound();
            }
        } else {
            throw new ConsoleException(405, "only GET and POST are served");
        }
        send(r.exchange, 200, "application/json", json(body), started);
    }

    private List<io.flowmonkey.execution.WorkerInfo> workersOr404() {
        List<io.flowmonkey.execution.WorkerInfo> live = ops.workers();
        if (live == null) {
            throw new ConsoleException(404, "this console's store keeps no worker heartbeats (it is no WorkerRegistry)");
        }
        return live;
    }

    private Map<String, Object> detail(String id) {
        Execution e = ops.load(id);
        return JsonViews.detail(e, ops.children(e), ops.pendingSignals(e));
    }

    private void handlePage(Request r, Sessions.Session session, long started) throws IOException {
        List<String> parts = segments(r.path);
        if (r.method.equals("GET")) {
            String html;
            if (parts.isEmpty()) {
                ExecutionQuery q = ops.query(r);
                html = pages.list(session, r, q, ops.store.query(q), ops.countsByStatus(),
                        sessions.takeNotice(session));
            } else if (parts.size() == 2 && parts.get(0).equals("executions")) {
                Execution e = ops.load(parts.get(1));
                html = pages.execution(session, e, ops.children(e), ops.pendingSignals(e),
                        sessions.takeNotice(session), ops.diagnoseForPage(e.id()));
            } else if (parts.size() == 1 && parts.get(0).equals("charts")) {
                html = pages.charts(session, ops.lastHour(), ops.keepsWorkers());
            } else if (parts.size() == 1 && parts.get(0).equals("workers")) {
                html = pages.workers(session, ops.workers());
            } else {
                throw new ConsoleException(404, "no page at " + r.path);
            }
            send(r.exchange, 200, "text/html; charset=utf-8", html, started);
            return;
        }
        if (!r.method.equals("POST")) {
            throw new ConsoleException(405, "only GET and POST are served");
        }
        if (!Sessions.csrfMatches(session, r.param("csrf"))) {
            log.warn("admin console: POST {} refused: missing or wrong CSRF token", r.path);
            throw new ConsoleException(403, "the form's CSRF token is missing or not this session's; reload the page");
        }
        if (parts.size() == 1 && parts.get(0).equals("logout")) {
            sessions.close(session);
            r.exchange.getResponseHeaders().add("Set-Cookie", COOKIE + "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
            redirect(r.exchange, "/login");
            return;
        }
        String action;
        String id;
        if (parts.size() == 1 && parts.get(0).equals("purge")) {
            action = "purge";
            id = null;
        } else if (parts.size() == 3 && parts.get(0).equals("executions") && !parts.get(2).equals("purge")
                && Operations.ACTIONS.contains(parts.get(2))) {
            action = parts.get(2);
            id = parts.get(1);
        } else {
            throw new ConsoleException(404, "no action at " + r.path);
        }
        if (ops.readOnly) {
            throw new ConsoleException(403, "the console is read-only: actions are refused");
        }
        if (!"yes".equals(r.param("confirm"))) {
            send(r.exchange, 200, "text/html; charset=utf-8", pages.confirm(session, action, id, r), started);
            return;
        }
        Map<String, Object> outcome = ops.perform(action, id, r);
        if (id == null) {
            sessions.notice(session, "purged " + outcome.get("deleted") + " executions");
            redirect(r.exchange, "/");
        } else if (outcome.get("newExecutionId") instanceof String fork) {
            sessions.notice(session, "restarted from execution " + id);
            redirect(r.exchange, "/executions/" + enc(fork));
        } else {
            sessions.notice(session, action + ": done, now " + outcome.getOrDefault("status", "signalled"));
            redirect(r.exchange, "/executions/" + enc(id));
        }
    }

    private void login(Request r, long started) throws IOException {
        if (r.method.equals("GET")) {
            send(r.exchange, 200, "text/html; charset=utf-8", pages.login(null), started);
            return;
        }
        if (!r.method.equals("POST")) {
            throw new ConsoleException(405, "only GET and POST are served");
        }
        if (!sessions.tokenMatches(r.param("token"))) {
            log.warn("admin console: login refused from {}", r.exchange.getRemoteAddress().getAddress().getHostAddress());
            send(r.exchange, 401, "text/html; charset=utf-8", pages.login("That is not the console's token."), started);
            return;
        }
        Sessions.Session s = sessions.open();
        r.exchange.getResponseHeaders().add("Set-Cookie", COOKIE + "=" + s.id() + "; Path=/; Max-Age="
                + options.sessionTtl.toSeconds() + "; HttpOnly; SameSite=Strict");
        redirect(r.exchange, "/");
    }

    /** Folds a JSON object body into the request's parameters: texts as they are, {@code data} as JSON text. */
    private void jsonParams(Request r) {
        String type = r.header("Content-Type");
        if (type == null || !type.toLowerCase(Locale.ROOT).startsWith("application/json") || r.body.isBlank()) {
            return;
        }
        Map<?, ?> body;
        try {
            body = json.readValue(r.body, Map.class);
        } catch (JsonProcessingException e) {
            throw new ConsoleException(400, "the body must be a JSON object: " + e.getOriginalMessage());
        }
        if (body == null) {
            throw new ConsoleException(400, "the body must be a JSON object, got null");
        }
        body.forEach((k, v) -> {
            List<String> values = new ArrayList<>();
            if (k.equals("data")) {
                values.add(json(v));
            } else if (v instanceof List<?> list) {
                list.forEach(item -> values.add(scalar(k, item)));
            } else if (v != null) {
                values.add(scalar(k, v));
            }
            r.params.put(String.valueOf(k), values);
        });
    }

    // ---- responses ----

    private void problem(HttpExchange exchange, boolean api, Sessions.Session session, int status, String message,
                         long started) throws IOException {
        if (api) {
            send(exchange, status, "application/json", json(Map.of("error", message)), started);
        } else {
            send(exchange, status, "text/html; charset=utf-8", pages.error(session, status, message), started);
        }
    }

    private static void send(HttpExchange exchange, int status, String type, String body, long started)
            throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        var headers = exchange.getResponseHeaders();
        headers.set("Content-Type", type);
        headers.set("Cache-Control", "no-store");
        headers.set("X-Content-Type-Options", "nosniff");
        headers.set("Referrer-Policy", "no-referrer");
        headers.set("X-Frame-Options", "DENY");
        headers.set("Content-Security-Policy", CSP);
        // The time to read, query and render, before the first byte is written: what "server time" means.
        headers.set("Server-Timing", String.format(Locale.ROOT, "app;dur=%.3f", (System.nanoTime() - started) / 1e6));
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    private static void redirect(HttpExchange exchange, String location) throws IOException {
        exchange.getResponseHeaders().set("Location", location);
        exchange.getResponseHeaders().set("Cache-Control", "no-store");
        exchange.sendResponseHeaders(303, -1);
    }

    private static Object notFound() {
        throw new ConsoleException(404, "no such resource");
    }

    private String json(Object value) {
        try {
            return json.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new ConsoleException(500, "the response cannot be written as JSON: " + e.getOriginalMessage());
        }
    }

    /** A field of a JSON body other than {@code data}: a string, number or boolean, never an object. */
    private static String scalar(Object key, Object value) {
        if (value instanceof Map<?, ?> || value instanceof List<?>) {
            throw new ConsoleException(400, "'" + key + "' must be a string, a number or a boolean");
        }
        return String.valueOf(value);
    }

    private static List<String> segments(String rawPath) {
        List<String> out = new ArrayList<>();
        for (String s : rawPath.split("/")) {
            if (!s.isEmpty()) {
                try {
                    out.add(URLDecoder.decode(s, StandardCharsets.UTF_8));
                } catch (IllegalArgumentException badEscape) {
                    throw new ConsoleException(400, "the request path is not valid URL encoding");
                }
            }
        }
        return out;
    }

    private static String enc(String s) {
        return java.net.URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    /**
     * Configures an {@link AdminConsole}; each setter checks its argument. Not thread-safe.
     */
    public static final class Builder {
        private final Engine engine;
        private final ExecutionStore store;
        private InetAddress bindAddress;
        private int port = DEFAULT_PORT;
        private String token;
        private boolean readOnly;
        private Duration sessionTtl = DEFAULT_SESSION_TTL;
        private int threads = DEFAULT_THREADS;
        private Clock clock = Clock.systemUTC();

        private Builder(Engine engine, ExecutionStore store) {
            this.engine = Objects.requireNonNull(engine, "engine must not be null");
            this.store = Objects.requireNonNull(store, "store must not be null");
            this.bindAddress = InetAddress.getLoopbackAddress();
        }

        /**
         * Sets the port; 0 lets the system choose a free one (see {@link AdminConsole#port()}).
         *
         * @param port 0 to 65535; default {@value #DEFAULT_PORT}
         * @return this builder
         * @throws IllegalArgumentException if out of range
         */
        public Builder port(int port) {
            if (port < 0 || port > 65_535) {
                throw new IllegalArgumentException("port must be between 0 and 65535, got " + port);
            }
            this.port = port;
            return this;
        }

        /**
         * Sets the address to listen on. The default, {@value #DEFAULT_BIND_ADDRESS}, serves this machine
         * only; {@code "0.0.0.0"} serves every network the machine is on (then put TLS in front).
         *
         * @param address an IP address literal or a host name of this machine
         * @return this builder
         * @throws IllegalArgumentException if it is blank or cannot be resolved
         */
        public Builder bindAddress(String address) {
            if (address == null || address.isBlank()) {
                throw new IllegalArgumentException("bind address must not be blank");
            }
            try {
                this.bindAddress = InetAddress.getByName(address.strip());
            } catch (UnknownHostException e) {
                throw new IllegalArgumentException("bind address '" + address + "' cannot be resolved", e);
            }
            return this;
        }

        /**
         * Sets the access token, required: the API's bearer token and the login form's password. Keep it
         * secret, as a password (from the environment or a secret store, never in code).
         *
         * @param token at least {@value #MIN_TOKEN_LENGTH} characters, no whitespace
         * @return this builder
         * @throws IllegalArgumentException if it is shorter or holds whitespace
         */
        public Builder token(String token) {
            if (token == null || token.length() < MIN_TOKEN_LENGTH) {
                throw new IllegalArgumentException("token must be at least " + MIN_TOKEN_LENGTH + " characters long, got "
                        + (token == null ? "none" : token.length() + " characters"));
            }
            if (token.chars().anyMatch(Character::isWhitespace)) {
                throw new IllegalArgumentException("token must not contain whitespace");
            }
            this.token = token;
            return this;
        }

        /**
         * Makes the console read-only, or not: a read-only console shows everything and refuses every action.
         *
         * @param readOnly true to refuse actions; default false
         * @return this builder
         */
        public Builder readOnly(boolean readOnly) {
            this.readOnly = readOnly;
            return this;
        }

        /**
         * Sets how long a browser session lasts after its login.
         *
         * @param ttl positive; default 8 hours
         * @return this builder
         * @throws IllegalArgumentException if not positive
         */
        public Builder sessionTtl(Duration ttl) {
            if (ttl == null || ttl.isNegative() || ttl.isZero()) {
                throw new IllegalArgumentException("session TTL must be positive, got " + ttl);
            }
            this.sessionTtl = ttl;
            return this;
        }

        /**
         * Sets how many threads serve requests.
         *
         * @param threads 1 to 64; default {@value #DEFAULT_THREADS}
         * @return this builder
         * @throws IllegalArgumentException if out of range
         */
        public Builder threads(int threads) {
            if (threads < 1 || threads > 64) {
                throw new IllegalArgumentException("threads must be between 1 and 64, got " + threads);
            }
            this.threads = threads;
            return this;
        }

        /**
         * Sets the clock of sessions and of the charts' buckets.
         *
         * @param clock the clock; default the system's, in UTC
         * @return this builder
         * @throws NullPointerException if null
         */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock must not be null");
            return this;
        }

        /**
         * Builds the console, not yet started.
         *
         * @return the console; call {@link AdminConsole#start()}
         * @throws IllegalStateException if no token was set
         */
        public AdminConsole build() {
            if (token == null) {
                throw new IllegalStateException("an admin console needs a token: set one with token(...)");
            }
            return new AdminConsole(this);
        }
    }
}
