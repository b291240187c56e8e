package io.flowmonkey.console;

import static io.flowmonkey.console.Html.esc;
import static io.flowmonkey.console.Html.param;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectWriter;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionError;
import io.flowmonkey.execution.ExecutionQuery;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.Page;
import io.flowmonkey.execution.Signal;
import io.flowmonkey.execution.StepHistory;
import io.flowmonkey.execution.WorkerHeartbeat;
import io.flowmonkey.execution.WorkerInfo;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.ToLongFunction;

/**
 * The server-rendered HTML pages. Every value from an execution or a request goes through
 * {@link Html#esc(Object)}; nothing here writes a script, and the console's Content-Security-Policy
 * would not run one.
 */
final class Pages {

    private static final String CSS = """
            body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
            header{background:#1d2330;color:#fff;padding:8px 16px;display:flex;gap:16px;align-items:center}
            header a{color:#cfe0ff;text-decoration:none} header form{margin-left:auto}
            main{padding:16px} h1{font-size:20px;margin:0 0 12px} h2{font-size:16px;margin:20px 0 8px}
            table{border-collapse:collapse;background:#fff;width:100%} th,td{padding:4px 8px;border-bottom:1px solid #e3e6eb;text-align:left;vertical-align:top}
            th{background:#eef0f4;font-weight:600} code,pre{font:12px/1.4 ui-monospace,monospace}
            pre{background:#fff;border:1px solid #e3e6eb;padding:8px;overflow:auto;max-height:420px}
            .st{padding:1px 6px;border-radius:8px;font-size:12px;background:#e3e6eb}
            .st-failed{background:#fde2e1;color:#8a1c14} .st-completed{background:#dff5e3;color:#17602a}
            .st-waiting,.st-pending{background:#fff4d6;color:#6b4e00} .st-running{background:#dde9ff;color:#1b3f8a}
            .st-cancelled,.st-cancelling{background:#ececec;color:#555}
            .counts{display:flex;gap:8px;margin-bottom:12px;flex-wrap:wrap} .counts div{background:#fff;border:1px solid #e3e6eb;padding:6px 10px}
            form.filters{display:flex;gap:8px;flex-wrap:wrap;align-items:end;margin-bottom:12px} label{display:flex;flex-direction:column;font-size:12px}
            input,select,button{font:inherit;padding:3px 6px} .actions{display:flex;gap:12px;flex-wrap:wrap}
            .actions form{background:#fff;border:1px solid #e3e6eb;padding:8px} .msg{background:#dff5e3;padding:8px;margin-bottom:12px}
            .err{background:#fde2e1;padding:8px;margin-bottom:12px} .bar{background:#7aa2e3;height:10px;min-width:2px}
            .note{color:#5b6270;font-size:12px}
            """;

    private final Operations ops;
    private final ObjectWriter prettyJson;

    Pages(Operations ops, ObjectWriter prettyJson) {
        this.ops = ops;
        this.prettyJson = prettyJson;
    }

    String login(String problem) {
        return document("Log in", null, (problem == null ? "" : "<div class=\"err\">" + esc(problem) + "</div>")
                + "<h1>FlowMonkey console</h1><form method=\"post\" action=\"/login\">"
                + "<label>Access token<input type=\"password\" name=\"token\" autocomplete=\"current-password\" autofocus></label>"
                + "<p><button type=\"submit\" id=\"login\">Log in</button></p></form>");
    }

