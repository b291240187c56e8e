package io.flowmonkey.engine;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.flowmonkey.postgres.PgExecutionStore;
import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;

/**
 * A worker of the {@link ChildFlows} in a JVM of its own, started by {@link ChildFlowsMultiProcessTest}.
 * Logs every child step to {@code handler_log} and pauses in it, until its standard input closes or it
 * is killed.
 *
 * <p>Arguments: JDBC URL, user, password, worker id, lease in ms, pause of the child step in ms.
 */
public final class ChildFlowWorkerProcess {

    private ChildFlowWorkerProcess() {
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
            Engine engine = ChildFlows.engine(new PgExecutionStore(ds), ctx -> {
                ChildFlowsMultiProcessTest.log(ds, ctx.executionId(), workerId);
                Thread.sleep(pause);
                return null;
            });
            try (EngineWorker worker = EngineWorker.builder(engine).workerId(workerId).threads(4)
                    .pollInterval(Duration.ofMillis(500)).leaseTtl(lease).build().start()) {
                System.out.println("READY " + workerId);
                while (System.in.read() >= 0) {
                    // Runs until the parent closes our standard input.
                }
            }
        }
    }
}
