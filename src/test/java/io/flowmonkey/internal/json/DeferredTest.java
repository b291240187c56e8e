package io.flowmonkey.internal.json;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.InvalidFieldException;
import io.flowmonkey.execution.StepHistory;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class DeferredTest {

    private static final Instant T0 = Instant.parse("2026-03-01T10:15:30.123Z");

    @Test
    void threads_that_ask_at_once_share_one_decoding() {
        AtomicInteger decodings = new AtomicInteger();
        CountDownLatch inDecoder = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Map<String, Object> context = Deferred.object(() -> {
            decodings.incrementAndGet();
            inDecoder.countDown();
            await(release);
            return Map.of("k", List.of(1, 2));
        }, "context", "e-1");
        int threads = 8;
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            try {
                List<Future<Object>> seen = new ArrayList<>();
                for (int i = 0; i < threads; i++) {
                    seen.add(pool.submit(() -> context.get("k")));
                }
                // One thread is inside the decoder; the others are queued behind it, none decodes again.
                inDecoder.await();
                release.countDown();
                for (Future<Object> f : seen) {
                    assertThat(f.get()).isEqualTo(List.of(1, 2));
                }
            } finally {
                pool.shutdownNow();
            }
        });
        assertThat(decodings).hasValue(1);
        assertThat(context).isEqualTo(Map.of("k", List.of(1, 2)));
        assertThat(decodings).as("decoded once, kept").hasValue(1);
    }

    @Test
    void a_failing_decoder_fails_every_access_alike_and_a_later_success_is_kept() {
        AtomicInteger decodings = new AtomicInteger();
        List<StepHistory> history = Deferred.records(() -> {
            if (decodings.incrementAndGet() <= 2) {
                throw new IllegalStateException("unreadable #" + decodings.get());
            }
            return List.of(new StepHistory("s", null, "ok", T0, T0, 0, null));
        }, "history", "e-2");

        assertThatThrownBy(history::size).isInstanceOf(IllegalStateException.class).hasMessage("unreadable #1");
        assertThatThrownBy(() -> history.get(0)).as("nothing half-kept after a failure")
                .isInstanceOf(IllegalStateException.class).hasMessage("unreadable #2");
        assertThat(history).extracting(StepHistory::stepId).containsExactly("s");
        assertThat(history.size()).isEqualTo(1);
        assertThat(decodings).hasValue(3);
    }

    @Test
    void what_a_decoder_returns_passes_the_models_checks_so_user_built_values_cannot_slip_through() {
        Map<Object, Object> notJson = new HashMap<>();
        notJson.put(7, "an integer key");
        @SuppressWarnings({"unchecked", "rawtypes"})
        Map<String, Object> badKey = Deferred.object(() -> (Map) notJson, "context", "e-3");
        assertThatThrownBy(badKey::size).isInstanceOf(InvalidFieldException.class)
                .hasMessageContaining("e-3").hasMessageContaining("context");
        Map<String, Object> nan = Deferred.object(() -> Map.of("x", Double.NaN), "context", "e-3");
        assertThatThrownBy(() -> nan.get("x")).isInstanceOf(InvalidFieldException.class)
                .hasMessageContaining("context.x");
        List<StepHistory> withNull = new ArrayList<>();
        withNull.add(null);
        List<StepHistory> nullEntry = Deferred.records(() -> withNull, "history", "e-3");
        assertThatThrownBy(nullEntry::size).isInstanceOf(InvalidFieldException.class)
                .hasMessageContaining("history[0]");

        Map<String, Object> mutable = new LinkedHashMap<>(Map.of("k", new ArrayList<>(List.of(1))));
        Map<String, Object> copied = Deferred.object(() -> mutable, "context", "e-3");
        assertThat(copied).isEqualTo(Map.of("k", List.of(1)));
        mutable.put("later", 2);
        assertThat(copied).as("a copy, frozen like build() freezes").containsOnlyKeys("k");
        assertThatThrownBy(() -> copied.put("x", 1)).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void an_execution_keeps_deferred_columns_undecoded_through_build_and_toBuilder() {
        AtomicInteger decodings = new AtomicInteger();
        Map<String, Object> context = Deferred.object(() -> {
            decodings.incrementAndGet();
            return Map.of("k", "v");
        }, "context", "e-4");
        List<StepHistory> history = Deferred.records(() -> {
            decodings.incrementAndGet();
            return List.of(new StepHistory("s", null, "ok", T0, T0, 0, null));
        }, "history", "e-4");

        Execution e = Execution.builder("e-4", "flow", "1").createdAt(T0).updatedAt(T0).context(context)
                .history(history).build();
        Execution next = e.toBuilder().stepCount(1).build();
        assertThat(decodings).as("neither build() nor toBuilder() decodes").hasValue(0);
        assertThat(next.context()).containsEntry("k", "v");
        assertThat(next.history()).hasSize(1);
        assertThat(decodings).hasValue(2);
        Execution eager = Execution.builder("e-4", "flow", "1").createdAt(T0).updatedAt(T0).context(Map.of("k", "v"))
                .history(List.of(new StepHistory("s", null, "ok", T0, T0, 0, null))).build();
        assertThat(e).isEqualTo(eager);
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
