package io.flowmonkey.execution;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The behaviour every {@link SignalStore} must have beyond {@link ExecutionStoreContract}. Extended
 * once per implementation; each test starts from an empty store.
 */
public abstract class SignalStoreContract {

    private static final AtomicInteger IDS = new AtomicInteger();

    /**
     * Returns the store under test, empty at the start of each test.
     *
     * @return the store
     */
    protected abstract SignalStore store();

    private Execution stored() {
        return store().save(Execution.builder("sig-" + IDS.incrementAndGet() + "-" + System.nanoTime(), "f", "1")
                .status(ExecutionStatus.WAITING).build());
    }

    @Test
    void sendSignal_stores_a_signal_that_findSignals_returns_oldest_first_by_name() {
        Execution e = stored();
        Signal first = store().sendSignal(Signal.of(e.id(), "go", Map.of("n", 1)));
        store().sendSignal(Signal.of(e.id(), "stop", Map.of()));
        Signal second = store().sendSignal(Signal.of(e.id(), "go", Map.of("n", 2)));

        assertThat(first.id()).isPositive();
        assertThat(second.id()).isGreaterThan(first.id());
        assertThat(first.sentAt()).isNotNull();
        assertThat(store().findSignals(e.id(), "go", 10)).extracting(Signal::data)
                .containsExactly(Map.of("n", 1), Map.of("n", 2));
        assertThat(store().findSignals(e.id(), "go", 1)).containsExactly(first);
        assertThat(store().findSignals(e.id(), "stop", 10)).hasSize(1);
        assertThat(store().findSignals(stored().id(), "go", 10)).as("another execution's").isEmpty();
        assertThat(store().load(e.id())).contains(e).as("the execution is not written");
    }

    @Test
    void sendSignal_refuses_an_unknown_execution_and_a_signal_stored_already() {
        assertThatThrownBy(() -> store().sendSignal(Signal.of("no-such-execution", "go", null)))
                .isInstanceOf(ExecutionNotFoundException.class).hasMessageContaining("no-such-execution");
        assertThat(store().findSignals("no-such-execution", "go", 10)).isEmpty();

        Signal sent = store().sendSignal(Signal.of(stored().id(), "go", null));
        assertThatThrownBy(() -> store().sendSignal(sent)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("stored already");
        assertThatThrownBy(() -> Signal.of(" ", "go", null)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Signal.of("x", "", null)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("signal name");
    }

    @Test
    void saveWithSignals_saves_consumes_and_sends_in_one_write() {
        Execution e = stored();
        Execution other = stored();
        Signal go = store().sendSignal(Signal.of(e.id(), "go", Map.of()));

        List<Execution> saved = store().saveWithSignals(List.of(e.toBuilder().status(ExecutionStatus.RUNNING).build()),
                List.of(go), List.of(Signal.of(other.id(), "hello", Map.of("from", e.id()))));

        assertThat(saved).singleElement().satisfies(s -> assertThat(s.version()).isEqualTo(e.version() + 1));
        assertThat(store().load(e.id()).orElseThrow().status()).isEqualTo(ExecutionStatus.RUNNING);
        assertThat(store().findSignals(e.id(), "go", 10)).isEmpty();
        assertThat(store().findSignals(other.id(), "hello", 10)).singleElement()
                .satisfies(s -> assertThat(s.data()).containsEntry("from", e.id()));
    }

    @Test
    void saveWithSignals_writes_nothing_when_a_signal_was_consumed_already() {
        Execution e = stored();
        Signal go = store().sendSignal(Signal.of(e.id(), "go", Map.of()));
        store().saveWithSignals(List.of(), List.of(go), List.of());

        assertThatThrownBy(() -> store().saveWithSignals(List.of(e.toBuilder().status(ExecutionStatus.RUNNING).build()),
                List.of(go), List.of(Signal.of(e.id(), "echo", null))))
                .isInstanceOf(ConcurrentUpdateException.class).hasMessageContaining(e.id());

        assertThat(store().load(e.id())).contains(e);
        assertThat(store().findSignals(e.id(), "echo", 10)).isEmpty();
    }

    @Test
    void saveWithSignals_consumes_nothing_when_an_execution_version_is_stale() {
        Execution e = stored();
        Signal go = store().sendSignal(Signal.of(e.id(), "go", Map.of()));
        store().save(e.toBuilder().metadata(Map.of("moved", true)).build());

        assertThatThrownBy(() -> store().saveWithSignals(List.of(e.toBuilder().status(ExecutionStatus.RUNNING).build()),
                List.of(go), List.of(Signal.of(e.id(), "echo", null)))).isInstanceOf(ConcurrentUpdateException.class);

        assertThat(store().findSignals(e.id(), "go", 10)).containsExactly(go);
        assertThat(store().findSignals(e.id(), "echo", 10)).isEmpty();
    }

    @Test
    void deleting_an_execution_deletes_its_signals() {
        Execution e = stored();
        store().sendSignal(Signal.of(e.id(), "go", Map.of()));

        assertThat(store().delete(e.id())).isTrue();

        assertThat(store().findSignals(e.id(), "go", 10)).isEmpty();
    }

    @Test
    void end_listeners_hear_of_terminal_saves_of_watched_executions() throws Exception {
        Set<String> ended = ConcurrentHashMap.newKeySet();
        AtomicInteger looks = new AtomicInteger();
        Execution done = stored();
        Execution running = stored();
        store().sendSignal(Signal.of(done.id(), SignalStore.WATCH_END_SIGNAL, null));
        store().sendSignal(Signal.of(running.id(), SignalStore.WATCH_END_SIGNAL, null));
        try (LeasingExecutionStore.Subscription s = store().subscribeToEnds(new SignalStore.EndListener() {
            @Override
            public void onEnded(String executionId) {
                ended.add(executionId);
            }

            @Override
            public void onMissedNotices() {
                looks.incrementAndGet();
            }
        })) {
            assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
                while (looks.get() == 0) {
                    Thread.onSpinWait();   // listening starts asynchronously on some stores
                }
                store().save(running.toBuilder().status(ExecutionStatus.RUNNING).build());
                store().save(done.toBuilder().status(ExecutionStatus.COMPLETED).build());
                while (!ended.contains(done.id())) {
                    Thread.onSpinWait();
                }
            });
        }
        assertThat(ended).containsExactly(done.id());
    }
}
