package io.flowmonkey.execution;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The model's check of {@link Execution#priority()}. */
class ExecutionPriorityTest {

    private static Execution.Builder execution() {
        return Execution.builder("e-1", "flow", "1");
    }

    @Test
    void priority_defaults_to_zero_and_is_carried_by_toBuilder() {
        assertThat(execution().build().priority()).isEqualTo(Execution.DEFAULT_PRIORITY).isZero();
        assertThat(execution().priority(-7).build().toBuilder().build().priority()).isEqualTo(-7);
    }

    @Test
    void build_refuses_a_priority_outside_the_range_naming_the_field_and_the_execution() {
        assertThat(execution().priority(Execution.MIN_PRIORITY).build().priority()).isEqualTo(-1000);
        assertThat(execution().priority(Execution.MAX_PRIORITY).build().priority()).isEqualTo(1000);

        assertThatThrownBy(() -> execution().priority(Execution.MAX_PRIORITY + 1).build())
                .isInstanceOf(InvalidFieldException.class).hasMessageContaining("priority of execution e-1")
                .hasMessageContaining("1001")
                .satisfies(e -> assertThat(((InvalidFieldException) e).field()).isEqualTo("priority"));
        assertThatThrownBy(() -> execution().priority(Integer.MIN_VALUE).build())
                .isInstanceOf(InvalidFieldException.class).hasMessageContaining("priority");
    }

    @Test
    void executions_that_differ_only_in_priority_are_not_equal() {
        assertThat(execution().createdAt(java.time.Instant.EPOCH).updatedAt(java.time.Instant.EPOCH).priority(1)
                .build()).isNotEqualTo(execution().createdAt(java.time.Instant.EPOCH)
                .updatedAt(java.time.Instant.EPOCH).build());
    }
}
