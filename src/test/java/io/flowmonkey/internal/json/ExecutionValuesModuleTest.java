package io.flowmonkey.internal.json;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import io.flowmonkey.execution.Execution;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ExecutionValuesModuleTest {

    private static final TypeReference<Map<String, Object>> OBJECT = new TypeReference<>() {
    };

    private final ObjectMapper mapper = new ObjectMapper()
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .registerModule(new ExecutionValuesModule());

    @Test
    void reads_every_json_type_in_order_with_exact_numbers() throws Exception {
        Map<String, Object> read = mapper.readValue("""
                {"z": "last-first", "int": 7, "long": 8000000000, "big": 123456789012345678901234567890,
                 "fraction": 0.1, "yes": true, "no": false, "nothing": null,
                 "nested": {"list": [1, "two", {"three": [3]}, []], "empty": {}}}""", OBJECT);

        assertThat(read).containsOnlyKeys("z", "int", "long", "big", "fraction", "yes", "no", "nothing", "nested");
        assertThat(List.copyOf(read.keySet())).startsWith("z", "int", "long");
        assertThat(read.get("int")).isEqualTo(7);
        assertThat(read.get("long")).isEqualTo(8_000_000_000L);
        assertThat(read.get("big")).isEqualTo(new BigInteger("123456789012345678901234567890"));
        assertThat(read.get("fraction")).isEqualTo(new BigDecimal("0.1"));
        assertThat(read.get("yes")).isEqualTo(true);
        assertThat(read.get("no")).isEqualTo(false);
        assertThat(read).containsEntry("nothing", null);
        assertThat(read.get("nested")).isEqualTo(Map.of("list", List.of(1, "two", Map.of("three", List.of(3)), List.of()),
                "empty", Map.of()));
        Map<String, Object> inMemory = Execution.builder("e-1", "flow", "1").context(Map.of("empty", Map.of())).build()
                .context();
        assertThat(((Map<?, ?>) ((Map<?, ?>) read.get("nested")).get("empty")).getClass())
                .as("the same frozen map an Execution makes of an empty object")
                .isEqualTo(inMemory.get("empty").getClass());
    }

    @Test
    void what_it_reads_is_immutable_all_the_way_down_and_kept_as_it_is_by_the_model() throws Exception {
        Map<String, Object> read = mapper.readValue("{\"order\": {\"items\": [{\"sku\": \"A\"}]}}", OBJECT);
        @SuppressWarnings("unchecked")
        Map<String, Object> order = (Map<String, Object>) read.get("order");
        @SuppressWarnings("unchecked")
        List<Object> items = (List<Object>) order.get("items");

        assertThatThrownBy(() -> read.put("x", 1)).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> order.remove("items")).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> items.add("B")).isInstanceOf(UnsupportedOperationException.class);
        Execution e = Execution.builder("e-1", "flow", "1").context(read).build();
        assertThat(e.context()).isSameAs(read);
    }

    @Test
    void follows_the_mappers_integer_features() throws Exception {
        ObjectMapper longs = mapper.copy().enable(DeserializationFeature.USE_LONG_FOR_INTS);

        assertThat(longs.readValue("{\"n\": [7]}", OBJECT)).isEqualTo(Map.of("n", List.of(7L)));
    }

    @Test
    void leaves_maps_of_other_declared_types_to_the_mapper() throws Exception {
        Map<String, Long> longs = mapper.readValue("{\"n\": 7}", new TypeReference<Map<String, Long>>() {
        });
        Map<Integer, String> byNumber = mapper.readValue("{\"7\": \"seven\"}",
                new TypeReference<Map<Integer, String>>() {
                });

        assertThat(longs.get("n")).isEqualTo(7L);
        assertThat(byNumber.get(7)).isEqualTo("seven");
    }

    @Test
    void refuses_json_that_is_not_an_object() {
        assertThatThrownBy(() -> mapper.readValue("[1, 2]", OBJECT)).isInstanceOf(MismatchedInputException.class);
    }
}
