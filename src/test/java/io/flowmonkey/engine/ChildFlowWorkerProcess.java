package io.flowmonkey.engine;

import io.flowmonkey.postgres.PgExecutionStore;
import java.io.IOException;
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
        WorkerJvm.serve(args, Duration.ofMillis(500), (ds, workerId, a) -> {
            long pause = Long.parseLong(a[5]);
            return ChildFlows.engine(new PgExecutionStore(ds), ctx -> {
                ChildFlowsMultiProcessTest.log(ds, ctx.executionId(), workerId);
                Thread.sleep(pause);
                return null;
            });
        });
    }
}
