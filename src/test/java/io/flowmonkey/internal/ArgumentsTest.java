package io.flowmonkey.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ArgumentsTest {

    @Test
    void nonBlank_names_the_argument_and_shows_the_value_refused() {
        assertThat(Arguments.nonBlank("e-1", "executionId")).isEqualTo("e-1");
        assertThatThrownBy(() -> Arguments.nonBlank(null, "executionId"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("executionId must be a non-blank string, got null");
        assertThatThrownBy(() -> Arguments.nonBlank(" \t", "signal name"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("signal name must be a non-blank string, got ' \t'");
    }

    @Test
    void atLeastOne_names_the_argument_and_the_value_refused() {
        assertThat(Arguments.atLeastOne(1, "limit")).isEqualTo(1);
        assertThatThrownBy(() -> Arguments.atLeastOne(0, "limit"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("limit must be at least 1, got 0");
    }

    @Test
    void encodableText_refuses_an_unpaired_surrogate_by_index_and_keeps_a_pair() {
        assertThat(Arguments.encodableText("a\uD83D\uDE00b", "tenantId")).isEqualTo("a\uD83D\uDE00b");
        assertThatThrownBy(() -> Arguments.encodableText("ab\uD83D", "tenantId"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("tenantId must not contain an unpaired surrogate, got one at index 2");
        assertThatThrownBy(() -> Arguments.encodableText("", "tenantId"))
                .hasMessage("tenantId must be a non-blank string, got ''");
    }

    @Test
    void unpairedSurrogate_finds_a_lone_high_or_low_surrogate_and_skips_pairs() {
        assertThat(Arguments.unpairedSurrogate("plain")).isEqualTo(-1);
        assertThat(Arguments.unpairedSurrogate("\uD83D\uDE00")).isEqualTo(-1);
        assertThat(Arguments.unpairedSurrogate("x\uDE00")).isEqualTo(1);
        assertThat(Arguments.unpairedSurrogate("\uD83D\uDE00\uD83Dy")).isEqualTo(2);
        assertThat(Arguments.unpairedSurrogate("\uDE00\uD83D")).isEqualTo(0);
    }
}
