package io.flowmonkey.engine;

import static io.flowmonkey.testing.Await.awaitFileContains;
import static io.flowmonkey.testing.Await.awaitTrue;
import static org.assertj.core.api.Assertions.assertThat;

import io.flowmonkey.postgres.PgExecutionStore;
import io.flowmonkey.testing.PostgresExtension;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Workers in separate JVMs, started by the test, sharing one database. */
@Tag("slow")
class MultiProcessWorkerTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    private final List<Process> processes = new ArrayList<>();
    private PgExecutionStore store;
    private Engine creator;

    @BeforeEach
    void freshTables() throws SQLException {
        PG.truncate("executions");
        PG.execute("DROP TABLE IF EXISTS handler_log");
        PG.execute("CREATE TABLE handler_log (execution_id TEXT NOT NULL, step_id TEXT NOT NULL, worker_id TEXT NOT NULL)");
        store = new PgExecutionStore(PG.dataSource());
        creator = new WorkerFlows().engine(store);
    }

    @AfterEach
    void stopProcesses() throws InterruptedException {
        for (Process p : processes) {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void two_worker_processes_share_a_thousand_executions_and_run_no_step_twice() throws Exception {
        Process a = startWorker("jvm-a", Duration.ofSeconds(30), 0);
        Process b = startWorker("jvm-b", Duration.ofSeconds(30), 0);
        awaitReady("jvm-a");
        awaitReady("jvm-b");
        createExecutions(1000);

        awaitTrue(Duration.ofMinutes(3), () -> completed() == 1000);
        stopGracefully(a);
        stopGracefully(b);

        assertThat(PG.queryLong("SELECT count(*) FROM handler_log")).isEqualTo(3000);
        assertThat(PG.queryLong("SELECT count(*) FROM (SELECT 1 FROM handler_log GROUP BY execution_id, step_id "
                + "HAVING count(*) > 1) twice")).isZero();
        assertThat(workersSeen()).containsExactlyInAnyOrder("jvm-a", "jvm-b");
        assertThat(PG.queryLong("SELECT count(*) FROM executions WHERE lease_owner IS NOT NULL"))
                .as("nothing left claimed").isZero();
    }

    @Test
    void the_survivor_takes_over_the_executions_of_a_worker_killed_with_sigkill() throws Exception {
        createExecutions(300);
        Process doomed = startWorker("doomed", Duration.ofSeconds(2), 25);
        awaitTrue(Duration.ofMinutes(2), () -> queryLongUnchecked(
                "SELECT count(*) FROM handler_log WHERE worker_id = 'doomed'") >= 40);
        Process survivor = startWorker("survivor", Duration.ofSeconds(2), 25);

        doomed.destroyForcibly(); // SIGKILL: no graceful close, its leases simply stop being renewed
        assertThat(doomed.waitFor(10, TimeUnit.SECONDS)).isTrue();
        awaitTrue(Duration.ofMinutes(3), () -> completed() == 300);
        // Checked before the survivor's close(), which could otherwise be what cleared them.
        assertThat(PG.queryLong("SELECT count(*) FROM executions WHERE lease_owner IS NOT NULL"))
                .as("finished executions keep no lease, the dead worker's included").isZero();
        stopGracefully(survivor);

        assertThat(PG.queryLong("SELECT count(DISTINCT (execution_id, step_id)) FROM handler_log")).isEqualTo(900);
        // At least once: only a step the killed worker had started may have run a second time.
        assertThat(PG.queryLong("SELECT count(*) FROM (SELECT execution_id, step_id FROM handler_log "
                + "GROUP BY execution_id, step_id HAVING count(*) > 1 "
                + "AND NOT bool_or(worker_id = 'doomed')) twice_without_the_dead")).isZero();
        // And only the steps in flight when it died, one per execution: at most one per runner (4) and one
        // per slot a runner lent while its execution's last save committed (4 more).
        assertThat(PG.queryLong("SELECT count(*) FROM (SELECT execution_id, step_id FROM handler_log "
                + "GROUP BY execution_id, step_id HAVING count(*) > 1) twice")).isLessThanOrEqualTo(8);
        assertThat(PG.queryLong("SELECT count(*) FROM handler_log GROUP BY execution_id, step_id "
                + "ORDER BY count(*) DESC LIMIT 1")).isLessThanOrEqualTo(2);
        assertThat(PG.queryLong("SELECT count(DISTINCT execution_id) FROM handler_log h WHERE worker_id = 'survivor' "
                + "AND EXISTS (SELECT 1 FROM handler_log d WHERE d.execution_id = h.execution_id "
                + "AND d.worker_id = 'doomed')")).as("executions taken over from the dead worker").isPositive();
    }

    private static void awaitReady(String workerId) throws InterruptedException {
        awaitFileContains(Path.of("target", "worker-processes", workerId + ".log"), "READY " + workerId,
                Duration.ofSeconds(60));
    }

    private void createExecutions(int n) {
        for (int i = 0; i < n; i++) {
            creator.create(WorkerFlows.THREE_STEPS, Map.of("n", i));
        }
    }

    private static long completed() {
        return queryLongUnchecked("SELECT count(*) FROM executions WHERE status = 'completed'");
    }

    private Process startWorker(String workerId, Duration lease, long pauseMillis) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Path log = Files.createDirectories(Path.of("target", "worker-processes")).resolve(workerId + ".log");
        ProcessBuilder pb = new ProcessBuilder(java, "-Xmx128m", "-cp", classpath, WorkerProcess.class.getName(),
                PG.jdbcUrl(), PG.database().user(), PG.database().password(), workerId,
                Long.toString(lease.toMillis()), Long.toString(pauseMillis))
                .redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("CLASSPATH", classpath);
        Process p = pb.start();
        processes.add(p);
        return p;
    }

    private static void stopGracefully(Process p) throws IOException, InterruptedException {
        p.getOutputStream().close();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("worker process stopped after its input closed").isTrue();
        assertThat(p.exitValue()).isZero();
    }

    private static Set<String> workersSeen() throws SQLException {
        Set<String> seen = new HashSet<>();
        try (Connection c = PG.dataSource().getConnection(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT DISTINCT worker_id FROM handler_log")) {
            while (rs.next()) {
                seen.add(rs.getString(1));
            }
        }
        return seen;
    }

    private static long queryLongUnchecked(String query) {
        try {
            return PG.queryLong(query);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }


}
