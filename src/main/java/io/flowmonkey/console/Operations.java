package io.flowmonkey.console;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flowmonkey.engine.CancelResult;
import io.flowmonkey.engine.Diagnosis;
import io.flowmonkey.engine.Engine;
import io.flowmonkey.engine.RunResult;
import io.flowmonkey.execution.Cancellation;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionNotFoundException;
import io.flowmonkey.execution.StoreException;
import io.flowmonkey.execution.ExecutionQuery;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.ExecutionStore;
import io.flowmonkey.execution.Signal;
import io.flowmonkey.execution.SignalStore;
import io.flowmonkey.execution.WorkerHeartbeat;
import io.flowmonkey.execution.WorkerInfo;
import io.flowmonkey.execution.WorkerRegistry;
import io.flowmonkey.postgres.PgExecutionStore;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the JSON API and the HTML pages both do, so that they cannot drift apart: reading a query from
 * request parameters, loading an execution with its children and signals, counting, and the actions.
 */
final class Operations {

    /** The charts' span in one-minute buckets: the last hour, the current minute last. */
    static final int MINUTES = 60;
    /** Below this, counts by status are exact; above, the store's estimate, labelled as such. */
    static final long EXACT_COUNT_UP_TO = 10_000;
    /** How many pending signals of the awaited name an execution page shows. */
    static final int SIGNAL_LIMIT = 50;

    private static final Logger log = LoggerFactory.getLogger(AdminConsole.class);

    final Engine engine;
    final ExecutionStore store;
    final boolean readOnly;
    final Clock clock;
    private final ObjectMapper json;

    Operations(Engine engine, ExecutionStore store, boolean readOnly, Clock clock, ObjectMapper json) {
        this.engine = engine;
        this.store = store;
        this.readOnly = readOnly;
        this.clock = clock;
        this.json = json;
    }

    /** The query the list's parameters describe: status (repeatable), flow, flowVersion, tenant, createdFrom, createdBefore, errorCode, limit, cursor. */
    ExecutionQuery query(Request r) {
        try {
            ExecutionQuery.Builder b = ExecutionQuery.builder();
            List<String> statuses = r.all("status");
            if (!statuses.isEmpty()) {
                b.statuses(statuses.stream().map(ExecutionStatus::fromWireName).toList());
            }
            String flow = r.param("flow");
            String version = r.param("flowVersion");
            if (flow != null && version != null) {
                b.flow(flow, version);
            } else if (flow != null) {
                b.flow(flow);
            } else if (version != null) {
                throw new IllegalArgumentException("flowVersion needs flow");
            }
            if (r.param("tenant") != null) {
                b.tenantId(r.param("tenant"));
            }
            if (r.param("errorCode") != null) {
                b.errorCode(r.param("errorCode"));
            }
            Instant from = instant(r.param("createdFrom"), "createdFrom");
            Instant before = instant(r.param("createdBefore"), "createdBefore");
            if (from != null || before != null) {
                b.createdBetween(from, before);
            }
            if (r.param("limit") != null) {
                b.limit(integer(r.param("limit"), "limit"));
            }
            return b.build().after(r.param("cursor"));
        } catch (IllegalArgumentException e) {
            throw new ConsoleException(400, e.getMessage());
        }
    }

    /** An execution, a 404, or a 400 for an id no execution can have (a NUL, an unpaired surrogate). */
    Execution load(String id) {
        try {
            return store.load(id).orElseThrow(() -> new ConsoleException(404, "no execution has id '" + id + "'"));
        } catch (IllegalArgumentException e) {
            throw new ConsoleException(400, e.getMessage());
        }
    }

    List<Execution> children(Execution e) {
        return store.findChildren(e.id());
    }

    /** The unconsumed signals of the name a waiting execution awaits; empty when it awaits none or the store keeps none. */
    List<Signal> pendingSignals(Execution e) {
        String name = awaitedSignal(e);
        if (name == null || !(store instanceof SignalStore signals)) {
            return List.of();
        }
        return signals.findSignals(e.id(), name, SIGNAL_LIMIT);
    }

    static String awaitedSignal(Execution e) {
        return e.waitMetadata() != null && e.waitMetadata().data().get("signal") instanceof String s ? s : null;
    }

