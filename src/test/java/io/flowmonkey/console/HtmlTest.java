package io.flowmonkey.console;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The console's one escaping helper. */
class HtmlTest {

    @Test
    void esc_escapes_the_five_characters_that_end_text_or_an_attribute() {
        assertThat(Html.esc("<script>alert(\"1\") & 'x'</script>"))
                .isEqualTo("&lt;script&gt;alert(&quot;1&quot;) &amp; &#39;x&#39;&lt;/script&gt;");
        assertThat(Html.esc(null)).isEmpty();
        assertThat(Html.esc(42)).isEqualTo("42");
        assertThat(Html.esc("plain text, ünïcode")).isEqualTo("plain text, ünïcode");
    }

    @Test
    void param_percent_encodes_then_escapes() {
        assertThat(Html.param("a&b=\"c\" d")).isEqualTo("a%26b%3D%22c%22+d");
        assertThat(Pages.path("id/with?odd#chars")).isEqualTo("id%2Fwith%3Fodd%23chars");
    }
}
