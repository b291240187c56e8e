package io.flowmonkey.bench;

import dev.dbos.transact.DBOS;
import dev.dbos.transact.DBOSClient;
import dev.dbos.transact.config.DBOSConfig;
import dev.dbos.transact.internal.WorkflowRegistry;
import dev.dbos.transact.workflow.Queue;
import dev.dbos.transact.workflow.Workflow;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import javax.sql.DataSource;

/**
 * DBOS Transact, queue-based: workflows enqueued with {@link DBOSClient} on one queue, then run by a
 * DBOS instance that listens to it with a worker concurrency of N. Each step is a {@code runStep},
 * whose output DBOS records before the workflow goes on; the timed wait is a durable
 * {@code DBOS.sleep}.
 */
public final class DbosPeer implements Peer {

    private static final String QUEUE = "bench";

    /** The workflows, one per workload; DBOS runs them through a proxy of this interface. */
    public interface Jobs {
        /** One step. */
        String oneStep(String payload);

        /** Three steps. */
        String threeSteps(String payload);

        /** A step, a durable sleep of 1 s, a step that records how late it woke. */
        String timedWait(String payload);
    }

    /** The workflows' code; the steps do nothing but what DBOS records of them. */
    public static final class JobsImpl implements Jobs {
        private final DbosPeer peer;
        private volatile DBOS dbos;

        JobsImpl(DbosPeer peer) {
            this.peer = peer;
        }

        @Override
        @Workflow(name = "oneStep")
        public String oneStep(String payload) {
            dbos.runStep(peer::step, "only");
            peer.finished.incrementAndGet();
            return "done";
        }

        @Override
        @Workflow(name = "threeSteps")
        public String threeSteps(String payload) {
            dbos.runStep(peer::step, "first");
            dbos.runStep(peer::step, "second");
            dbos.runStep(peer::step, "third");
            peer.finished.incrementAndGet();
            return "done";
        }

        @Override
        @Workflow(name = "timedWait")
        public String timedWait(String payload) {
            long wakeAt = dbos.runStep(() -> {
                peer.steps.incrementAndGet();
                return System.currentTimeMillis() + EngineScenarios.WAIT.toMillis();
            }, "sleep");
            dbos.sleep(Duration.ofMillis(Math.max(0, wakeAt - System.currentTimeMillis())));
            dbos.runStep(() -> {
                peer.lateness.record(Instant.ofEpochMilli(wakeAt), Instant.now());
                return peer.step();
            }, "woken");
            peer.finished.incrementAndGet();
            return "done";
        }
    }

    private final Lateness lateness = new Lateness();
    private final AtomicLong finished = new AtomicLong();
    private final AtomicLong steps = new AtomicLong();
    private final Duration pollInterval = Duration.ofMillis(BenchConfig.fromSystemProperties().peerPollMillis());

    private String step() {
        steps.incrementAndGet();
        return "done";
    }

    @Override
    public String name() {
        return "DBOS Transact " + DBOS.version();
    }

    @Override
    public String database() {
        return "bench_dbos";
    }

    @Override
    public String settings(int threads) {
        return String.format(Locale.ROOT, "one queue with workerConcurrency N (at most N workflows of it run at once "
                + "in this process); queue pollingInterval %d ms (default 1 s); LISTEN/NOTIFY on (default); "
                + "admin server off; system database migrated once before the run; default serializer",
                pollInterval.toMillis());
    }

    @Override
    public boolean supports(Workload workload) {
        return true;
    }

    @Override
    public void install(DataSource dataSource) {
        // Launching with migrate on creates DBOS's system tables.
        try (DBOS dbos = new DBOS(config(dataSource).withMigrate(true))) {
            JobsImpl impl = new JobsImpl(this);
            impl.dbos = dbos;
            dbos.registerProxy(Jobs.class, impl);
            dbos.launch();
        }
    }

    @Override
    public void clear(DataSource dataSource) throws Exception {
        try (Connection c = dataSource.getConnection(); Statement st = c.createStatement()) {
            List<String> tables = new ArrayList<>();
            try (ResultSet rs = st.executeQuery("SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) "
                    + "FROM pg_tables WHERE schemaname = 'dbos' AND tablename NOT LIKE '%migration%'")) {
                while (rs.next()) {
                    tables.add(rs.getString(1));
                }
            }
            st.execute("TRUNCATE " + String.join(", ", tables) + " CASCADE");
        }
    }

    @Override
    public void enqueue(DataSource dataSource, Workload workload, int count, String payload) {
        String workflow = switch (workload) {
            case ONE_STEP -> "oneStep";
            case THREE_STEPS -> "threeSteps";
            case TIMED_WAIT -> "timedWait";
        };
        String className = WorkflowRegistry.getWorkflowClassName(new JobsImpl(this));
        try (DBOSClient client = new DBOSClient(dataSource)) {
            for (int i = 0; i < count; i++) {
                client.enqueueWorkflow(new DBOSClient.EnqueueOptions(workflow, className, QUEUE),
                        new Object[] {payload});
            }
        }
    }

    @Override
    public Running start(DataSource dataSource, Workload workload, int threads) {
        finished.set(0);
        steps.set(0);
        DBOS dbos = new DBOS(config(dataSource).withMigrate(false));
        JobsImpl impl = new JobsImpl(this);
        impl.dbos = dbos;
        dbos.registerProxy(Jobs.class, impl);
        dbos.registerQueue(new Queue(QUEUE).withWorkerConcurrency(threads).withPollingInterval(pollInterval));
        dbos.launch();
        return Running.counting(finished, steps, dbos::close);
    }

    @Override
    public Lateness wakeups() {
        return lateness;
    }

    private static DBOSConfig config(DataSource dataSource) {
        return DBOSConfig.defaults("flowmonkey-bench").withDataSource(dataSource).disableAdminServer();
    }
}