    /** A count per status: exact where the estimate is at most {@value #EXACT_COUNT_UP_TO}, else the estimate. */
    Map<ExecutionStatus, Count> countsByStatus() {
        Map<ExecutionStatus, Count> counts = new EnumMap<>(ExecutionStatus.class);
        for (ExecutionStatus s : ExecutionStatus.values()) {
            ExecutionQuery q = ExecutionQuery.builder().status(s).build();
            long estimate = store.countEstimate(q);
            counts.put(s, estimate <= EXACT_COUNT_UP_TO ? new Count(store.count(q), false) : new Count(estimate, true));
        }
        return counts;
    }

    /** A count, and whether it is the planner's estimate rather than exact. */
    record Count(long value, boolean estimated) {
    }

    /**
     * One minute of the charts: executions created, completed and failed in it, and the claim lateness
     * that live workers measured in it (the latest, and the highest 99th percentile, across workers).
     *
     * @param start the minute's start
     * @param created created in the minute
     * @param completed completed in the minute
     * @param failed failed in the minute
     * @param latenessMaxMs the latest claim of the minute across live workers; null when none was measured
     * @param latenessP99Ms the highest of the workers' 99th percentiles; null when none was measured
     */
    record Minute(Instant start, long created, long completed, long failed, Long latenessMaxMs, Long latenessP99Ms) {
    }

    /**
     * The last hour, a minute at a time, the current minute last. On a {@link PgExecutionStore}: two
     * statements over index ranges of the hour ({@link PgExecutionStore#countsPerMinute}), by each
     * execution's own end time. On another store: three counts a minute, completed and failed by
     * {@code updatedAt}, the time of the last save, which for an ended execution is its end. Lateness
     * comes from the heartbeats of live workers, on a store that keeps them.
     */
    List<Minute> lastHour() {
        long current = Math.floorDiv(clock.millis(), 60_000L);
        Instant first = Instant.ofEpochMilli((current - MINUTES + 1) * 60_000);
        Map<Instant, long[]> lateness = latenessByMinute();
        List<Minute> minutes = new ArrayList<>(MINUTES);
        if (store instanceof PgExecutionStore pg) {
            for (PgExecutionStore.MinuteCounts m : pg.countsPerMinute(first, MINUTES)) {
                minutes.add(minute(m.minute(), m.created(), m.completed(), m.failed(), lateness));
            }
            return minutes;
        }
        for (int i = 0; i < MINUTES; i++) {
            Instant from = first.plusSeconds(60L * i);
            Instant before = from.plusSeconds(60);
            minutes.add(minute(from, store.count(ExecutionQuery.builder().createdBetween(from, before).build()),
                    store.count(ExecutionQuery.builder().status(ExecutionStatus.COMPLETED).updatedBetween(from, before)
                            .build()),
                    store.count(ExecutionQuery.builder().status(ExecutionStatus.FAILED).updatedBetween(from, before)
                            .build()), lateness));
        }
        return minutes;
    }

    private static Minute minute(Instant start, long created, long completed, long failed, Map<Instant, long[]> late) {
        long[] l = late.get(start);
        return new Minute(start, created, completed, failed, l == null ? null : l[0], l == null ? null : l[1]);
    }

    /** Per minute, the latest claim and the highest 99th percentile across the live workers' heartbeats. */
    private Map<Instant, long[]> latenessByMinute() {
        Map<Instant, long[]> out = new HashMap<>();
        List<WorkerInfo> live = workers();
        if (live == null) {
            return out;
        }
        for (WorkerInfo w : live) {
            for (WorkerHeartbeat.ClaimLateness l : w.reported().lateness()) {
                long[] m = out.computeIfAbsent(l.minute(), k -> new long[2]);
                m[0] = Math.max(m[0], l.maxMs());
                m[1] = Math.max(m[1], l.p99Ms());
            }
        }
        return out;
    }

    /** The live workers, or null when the store keeps no heartbeats. */
    List<WorkerInfo> workers() {
        return store instanceof WorkerRegistry registry ? registry.workers() : null;
    }

    /** Whether the store keeps worker heartbeats, and so claim lateness. */
    boolean keepsWorkers() {
        return store instanceof WorkerRegistry;
    }

    /**
     * The diagnosis the execution page shows: a store failure while diagnosing (a corrupt heartbeat
     * row, a child that cannot be read) is the sentence, so that the rest of the page still shows.
     */
    String diagnoseForPage(String id) {
        try {
            return diagnose(id).sentence();
        } catch (StoreException e) {
            return "no diagnosis: " + e.getMessage();
        }
    }

