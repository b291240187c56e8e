package io.flowmonkey.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.flowmonkey.engine.Presence.LatenessHistogram;
import org.junit.jupiter.api.Test;

/** The per-minute histogram behind a worker's reported claim lateness. */
class PresenceLatenessTest {

    @Test
    void the_99th_percentile_is_at_or_at_most_19_percent_above_the_true_one_and_the_maximum_is_exact() {
        for (long top : new long[] {1, 7, 100, 1_000, 86_400_000}) {
            LatenessHistogram h = new LatenessHistogram(0);
            java.util.List<Long> added = new java.util.ArrayList<>();
            for (long ms = 1; ms <= top; ms += Math.max(1, top / 1_000)) {
                h.add(ms);
                added.add(ms);
            }
            h.add(top);
            added.add(top);
            java.util.Collections.sort(added);
            long truth = added.get((int) Math.ceil(0.99 * added.size()) - 1);
            assertThat(h.max).isEqualTo(top);
            assertThat(h.p99()).as("p99 of 1..%d", top).isBetween(truth, Math.max(truth + 1, (long) (truth * 1.19) + 1));
        }
    }

    @Test
    void bucket_bounds_hold_their_values_from_zero_to_the_longest_duration() {
        for (long ms : new long[] {0, 1, 2, 3, 4, 5, 99, 100, 101, 65_536, Long.MAX_VALUE / 2, Long.MAX_VALUE}) {
            int k = LatenessHistogram.bucket(ms);
            assertThat(LatenessHistogram.bound(k)).as("bound of %d", ms).isGreaterThanOrEqualTo(ms);
            if (k > 1) {
                assertThat(LatenessHistogram.bound(k - 1)).as("bound below %d", ms).isLessThan(ms);
            }
        }
    }

    @Test
    void one_slow_claim_among_a_hundred_fast_ones_shows_in_the_maximum_but_not_the_99th_percentile() {
        LatenessHistogram h = new LatenessHistogram(0);
        for (int i = 0; i < 100; i++) {
            h.add(10);
        }
        h.add(60_000);

        assertThat(h.count).isEqualTo(101);
        assertThat(h.max).isEqualTo(60_000);
        assertThat(h.p99()).isBetween(10L, 12L);
    }
}
