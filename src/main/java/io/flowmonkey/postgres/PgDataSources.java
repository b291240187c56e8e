package io.flowmonkey.postgres;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Objects;
import javax.sql.DataSource;

/**
 * Builds the HikariCP pool a {@link PgExecutionStore} runs on, in one call, with the production
 * settings of FlowMonkey's PostgreSQL documentation page ({@code max: 20},
 * {@code idleTimeoutMillis: 30000}, {@code connectionTimeoutMillis: 2000}) expressed as HikariCP
 * properties.
 *
 * <p>HikariCP is a runtime dependency of this library for this class: every store needs a pool, and
 * a pool tuned as FlowMonkey's documentation says should be one line, not ten. The store itself takes
 * any {@link javax.sql.DataSource}, so an application with a pool of its own (Spring Boot's, say)
 * passes that and never calls this class.
 *
 * <p>{@link #config} returns the settings for further changes (metrics, TLS, a pool name);
 * {@link #pooled} starts the pool. Size the pool for the workers as well as for the application:
 * each {@code EngineWorker} holds one connection for its notices and one per busy thread.
 */
public final class PgDataSources {

    /** Most connections in the pool, {@value}: the documentation's {@code max: 20}. */
    public static final int DEFAULT_MAXIMUM_POOL_SIZE = 20;
    /**
     * Idle connections kept, {@value}. Below the maximum, so that HikariCP retires connections idle for
     * {@link #DEFAULT_IDLE_TIMEOUT} (it never retires any when the two are equal), as node-postgres
     * does with {@code idleTimeoutMillis}; above zero, so that the first calls after a quiet spell do
     * not each wait for a new connection.
     */
    public static final int DEFAULT_MINIMUM_IDLE = 2;
    /** How long a connection may sit idle before it is closed: the documentation's {@code idleTimeoutMillis: 30000}. */
    public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofSeconds(30);
    /**
     * How long a caller waits for a connection before the call fails: the documentation's
     * {@code connectionTimeoutMillis: 2000}.
     */
    public static final Duration DEFAULT_CONNECTION_TIMEOUT = Duration.ofSeconds(2);
    /** The pool's name in HikariCP's logs and metrics, {@value}. */
    public static final String DEFAULT_POOL_NAME = "flowmonkey";

    private static final String URL_PREFIX = "jdbc:postgresql:";

    /**
     * The HikariCP pool behind a data source, also through a wrapper that unwraps to it (Spring's
     * transaction-aware proxy does), or null: what the store's pool checks look at.
     */
    static HikariDataSource hikariBehind(DataSource ds) {
        if (ds instanceof HikariDataSource pool) {
            return pool;
        }
        try {
            return ds.isWrapperFor(HikariDataSource.class) ? ds.unwrap(HikariDataSource.class) : null;
        } catch (SQLException e) {
            return null;
        }
    }

    private PgDataSources() {
    }

    /**
     * Returns the production settings for a pool on {@code jdbcUrl}, to change further before
     * {@code new HikariDataSource(config)}. Besides the sizes and timeouts of the {@code DEFAULT_*}
     * constants it sets pgjdbc's {@code reWriteBatchedInserts=true}, which turns the JDBC batch of a
     * {@code saveAll} of over 1,000 new executions into multi-row INSERTs.
     *
     * @param jdbcUrl a PostgreSQL JDBC URL, {@code jdbc:postgresql://host:5432/database}
     * @param user the database role
     * @param password its password; null when the server does not ask for one
     * @return a new configuration, not shared
     * @throws IllegalArgumentException if the URL is not a PostgreSQL JDBC URL or the user is blank
     */
    public static HikariConfig config(String jdbcUrl, String user, String password) {
        Objects.requireNonNull(jdbcUrl, "jdbcUrl must not be null");
        if (!jdbcUrl.startsWith(URL_PREFIX)) {
            throw new IllegalArgumentException("jdbcUrl must be a PostgreSQL JDBC URL starting with '" + URL_PREFIX
                    + "', got '" + jdbcUrl + "'");
        }
        if (user == null || user.isBlank()) {
            throw new IllegalArgumentException("user must be a non-blank database role, got "
                    + (user == null ? "null" : "'" + user + "'"));
        }
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(jdbcUrl);
        config.setUsername(user);
        config.setPassword(password);
        config.setMaximumPoolSize(DEFAULT_MAXIMUM_POOL_SIZE);
        config.setMinimumIdle(DEFAULT_MINIMUM_IDLE);
        config.setIdleTimeout(DEFAULT_IDLE_TIMEOUT.toMillis());
        config.setConnectionTimeout(DEFAULT_CONNECTION_TIMEOUT.toMillis());
        config.setPoolName(DEFAULT_POOL_NAME);
        config.addDataSourceProperty("reWriteBatchedInserts", "true");
        return config;
    }

    /**
     * Starts a pool with the settings of {@link #config}. It connects at once, so a wrong URL, role or
     * password fails here rather than at the first save. Close it when the application stops.
     *
     * @param jdbcUrl a PostgreSQL JDBC URL, {@code jdbc:postgresql://host:5432/database}
     * @param user the database role
     * @param password its password; null when the server does not ask for one
     * @return the running pool
     * @throws IllegalArgumentException if the URL is not a PostgreSQL JDBC URL or the user is blank
     * @throws com.zaxxer.hikari.pool.HikariPool.PoolInitializationException if no connection can be made
     */
    public static HikariDataSource pooled(String jdbcUrl, String user, String password) {
        return new HikariDataSource(config(jdbcUrl, user, password));
    }
}
