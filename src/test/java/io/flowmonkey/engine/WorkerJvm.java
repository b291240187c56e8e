package io.flowmonkey.engine;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.io.IOException;
import java.time.Duration;

/**
 * The body of a worker JVM started by a multi-process test: one pool, one engine, one
 * {@link EngineWorker} of 4 threads, running until standard input closes (a graceful stop) or the
 * process is killed. Prints {@code READY <worker id>} once the worker runs.
 *
 * <p>Arguments: JDBC URL, user, password, worker id, lease in ms, then the process's own.
 */
final class WorkerJvm {

    /** Builds the engine of one worker JVM from its pool, worker id and the process's own arguments. */
    @FunctionalInterface
    interface EngineFactory {
        Engine engine(HikariDataSource ds, String workerId, String[] args);
    }

    private WorkerJvm() {
    }

    static void serve(String[] args, Duration pollInterval, EngineFactory factory) throws IOException {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(args[0]);
        config.setUsername(args[1]);
        config.setPassword(args[2]);
        config.setMaximumPoolSize(8);
        String workerId = args[3];
        Duration lease = Duration.ofMillis(Long.parseLong(args[4]));
        try (HikariDataSource ds = new HikariDataSource(config)) {
            Engine engine = factory.engine(ds, workerId, args);
            try (EngineWorker worker = EngineWorker.builder(engine).workerId(workerId).threads(4)
                    .pollInterval(pollInterval).leaseTtl(lease).build().start()) {
                System.out.println("READY " + workerId);
                while (System.in.read() >= 0) {
                    // Runs until the parent closes our standard input.
                }
            }
        }
    }
}
