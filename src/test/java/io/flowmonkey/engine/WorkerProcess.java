package io.flowmonkey.engine;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.flowmonkey.postgres.PgExecutionStore;
import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;

/**
 * A worker in a JVM of its own, started by {@link MultiProcessWorkerTest}. Runs the three-step flow,
 * logging every handler call to {@code handler_log}, until its standard input closes (then it stops
 * gracefully) or it is killed.
 *
 * <p>Arguments: JDBC URL, user, password, worker id, lease in ms, pause of step b in ms.
 */
public final class WorkerProcess {

    private WorkerProcess() {
    }

    /**
     * Runs the worker.
     *
     * @param args see the class comment
     * @throws IOException if standard input fails
     */
    public static void main(String[] args) throws IOException {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(args[0]);
        config.setUsername(args[1]);
        config.setPassword(args[2]);
        config.setMaximumPoolSize(8);
        String workerId = args[3];
        Duration lease = Duration.ofMillis(Long.parseLong(args[4]));
        long pause = Long.parseLong(args[5]);
        try (HikariDataSource ds = new HikariDataSource(config)) {
            WorkerFlows flows = new WorkerFlows(ctx -> {
                log(ds, ctx, workerId);
                return null;
            });
            StepHandler slow = ctx -> {
                Thread.sleep(pause);
                return StepResult.success("b");
            };
            Engine engine = flows.engine(new PgExecutionStore(ds), slow, Duration.ofMillis(100));
            try (EngineWorker worker = EngineWorker.builder(engine).workerId(workerId).threads(4)
                    .pollInterval(Duration.ofMillis(200)).leaseTtl(lease).build().start()) {
                System.out.println("READY " + workerId);
                while (System.in.read() >= 0) {
                    // Runs until the parent closes our standard input.
                }
            }
        }
    }

    private static void log(HikariDataSource ds, StepContext ctx, String workerId) throws SQLException {
        try (Connection c = ds.getConnection();
             PreparedStatement ps = c.prepareStatement(
                     "INSERT INTO handler_log (execution_id, step_id, worker_id) VALUES (?, ?, ?)")) {
            ps.setString(1, ctx.executionId());
            ps.setString(2, ctx.stepId());
            ps.setString(3, workerId);
            ps.executeUpdate();
        }
    }
}
