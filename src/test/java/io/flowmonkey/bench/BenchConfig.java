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
 * @param peerExecutions executions each peer drains per workload and thread count in the peer
 *     comparison, a quarter as many timed waits ({@code bench.peerExecutions}, default 2,000)
 * @param peerSeconds the longest a drain of the peer comparison may run; what finished by then is
 *     measured ({@code bench.peerSeconds}, default 6)
 * @param peerPollMillis the poll interval of db-scheduler and DBOS in the peer comparison
 *     ({@code bench.peerPollMillis}, default 10)
 * @param peerRounds drains of each peer per workload and thread count in the peer comparison, the
 *     peers taking turns, the order rotated by one each round ({@code bench.peerRounds},
 *     default 3): one drain's executions/s moves by 10-20 % between runs of the same code on a shared
 *     machine, so a ratio of single drains can fall either side of a target that the medians clear
 */
record BenchConfig(long rows, int seconds, int warmupSeconds, int rounds, List<Integer> threads,
                   Set<String> operations, String outputDir, int workerExecutions, int peerExecutions,
                   int peerSeconds, int peerPollMillis, int peerRounds) {

    static final long DEFAULT_ROWS = 1_000_000;
    static final int DEFAULT_SECONDS = 10;
    static final int DEFAULT_WARMUP_SECONDS = 3;
    static final String DEFAULT_THREADS = "1,4,16,64";

    BenchConfig {
        if (rows < 1_000) {
            throw new IllegalArgumentException("bench.rows must be at least 1000, got " + rows);
        }
        if (peerExecutions < 1 || peerSeconds < 1 || peerPollMillis < 1 || peerRounds < 1) {
            throw new IllegalArgumentException("bench.peerExecutions, bench.peerSeconds, bench.peerPollMillis and "
                    + "bench.peerRounds must be at least 1, got " + peerExecutions + ", " + peerSeconds + ", "
                    + peerPollMillis + ", " + peerRounds);
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
                                Integer.toString(DEFAULT_SECONDS)))))),
                Integer.parseInt(property("bench.peerExecutions", "2000")),
                Integer.parseInt(property("bench.peerSeconds", "6")),
                Integer.parseInt(property("bench.peerPollMillis", "10")),
                Integer.parseInt(property("bench.peerRounds", "3")));
    }

    boolean runs(String operation) {
        return operations.contains("all") || operations.contains(operation);
    }

    /** Whether any operation of the table beside raw JDBC (or the worker's) is asked for, not only peers, growth or metrics. */
    boolean runsStoreTable() {
        return operations.contains("all") || !Set.of("peers", "growth", "metrics").containsAll(operations);
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
