package io.flowmonkey.micrometer;

import static org.assertj.core.api.Assertions.assertThat;

import io.flowmonkey.engine.Engine;
import io.flowmonkey.engine.EngineEvent;
import io.flowmonkey.engine.EngineListener;
import io.flowmonkey.engine.EngineOptions;
import io.flowmonkey.engine.Flow;
import io.flowmonkey.engine.HandlerRegistry;
import io.flowmonkey.engine.InMemoryFlowRegistry;
import io.flowmonkey.engine.Step;
import io.flowmonkey.engine.StepResult;
import io.flowmonkey.postgres.PgExecutionStore;
import io.flowmonkey.testing.PostgresExtension;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.observation.tck.TestObservationRegistry;
import io.micrometer.observation.tck.TestObservationRegistryAssert;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The snippets of README.md's "Lifecycle events" and "Metrics and traces", line for line, run on PostgreSQL. */
class ObservabilityReadmeExampleTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    /** Where the README's listener sends its alerts. */
    static final class Alerts {
        final List<String> sent = new CopyOnWriteArrayList<>();

        void send(String text) {
            sent.add(text);
        }
    }

    @Test
    void lifecycle_event_and_metrics_examples() throws Exception {
        PG.truncate("executions");
        PgExecutionStore store = new PgExecutionStore(PG.dataSource());
        HandlerRegistry handlers = new HandlerRegistry()
                .register("pay", ctx -> StepResult.failure("CARD_DECLINED", "declined"))
                .register("ship", ctx -> StepResult.success("shipped"));
        InMemoryFlowRegistry flows = new InMemoryFlowRegistry()
                .register(Flow.builder("order-flow", "1").initialStep("charge")
                        .step(Step.builder("charge", "pay").build()).build())
                .register(Flow.builder("ship-flow", "1").initialStep("ship")
                        .step(Step.builder("ship", "ship").build()).build());
        Alerts alerts = new Alerts();
        SimpleMeterRegistry meterRegistry = new SimpleMeterRegistry();
        TestObservationRegistry observationRegistry = TestObservationRegistry.create();

        EngineOptions options = EngineOptions.builder()
                .listener(EngineListener.logging())
                .listener(event -> {
                    if (event instanceof EngineEvent.ExecutionFailed failed) {
                        alerts.send(failed.flowId() + " failed with " + failed.errorCode() + ": " + failed.executionId());
                    }
                })
                .build();
        Engine engine = new Engine(store, handlers, flows, options);

        String failedId = engine.create("order-flow", Map.of()).execution().id();
        engine.run(failedId);
        assertThat(alerts.sent).containsExactly("order-flow failed with CARD_DECLINED: " + failedId);

        FlowMonkeyMetrics metrics = FlowMonkeyMetrics.builder()
                .store(store)
                .observationRegistry(observationRegistry)
                .build();
        metrics.bindTo(meterRegistry);
        Engine measured = new Engine(store, handlers, flows, EngineOptions.builder().listener(metrics).build());

        measured.run(measured.create("ship-flow", Map.of()).execution().id());
        assertThat(meterRegistry.get(FlowMonkeyMetrics.STEP_DURATION).tags("flow", "ship-flow", "step", "ship",
                "outcome", "success").timer().count()).isEqualTo(1);
        assertThat(meterRegistry.get(FlowMonkeyMetrics.EXECUTIONS).tags("status", "failed").gauge().value())
                .isGreaterThanOrEqualTo(0);
        TestObservationRegistryAssert.assertThat(observationRegistry)
                .hasNumberOfObservationsWithNameEqualTo(FlowMonkeyMetrics.RUN_OBSERVATION, 1);
    }
}
