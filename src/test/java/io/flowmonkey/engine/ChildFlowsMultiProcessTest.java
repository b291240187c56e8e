package io.flowmonkey.engine;

import static io.flowmonkey.testing.Await.awaitFileContains;
import static io.flowmonkey.testing.Await.awaitTrue;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import com.zaxxer.hikari.HikariDataSource;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.postgres.PgExecutionStore;
import io.flowmonkey.testing.PostgresExtension;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Child flows under four workers, two of them in JVMs of their own, one of which is killed with
 * SIGKILL while it runs children: every parent still ends with its three children's outputs.
 */
@Tag("slow")
class ChildFlowsMultiProcessTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    private static final int PARENTS = 200;
    private static final Duration LEASE = Duration.ofSeconds(2);

    private final List<Process> processes = new ArrayList<>();
    private final List<EngineWorker> workers = new ArrayList<>();

    @BeforeEach
    void freshTables() throws SQLException {
        PG.truncate("executions", "executions_signals");
        PG.execute("DROP TABLE IF EXISTS handler_log");
        PG.execute("CREATE TABLE handler_log (execution_id TEXT NOT NULL, worker_id TEXT NOT NULL)");
    }

    @AfterEach
    void stopAll() throws InterruptedException {
        workers.forEach(EngineWorker::close);
        for (Process p : processes) {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void two_hundred_parents_of_three_children_all_complete_when_a_worker_jvm_is_killed() {
        assertTimeoutPreemptively(Duration.ofSeconds(90), this::runFanOut);

        try {
            assertThat(PG.queryLong("SELECT count(*) FROM executions WHERE parent_execution_id IS NULL"))
                    .isEqualTo(PARENTS);
            assertThat(PG.queryLong("SELECT count(*) FROM executions WHERE parent_execution_id IS NOT NULL"))
                    .as("no child created twice").isEqualTo(PARENTS * ChildFlows.CHILDREN);
            assertThat(PG.queryLong("SELECT count(*) FROM (SELECT parent_execution_id FROM executions "
                    + "WHERE parent_execution_id IS NOT NULL GROUP BY parent_execution_id HAVING count(*) <> 3) odd"))
                    .isZero();
            assertThat(PG.queryLong("SELECT count(*) FROM executions c WHERE c.parent_execution_id IS NOT NULL "
                    + "AND (c.status <> 'completed' OR NOT EXISTS (SELECT 1 FROM executions p "
                    + "WHERE p.id = c.parent_execution_id AND p.status = 'completed'))"))
                    .as("none orphaned: every child completed, under a completed parent").isZero();
            assertThat(PG.queryLong("SELECT count(*) FROM executions_signals")).as("every marker consumed").isZero();
            // The killed worker never cleared the leases of what it had finished; the others did.
            assertThat(PG.queryLong("SELECT count(*) FROM executions WHERE lease_owner IS NOT NULL "
                    + "AND lease_owner <> 'doomed'")).as("nothing left claimed by a live worker").isZero();
            assertThat(PG.queryLong("SELECT count(DISTINCT execution_id) FROM handler_log WHERE worker_id = 'doomed'"))
                    .as("the killed worker had run children").isPositive();
        } catch (SQLException e) {
            throw new AssertionError(e);
        }
        PgExecutionStore store = new PgExecutionStore(PG.dataSource());
        for (Execution parent : store.findByStatus(ExecutionStatus.COMPLETED, 10_000)) {
            if (parent.parentExecutionId() == null) {
                int n = ((Number) parent.context().get("n")).intValue();
                assertThat(parent.context().get("values")).as("outputs of parent %d", n)
                        .isEqualTo(List.of(n * 100, n * 100 + 1, n * 100 + 2));
            }
        }
    }

    private void runFanOut() throws Exception {
        Process doomed = startWorker("doomed", 40);
        Process survivor = startWorker("survivor", 40);
        awaitReady("doomed");
        awaitReady("survivor");
        HikariDataSource ds = PG.newDataSource(12);
        for (int i = 0; i < 2; i++) {
            String id = "local-" + i;
            Engine local = ChildFlows.engine(new PgExecutionStore(ds), ctx -> {
                log(ds, ctx.executionId(), id);
                Thread.sleep(40);
                return null;
            });
            workers.add(EngineWorker.builder(local).workerId(id).threads(4).pollInterval(Duration.ofMillis(500))
                    .leaseTtl(LEASE).build().start());
        }
        Engine creator = ChildFlows.engine(new PgExecutionStore(ds), ctx -> null);
        for (int n = 0; n < PARENTS; n++) {
            creator.create(ChildFlows.PARENT, Map.of("n", n));
        }

        awaitTrue(Duration.ofSeconds(40), () -> count(
                "SELECT count(*) FROM handler_log WHERE worker_id = 'doomed'") >= 20);
        doomed.destroyForcibly(); // SIGKILL: its leases simply stop being renewed
        assertThat(doomed.waitFor(10, TimeUnit.SECONDS)).isTrue();

        awaitTrue(Duration.ofSeconds(60), () -> count(
                "SELECT count(*) FROM executions WHERE parent_execution_id IS NULL AND status = 'completed'") == PARENTS);
        survivor.getOutputStream().close();
        assertThat(survivor.waitFor(30, TimeUnit.SECONDS)).isTrue();
        workers.forEach(EngineWorker::close);
    }

    /** Records that a worker ran a child's step. */
    static void log(DataSource ds, String executionId, String workerId) throws SQLException {
        try (Connection c = ds.getConnection();
             PreparedStatement ps = c.prepareStatement("INSERT INTO handler_log (execution_id, worker_id) VALUES (?, ?)")) {
            ps.setString(1, executionId);
            ps.setString(2, workerId);
            ps.executeUpdate();
        }
    }

    private static long count(String query) {
        try {
            return PG.queryLong(query);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private Process startWorker(String workerId, long pauseMillis) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Path log = Files.createDirectories(Path.of("target", "worker-processes")).resolve("fanout-" + workerId + ".log");
        ProcessBuilder pb = new ProcessBuilder(java, "-Xmx128m", "-cp", classpath, ChildFlowWorkerProcess.class.getName(),
                PG.jdbcUrl(), PG.database().user(), PG.database().password(), workerId,
                Long.toString(LEASE.toMillis()), Long.toString(pauseMillis))
                .redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("CLASSPATH", classpath);
        Process p = pb.start();
        processes.add(p);
        return p;
    }

    private static void awaitReady(String workerId) throws InterruptedException {
        awaitFileContains(Path.of("target", "worker-processes", "fanout-" + workerId + ".log"), "READY " + workerId,
                Duration.ofSeconds(60));
    }
}
