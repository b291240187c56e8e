package io.flowmonkey.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.memory.InMemoryExecutionStore;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FlowJsonTest {

    private static final String APPROVAL = """
            {
              "id": "approval", "version": "1.0.0", "name": "Order approval", "initialStepId": "request",
              "steps": {
                "request": {
                  "id": "request", "type": "notify", "config": {"channel": "email", "cc": ["ops"]},
                  "input": {"type": "key", "key": "order"}, "outputKey": "notice.sent",
                  "transitions": {"onSuccess": "await", "onFailure": null},
                  "retry": {"maxAttempts": 4, "backoffMs": 500, "backoffMultiplier": 3, "maxBackoffMs": 10000,
                            "retryOn": ["TIMEOUT"]}
                },
                "await": {
                  "type": "approval", "input": {"type": "static", "value": {"reason": "manager"}},
                  "transitions": {"onResume": "done"}
                },
                "done": {"id": "done", "type": "notify",
                         "input": {"type": "template", "template": "order ${order.id} approved"}}
              }
            }
            """;

    @Test
    void a_flow_in_FlowMonkey_shape_loads_with_every_field() {
        Flow flow = Flow.fromJson(APPROVAL);

        Flow expected = Flow.builder("approval", "1.0.0").initialStep("request")
                .step(Step.builder("request", "notify").config(Map.of("channel", "email", "cc", List.of("ops")))
                        .input(InputSelector.key("order")).outputKey("notice.sent").onSuccess("await")
                        // JSON counts retries, as FlowMonkey TypeScript does: 4 retries are 5 attempts.
                        .retry(RetryPolicy.builder().maxAttempts(5).backoff(Duration.ofMillis(500)).multiplier(3)
                                .maxBackoff(Duration.ofSeconds(10)).retryOn("TIMEOUT").build())
                        .build())
                .step(Step.builder("await", "approval").input(InputSelector.value(Map.of("reason", "manager")))
                        .onResume("done").build())
                .step(Step.builder("done", "notify").input(InputSelector.template("order ${order.id} approved"))
                        .build())
                .build();
        assertThat(flow).isEqualTo(expected);
    }

    @Test
    void a_loaded_flow_runs() {
        HandlerRegistry handlers = new HandlerRegistry()
                .register("notify", ctx -> StepResult.success(ctx.input()))
                .register("approval", ctx -> StepResult.waitForSignal("manager"));
        Engine engine = new Engine(new InMemoryExecutionStore(), handlers,
                new InMemoryFlowRegistry().register(Flow.fromJson(APPROVAL)));
        String id = engine.create("approval", Map.of("order", Map.of("id", 9))).execution().id();

        assertThat(engine.run(id).execution().status()).isEqualTo(ExecutionStatus.WAITING);
        var done = engine.resume(id, null).execution();

        assertThat(done.status()).isEqualTo(ExecutionStatus.COMPLETED);
        assertThat(done.context()).containsEntry("notice", Map.of("sent", Map.of("id", 9)));
    }

    @Test
    void numeric_versions_and_minimal_steps_are_accepted() {
        Flow flow = Flow.fromJson("{\"id\":\"f\",\"version\":2,\"initialStepId\":\"a\",\"steps\":{\"a\":{\"type\":\"t\"}}}");

        assertThat(flow.version()).isEqualTo("2");
        assertThat(flow.steps().get("a").input()).isEqualTo(InputSelector.full());
        assertThat(flow.steps().get("a").onSuccess()).isNull();
    }

    @Test
    void malformed_json_and_wrong_shapes_are_rejected_naming_flow_and_step() {
        assertThatThrownBy(() -> Flow.fromJson("{not json")).isInstanceOf(FlowValidationException.class)
                .hasMessageContaining("cannot be parsed");
        assertThatThrownBy(() -> Flow.fromJson("[]")).isInstanceOf(FlowValidationException.class)
                .hasMessageContaining("must be an object");
        assertThatThrownBy(() -> Flow.fromJson("{\"id\":\"f\",\"version\":\"1\",\"initialStepId\":\"a\"}"))
                .isInstanceOf(FlowValidationException.class).hasMessageContaining("flow 'f': 'steps' must be");
        assertThatThrownBy(() -> Flow.fromJson(
                "{\"id\":\"f\",\"version\":\"1\",\"initialStepId\":\"a\",\"steps\":{\"a\":{\"id\":\"b\",\"type\":\"t\"}}}"))
                .isInstanceOf(FlowValidationException.class).hasMessageContaining("key and the id must match");
        assertThatThrownBy(() -> Flow.fromJson(
                "{\"id\":\"f\",\"version\":\"1\",\"initialStepId\":\"a\",\"steps\":{\"a\":{}}}"))
                .isInstanceOf(FlowValidationException.class)
                .hasMessage("flow 'f', step 'a': 'type' must be a non-blank string, got nothing");
        assertThatThrownBy(() -> Flow.fromJson("{\"id\":\"f\",\"version\":\"1\",\"initialStepId\":\"a\","
                + "\"steps\":{\"a\":{\"type\":\"t\",\"input\":{\"type\":\"magic\"}}}}"))
                .isInstanceOf(FlowValidationException.class).hasMessageContaining("input type 'magic' is unknown");
        assertThatThrownBy(() -> Flow.fromJson("{\"id\":\"f\",\"version\":\"1\",\"initialStepId\":\"a\","
                + "\"steps\":{\"a\":{\"type\":\"t\",\"retry\":{\"maxAttempts\":-1}}}}"))
                .isInstanceOfSatisfying(FlowValidationException.class, e -> assertThat(e.stepId()).isEqualTo("a"))
                .hasMessageContaining("retry.maxAttempts counts retries after the first attempt and must be from 0");
        assertThatThrownBy(() -> Flow.fromJson("{\"id\":\"f\",\"version\":\"1\",\"initialStepId\":\"a\","
                + "\"steps\":{\"a\":{\"type\":\"t\",\"transitions\":{\"onSuccess\":\"zz\"}}}}"))
                .isInstanceOf(FlowValidationException.class)
                .hasMessageContaining("flow 'f', step 'a': onSuccess goes to step 'zz'");
    }
}
