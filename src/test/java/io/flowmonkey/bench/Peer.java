package io.flowmonkey.bench;

import java.util.concurrent.atomic.AtomicLong;
import javax.sql.DataSource;

/**
 * A durable job runner that the peer comparison drains beside FlowMonkey's {@code EngineWorker}:
 * the same work, enqueued first, then run by N worker threads on the same PostgreSQL. FlowMonkey's
 * own is {@link FlowMonkeyPeer}; the others live in {@code src/bench/java}, compiled only by the
 * {@code bench} profile, and are found with {@link java.util.ServiceLoader}.
 *
 * <p>Each peer has a database of its own, so that its commits can be told apart in
 * {@code pg_stat_database}. Public only because {@link java.util.ServiceLoader} needs its providers to
 * be; it is no part of the library.
 */
public interface Peer {

    /** The work each peer runs; every execution carries the same 1 KB payload. */
    enum Workload {
        /** One step that does nothing. */
        ONE_STEP("1-step", 1),
        /** Three steps that do nothing, each durably recorded before the next starts. */
        THREE_STEPS("3-step", 3),
        /** A step that waits 1 s, then one that records how late it was woken. */
        TIMED_WAIT("1 s timed wait", 2);

        private final String label;
        private final int steps;

        Workload(String label, int steps) {
            this.label = label;
            this.steps = steps;
        }

        /** Steps of one execution. */
        public int steps() {
            return steps;
        }

        /** The workload's name in the report. */
        public String label() {
            return label;
        }
    }

    /** Workers that are running; closing stops them and waits for work in flight. */
    interface Running extends AutoCloseable {
        /** Executions that have run to their end and been recorded so. */
        long finished();

        /**
         * Steps whose code has run, of any execution: what a drain cut short by its time limit did, for
         * a peer that runs the first step of every execution before the second of any.
         */
        long steps();

        @Override
        void close() throws Exception;

        /** A running peer that counts into two counters and stops with {@code stop}. */
        static Running counting(AtomicLong finished, AtomicLong steps, AutoCloseable stop) {
            return new Running() {
                @Override
                public long finished() {
                    return finished.get();
                }

                @Override
                public long steps() {
                    return steps.get();
                }

                @Override
                public void close() throws Exception {
                    stop.close();
                }
            };
        }
    }

    /** The peer's name in the report. */
    String name();

    /** The name of the peer's database: lower-case letters, digits and underscores. */
    String database();

    /** The settings the peer runs with, for the report: poll interval, batch sizes, strategy. */
    String settings(int threads);

    /** Whether the peer can run {@code workload}; why not goes in the report. */
    boolean supports(Workload workload);

    /** Creates the peer's tables in its (new, empty) database. */
    void install(DataSource dataSource) throws Exception;

    /** Removes every execution, finished or not, so that the next drain starts from empty tables. */
    void clear(DataSource dataSource) throws Exception;

    /**
     * Makes {@code count} executions of {@code workload} ready to run now, without running any.
     *
     * @param payload the payload every execution carries (the benchmark's 1 KB context as JSON)
     */
    void enqueue(DataSource dataSource, Workload workload, int count, String payload) throws Exception;

    /**
     * Starts {@code threads} worker threads on {@code dataSource}: a pool of {@code threads + 2}
     * connections, the same for every peer.
     */
    Running start(DataSource dataSource, Workload workload, int threads) throws Exception;

    /** Where the peer records the wake-ups of its timed waits; the comparison resets it before each drain. */
    Lateness wakeups();
}
