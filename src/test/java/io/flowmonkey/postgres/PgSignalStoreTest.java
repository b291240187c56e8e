package io.flowmonkey.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionDataException;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.LeasingExecutionStore;
import io.flowmonkey.execution.Signal;
import io.flowmonkey.execution.SignalStore;
import io.flowmonkey.execution.SignalStoreContract;
import io.flowmonkey.execution.WaitMetadata;
import io.flowmonkey.testing.PostgresExtension;
import io.flowmonkey.testing.RecordedEnds;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The signal contract on PostgreSQL, and what only the PostgreSQL store does: the side table and the claim. */
class PgSignalStoreTest extends SignalStoreContract {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    private static final Duration LEASE = Duration.ofMinutes(5);

    private PgExecutionStore store;

    @BeforeEach
    void emptyTables() throws SQLException {
        PG.truncate("executions", "executions_signals");
        store = new PgExecutionStore(PG.dataSource());
    }

    @Override
    protected SignalStore store() {
        return store;
    }

    private Execution awaiting(String id, String signal) {
        return store.save(Execution.builder(id, "flow", "1").status(ExecutionStatus.WAITING)
                .waitMetadata(new WaitMetadata(null, "r", null, signal == null ? null : Map.of("signal", signal)))
                .build());
    }

    @Test
    void signals_an_execution_did_not_consume_are_deleted_when_it_ends_and_watches_stay() throws SQLException {
        Execution waiting = awaiting("ends", "go");
        store.sendSignal(Signal.of("ends", "never-awaited", Map.of("n", 1)));
        store.sendSignal(Signal.of("ends", SignalStore.WATCH_END_SIGNAL, null));
        awaiting("lives", "go");
        store.sendSignal(Signal.of("lives", "never-awaited", null));

        store.save(waiting.toBuilder().status(ExecutionStatus.COMPLETED).completedAt(Instant.now()).waitMetadata(null)
                .build());

        assertThat(store.findSignals("ends", "never-awaited", 10)).as("unconsumable once ended").isEmpty();
        assertThat(store.findSignals("ends", SignalStore.WATCH_END_SIGNAL, 10)).as("the caller's watch").hasSize(1);
        assertThat(store.findSignals("lives", "never-awaited", 10)).as("a live execution's").hasSize(1);
    }

    @Test
    void an_end_is_announced_at_commit_to_a_watch_committed_meanwhile_and_not_from_a_session_that_opted_out()
            throws Exception {
        RecordedEnds ends = new RecordedEnds();
        try (LeasingExecutionStore.Subscription ignored = store.subscribeToEnds(ends)) {
            assertThat(ends.awaitListening(Duration.ofSeconds(30))).isTrue();
            Execution late = awaiting("late-watch", "go");
            store.sendSignal(Signal.of("late-watch", "never-awaited", null));
            Execution quiet = awaiting("quiet", "go");
            store.sendSignal(Signal.of("quiet", SignalStore.WATCH_END_SIGNAL, null));
            Execution marker = awaiting("marker", "go");
            store.sendSignal(Signal.of("marker", SignalStore.WATCH_END_SIGNAL, null));

            try (Connection c = PG.dataSource().getConnection()) {
                c.setAutoCommit(false);
                store.using(c).save(ended(late));
                // Committed by another connection while the ending transaction is still open.
                store.sendSignal(Signal.of("late-watch", SignalStore.WATCH_END_SIGNAL, null));
                c.commit();
                c.setAutoCommit(true);
            }
            try (Connection c = PG.dataSource().getConnection()) {
                try (Statement st = c.createStatement()) {
                    st.execute("SET flowmonkey.notify = 'off'");
                }
                store.using(c).save(ended(quiet));
                try (Statement st = c.createStatement()) {
                    st.execute("RESET flowmonkey.notify");
                }
            }
            store.save(ended(marker));

            assertThat(ends.next(Duration.ofSeconds(30))).isEqualTo("late-watch");
            assertThat(ends.next(Duration.ofSeconds(30))).as("nothing from the session that opted out").isEqualTo("marker");
        }
        assertThat(store.findSignals("late-watch", "never-awaited", 10)).as("unconsumable once ended").isEmpty();
        assertThat(store.findSignals("quiet", SignalStore.WATCH_END_SIGNAL, 10)).as("watches stay").hasSize(1);
    }

