package io.flowmonkey.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class InputSelectorTest {

    private static final Map<String, Object> CONTEXT = Map.of(
            "order", Map.of("id", "o-1", "total", 42, "items", List.of(Map.of("sku", "A"), Map.of("sku", "B"))),
            "customer", "ada",
            "flag", true);

    @Test
    void key_selects_one_top_level_value() {
        assertThat(InputSelector.key("customer").resolve(CONTEXT)).isEqualTo("ada");
        assertThat(InputSelector.key("missing").resolve(CONTEXT)).isNull();
    }

    @Test
    void keys_selects_the_present_keys_as_a_map() {
        assertThat(InputSelector.keys("customer", "flag", "missing").resolve(CONTEXT))
                .isEqualTo(Map.of("customer", "ada", "flag", true));
    }

    @Test
    void path_walks_maps_and_list_indexes() {
        assertThat(InputSelector.path("order.total").resolve(CONTEXT)).isEqualTo(42);
        assertThat(InputSelector.path("order.items.1.sku").resolve(CONTEXT)).isEqualTo("B");
        assertThat(InputSelector.path("order.items.9.sku").resolve(CONTEXT)).isNull();
        assertThat(InputSelector.path("customer.name").resolve(CONTEXT)).isNull();
    }

    @Test
    void template_fills_placeholders_in_strings_maps_and_lists() {
        Object template = Map.of("to", "${customer}", "subject", "Order ${order.id}: ${order.total} EUR",
                "lines", List.of("${order.items.0.sku}", "missing=[${nope}]"), "total", "${order.total}",
                "items", "${order.items}", "fixed", 7);

        assertThat(InputSelector.template(template).resolve(CONTEXT)).isEqualTo(Map.of(
                "to", "ada", "subject", "Order o-1: 42 EUR", "lines", List.of("A", "missing=[]"),
                "total", 42, "items", List.of(Map.of("sku", "A"), Map.of("sku", "B")), "fixed", 7));
        assertThat(InputSelector.template("items: ${order.items}").resolve(CONTEXT))
                .isEqualTo("items: [{\"sku\":\"A\"},{\"sku\":\"B\"}]");
        assertThat(InputSelector.template("cost $${order.total}").resolve(CONTEXT)).isEqualTo("cost $42");
    }

    @Test
    void full_selects_the_whole_context() {
        assertThat(InputSelector.full().resolve(CONTEXT)).isEqualTo(CONTEXT);
    }

    @Test
    void value_ignores_the_context_and_is_copied() {
        List<Object> value = new ArrayList<>(List.of(1, 2));
        InputSelector selector = InputSelector.value(value);
        value.add(3);

        assertThat(selector.resolve(CONTEXT)).isEqualTo(List.of(1, 2));
        assertThat(selector.type()).isEqualTo("static");
        assertThat(InputSelector.value(null).resolve(CONTEXT)).isNull();
    }

    @Test
    void bad_selectors_are_rejected_when_built() {
        assertThatThrownBy(() -> InputSelector.key(" ")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("input key must be a non-blank string");
        assertThatThrownBy(() -> InputSelector.keys()).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> InputSelector.path("a..b")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("input path must be a dot path");
    }

    @Test
    void an_output_key_with_dots_writes_nested_context_and_keeps_siblings() {
        Map<String, Object> context = Map.of("order", Map.of("id", "o-1"), "n", 1);

        Map<String, Object> written = Paths.set(context, "order.shipping.carrier", "dhl");

        assertThat(written).isEqualTo(Map.of("n", 1,
                "order", Map.of("id", "o-1", "shipping", Map.of("carrier", "dhl"))));
        assertThat(context).isEqualTo(Map.of("order", Map.of("id", "o-1"), "n", 1));
        assertThat(Paths.set(Map.of("a", "text"), "a.b", 1)).isEqualTo(Map.of("a", Map.of("b", 1)));
    }
}
