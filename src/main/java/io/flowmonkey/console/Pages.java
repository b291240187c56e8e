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
                Map<ExecutionStatus, Operations.Count> counts) {
        StringBuilder b = new StringBuilder();
        if (r.param("done") != null) {
            b.append("<div class=\"msg\" id=\"done\">").append(esc(r.param("done"))).append("</div>");
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
                     String done) {
        StringBuilder b = new StringBuilder();
        if (done != null) {
            b.append("<div class=\"msg\" id=\"done\">").append(esc(done)).append("</div>");
        }
        b.append("<h1>Execution <code>").append(esc(e.id())).append("</code></h1><table><tbody>")
                .append(row("Status", status(e.status())))
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

    String charts(Sessions.Session session, List<Operations.Bucket> buckets) {
        return document("Charts", session, "<h1>The last hour, in 5-minute buckets</h1>"
                + "<h2>Throughput: executions completed</h2>" + bars(buckets, Operations.Bucket::completed, "#3d9a55", "throughput")
                + "<h2>Failures: executions failed</h2>" + bars(buckets, Operations.Bucket::failed, "#c8463c", "failures")
                + "<h2>Created</h2>" + bars(buckets, Operations.Bucket::created, "#7aa2e3", "created")
                + "<p class=\"note\">Completed and failed are counted by the time of the execution's last save, "
                + "which for an ended execution is its end. Lateness is not charted yet: it needs the worker "
                + "metrics, which are not stored anywhere the console can read.</p>");
    }

    String workers(Sessions.Session session) {
        return document("Workers", session, "<h1>Workers</h1><p>Not available yet: workers do not record "
                + "heartbeats in the database yet (no heartbeat table), so the console cannot list them. "
                + "Each EngineWorker's own <code>stats()</code> shows its activity in its process.</p>");
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

    private static String bars(List<Operations.Bucket> buckets, ToLongFunction<Operations.Bucket> value, String color,
                               String id) {
        int w = 48;
        int h = 120;
        long max = Math.max(1, buckets.stream().mapToLong(value).max().orElse(1));
        StringBuilder b = new StringBuilder("<svg id=\"chart-" + esc(id) + "\" width=\"" + (w * buckets.size() + 10)
                + "\" height=\"" + (h + 40) + "\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\">");
        for (int i = 0; i < buckets.size(); i++) {
            Operations.Bucket bucket = buckets.get(i);
            long v = value.applyAsLong(bucket);
            long barH = v * h / max;
            int x = 5 + i * w;
            b.append("<rect x=\"").append(x + 4).append("\" y=\"").append(h - barH + 14).append("\" width=\"")
                    .append(w - 8).append("\" height=\"").append(barH).append("\" fill=\"").append(esc(color))
                    .append("\"><title>").append(esc(bucket.start())).append(": ").append(v).append("</title></rect>")
                    .append("<text x=\"").append(x + w / 2).append("\" y=\"").append(h - barH + 10)
                    .append("\" font-size=\"11\" text-anchor=\"middle\">").append(v).append("</text>")
                    .append("<text x=\"").append(x + w / 2).append("\" y=\"").append(h + 30)
                    .append("\" font-size=\"10\" text-anchor=\"middle\">")
                    .append(esc(bucket.start().toString().substring(11, 16))).append("</text>");
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