    private static Execution ended(Execution e) {
        return e.toBuilder().status(ExecutionStatus.COMPLETED).completedAt(Instant.now()).waitMetadata(null).build();
    }

    @Test
    void claimDue_hands_out_a_waiting_execution_once_a_signal_of_its_awaited_name_is_buffered() {
        awaiting("wants-go", "go");
        awaiting("wants-stop", "stop");
        awaiting("plain-wait", null);
        store.sendSignal(Signal.of("wants-stop", "go", null));
        store.sendSignal(Signal.of("plain-wait", "go", null));
        assertThat(claim("w1", "flow")).as("no signal of an awaited name").isEmpty();

        store.sendSignal(Signal.of("wants-go", "go", null));
        store.sendSignal(Signal.of("wants-go", "go", null));

        assertThat(claim("w1", "flow")).extracting(Execution::id)
                .containsExactly("wants-go");
        assertThat(claim("w2", "flow")).as("leased, so not handed out again").isEmpty();
        assertThat(claim("w2", "other-flow")).isEmpty();
    }

    @Test
    void signal_data_that_jsonb_cannot_hold_is_refused_naming_the_execution_and_column() {
        awaiting("nul", "go");

        assertThatThrownBy(() -> store.sendSignal(Signal.of("nul", "go", Map.of("text", "a\u0000b"))))
                .isInstanceOf(ExecutionDataException.class).hasMessageContaining("nul")
                .hasMessageContaining("signals.data");
        assertThat(store.findSignals("nul", "go", 10)).isEmpty();
    }

    @Test
    void a_store_on_another_table_keeps_its_signals_in_that_tables_side_table() throws SQLException {
        PgStoreOptions options = PgStoreOptions.builder().schema("orders").tableName("runs").build();
        SchemaApplier.apply(PG.dataSource(), options);
        PgExecutionStore other = new PgExecutionStore(PG.dataSource(), options);
        other.save(Execution.builder("o-1", "flow", "1").build());

        other.sendSignal(Signal.of("o-1", "go", Map.of("k", "v")));

        assertThat(PG.queryLong("SELECT count(*) FROM orders.runs_signals WHERE execution_id = 'o-1'")).isEqualTo(1);
        assertThat(store.findSignals("o-1", "go", 10)).as("the default table's store sees none").isEmpty();
        assertThatThrownBy(() -> PgStoreOptions.builder().tableName("runs_signals"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("_signals");
    }

    @Test
    void a_signal_sends_a_due_work_notice_for_its_execution() throws Exception {
        awaiting("noticed", "go");
        java.util.concurrent.BlockingQueue<String> due = new java.util.concurrent.LinkedBlockingQueue<>();
        java.util.concurrent.CountDownLatch listening = new java.util.concurrent.CountDownLatch(1);
        try (var s = store.subscribe(new io.flowmonkey.execution.LeasingExecutionStore.DueWorkListener() {
            @Override
            public void onDue(String executionId, Instant wakeAt) {
                due.add(executionId);
            }

            @Override
            public void onMissedNotices() {
                listening.countDown();
            }
        })) {
            assertThat(listening.await(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            store.sendSignal(Signal.of("noticed", "go", null));
            assertThat(due.poll(30, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo("noticed");
        }
    }

    private List<Execution> claim(String workerId, String flowId) {
        return store.claimDue(workerId, List.of(new LeasingExecutionStore.FlowVersion(flowId, "1")), LEASE, 10)
                .executions();
    }
}
