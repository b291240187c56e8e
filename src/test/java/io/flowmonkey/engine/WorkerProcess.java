package io.flowmonkey.engine;

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
        WorkerJvm.serve(args, Duration.ofMillis(200), (ds, workerId, a) -> {
            long pause = Long.parseLong(a[5]);
            WorkerFlows flows = new WorkerFlows(ctx -> {
                log(ds, ctx, workerId);
                return null;
            });
            StepHandler slow = ctx -> {
                Thread.sleep(pause);
                return StepResult.success("b");
            };
            return flows.engine(new PgExecutionStore(ds), slow, Duration.ofMillis(100));
        });
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
