package io.flowmonkey.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import com.zaxxer.hikari.HikariDataSource;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.LeasingExecutionStore;
import io.flowmonkey.execution.Signal;
import io.flowmonkey.execution.StoreUnavailableException;
import io.flowmonkey.testing.PostgresExtension;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * An update whose connection is lost is retried, and a commit whose acknowledgement was lost is
 * recognised; a save with signals whose connection is lost before its commit is retried, and one lost
 * while committing is not.
 */
class PgSaveRetryTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    @Test
    void an_update_whose_acknowledgement_was_lost_after_it_committed_is_recognised_as_saved() throws Exception {
        URI server = URI.create(PG.jdbcUrl().substring("jdbc:".length()));
        try (CutAfterCommit proxy = new CutAfterCommit(server.getPort())) {
            HikariDataSource viaProxy = PG.newDataSource(1, config -> config.setJdbcUrl("jdbc:postgresql://127.0.0.1:"
                    + proxy.port() + server.getPath()));
            PgExecutionStore store = new PgExecutionStore(viaProxy);
            Execution stored = store.save(Execution.builder("ack-lost", "flow", "1").build());

            proxy.cutAfterNextUpdateCommits();
            Execution next = stored.toBuilder().status(ExecutionStatus.RUNNING).stepCount(1)
                    .context(Map.of("step", "a", "n", 1)).build();
            Execution saved = assertTimeoutPreemptively(Duration.ofSeconds(60), () -> store.save(next));

            assertThat(proxy.cut.await(10, TimeUnit.SECONDS)).as("the acknowledgement was dropped").isTrue();
            assertThat(saved.version()).isEqualTo(stored.version() + 1);
            Execution reloaded = new PgExecutionStore(PG.dataSource()).load("ack-lost").orElseThrow();
            assertThat(reloaded.version()).as("written once").isEqualTo(stored.version() + 1);
            assertThat(reloaded).isEqualTo(saved);
        }
    }

    @Test
    void a_batched_save_whose_acknowledgement_was_lost_after_it_committed_is_recognised_as_saved() throws Exception {
        URI server = URI.create(PG.jdbcUrl().substring("jdbc:".length()));
        try (CutAfterCommit proxy = new CutAfterCommit(server.getPort())) {
            HikariDataSource viaProxy = PG.newDataSource(1, config -> config.setJdbcUrl("jdbc:postgresql://127.0.0.1:"
                    + proxy.port() + server.getPath()));
            PgExecutionStore store = new PgExecutionStore(viaProxy);
            List<Execution> stored = store.saveAll(List.of(Execution.builder("batch-ack-lost-1", "flow", "1").build(),
                    Execution.builder("batch-ack-lost-2", "flow", "1").build()));

            proxy.cutAfterNextUpdateCommits();
            List<Execution> next = stored.stream().map(e -> e.toBuilder().status(ExecutionStatus.COMPLETED)
                    .stepCount(1).context(Map.of("step", "a", "id", e.id())).build()).toList();
            List<LeasingExecutionStore.SaveOutcome> outcomes = assertTimeoutPreemptively(Duration.ofSeconds(60),
                    () -> store.saveAllVersioned(next));

            assertThat(proxy.cut.await(10, TimeUnit.SECONDS)).as("the acknowledgement was dropped").isTrue();
            PgExecutionStore direct = new PgExecutionStore(PG.dataSource());
            for (LeasingExecutionStore.SaveOutcome outcome : outcomes) {
                Execution saved = outcome.orThrow();
                assertThat(saved.version()).isEqualTo(2);
                assertThat(direct.load(saved.id()).orElseThrow()).as("written once, as returned").isEqualTo(saved);
            }
        }
    }

    /** A store on one connection through a proxy, and an execution stored through it. */
    private record Stored(PgExecutionStore store, Execution execution) {
        static Stored through(CutAfterCommit proxy, String id) {
            URI server = URI.create(PG.jdbcUrl().substring("jdbc:".length()));
            PgExecutionStore store = new PgExecutionStore(PG.newDataSource(1, config -> config.setJdbcUrl(
                    "jdbc:postgresql://127.0.0.1:" + proxy.port() + server.getPath())));
            return new Stored(store, store.save(Execution.builder(id, "flow", "1").build()));
        }

        /** The save of a step of the execution that sends it a signal: one transaction. */
        List<Execution> saveWithASignal() {
            return store.saveWithSignals(List.of(execution.toBuilder().status(ExecutionStatus.RUNNING).stepCount(1)
                    .build()), List.of(), List.of(Signal.of(execution.id(), "go", Map.of("n", 1))));
        }
    }

    private static long signalsOf(String id) throws SQLException {
        return PG.queryLong("SELECT count(*) FROM executions_signals WHERE execution_id = '" + id + "'");
    }

    @Test
    void a_save_with_signals_whose_connection_is_lost_before_it_commits_is_tried_again_on_another() throws Exception {
        try (CutAfterCommit proxy = new CutAfterCommit(serverPort())) {
            Stored stored = Stored.through(proxy, "signals-lost");

            // Cut after the transaction's UPDATE, before its COMMIT: the server rolls it back.
            proxy.cutAfterNext("UPDATE ");
            List<Execution> saved = assertTimeoutPreemptively(Duration.ofSeconds(60),
                    stored::saveWithASignal);

            assertThat(proxy.cut.await(10, TimeUnit.SECONDS)).as("the connection was cut mid-transaction").isTrue();
            assertThat(saved.get(0).version()).isEqualTo(stored.execution().version() + 1);
            assertThat(new PgExecutionStore(PG.dataSource()).load("signals-lost").orElseThrow()).isEqualTo(saved.get(0));
            assertThat(signalsOf("signals-lost")).as("the signal, sent once").isOne();
        }
    }

    @Test
    void a_save_with_signals_whose_commit_acknowledgement_is_lost_is_not_tried_again() throws Exception {
        try (CutAfterCommit proxy = new CutAfterCommit(serverPort())) {
            Stored stored = Stored.through(proxy, "commit-lost");

            proxy.cutAfterNext("COMMIT");
            Throwable failure = assertTimeoutPreemptively(Duration.ofSeconds(60),
                    () -> catchThrowable(stored::saveWithASignal));

            // It committed, and its caller cannot know: told as a lost connection, not as a lost race.
            assertThat(failure).isInstanceOf(StoreUnavailableException.class).hasMessageContaining("connection lost");
            assertThat(new PgExecutionStore(PG.dataSource()).load("commit-lost").orElseThrow().version())
                    .isEqualTo(stored.execution().version() + 1);
            assertThat(signalsOf("commit-lost")).isOne();
        }
    }

    private static int serverPort() {
        return URI.create(PG.jdbcUrl().substring("jdbc:".length())).getPort();
    }

    /**
     * Forwards connections to PostgreSQL; once armed, lets the next message with the given statement
     * text through (an UPDATE, say), waits for the server's ReadyForQuery after it (outside a
     * transaction, the implicit one has committed by then), and closes the connection instead of
     * passing the reply on.
     */
    private static final class CutAfterCommit implements AutoCloseable {
        private static final byte[] READY = {'Z', 0, 0, 0, 5};

        private final ServerSocket listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        private final int target;
        private final AtomicBoolean armed = new AtomicBoolean();
        private volatile byte[] statement = "UPDATE ".getBytes(StandardCharsets.US_ASCII);
        final CountDownLatch cut = new CountDownLatch(1);

        CutAfterCommit(int target) throws IOException {
            this.target = target;
            Thread accept = new Thread(this::accept, "proxy-accept");
            accept.setDaemon(true);
            accept.start();
        }

        int port() {
            return listener.getLocalPort();
        }

        void cutAfterNextUpdateCommits() {
            cutAfterNext("UPDATE ");
        }

        void cutAfterNext(String statementText) {
            statement = statementText.getBytes(StandardCharsets.US_ASCII);
            armed.set(true);
        }

        private void accept() {
            while (!listener.isClosed()) {
                try {
                    Socket client = listener.accept();
                    Socket upstream = new Socket(InetAddress.getLoopbackAddress(), target);
                    AtomicBoolean updateSent = new AtomicBoolean();
                    pump(client, upstream, (buf, n) -> {
                        if (armed.get() && contains(buf, n, statement) && armed.compareAndSet(true, false)) {
                            updateSent.set(true);
                        }
                        return true;
                    });
                    pump(upstream, client, (buf, n) -> {
                        if (updateSent.get() && contains(buf, n, READY)) {
                            closeQuietly(client);
                            closeQuietly(upstream);
                            cut.countDown();
                            return false;
                        }
                        return true;
                    });
                } catch (IOException closed) {
                    return;
                }
            }
        }

        private static void pump(Socket from, Socket to, Filter forward) {
            Thread t = new Thread(() -> {
                byte[] buf = new byte[65_536];
                try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                    for (int n = in.read(buf); n >= 0; n = in.read(buf)) {
                        if (!forward.test(buf, n)) {
                            return;
                        }
                        out.write(buf, 0, n);
                        out.flush();
                    }
                } catch (IOException closed) {
                    // Either side went away: so does this direction.
                } finally {
                    closeQuietly(from);
                    closeQuietly(to);
                }
            }, "proxy-pump");
            t.setDaemon(true);
            t.start();
        }

        private static boolean contains(byte[] buf, int n, byte[] pattern) {
            outer:
            for (int i = 0; i + pattern.length <= n; i++) {
                for (int j = 0; j < pattern.length; j++) {
                    if (buf[i + j] != pattern[j]) {
                        continue outer;
                    }
                }
                return true;
            }
            return false;
        }

        private static void closeQuietly(Socket s) {
            try {
                s.close();
            } catch (IOException ignored) {
                // Already closed.
            }
        }

        @Override
        public void close() throws IOException {
            listener.close();
        }

        @FunctionalInterface
        private interface Filter {
            boolean test(byte[] buf, int n);
        }
    }
}
