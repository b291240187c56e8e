package io.flowmonkey.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Collects results and writes them as a console table, results.md and results.json. */
final class Report {

    /**
     * One operation at one thread count, both sides.
     *
     * @param medianRoundRatio the median over rounds of store ÷ raw ops/s, each round's pair measured
     *     back to back: steadier than the totals' ratio when a neighbour's burst hits a few rounds
     */
    record Result(Scenarios.Scenario scenario, int threads, Measurement.Sample store, Measurement.Sample raw,
                  double medianRoundRatio) {
        double ratio() {
            return raw.opsPerSecond() == 0 ? 0 : store.opsPerSecond() / raw.opsPerSecond();
        }
    }

    /** A target of the performance contract and whether this run met it. */
    record Check(String what, String measured, boolean met) {
    }

    private final Map<String, Object> environment = new LinkedHashMap<>();
    private final List<Result> results = new ArrayList<>();
    private final List<Check> checks = new ArrayList<>();
    private final List<Map<String, Object>> roundTrips = new ArrayList<>();
    private final List<Map<String, Object>> extra = new ArrayList<>();
    private final List<String> sections = new ArrayList<>();
    private final Map<String, Object> jsonSections = new LinkedHashMap<>();

    void environment(String key, Object value) {
        environment.put(key, value);
    }

    void add(Result result) {
        results.add(result);
    }

    void roundTrips(String operation, double store, double raw, String expected) {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("operation", operation);
        row.put("store", store);
        row.put("raw", raw);
        row.put("expected", expected);
        roundTrips.add(row);
    }

    /** Results that have no raw-JDBC twin: the worker's. */
    void extra(Map<String, Object> row) {
        extra.add(row);
    }

    /** Adds a figure to the last of those results. */
    void extraLast(String name, Object value) {
        extra.get(extra.size() - 1).put(name, value);
    }

    /** A table of its own (the peer comparison, the growth figures), in markdown, after the others. */
    void section(String markdown) {
        sections.add(markdown);
    }

    /** What a {@link #section} shows, for results.json. */
    void json(String key, Object value) {
        jsonSections.put(key, value);
    }

    void check(String what, String measured, boolean met) {
        checks.add(new Check(what, measured, met));
    }

    List<Result> results() {
        return results;
    }

    String markdown() {
        StringBuilder md = new StringBuilder();
        if (!results.isEmpty()) {
            md.append("| Operation | Threads | Store ops/s | Raw JDBC ops/s | Store ÷ raw | Rounds' median | Store rows/s | "
                    + "Store p50 / p99 µs | Raw p50 / p99 µs | Client CPU µs/op store / raw |\n");
            md.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
            for (Result r : results) {
                md.append(String.format(Locale.ROOT,
                        "| %s | %d | %,.0f | %,.0f | %.2f | %.2f | %,.0f | %,d / %,d | %,d / %,d | %,.0f / %,.0f |%n",
                        r.scenario().name(), r.threads(), r.store().opsPerSecond(), r.raw().opsPerSecond(), r.ratio(),
                        r.medianRoundRatio(),
                        r.store().opsPerSecond() * r.scenario().rowsPerOp(), r.store().p50Micros(),
                        r.store().p99Micros(), r.raw().p50Micros(), r.raw().p99Micros(), r.store().cpuMicrosPerOp(),
                        r.raw().cpuMicrosPerOp()));
            }
        }
        if (!extra.isEmpty()) {
            md.append("\n| Worker | Threads | Executions | Executions/s | Round trips per execution "
                    + "| Wake lateness p50 / p99 ms |\n");
            md.append("| --- | ---: | ---: | ---: | ---: | ---: |\n");
            for (Map<String, Object> e : extra) {
                String lateness = e.containsKey("wakeLatenessP50Micros")
                        ? String.format(Locale.ROOT, "%.1f / %.1f%s", (Long) e.get("wakeLatenessP50Micros") / 1000.0,
                                (Long) e.get("wakeLatenessP99Micros") / 1000.0,
                                (Long) e.get("earlyWakeups") > 0 ? " (" + e.get("earlyWakeups") + " early)" : "")
                        : "";
                md.append(String.format(Locale.ROOT, "| %s | %d | %,d | %,.0f | %s | %s |%n", e.get("operation"),
                        (Integer) e.get("threads"), (Integer) e.get("executions"), (Double) e.get("opsPerSecond"),
                        e.get("roundTripsPerOp"), lateness));
            }
        }
        if (!roundTrips.isEmpty()) {
            md.append("\n| Round trips per call | Store | Raw JDBC | Expected |\n| --- | ---: | ---: | --- |\n");
            for (Map<String, Object> r : roundTrips) {
                md.append(String.format(Locale.ROOT, "| %s | %.2f | %.2f | %s |%n", r.get("operation"),
                        (Double) r.get("store"), (Double) r.get("raw"), r.get("expected")));
            }
        }
        if (!checks.isEmpty()) {
            md.append("\n| Target | Measured | Met |\n| --- | --- | --- |\n");
            for (Check c : checks) {
                md.append("| ").append(c.what()).append(" | ").append(c.measured()).append(" | ")
                        .append(c.met() ? "yes" : "**no**").append(" |\n");
            }
        }
        sections.forEach(md::append);
        md.append("\n| Environment | |\n| --- | --- |\n");
        environment.forEach((k, v) -> md.append("| ").append(k).append(" | ").append(v).append(" |\n"));
        return md.toString();
    }

    void write(Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("results.md"), markdown());
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("environment", environment);
        List<Map<String, Object>> rows = new ArrayList<>();
        for (Result r : results) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("operation", r.scenario().name());
            row.put("key", r.scenario().key());
            row.put("threads", r.threads());
            row.put("rowsPerOp", r.scenario().rowsPerOp());
            row.put("store", sample(r.store(), r.scenario().rowsPerOp()));
            row.put("raw", sample(r.raw(), r.scenario().rowsPerOp()));
            row.put("ratio", round(r.ratio(), 3));
            row.put("medianRoundRatio", round(r.medianRoundRatio(), 3));
            rows.add(row);
        }
        json.put("results", rows);
        json.put("worker", extra);
        json.put("roundTrips", roundTrips);
        json.put("checks", checks);
        json.putAll(jsonSections);
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(dir.resolve("results.json").toFile(),
                json);
    }

    private static Map<String, Object> sample(Measurement.Sample s, int rowsPerOp) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("ops", s.ops());
        m.put("seconds", round(s.nanos() / 1e9, 3));
        m.put("opsPerSecond", round(s.opsPerSecond(), 1));
        m.put("rowsPerSecond", round(s.opsPerSecond() * rowsPerOp, 1));
        m.put("p50Micros", s.p50Micros());
        m.put("p99Micros", s.p99Micros());
        m.put("maxMicros", s.maxMicros());
        m.put("clientCpuMicrosPerOp", round(s.cpuMicrosPerOp(), 1));
        return m;
    }

    private static double round(double value, int decimals) {
        double scale = Math.pow(10, decimals);
        return Math.round(value * scale) / scale;
    }
}
