package io.flowmonkey.console;

import io.flowmonkey.engine.Diagnosis;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionError;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.Page;
import io.flowmonkey.execution.Signal;
import io.flowmonkey.execution.StepHistory;
import io.flowmonkey.execution.WorkerHeartbeat;
import io.flowmonkey.execution.WorkerInfo;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The JSON shapes of the API: plain maps and lists, times as ISO-8601 text. */
final class JsonViews {

    private JsonViews() {
    }

    static Map<String, Object> page(Page<Execution> page) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("items", page.items().stream().map(JsonViews::summary).toList());
        out.put("nextCursor", page.nextCursor());
        return out;
    }

    /** The list's columns: no context, no history. */
    static Map<String, Object> summary(Execution e) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("id", e.id());
        out.put("flowId", e.flowId());
        out.put("flowVersion", e.flowVersion());
        out.put("tenantId", e.tenantId());
        out.put("status", e.status().wireName());
        out.put("currentStepId", e.currentStepId());
        out.put("stepCount", e.stepCount());
        out.put("errorCode", e.error() == null ? null : e.error().code());
        out.put("parentExecutionId", e.parentExecutionId());
        out.put("createdAt", text(e.createdAt()));
        out.put("updatedAt", text(e.updatedAt()));
        return out;
    }

    static Map<String, Object> detail(Execution e, List<Execution> children, List<Signal> signals) {
        Map<String, Object> out = summary(e);
        out.put("version", e.version());
        out.put("context", e.context());
        out.put("metadata", e.metadata());
        out.put("error", error(e.error()));
        out.put("history", e.history().stream().map(JsonViews::step).toList());
        if (e.waitMetadata() != null) {
            Map<String, Object> wait = new LinkedHashMap<>();
            wait.put("reason", e.waitMetadata().reason());
            wait.put("wakeAt", text(e.waitMetadata().wakeAt()));
            wait.put("waitStartedAt", text(e.waitMetadata().waitStartedAt()));
            wait.put("awaitedSignal", Operations.awaitedSignal(e));
            out.put("wait", wait);
        }
        if (e.cancellation() != null) {
            out.put("cancellation", Map.of("source", e.cancellation().source().wireName(),
                    "reason", e.cancellation().reason() == null ? "" : e.cancellation().reason(),
                    "cancelledAt", text(e.cancellation().cancelledAt())));
        }
        out.put("completedAt", text(e.completedAt()));
        out.put("failedAt", text(e.failedAt()));
        out.put("cancelledAt", text(e.cancelledAt()));
        out.put("children", children.stream().map(JsonViews::summary).toList());
        out.put("signals", signals.stream().map(JsonViews::signal).toList());
        return out;
    }

    static Map<String, Object> error(ExecutionError error) {
        if (error == null) {
            return null;
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("code", error.code());
        out.put("message", error.message());
        out.put("stepId", error.stepId());
        out.put("timestamp", text(error.timestamp()));
        out.put("stackTrace", stackTrace(error));
        out.put("details", error.details());
        return out;
    }

    /** The stack trace the engine keeps under {@code error.details.stackTrace}, or null. */
    static String stackTrace(ExecutionError error) {
        return error != null && error.details() instanceof Map<?, ?> details
                && details.get("stackTrace") instanceof String s ? s : null;
    }

    static Map<String, Object> step(StepHistory h) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("stepId", h.stepId());
        out.put("handlerType", h.handlerType());
        out.put("outcome", h.outcome());
        out.put("startedAt", text(h.startedAt()));
        out.put("completedAt", text(h.completedAt()));
        out.put("durationMs", h.durationMs());
        out.put("error", h.error());
        return out;
    }

    static Map<String, Object> signal(Signal s) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("id", s.id());
        out.put("name", s.name());
        out.put("data", s.data());
        out.put("sentAt", text(s.sentAt()));
        return out;
    }

    static Map<String, Object> counts(Map<ExecutionStatus, Operations.Count> counts) {
        Map<String, Object> out = new LinkedHashMap<>();
        counts.forEach((status, c) -> out.put(status.wireName(), Map.of("count", c.value(), "estimated", c.estimated())));
        return out;
    }

    static List<Map<String, Object>> minutes(List<Operations.Minute> minutes) {
        return minutes.stream().map(b -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("start", text(b.start()));
            m.put("created", b.created());
            m.put("completed", b.completed());
            m.put("failed", b.failed());
            m.put("latenessMaxMs", b.latenessMaxMs());
            m.put("latenessP99Ms", b.latenessP99Ms());
            return m;
        }).toList();
    }

    static List<Map<String, Object>> workers(List<WorkerInfo> workers) {
        return workers.stream().map(w -> {
            WorkerHeartbeat r = w.reported();
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("workerId", r.workerId());
            m.put("host", r.host());
            m.put("pid", r.pid());
            m.put("serves", r.serves().stream().map(v -> Map.of("flowId", v.flowId(), "version", v.version())).toList());
            m.put("threads", r.threads());
            m.put("inFlight", r.inFlight());
            m.put("startedAt", text(r.startedAt()));
            m.put("lastHeartbeat", text(w.lastHeartbeat()));
            m.put("lastClaim", text(r.lastClaim()));
            m.put("expiresAt", text(w.expiresAt()));
            m.put("lateness", r.lateness().stream().map(l -> {
                Map<String, Object> one = new LinkedHashMap<>();
                one.put("minute", text(l.minute()));
                one.put("count", l.count());
                one.put("maxMs", l.maxMs());
                one.put("p99Ms", l.p99Ms());
                return one;
            }).toList());
            return m;
        }).toList();
    }

    static Map<String, Object> diagnosis(Diagnosis d) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("executionId", d.executionId());
        m.put("status", d.status() == null ? null : d.status().wireName());
        m.put("kind", d.kind().name());
        m.put("sentence", d.sentence());
        m.put("at", text(d.at()));
        return m;
    }

    static String text(Instant t) {
        return t == null ? null : t.toString();
    }
}
