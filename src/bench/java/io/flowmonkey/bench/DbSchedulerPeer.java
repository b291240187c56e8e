package io.flowmonkey.bench;

import com.github.kagkarlsson.scheduler.Scheduler;
import com.github.kagkarlsson.scheduler.SchedulerBuilder;
import com.github.kagkarlsson.scheduler.SchedulerClient;
import com.github.kagkarlsson.scheduler.task.CompletionHandler;
import com.github.kagkarlsson.scheduler.task.TaskInstance;
import com.github.kagkarlsson.scheduler.task.helper.CustomTask;
import com.github.kagkarlsson.scheduler.task.helper.Tasks;
import java.io.Serializable;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import javax.sql.DataSource;

/**
 * db-scheduler with its lock-and-fetch polling strategy ({@code SELECT ... FOR UPDATE SKIP LOCKED}
 * that marks the due executions picked in the same statement), which its documentation recommends
 * for high throughput on PostgreSQL.
 *
 * <p>db-scheduler has no steps: a task instance runs and is then removed or rescheduled. The honest
 * equivalent of a flow's steps, each recorded before the next starts, is one task instance that
 * reschedules itself to now with the next step in its data after each step but the last; every step
 * is then one durable pick and one durable completion, as a step of FlowMonkey's is one save. The
 * timed wait reschedules the instance 1 s ahead and records how late it ran.
 */
public final class DbSchedulerPeer implements Peer {

    /**
     * A task instance's data, serialised by db-scheduler's default Java serialisation.
     *
     * @param payload the 1 KB payload every execution carries
     * @param step the step to run next, from 0
     * @param steps steps in all
     * @param waits whether the first step waits 1 s
     * @param wakeAtMillis when a waiting instance was rescheduled for, or 0
     */
    record Job(String payload, int step, int steps, boolean waits, long wakeAtMillis) implements Serializable {
    }

    private static final String TASK = "bench-job";

    private final Lateness lateness = new Lateness();
    private final AtomicLong finished = new AtomicLong();
    private final AtomicLong steps = new AtomicLong();
    private final Duration pollInterval = Duration.ofMillis(BenchConfig.fromSystemProperties().peerPollMillis());
    private final CustomTask<Job> task = Tasks.custom(TASK, Job.class).execute((instance, context) -> {
        Job job = instance.getData();
        steps.incrementAndGet();
        Instant now = Instant.now();
        if (job.wakeAtMillis() > 0) {
            lateness.record(Instant.ofEpochMilli(job.wakeAtMillis()), now);
        }
        if (job.waits() && job.step() == 0) {
            long wakeAt = now.toEpochMilli() + EngineScenarios.WAIT.toMillis();
            return (complete, ops) -> ops.reschedule(complete, Instant.ofEpochMilli(wakeAt),
                    new Job(job.payload(), 1, job.steps(), true, wakeAt));
        }
        if (job.step() + 1 < job.steps()) {
            return (complete, ops) -> ops.reschedule(complete, Instant.now(),
                    new Job(job.payload(), job.step() + 1, job.steps(), false, 0));
        }
        return finish();
    });

    /** Counts the execution once its removal has been committed, as FlowMonkey counts a save. */
    private CompletionHandler<Job> finish() {
        return (complete, ops) -> {
            ops.remove();
            finished.incrementAndGet();
        };
    }

    @Override
    public String name() {
        return "db-scheduler 16.7.1";
    }

    @Override
    public String database() {
        return "bench_dbscheduler";
    }

    @Override
    public String settings(int threads) {
        return String.format(Locale.ROOT, "pollUsingLockAndFetch(0.5, 1.0) (its lock-and-fetch defaults: each fetch "
                + "locks up to as many due executions as there are threads, and fetches again when half are done); "
                + "threads(N); pollingInterval %d ms (default 10 s); heartbeat 5 min, Java serialisation of the task "
                + "data, priority off (defaults); table and indexes as in db-scheduler's PostgreSQL DDL; steps "
                + "chained by rescheduling the instance to now", pollInterval.toMillis());
    }

    @Override
    public boolean supports(Workload workload) {
        return true;
    }

    @Override
    public void install(DataSource dataSource) throws Exception {
        try (Connection c = dataSource.getConnection(); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE scheduled_tasks (task_name TEXT NOT NULL, task_instance TEXT NOT NULL, "
                    + "task_data BYTEA, execution_time TIMESTAMP WITH TIME ZONE NOT NULL, picked BOOLEAN NOT NULL, "
                    + "picked_by TEXT, last_success TIMESTAMP WITH TIME ZONE, last_failure TIMESTAMP WITH TIME ZONE, "
                    + "consecutive_failures INT, last_heartbeat TIMESTAMP WITH TIME ZONE, version BIGINT NOT NULL, "
                    + "priority SMALLINT, PRIMARY KEY (task_name, task_instance))");
            st.execute("CREATE INDEX execution_time_idx ON scheduled_tasks (execution_time)");
            st.execute("CREATE INDEX last_heartbeat_idx ON scheduled_tasks (last_heartbeat)");
            st.execute("CREATE INDEX priority_execution_time_idx ON scheduled_tasks (priority DESC, execution_time ASC)");
        }
    }

    @Override
    public void clear(DataSource dataSource) throws Exception {
        try (Connection c = dataSource.getConnection(); Statement st = c.createStatement()) {
            st.execute("TRUNCATE scheduled_tasks");
        }
    }

    @Override
    public void enqueue(DataSource dataSource, Workload workload, int count, String payload) {
        SchedulerClient client = SchedulerClient.Builder.create(dataSource, task).build();
        int steps = switch (workload) {
            case ONE_STEP -> 1;
            case THREE_STEPS -> 3;
            case TIMED_WAIT -> 2;
        };
        List<TaskInstance<?>> batch = new ArrayList<>(count);
        long base = System.nanoTime();
        for (int i = 0; i < count; i++) {
            batch.add(task.instance(base + "-" + i, new Job(payload, 0, steps, workload == Workload.TIMED_WAIT, 0)));
        }
        client.scheduleBatch(batch, Instant.now());
    }

    @Override
    public Running start(DataSource dataSource, Workload workload, int threads) {
        finished.set(0);
        steps.set(0);
        SchedulerBuilder builder = Scheduler.create(dataSource, task)
                .threads(threads)
                .pollingInterval(pollInterval)
                .pollUsingLockAndFetch(0.5, 1.0);
        Scheduler scheduler = builder.build();
        scheduler.start();
        return Running.counting(finished, steps, scheduler::stop);
    }

    @Override
    public Lateness wakeups() {
        return lateness;
    }
}