    String list(Sessions.Session session, Request r, ExecutionQuery q, Page<Execution> page,
                Map<ExecutionStatus, Operations.Count> counts, String done) {
        StringBuilder b = new StringBuilder();
        if (done != null) {
            b.append("<div class=\"msg\" id=\"done\">").append(esc(done)).append("</div>");
        }
        b.append("<h1>Executions</h1><div class=\"counts\">");
        counts.forEach((s, c) -> b.append("<div><span class=\"st st-").append(esc(s.wireName())).append("\">")
                .append(esc(s.wireName())).append("</span> ").append(c.estimated() ? "about " : "")
                .append(esc(String.format("%,d", c.value()))).append("</div>"));
        b.append("</div><form class=\"filters\" method=\"get\" action=\"/\">")
                .append("<label>Status<select name=\"status\" id=\"f-status\"><option value=\"\">any</option>");
        for (ExecutionStatus s : ExecutionStatus.values()) {
            b.append("<option").append(q.statuses().contains(s) ? " selected" : "").append(" value=\"")
                    .append(esc(s.wireName())).append("\">").append(esc(s.wireName())).append("</option>");
        }
        b.append("</select></label>")
                .append(field("Flow", "flow", r.param("flow")))
                .append(field("Version", "flowVersion", r.param("flowVersion")))
                .append(field("Tenant", "tenant", r.param("tenant")))
                .append(field("Error code", "errorCode", r.param("errorCode")))
                .append(field("Created from (ISO instant)", "createdFrom", r.param("createdFrom")))
                .append(field("Created before", "createdBefore", r.param("createdBefore")))
                .append("<button type=\"submit\" id=\"filter\">Filter</button> <a href=\"/\">clear</a></form>");
        b.append("<table id=\"executions\"><thead><tr><th>Id</th><th>Flow</th><th>Tenant</th><th>Status</th><th>Step</th>"
                + "<th>Error</th><th>Created</th><th>Updated</th></tr></thead><tbody>");
        for (Execution e : page.items()) {
            b.append("<tr><td><a href=\"/executions/").append(path(e.id())).append("\">").append(esc(e.id()))
                    .append("</a></td><td>").append(esc(e.flowId())).append("@").append(esc(e.flowVersion()))
                    .append("</td><td>").append(esc(e.tenantId())).append("</td><td>").append(status(e.status()))
                    .append("</td><td>").append(esc(e.currentStepId())).append("</td><td>")
                    .append(esc(e.error() == null ? null : e.error().code())).append("</td><td>")
                    .append(esc(e.createdAt())).append("</td><td>").append(esc(e.updatedAt())).append("</td></tr>");
        }
        if (page.items().isEmpty()) {
            b.append("<tr><td colspan=\"8\">No execution matches.</td></tr>");
        }
        b.append("</tbody></table>");
        if (page.hasNext()) {
            StringBuilder href = new StringBuilder("/?");
            r.params.forEach((k, values) -> {
                if (!k.equals("cursor")) {
                    values.forEach(v -> href.append(param(k)).append('=').append(param(v)).append("&amp;"));
                }
            });
            href.append("cursor=").append(param(page.nextCursor()));
            b.append("<p><a id=\"next\" href=\"").append(href).append("\">Next page &rarr;</a></p>");
        }
        if (ops.canPurge() && !ops.readOnly) {
            b.append("<h2>Retention</h2><div class=\"actions\">")
                    .append(actionForm(session, "/purge", "purge", "Purge ended executions older than…",
                            "<label>Older than (ISO-8601 duration)<input name=\"olderThan\" value=\"P30D\"></label>"))
                    .append("</div>");
        }
        return document("Executions", session, b.toString());
    }

