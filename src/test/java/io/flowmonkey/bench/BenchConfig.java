package io.flowmonkey.bench;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * What one benchmark run does, read from system properties so that the Maven profile can pass them
 * through: {@code -Dbench.rows=100000 -Dbench.seconds=3} is the quick mode.
 *
 * @param rows rows loaded before anything is measured ({@code bench.rows}, default 1,000,000)
 * @param seconds measured seconds per operation, thread count and implementation
 *     ({@code bench.seconds}, default 10), split over {@code rounds}
 * @param warmupSeconds unmeasured seconds before each measurement ({@code bench.warmup}, default 3)
 * @param rounds alternating rounds per measurement, raw then store then store then raw, so that drift
 *     from neighbours on the machine falls on both alike ({@code bench.rounds}, default one per second)
 * @param threads the thread counts ({@code bench.threads}, default 1,4,16,64); the pool matches each
 * @param operations the operations to run ({@code bench.ops}, default all)
 * @param outputDir where results.json and results.md go ({@code bench.out}, default target/bench)
 * @param workerExecutions executions the worker drains at each thread count
 *     ({@code bench.workerExecutions}, default 200 per second of {@code bench.seconds})
 */
record BenchConfig(long rows, int seconds, int warmupSeconds, int rounds, List<Integer> threads,
                   Set<String> operations, String outputDir, int workerExecutions) {

    static final long DEFAULT_ROWS = 1_000_000;
    static final int DEFAULT_SECONDS = 10;
    static final int DEFAULT_WARMUP_SECONDS = 3;
    static final String DEFAULT_THREADS = "1,4,16,64";

    BenchConfig {
        if (rows < 1_000) {
            throw new IllegalArgumentException("bench.rows must be at least 1000, got " + rows);
        }
        if (seconds < 1 || warmupSeconds < 0 || rounds < 1) {
            throw new IllegalArgumentException("bench.seconds and bench.rounds must be at least 1 and bench.warmup "
                    + "not negative, got " + seconds + ", " + rounds + ", " + warmupSeconds);
        }
    }

    static BenchConfig fromSystemProperties() {
        return new BenchConfig(
                Long.parseLong(property("bench.rows", Long.toString(DEFAULT_ROWS)).replace("_", "")),
                Integer.parseInt(property("bench.seconds", Integer.toString(DEFAULT_SECONDS))),
                Integer.parseInt(property("bench.warmup", Integer.toString(DEFAULT_WARMUP_SECONDS))),
                Integer.parseInt(property("bench.rounds", property("bench.seconds", Integer.toString(DEFAULT_SECONDS)))),
                Arrays.stream(property("bench.threads", DEFAULT_THREADS).split(","))
                        .map(String::trim).map(Integer::valueOf).toList(),
                operations(property("bench.ops", "all")),
                property("bench.out", "target/bench"),
                Integer.parseInt(property("bench.workerExecutions",
                        Integer.toString(200 * Integer.parseInt(property("bench.seconds",
                                Integer.toString(DEFAULT_SECONDS)))))));
    }

    boolean runs(String operation) {
        return operations.contains("all") || operations.contains(operation);
    }

    private static Set<String> operations(String list) {
        Set<String> ops = new TreeSet<>();
        for (String op : list.split(",")) {
            ops.add(op.trim().toLowerCase(Locale.ROOT));
        }
        return ops;
    }

    /** Blank counts as unset: the Maven profile passes every property, empty when not given. */
    private static String property(String name, String fallback) {
        String value = System.getProperty(name);
        return value == null || value.isBlank() ? fallback : value.trim();
    }
}
