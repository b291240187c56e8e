package io.flowmonkey.bench;

import io.flowmonkey.engine.EngineWorker;
import io.flowmonkey.engine.WorkerStats;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.postgres.PgExecutionStore;
import io.flowmonkey.postgres.SchemaApplier;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import javax.sql.DataSource;

/**
 * FlowMonkey in the peer comparison: the worker scenarios of {@link EngineScenarios} (the same flows,
 * the same {@code EngineWorker} set-up as the {@code worker} and {@code worker-wait} operations), on a
 * {@code PgExecutionStore} with default options in a database of its own.
 */
final class FlowMonkeyPeer implements Peer {

    /** The name the tables give it, and the one the peer comparison divides the others by. */
    static final String NAME = "FlowMonkey";

    private final EngineScenarios engine;

    FlowMonkeyPeer(EngineScenarios engine) {
        this.engine = engine;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String database() {
        return "bench_flowmonkey";
    }

    @Override
    public String settings(int threads) {
        return String.format(Locale.ROOT, "EngineWorker, threads(%1$d): at most %1$d steps at once, a runner lending "
                + "its place while its execution's last save commits (so up to twice as many runner threads); claimDue "
                + "batches of up to the free "
                + "runners, plus up to %2$d claimed ahead while claims come back full (claimAhead: as many as the runners, at least "
                + "the default 4; the throughput setting, as db-scheduler's lock-and-fetch fetches up to its threads); step saves of the runners "
                + "batched up to %3$d per statement; LISTEN/NOTIFY for new and due work; poll interval %4$d ms for "
                + "drains, %5$d s (the default) for timed waits; lease 30 s (default)", threads,
                EngineScenarios.claimAhead(threads),
                Integer.getInteger("bench.saveBatchSize", EngineWorker.DEFAULT_SAVE_BATCH_SIZE),
                EngineScenarios.DRAIN_POLL_INTERVAL.toMillis(), EngineWorker.DEFAULT_POLL_INTERVAL.toSeconds());
    }

    @Override
    public boolean supports(Workload workload) {
        return true;
    }

    @Override
    public void install(DataSource dataSource) {
        SchemaApplier.apply(dataSource);
    }

    @Override
    public void clear(DataSource dataSource) throws Exception {
        try (Connection c = dataSource.getConnection(); Statement st = c.createStatement()) {
            st.execute("TRUNCATE executions");
        }
    }

    @Override
    public void enqueue(DataSource dataSource, Workload workload, int count, String payload) {
        PgExecutionStore store = new PgExecutionStore(dataSource);
        List<Execution> pending = engine.pending(flowId(workload), count);
        for (int done = 0; done < pending.size(); done += 500) {
            store.saveAll(pending.subList(done, Math.min(done + 500, pending.size())));
        }
    }

    @Override
    public Running start(DataSource dataSource, Workload workload, int threads) {
        Duration poll = workload == Workload.TIMED_WAIT ? EngineWorker.DEFAULT_POLL_INTERVAL
                : EngineScenarios.DRAIN_POLL_INTERVAL;
        long stepsBefore = engine.stepsRun();
        boolean waits = workload == Workload.TIMED_WAIT;
        EngineWorker worker = engine.startWorker(new PgExecutionStore(dataSource), threads, poll);
        return new Running() {
            @Override
            public long steps() {
                return engine.stepsRun() - stepsBefore;
            }

            @Override
            public long finished() {
                WorkerStats stats = worker.stats();
                if (stats.failed() > 0) {
                    throw new IllegalStateException("FlowMonkey's worker failed executions: " + stats);
                }
                // A run that ends in a wait counts as completed too: a timed wait has ended when its second step ran.
                return waits ? engine.wakeups().count() : stats.completed();
            }

            @Override
            public void close() {
                worker.close();
            }
        };
    }

    @Override
    public Lateness wakeups() {
        return engine.wakeups();
    }

    private static String flowId(Workload workload) {
        return switch (workload) {
            case ONE_STEP -> EngineScenarios.ONE_STEP_FLOW_ID;
            case THREE_STEPS -> EngineScenarios.FLOW_ID;
            case TIMED_WAIT -> EngineScenarios.TIMED_WAIT_FLOW_ID;
        };
    }
}