    /** Why an execution is where it is ({@link Engine#diagnose(String)}), or a 404. */
    Diagnosis diagnose(String id) {
        try {
            return engine.diagnose(id);
        } catch (ExecutionNotFoundException e) {
            throw new ConsoleException(404, "no execution has id '" + id + "'");
        } catch (IllegalArgumentException e) {
            throw new ConsoleException(400, e.getMessage());
        }
    }

    /** The actions, by the name used in URLs. */
    static final Set<String> ACTIONS = Set.of("cancel", "retry", "restart", "signal", "purge");

    boolean canPurge() {
        return store instanceof PgExecutionStore;
    }

    /**
     * Performs an action and describes its outcome.
     *
     * @param action one of {@link #ACTIONS}
     * @param id the execution, except for purge
     * @param r the request holding the action's parameters (reason, stepId, name, data, olderThan, status)
     * @return what happened, JSON-like
     */
    Map<String, Object> perform(String action, String id, Request r) {
        if (readOnly) {
            throw new ConsoleException(403, "the console is read-only: actions are refused");
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("action", action);
        try {
            switch (action) {
                case "cancel" -> {
                    String reason = r.param("reason") == null ? "cancelled from the admin console" : r.param("reason");
                    CancelResult c = engine.cancel(id, Cancellation.Source.ADMIN, reason);
                    out.put("executionId", id);
                    out.put("cancelled", c.cancelled());
                    out.put("status", c.execution().status().wireName());
                }
                case "retry" -> {
                    RunResult run = engine.retry(id);
                    out.put("executionId", id);
                    out.put("status", run.execution().status().wireName());
                }
                case "restart" -> {
                    String step = required(r, "stepId");
                    RunResult run = engine.restartFrom(id, step);
                    out.put("executionId", id);
                    out.put("newExecutionId", run.execution().id());
                    out.put("status", run.execution().status().wireName());
                }
                case "signal" -> {
                    engine.signal(id, required(r, "name"), data(r.param("data")));
                    out.put("executionId", id);
                    out.put("signal", r.param("name"));
                }
                case "purge" -> out.put("deleted", purge(r));
                default -> throw new ConsoleException(404, "no action '" + action + "'");
            }
        } catch (ExecutionNotFoundException e) {
            throw new ConsoleException(404, e.getMessage());
        } catch (IllegalStateException | io.flowmonkey.execution.ConcurrentUpdateException e) {
            throw new ConsoleException(409, e.getMessage());
        } catch (IllegalArgumentException | UnsupportedOperationException e) {
            throw new ConsoleException(400, e.getMessage());
        }
        // Ids and outcomes only: contexts, signal data and reasons stay out of the log.
        log.info("admin console: {} of {} -> {}", action, id == null ? "executions" : id,
                out.getOrDefault("status", out.getOrDefault("deleted", "done")));
        return out;
    }

    private int purge(Request r) {
        if (!(store instanceof PgExecutionStore pg)) {
            throw new ConsoleException(400, "purge needs a PgExecutionStore; this console's store is a "
                    + store.getClass().getSimpleName());
        }
        Duration olderThan;
        try {
            olderThan = Duration.parse(required(r, "olderThan"));
        } catch (DateTimeParseException e) {
            throw new ConsoleException(400, "olderThan must be an ISO-8601 duration such as P30D or PT12H, got '"
                    + r.param("olderThan") + "'");
        }
        List<String> named = r.all("status");
        Set<ExecutionStatus> statuses = named.isEmpty() ? PgExecutionStore.ENDED
                : EnumSet.copyOf(named.stream().map(ExecutionStatus::fromWireName).toList());
        return pg.purge(olderThan, statuses, PgExecutionStore.DEFAULT_PURGE_BATCH);
    }

    private Map<String, Object> data(String text) {
        if (text == null) {
            return null;
        }
        try {
            @SuppressWarnings("unchecked")
            Map<String, Object> data = json.readValue(text, Map.class);
            return data;
        } catch (JsonProcessingException e) {
            throw new ConsoleException(400, "data must be a JSON object: " + e.getOriginalMessage());
        }
    }

    private static String required(Request r, String name) {
        String value = r.param(name);
        if (value == null) {
            throw new ConsoleException(400, name + " is required");
        }
        return value;
    }

    private static Instant instant(String text, String field) {
        if (text == null) {
            return null;
        }
        try {
            return Instant.parse(text);
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException(field + " must be an ISO-8601 instant such as 2026-01-31T08:00:00Z, got '"
                    + text + "'");
        }
    }

    private static int integer(String text, String field) {
        try {
            return Integer.parseInt(text);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(field + " must be a whole number, got '" + text + "'");
        }
    }
}