    String execution(Sessions.Session session, Execution e, List<Execution> children, List<Signal> signals,
                     String done, String diagnosis) {
        StringBuilder b = new StringBuilder();
        if (done != null) {
            b.append("<div class=\"msg\" id=\"done\">").append(esc(done)).append("</div>");
        }
        b.append("<h1>Execution <code>").append(esc(e.id())).append("</code></h1><table><tbody>")
                .append(row("Status", status(e.status())))
                .append("<tr><th>Why</th><td id=\"diagnosis\">").append(esc(diagnosis)).append("</td></tr>")
                .append(row("Flow", esc(e.flowId()) + "@" + esc(e.flowVersion())))
                .append(row("Tenant", esc(e.tenantId())))
                .append(row("Current step", esc(e.currentStepId()) + " (" + e.stepCount() + " steps run)"))
                .append(row("Parent", e.parentExecutionId() == null ? "" : link(e.parentExecutionId())))
                .append(row("Created / updated", esc(e.createdAt()) + " / " + esc(e.updatedAt())))
                .append(row("Ended", esc(first(e.completedAt(), e.failedAt(), e.cancelledAt()))));
        if (e.waitMetadata() != null) {
            b.append(row("Waiting", esc(e.waitMetadata().reason())
                    + (e.waitMetadata().wakeAt() == null ? "" : ", wakes at " + esc(e.waitMetadata().wakeAt()))
                    + (Operations.awaitedSignal(e) == null ? "" : ", for signal '" + esc(Operations.awaitedSignal(e)) + "'")));
        }
        if (e.cancellation() != null) {
            b.append(row("Cancelled by", esc(e.cancellation().source().wireName()) + ": " + esc(e.cancellation().reason())));
        }
        b.append("</tbody></table>");
        b.append(actions(session, e));
        b.append("<h2>Step timeline</h2>").append(timeline(e.history()));
        ExecutionError error = e.error();
        if (error != null) {
            b.append("<h2>Error</h2><table id=\"error\"><tbody>").append(row("Code", "<code>" + esc(error.code()) + "</code>"))
                    .append(row("Message", esc(error.message()))).append(row("Step", esc(error.stepId())))
                    .append(row("At", esc(error.timestamp()))).append("</tbody></table>");
            String trace = JsonViews.stackTrace(error);
            if (trace != null) {
                b.append("<h2>Stack trace</h2><pre id=\"stack\">").append(esc(trace)).append("</pre>");
            } else if (error.details() != null) {
                b.append("<h2>Error details</h2><pre>").append(esc(pretty(error.details()))).append("</pre>");
            }
        }
        b.append("<h2>Context</h2><pre id=\"context\">").append(esc(pretty(e.context()))).append("</pre>");
        if (!e.metadata().isEmpty()) {
            b.append("<h2>Metadata</h2><pre>").append(esc(pretty(e.metadata()))).append("</pre>");
        }
        b.append("<h2>Children</h2>");
        if (children.isEmpty()) {
            b.append("<p class=\"note\">None.</p>");
        } else {
            b.append("<table><thead><tr><th>Id</th><th>Flow</th><th>Status</th><th>Created</th></tr></thead><tbody>");
            for (Execution c : children) {
                b.append("<tr><td>").append(link(c.id())).append("</td><td>").append(esc(c.flowId())).append("@")
                        .append(esc(c.flowVersion())).append("</td><td>").append(status(c.status())).append("</td><td>")
                        .append(esc(c.createdAt())).append("</td></tr>");
            }
            b.append("</tbody></table>");
        }
        b.append("<h2>Signals</h2>");
        if (signals.isEmpty()) {
            b.append("<p class=\"note\">No pending signal")
                    .append(Operations.awaitedSignal(e) == null ? " (it awaits none)." : " of the awaited name.")
                    .append(" Consumed signals leave no row; their data is in the context.</p>");
        } else {
            b.append("<table><thead><tr><th>Name</th><th>Sent</th><th>Data</th></tr></thead><tbody>");
            for (Signal s : signals) {
                b.append("<tr><td>").append(esc(s.name())).append("</td><td>").append(esc(s.sentAt()))
                        .append("</td><td><code>").append(esc(pretty(s.data()))).append("</code></td></tr>");
            }
            b.append("</tbody></table>");
        }
        return document("Execution " + e.id(), session, b.toString());
    }

    String confirm(Sessions.Session session, String action, String target, Request r) {
        StringBuilder hidden = new StringBuilder();
        r.params.forEach((k, values) -> {
            if (!k.equals("csrf") && !k.equals("confirm")) {
                values.forEach(v -> hidden.append("<input type=\"hidden\" name=\"").append(esc(k)).append("\" value=\"")
                        .append(esc(v)).append("\">"));
            }
        });
        String what = target == null ? "all ended executions older than " + r.param("olderThan")
                : "execution " + target;
        String back = target == null ? "/" : "/executions/" + path(target);
        return document("Confirm " + action, session, "<h1>Confirm: " + esc(action) + "</h1><p>You are about to <strong>"
                + esc(action) + "</strong> " + esc(what) + ". This cannot be undone.</p>"
                + "<form method=\"post\" action=\"" + esc(r.path) + "\">" + hidden
                + "<input type=\"hidden\" name=\"csrf\" value=\"" + esc(session.csrfToken()) + "\">"
                + "<input type=\"hidden\" name=\"confirm\" value=\"yes\">"
                + "<button type=\"submit\" id=\"confirm\">Yes, " + esc(action) + "</button> <a href=\"" + esc(back)
                + "\">No, go back</a></form>");
    }

    String charts(Sessions.Session session, List<Operations.Minute> minutes, boolean latenessKnown) {
        return document("Charts", session, "<h1>The last hour, a minute at a time</h1>"
                + "<h2>Throughput: executions completed per minute</h2>"
                + bars(minutes, Operations.Minute::completed, "#3d9a55", "throughput", "")
                + "<h2>Failures: executions failed per minute</h2>"
                + bars(minutes, Operations.Minute::failed, "#c8463c", "failures", "")
                + "<h2>Lateness: the latest claim per minute, across live workers</h2>"
                + (latenessKnown ? bars(minutes, m -> m.latenessMaxMs() == null ? 0 : m.latenessMaxMs(), "#d08a2e",
                        "lateness", " ms")
                        : "<p class=\"note\">This store keeps no worker heartbeats, where lateness is recorded.</p>")
                + "<h2>Created per minute</h2>" + bars(minutes, Operations.Minute::created, "#7aa2e3", "created", "")
                + "<p class=\"note\">Completed and failed are counted by each execution's own end time, while it is "
                + "stored (purged executions are not counted). Lateness is the time from when a claimed execution fell "
                + "due (a pending one: its last save; a timed wait: its wake-up time) to its claim, as each live worker "
                + "measured it and keeps it in its heartbeat: the bar is the latest of the minute across workers, the "
                + "tooltip adds the highest 99th percentile. A worker that stopped takes its minutes with it.</p>");
    }

