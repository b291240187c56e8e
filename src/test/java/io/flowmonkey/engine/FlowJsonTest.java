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

    private static String flow(String steps) {
        return "{\"id\":\"f\",\"version\":\"1\",\"initialStepId\":\"a\",\"steps\":{" + steps + "}}";
    }

    @Test
    void text_after_the_flow_object_is_refused() {
        assertThatThrownBy(() -> Flow.fromJson(flow("\"a\":{\"type\":\"t\"}") + " {\"id\":\"g\"}"))
                .isInstanceOfSatisfying(FlowValidationException.class, e -> assertThat(e.flowId()).isEqualTo("f"))
                .hasMessageStartingWith("flow 'f': flow JSON cannot be parsed: Trailing token");
        assertThatThrownBy(() -> Flow.fromJson(flow("\"a\":{\"type\":\"t\"}") + "garbage"))
                .isInstanceOf(FlowValidationException.class).hasMessageContaining("cannot be parsed");
    }

    @Test
    void a_step_defined_twice_is_refused_naming_flow_and_step() {
        assertThatThrownBy(() -> Flow.fromJson(flow("\"a\":{\"type\":\"t\"},\"a\":{\"type\":\"u\"}")))
                .isInstanceOfSatisfying(FlowValidationException.class, e -> {
                    assertThat(e.flowId()).isEqualTo("f");
                    assertThat(e.stepId()).isEqualTo("a");
                })
                .hasMessageStartingWith("flow 'f', step 'a': is defined twice in 'steps'");
    }

    @Test
    void a_key_given_twice_anywhere_is_refused_naming_the_object() {
        assertThatThrownBy(() -> Flow.fromJson(flow("\"a\":{\"type\":\"t\",\"type\":\"u\"}")))
                .isInstanceOfSatisfying(FlowValidationException.class, e -> assertThat(e.stepId()).isEqualTo("a"))
                .hasMessageContaining("flow 'f', step 'a': field 'type' appears twice in 'steps.a'");
        assertThatThrownBy(() -> Flow.fromJson(flow("\"a\":{\"type\":\"t\",\"transitions\":"
                + "{\"onSuccess\":null,\"onSuccess\":\"a\"}}")))
                .isInstanceOf(FlowValidationException.class)
                .hasMessageContaining("field 'onSuccess' appears twice in 'steps.a.transitions'");
        assertThatThrownBy(() -> Flow.fromJson("{\"id\":\"f\",\"id\":\"g\",\"version\":\"1\"}"))
                .isInstanceOf(FlowValidationException.class).hasMessageContaining("appears twice in the flow object");
    }

    @Test
    void known_fields_of_the_wrong_type_are_refused_naming_step_and_field() {
        Map<String, String> wrong = new java.util.LinkedHashMap<>();
        wrong.put("\"transitions\":\"b\"", "'transitions' must be an object");
        wrong.put("\"transitions\":{\"onSuccess\":5}", "'onSuccess' must be a non-blank string, got 5");
        wrong.put("\"transitions\":{\"onFailure\":[\"a\"]}", "'onFailure' must be a non-blank string, got an array");
        wrong.put("\"type\":7", "'type' must be a non-blank string, got 7");
        wrong.put("\"type\":\"t\",\"outputKey\":{}", "'outputKey' must be a non-blank string, got an object");
        wrong.put("\"type\":\"t\",\"input\":\"full\"", "'input' must be an object");
        wrong.put("\"type\":\"t\",\"config\":[]", "'config' must be an object, got an array");
        wrong.put("\"type\":\"t\",\"retry\":[]", "'retry' must be an object, got an array");
        wrong.put("\"type\":\"t\",\"retry\":{\"backoffMs\":\"1s\"}", "retry.backoffMs must be a whole number");
        wrong.put("\"type\":\"t\",\"timeoutMs\":\"30s\"", "timeoutMs must be a whole number, got \"30s\"");
        wrong.put("\"type\":\"t\",\"timeoutMs\":0", "'timeoutMs' must be at least 1");
        wrong.put("\"type\":\"t\",\"name\":1", "'name' must be a non-blank string");
        wrong.put("\"type\":\"t\",\"input\":{\"type\":\"keys\",\"keys\":[\"a\",1]}", "must hold strings only");
        for (Map.Entry<String, String> c : wrong.entrySet()) {
            String body = c.getKey().startsWith("\"type\"") ? c.getKey() : "\"type\":\"t\"," + c.getKey();
            assertThatThrownBy(() -> Flow.fromJson(flow("\"a\":{" + body + "}"))).as(c.getKey())
                    .isInstanceOfSatisfying(FlowValidationException.class, e -> {
                        assertThat(e.flowId()).isEqualTo("f");
                        assertThat(e.stepId()).isEqualTo("a");
                    })
                    .hasMessageContaining(c.getValue());
        }
    }

    @Test
    void a_template_or_static_input_without_its_value_is_refused() {
        assertThatThrownBy(() -> Flow.fromJson(flow("\"a\":{\"type\":\"t\",\"input\":{\"type\":\"template\"}}")))
                .isInstanceOf(FlowValidationException.class)
                .hasMessage("flow 'f', step 'a': input of type 'template' needs 'template'");
        assertThatThrownBy(() -> Flow.fromJson(flow("\"a\":{\"type\":\"t\",\"input\":{\"type\":\"static\"}}")))
                .isInstanceOf(FlowValidationException.class).hasMessageContaining("needs 'value'");
        assertThat(Flow.fromJson(flow("\"a\":{\"type\":\"t\",\"input\":{\"type\":\"static\",\"value\":null}}"))
                .steps().get("a").input()).isEqualTo(InputSelector.value(null));
    }

    @Test
    void ids_holding_NUL_are_refused() {
        assertThatThrownBy(() -> Flow.fromJson("{\"id\":\"f\\u0000\",\"version\":\"1\",\"initialStepId\":\"a\","
                + "\"steps\":{\"a\":{\"type\":\"t\"}}}"))
                .isInstanceOf(FlowValidationException.class).hasMessageContaining("flow id must not contain U+0000")
                .hasMessageContaining("f\\u0000");
        assertThatThrownBy(() -> Flow.fromJson("{\"id\":\"f\",\"version\":\"1\",\"initialStepId\":\"a\\u0000\","
                + "\"steps\":{\"a\\u0000\":{\"type\":\"t\"}}}"))
                .isInstanceOf(FlowValidationException.class).hasMessageContaining("step id must not contain U+0000");
        assertThatThrownBy(() -> Flow.fromJson(flow("\"a\":{\"type\":\"t\\u0000\"}")))
                .isInstanceOf(FlowValidationException.class).hasMessageContaining("handler type of step 'a'");
        assertThatThrownBy(() -> Flow.fromJson(flow("\"a\":{\"type\":\"t\",\"outputKey\":\"x\\u0000\"}")))
                .isInstanceOf(FlowValidationException.class).hasMessageContaining("outputKey of step 'a'");
        assertThatThrownBy(() -> Flow.fromJson("{\"id\":\"f\",\"version\":\"1\\ud800\",\"initialStepId\":\"a\","
                + "\"steps\":{\"a\":{\"type\":\"t\"}}}"))
                .isInstanceOf(FlowValidationException.class).hasMessageContaining("unpaired surrogate");
    }

    @Test
    void messages_stay_short_for_a_flow_of_100000_steps() {
        StringBuilder steps = new StringBuilder();
        for (int i = 0; i < 100_000; i++) {
            steps.append(i == 0 ? "" : ",").append("\"s").append(i).append("\":{\"type\":\"t\",\"transitions\":"
                    + "{\"onSuccess\":\"").append(i == 99_999 ? "missing" : "s" + (i + 1)).append("\"}}");
        }
        String json = "{\"id\":\"big\",\"version\":\"1\",\"initialStepId\":\"s0\",\"steps\":{" + steps + "}}";

        assertThatThrownBy(() -> Flow.fromJson(json)).isInstanceOf(FlowValidationException.class)
                .hasMessageContaining("flow 'big', step 's99999': onSuccess goes to step 'missing'")
                .hasMessageContaining("(99990 more)")
                .satisfies(e -> assertThat(e.getMessage().length()).isLessThan(500));
        assertThatThrownBy(() -> Flow.fromJson(json.replace("\"initialStepId\":\"s0\"", "\"initialStepId\":\"x\"")))
                .satisfies(e -> assertThat(e.getMessage().length()).isLessThan(500));
        String longId = "x".repeat(100_000);
        assertThatThrownBy(() -> Flow.fromJson(flow("\"a\":{\"type\":\"t\",\"transitions\":{\"onSuccess\":\""
                + longId + "\"}}"))).satisfies(e -> assertThat(e.getMessage().length()).isLessThan(500));
    }

    @Test
    void retry_counts_and_defaults_follow_FlowMonkey_TypeScript() {
        RetryPolicy three = Flow.fromJson(flow("\"a\":{\"type\":\"t\",\"retry\":{\"maxAttempts\":3}}"))
                .steps().get("a").retry();
        assertThat(three.maxAttempts()).as("3 retries after the first try").isEqualTo(4);
        assertThat(three.backoff()).isEqualTo(Duration.ZERO);
        assertThat(three.maxBackoff()).isEqualTo(Duration.ofMillis(60_000));

        RetryPolicy none = Flow.fromJson(flow("\"a\":{\"type\":\"t\",\"retry\":{\"maxAttempts\":0}}"))
                .steps().get("a").retry();
        assertThat(none.maxAttempts()).isEqualTo(1);

        RetryPolicy slow = Flow.fromJson(flow("\"a\":{\"type\":\"t\",\"retry\":{\"maxAttempts\":1,\"backoffMs\":"
                + "120000}}")).steps().get("a").retry();
        assertThat(slow.backoffAfter(1)).as("TypeScript caps every pause at 60 s").isEqualTo(Duration.ofSeconds(60));
    }

    @Test
    void timeoutMs_and_the_docs_timeout_field_set_the_step_timeout() {
        assertThat(Flow.fromJson(flow("\"a\":{\"type\":\"t\",\"timeoutMs\":1500}")).steps().get("a").timeout())
                .isEqualTo(Duration.ofMillis(1500));
        assertThat(Flow.fromJson(flow("\"a\":{\"type\":\"t\",\"timeout\":60000}")).steps().get("a").timeout())
                .isEqualTo(Duration.ofSeconds(60));
        assertThatThrownBy(() -> Flow.fromJson(flow("\"a\":{\"type\":\"t\",\"timeoutMs\":1,\"timeout\":2}")))
                .isInstanceOf(FlowValidationException.class).hasMessageContaining("disagree");
    }

    @Test
    void a_JSON_flow_branches_with_then_to_its_own_steps() {
        HandlerRegistry handlers = new HandlerRegistry()
                .register("route", ctx -> StepResult.success("express").then("ship"))
                .register("echo", ctx -> StepResult.success(ctx.stepId()));
        Engine engine = new Engine(new InMemoryExecutionStore(), handlers, new InMemoryFlowRegistry().register(
                Flow.fromJson("{\"id\":\"b\",\"version\":\"1\",\"initialStepId\":\"route\",\"steps\":{"
                        + "\"route\":{\"type\":\"route\",\"transitions\":{\"onSuccess\":\"pack\"}},"
                        + "\"pack\":{\"type\":\"echo\",\"outputKey\":\"last\"},"
                        + "\"ship\":{\"type\":\"echo\",\"outputKey\":\"last\"}}}")));
        String id = engine.create("b", Map.of()).execution().id();

        var done = engine.run(id).execution();

        assertThat(done.context()).containsEntry("last", "ship");
        assertThat(done.history().get(0).nextStepOverride()).isEqualTo("ship");
    }
}
