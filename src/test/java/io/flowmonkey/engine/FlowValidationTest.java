package io.flowmonkey.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FlowValidationTest {

    private static Step step(String id) {
        return Step.builder(id, "echo").build();
    }

    @Test
    void an_unknown_initial_step_is_rejected_naming_flow_and_step() {
        assertThatThrownBy(() -> Flow.builder("order", "1").initialStep("start").step(step("a")).build())
                .isInstanceOfSatisfying(FlowValidationException.class, e -> {
                    assertThat(e.flowId()).isEqualTo("order");
                    assertThat(e.stepId()).isEqualTo("start");
                })
                .hasMessage("flow 'order', step 'start': is the initial step but is not defined; defined steps: [a]");
    }

    @Test
    void a_missing_initial_step_is_rejected() {
        assertThatThrownBy(() -> Flow.builder("order", "1").step(step("a")).build())
                .isInstanceOf(FlowValidationException.class).hasMessageContaining("has no initial step");
    }

    @Test
    void a_transition_to_a_missing_step_is_rejected_naming_the_transition() {
        for (Step broken : List.of(Step.builder("a", "echo").onSuccess("ghost").build(),
                Step.builder("a", "echo").onFailure("ghost").build(),
                Step.builder("a", "echo").onResume("ghost").build())) {
            assertThatThrownBy(() -> Flow.builder("order", "1").initialStep("a").step(broken).build())
                    .isInstanceOfSatisfying(FlowValidationException.class, e -> assertThat(e.stepId()).isEqualTo("a"))
                    .hasMessageContaining("flow 'order', step 'a': on")
                    .hasMessageContaining("goes to step 'ghost', which is not defined");
        }
    }

    @Test
    void a_step_defined_twice_is_rejected() {
        assertThatThrownBy(() -> Flow.builder("order", "1").initialStep("a").step(step("a")).step(step("a")).build())
                .isInstanceOf(FlowValidationException.class)
                .hasMessage("flow 'order', step 'a': is defined twice; step ids must be unique within a flow");
    }

    @Test
    void a_flow_without_steps_is_rejected() {
        assertThatThrownBy(() -> Flow.builder("order", "1").initialStep("a").build())
                .isInstanceOf(FlowValidationException.class).hasMessageContaining("has no steps");
    }

    @Test
    void blank_ids_and_bad_output_keys_are_rejected_when_set() {
        assertThatThrownBy(() -> Flow.builder(" ", "1")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("flow id must be a non-blank string");
        assertThatThrownBy(() -> Flow.builder("f", "")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("version of flow 'f'");
        assertThatThrownBy(() -> Step.builder("a", null)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("handler type of step 'a'");
        assertThatThrownBy(() -> Step.builder("a", "echo").outputKey("a..b"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("outputKey of step 'a'");
    }

    @Test
    void a_valid_flow_keeps_its_steps_in_order_and_copies_config() {
        Map<String, Object> config = new java.util.HashMap<>(Map.of("url", "x"));
        Flow flow = Flow.builder("order", "1").initialStep("b")
                .step(Step.builder("b", "echo").config(config).onSuccess("a").build()).step(step("a")).build();
        config.put("url", "changed");

        assertThat(flow.steps()).containsOnlyKeys("b", "a");
        assertThat(flow.steps().keySet()).containsExactly("b", "a");
        assertThat(flow.steps().get("b").config()).containsEntry("url", "x");
        assertThat(flow.steps().get("a").input()).isEqualTo(InputSelector.full());
    }

    @Test
    void the_registry_refuses_a_second_registration_of_one_version_and_returns_the_latest() {
        InMemoryFlowRegistry registry = new InMemoryFlowRegistry();
        for (String version : List.of("1.9", "1.10", "1.2")) {
            registry.register(Flow.builder("order", version).initialStep("a").step(step("a")).build());
        }

        assertThat(registry.get("order")).map(Flow::version).contains("1.10");
        assertThat(registry.get("order", "1.2")).map(Flow::version).contains("1.2");
        assertThat(registry.get("order", "3")).isEmpty();
        assertThat(registry.get("other")).isEmpty();
        assertThatThrownBy(() -> registry.register(Flow.builder("order", "1.9").initialStep("a").step(step("a"))
                .build())).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("flow 'order' version '1.9' is already registered");
        registry.register(Flow.builder("order", "1.10.0").initialStep("a").step(step("a")).build());
        registry.register(Flow.builder("order", "1.010").initialStep("a").step(step("a")).build());
        assertThat(registry.get("order", "1.010")).map(Flow::version).contains("1.010");
        assertThat(registry.get("order", "1.10")).map(Flow::version).contains("1.10");
    }

    @Test
    void the_handler_registry_refuses_a_second_handler_for_one_type() {
        HandlerRegistry registry = new HandlerRegistry().register("echo", ctx -> StepResult.success(null));

        assertThatThrownBy(() -> registry.register("echo", ctx -> StepResult.success(null)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'echo' already has a handler");
        assertThat(registry.get("echo")).isPresent();
        assertThat(registry.get("other")).isEmpty();
    }

    @Test
    void ids_that_text_columns_cannot_store_are_rejected_when_set() {
        assertThatThrownBy(() -> Flow.builder("f\u0000", "1")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("flow id must not contain U+0000 or an unpaired surrogate, got 'f\\u0000'");
        assertThatThrownBy(() -> Flow.builder("f", "1\udc00")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("version of flow 'f' must not contain");
        assertThatThrownBy(() -> Step.builder("a\u0000", "echo")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("step id must not contain");
        assertThatThrownBy(() -> Step.builder("a", "e\ud800cho")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("handler type of step 'a' must not contain");
        assertThatThrownBy(() -> Step.builder("a", "echo").outputKey("out\u0000"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("outputKey of step 'a'");
        assertThat(Step.builder("emoji-\ud83d\ude00", "echo").build().id()).isEqualTo("emoji-\ud83d\ude00");
    }

    @Test
    void messages_list_at_most_ten_steps_and_cut_long_ids() {
        Flow.Builder big = Flow.builder("big", "1").initialStep("missing");
        for (int i = 0; i < 5_000; i++) {
            big.step(step("s" + i));
        }

        assertThatThrownBy(big::build).isInstanceOf(FlowValidationException.class)
                .hasMessageEndingWith("defined steps: [s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, ... (4990 more)]");
        String longId = "x".repeat(10_000);
        assertThatThrownBy(() -> Flow.builder("f", "1").initialStep(longId).step(step("a")).build())
                .satisfies(e -> assertThat(e.getMessage()).hasSizeLessThan(300).contains("(9900 more chars)"));
    }
}
