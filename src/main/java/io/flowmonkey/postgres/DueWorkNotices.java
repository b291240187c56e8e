package io.flowmonkey.postgres;

import com.zaxxer.hikari.HikariDataSource;
import io.flowmonkey.execution.LeasingExecutionStore;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.sql.DataSource;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Listens for the notices the table's trigger sends, on a connection of its own, and passes them
 * on. When the connection fails it reconnects by itself, with growing pauses; every ten minutes it
 * returns the connection to the pool and takes another. Each time it starts listening it tells the
 * listener that notices may have been missed. The pauses start again from the shortest once it
 * listens again, so that each incident is met as promptly as the first.
 */
final class DueWorkNotices implements LeasingExecutionStore.Subscription, Runnable {

    private static final Logger LOG = LoggerFactory.getLogger(DueWorkNotices.class);
    private static final int WAIT_MILLIS = 500;
    private static final long MIN_BACKOFF_MILLIS = 100;
    private static final long MAX_BACKOFF_MILLIS = 10_000;
    private static final long RECYCLE_NANOS = TimeUnit.MINUTES.toNanos(10);
    private static final long PROBE_NANOS = TimeUnit.SECONDS.toNanos(30);

    private final DataSource dataSource;
    private final ExecutionSql sql;
    private final LeasingExecutionStore.DueWorkListener listener;
    private final Runnable onClose;
    private final Thread thread;
    /** "flowmonkey_" for due work (V3), {@link ExecutionSql#END_CHANNEL_PREFIX} for ends (V6). */
    private final String channelPrefix;
    private volatile boolean open = true;
    private final AtomicBoolean closed = new AtomicBoolean();
    /** The pause before the next reconnect; read and written by the listening thread only. */
    private long backoff = MIN_BACKOFF_MILLIS;

    /**
     * Listens on the channel of the table named by {@code channelPrefix} ("flowmonkey_" for due work,
     * {@link ExecutionSql#END_CHANNEL_PREFIX} for ends); {@code onClose} runs once when it is closed.
     */
    DueWorkNotices(DataSource dataSource, ExecutionSql sql, LeasingExecutionStore.DueWorkListener listener,
                   String channelPrefix, Runnable onClose) {
        this.dataSource = dataSource;
        this.sql = sql;
        this.listener = listener;
        this.channelPrefix = channelPrefix;
        this.onClose = onClose;
        this.thread = new Thread(this, "flowmonkey-listen-" + sql.table);
        this.thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    @Override
    public void run() {
        boolean recovering = false;
        while (open) {
            try (Connection c = dataSource.getConnection()) {
                try {
                    listen(c, recovering);
                    recovering = false;
                    // The connection goes back to the pool: it must not keep collecting notices there.
                    try (Statement st = c.createStatement()) {
                        st.execute(ExecutionSql.UNLISTEN);
                    }
                } catch (SQLException | RuntimeException e) {
                    discardIfBroken(c);
                    throw e;
                }
            } catch (SQLException | RuntimeException e) {
                if (!open) {
                    return;
                }
                HikariDataSource pool = PgDataSources.hikariBehind(dataSource);
                if (pool != null && pool.isClosed()) {
                    // No connection will ever come back: the application closed the pool before this
                    // subscription. Stop, rather than warn every few seconds for the life of the JVM.
                    LOG.info("Stopped listening for due work on {}: its connection pool was closed", sql.table);
                    open = false;
                    return;
                }
                LOG.warn("Listening for due work on {} failed ({}); reconnecting in {} ms; polling covers the gap",
                        sql.table, e.getMessage(), backoff);
                recovering = true;
                pause(backoff);
                backoff = Math.min(backoff * 2, MAX_BACKOFF_MILLIS);
            }
        }
    }

    /** Listens on {@code c} until the subscription closes or the connection is due for recycling. */
    private void listen(Connection c, boolean recovering) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute(sql.listen(channel(c)));
        }
        if (recovering) {
            LOG.info("Listening for due work on {} again", sql.table);
        }
        backoff = MIN_BACKOFF_MILLIS;
        // Work saved before LISTEN took effect sent its notice to nobody: look for it now.
        listener.onMissedNotices();
        PGConnection pg = c.unwrap(PGConnection.class);
        // Give the connection back now and then, so the pool can retire it at its maxLifetime.
        long recycleAt = System.nanoTime() + RECYCLE_NANOS;
        long probeAt = System.nanoTime() + PROBE_NANOS;
        while (open && System.nanoTime() < recycleAt) {
            PGNotification[] notices = pg.getNotifications(WAIT_MILLIS);
            if (notices != null) {
                for (PGNotification notice : notices) {
                    deliver(notice.getParameter());
                }
            }
            if (System.nanoTime() > probeAt) {
                // Waiting for notices never touches the socket; a query finds a half-open connection.
                probe(c);
                probeAt = System.nanoTime() + PROBE_NANOS;
            }
        }
    }

    /**
     * A failure inside {@link PGConnection#getNotifications} bypasses the pool's proxy, so the pool
     * would hand the dead connection to the next caller; a query through the proxy lets it see the
     * failure and discard the connection.
     */
    private static void discardIfBroken(Connection c) {
        try {
            probe(c);
        } catch (SQLException expected) {
            // The pool has seen it now.
        }
    }

    private static void probe(Connection c) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.setQueryTimeout(10);
            st.execute(ExecutionSql.PROBE);
        }
    }

    private String channel(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql.tableOid)) {
            ps.setString(1, sql.table);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next() || rs.getString(1) == null) {
                    throw new SQLException("table " + sql.table + " does not exist; run SchemaApplier.apply first",
                            "42P01");
                }
                return channelPrefix + rs.getString(1);
            }
        }
    }

    private void deliver(String payload) {
        int colon = payload.indexOf(':');
        if (colon < 0) {
            return;
        }
        try {
            Instant wakeAt = colon == 0 ? null : Instant.ofEpochMilli(Long.parseLong(payload.substring(0, colon)));
            listener.onDue(payload.substring(colon + 1), wakeAt);
        } catch (RuntimeException e) {
            LOG.warn("Due-work listener failed on notice '{}'", payload, e);
        }
    }

    private void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            open = false;
        }
    }

    @Override
    public void close() {
        if (closed.getAndSet(true)) {
            return;
        }
        onClose.run();
        open = false;
        thread.interrupt();
        try {
            thread.join(WAIT_MILLIS * 4L);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