    String workers(Sessions.Session session, List<WorkerInfo> workers) {
        if (workers == null) {
            return document("Workers", session, "<h1>Workers</h1><p>This console's store keeps no worker heartbeats "
                    + "(it is no <code>WorkerRegistry</code>), so it cannot list workers.</p>");
        }
        StringBuilder b = new StringBuilder("<h1>Workers</h1><p class=\"note\">Live workers: each heartbeats with "
                + "its lease renewals and counts as live for its lease length after each.</p>"
                + "<table id=\"workers\"><thead><tr><th>Worker</th><th>Host / pid</th><th>Serves</th><th>Threads</th>"
                + "<th>In flight</th><th>Started</th><th>Last heartbeat</th><th>Last claim</th>"
                + "<th>Latest claim lateness</th></tr></thead><tbody>");
        for (WorkerInfo w : workers) {
            WorkerHeartbeat r = w.reported();
            StringBuilder serves = new StringBuilder();
            r.serves().forEach(v -> serves.append(serves.length() == 0 ? "" : ", ").append(esc(v.flowId())).append('@')
                    .append(esc(v.version())));
            WorkerHeartbeat.ClaimLateness last = r.lateness().isEmpty() ? null : r.lateness().get(r.lateness().size() - 1);
            b.append("<tr><td>").append(esc(r.workerId())).append("</td><td>").append(esc(r.host())).append(" / ")
                    .append(r.pid()).append("</td><td>").append(serves).append("</td><td>").append(r.threads())
                    .append("</td><td>").append(r.inFlight()).append("</td><td>").append(esc(r.startedAt()))
                    .append("</td><td>").append(esc(w.lastHeartbeat())).append("</td><td>")
                    .append(esc(r.lastClaim() == null ? "never" : r.lastClaim())).append("</td><td>")
                    .append(last == null ? "" : esc(last.maxMs() + " ms (p99 " + last.p99Ms() + " ms) in the minute of "
                            + last.minute()))
                    .append("</td></tr>");
        }
        if (workers.isEmpty()) {
            b.append("<tr><td colspan=\"9\">No live worker.</td></tr>");
        }
        return document("Workers", session, b.append("</tbody></table>").toString());
    }

    String error(Sessions.Session session, int status, String message) {
        return document("Error " + status, session, "<h1>Error " + status + "</h1><div class=\"err\" id=\"problem\">"
                + esc(message) + "</div><p><a href=\"/\">Back to the list</a></p>");
    }

    private String actions(Sessions.Session session, Execution e) {
        if (ops.readOnly) {
            return "<p class=\"note\">Read-only console: actions are switched off.</p>";
        }
        String base = "/executions/" + path(e.id()) + "/";
        StringBuilder b = new StringBuilder("<h2>Actions</h2><div class=\"actions\">");
        ExecutionStatus s = e.status();
        if (!s.isTerminal()) {
            b.append(actionForm(session, base + "cancel", "cancel", "Cancel…",
                    "<label>Reason<input name=\"reason\" value=\"\"></label>"));
        }
        if (s == ExecutionStatus.WAITING) {
            b.append(actionForm(session, base + "signal", "signal", "Send signal…",
                    "<label>Name<input name=\"name\" value=\"" + esc(Operations.awaitedSignal(e)) + "\"></label>"
                            + "<label>Data (JSON object)<input name=\"data\" value=\"{}\"></label>"));
        }
        if (s == ExecutionStatus.FAILED) {
            b.append(actionForm(session, base + "retry", "retry", "Retry…", ""));
        }
        if (s.isTerminal()) {
            b.append(actionForm(session, base + "restart", "restart", "Restart from step…",
                    "<label>Step<input name=\"stepId\" value=\"" + esc(e.currentStepId()) + "\"></label>"));
        }
        return b.append("</div>").toString();
    }

    private static String actionForm(Sessions.Session session, String action, String name, String label, String fields) {
        return "<form method=\"post\" action=\"" + esc(action) + "\">" + fields
                + "<input type=\"hidden\" name=\"csrf\" value=\"" + esc(session.csrfToken()) + "\">"
                + "<button type=\"submit\" id=\"action-" + esc(name) + "\">" + esc(label) + "</button></form>";
    }

