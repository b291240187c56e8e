package io.flowmonkey.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;

/**
 * Runs one operation on N threads for a fixed time and records every call's latency. Each thread
 * builds its own operation first (untimed set-up, such as loading the rows it will update), then
 * all start together.
 */
final class Measurement {

    /** Latencies are recorded in microseconds, up to a minute, to three significant digits. */
    private static final long MAX_MICROS = 60_000_000L;

    /** One call of the operation under test. */
    @FunctionalInterface
    interface Op {
        void run() throws Exception;
    }

    /** Makes the operation a thread runs; called on that thread before the clock starts. */
    @FunctionalInterface
    interface OpFactory {
        Op create(int thread) throws Exception;
    }

    /**
     * What a run produced; {@link #plus} adds rounds together.
     *
     * @param ops calls completed
     * @param nanos wall time from start until the last thread finished
     * @param cpuNanos CPU time the calling threads used, JDBC driver included: the client's cost,
     *     which neighbours on the machine disturb far less than they disturb wall time
     * @param latencies each call's latency in microseconds
     */
    record Sample(long ops, long nanos, long cpuNanos, Histogram latencies) {
        static Sample empty() {
            return new Sample(0, 0, 0, new Histogram(MAX_MICROS, 3));
        }

        Sample plus(Sample other) {
            Histogram h = latencies.copy();
            h.add(other.latencies);
            return new Sample(ops + other.ops, nanos + other.nanos, cpuNanos + other.cpuNanos, h);
        }

        double cpuMicrosPerOp() {
            return ops == 0 ? 0 : cpuNanos / 1e3 / ops;
        }

        double opsPerSecond() {
            return nanos == 0 ? 0 : ops * 1e9 / nanos;
        }

        long p50Micros() {
            return latencies.getValueAtPercentile(50);
        }

        long p99Micros() {
            return latencies.getValueAtPercentile(99);
        }

        long maxMicros() {
            return latencies.getMaxValue();
        }
    }

    private Measurement() {
    }

    static Sample run(int threads, Duration duration, OpFactory factory) throws InterruptedException {
        CountDownLatch ready = new CountDownLatch(threads);
        CountDownLatch start = new CountDownLatch(1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        LongAdder cpu = new LongAdder();
        ThreadMXBean threadBean = ManagementFactory.getThreadMXBean();
        List<Histogram> histograms = new ArrayList<>();
        List<Thread> workers = new ArrayList<>();
        long[] deadline = new long[1];
        for (int t = 0; t < threads; t++) {
            int thread = t;
            Histogram h = new Histogram(MAX_MICROS, 3);
            histograms.add(h);
            Thread worker = new Thread(() -> {
                try {
                    Op op;
                    try {
                        op = factory.create(thread);
                    } finally {
                        ready.countDown();
                    }
                    start.await();
                    long end = deadline[0];
                    long cpuStart = threadBean.getCurrentThreadCpuTime();
                    while (failure.get() == null) {
                        long began = System.nanoTime();
                        if (began >= end) {
                            break;
                        }
                        op.run();
                        h.recordValue(Math.min(MAX_MICROS, (System.nanoTime() - began) / 1_000));
                    }
                    cpu.add(threadBean.getCurrentThreadCpuTime() - cpuStart);
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }, "bench-" + thread);
            workers.add(worker);
            worker.start();
        }
        ready.await();
        long began = System.nanoTime();
        deadline[0] = began + duration.toNanos();
        start.countDown();
        for (Thread worker : workers) {
            worker.join();
        }
        long elapsed = System.nanoTime() - began;
        if (failure.get() != null) {
            throw new IllegalStateException("benchmark operation failed: " + failure.get(), failure.get());
        }
        Histogram all = new Histogram(MAX_MICROS, 3);
        histograms.forEach(all::add);
        return new Sample(all.getTotalCount(), elapsed, cpu.sum(), all);
    }
}
