package io.flowmonkey.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.flowmonkey.execution.WorkerInfo;
import io.flowmonkey.postgres.PgExecutionStore;
import io.flowmonkey.testing.PostgresExtension;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The snippet of README.md's "Workers you can see, and why an execution is not moving", line for line. */
class WorkersReadmeExampleTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    @Test
    void workers_and_diagnose_example() throws Exception {
        PG.truncate("executions", "executions_workers");
        PgExecutionStore store = new PgExecutionStore(PG.dataSource());
        Engine engine = new Engine(store, new HandlerRegistry().register("ok", ctx -> StepResult.success(1)),
                new InMemoryFlowRegistry().register(Flow.builder("order-flow", "1").initialStep("ship")
                        .step(Step.builder("ship", "ok").build()).build()));
        // Version 2 is stored, but no engine here registers it: no worker serves it.
        String executionId = store.save(io.flowmonkey.execution.Execution.builder("o-2", "order-flow", "2").build()).id();
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(printed, true, StandardCharsets.UTF_8);

        try (EngineWorker worker = EngineWorker.builder(engine).workerId("orders-1").build().start()) {
            for (WorkerInfo w : store.workers()) {                  // live workers, from their heartbeat rows
                out.println(w.workerId() + " on " + w.reported().host() + " serves " + w.reported().serves() + ", "
                        + w.reported().inFlight() + " held for " + w.reported().threads() + " threads, seen " + w.lastHeartbeat());
            }
            Diagnosis why = engine.diagnose(executionId);
            out.println(why.kind() + ": " + why.sentence());       // NO_LIVE_WORKER: no live worker serves order-flow@2 ...
        }

        assertThat(printed.toString(StandardCharsets.UTF_8)).contains("orders-1 on ")
                .contains("serves [FlowVersion[flowId=order-flow, version=1]]")
                .contains("NO_LIVE_WORKER: no live worker serves order-flow@2 (1 live worker serves other flows)");
        assertThat(engine.create("order-flow", Map.of()).created()).isTrue();
    }
}