    private static String timeline(List<StepHistory> history) {
        if (history.isEmpty()) {
            return "<p class=\"note\">No step has run yet.</p>";
        }
        long longest = Math.max(1, history.stream().mapToLong(StepHistory::durationMs).max().orElse(1));
        StringBuilder b = new StringBuilder("<table id=\"timeline\"><thead><tr><th>#</th><th>Step</th><th>Handler</th>"
                + "<th>Outcome</th><th>Started</th><th>Duration</th><th></th></tr></thead><tbody>");
        int i = 1;
        for (StepHistory h : history) {
            long width = Math.max(1, h.durationMs() * 200 / longest);
            b.append("<tr><td>").append(i++).append("</td><td>").append(esc(h.stepId())).append("</td><td>")
                    .append(esc(h.handlerType())).append("</td><td>").append(esc(h.outcome())).append("</td><td>")
                    .append(esc(h.startedAt())).append("</td><td>").append(h.durationMs()).append(" ms</td><td>")
                    .append("<div class=\"bar\" style=\"width:").append(width).append("px\"></div></td></tr>");
        }
        return b.append("</tbody></table>").toString();
    }

    /** A bar per minute as inline SVG, the largest value labelled, a time label every ten minutes. */
    private static String bars(List<Operations.Minute> minutes, ToLongFunction<Operations.Minute> value, String color,
                               String id, String unit) {
        int w = 12;
        int h = 120;
        int left = 8;
        long max = Math.max(1, minutes.stream().mapToLong(value).max().orElse(1));
        StringBuilder b = new StringBuilder("<svg id=\"chart-" + esc(id) + "\" width=\"" + (left + w * minutes.size() + 40)
                + "\" height=\"" + (h + 40) + "\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\">");
        b.append("<text x=\"").append(left).append("\" y=\"10\" font-size=\"10\">max ").append(max).append(esc(unit))
                .append("</text>");
        for (int i = 0; i < minutes.size(); i++) {
            Operations.Minute m = minutes.get(i);
            long v = value.applyAsLong(m);
            long barH = v * h / max;
            int x = left + i * w;
            String tip = esc(m.start()) + ": " + v + esc(unit) + (id.equals("lateness") && m.latenessP99Ms() != null
                    ? ", p99 " + m.latenessP99Ms() + " ms" : "");
            b.append("<rect x=\"").append(x + 1).append("\" y=\"").append(h - barH + 14).append("\" width=\"")
                    .append(w - 2).append("\" height=\"").append(barH).append("\" fill=\"").append(esc(color))
                    .append("\"><title>").append(tip).append("</title></rect>");
            if (i % 10 == 0 || i == minutes.size() - 1) {
                b.append("<text x=\"").append(x).append("\" y=\"").append(h + 30).append("\" font-size=\"10\">")
                        .append(esc(m.start().toString().substring(11, 16))).append("</text>");
            }
        }
        return b.append("</svg>").toString();
    }

    private String document(String title, Sessions.Session session, String body) {
        String nav = session == null ? "" : "<a href=\"/\">Executions</a><a href=\"/charts\">Charts</a>"
                + "<a href=\"/workers\">Workers</a>" + (ops.readOnly ? "<span>read-only</span>" : "")
                + "<form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf\" value=\""
                + esc(session.csrfToken()) + "\"><button type=\"submit\">Log out</button></form>";
        return "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + esc(title)
                + " · FlowMonkey</title><style>" + CSS + "</style></head><body><header><strong>FlowMonkey</strong>"
                + nav + "</header><main>" + body + "</main></body></html>";
    }

    private String pretty(Object value) {
        try {
            return prettyJson.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            return "(cannot be shown as JSON: " + e.getOriginalMessage() + ")";
        }
    }

    private static String field(String label, String name, String value) {
        return "<label>" + esc(label) + "<input name=\"" + esc(name) + "\" id=\"f-" + esc(name) + "\" value=\""
                + esc(value) + "\"></label>";
    }

    private static String row(String label, String html) {
        return "<tr><th>" + esc(label) + "</th><td>" + html + "</td></tr>";
    }

    private static String status(ExecutionStatus s) {
        return "<span class=\"st st-" + esc(s.wireName()) + "\">" + esc(s.wireName()) + "</span>";
    }

    private static String link(String id) {
        return "<a href=\"/executions/" + path(id) + "\">" + esc(id) + "</a>";
    }

    /** An id as a path segment, percent-encoded and then escaped for the attribute. */
    static String path(String id) {
        return esc(URLEncoder.encode(id, StandardCharsets.UTF_8));
    }

    private static Instant first(Instant... times) {
        for (Instant t : times) {
            if (t != null) {
                return t;
            }
        }
        return null;
    }
}
