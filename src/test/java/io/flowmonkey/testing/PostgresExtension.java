package io.flowmonkey.testing;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.flowmonkey.postgres.SchemaApplier;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A fresh PostgreSQL database per test class, with the schema applied and HikariCP in front.
 * Register it as a static field with {@code @RegisterExtension}. Sessions run in a non-UTC time
 * zone so that time-zone mistakes show.
 */
public final class PostgresExtension implements BeforeAllCallback, AfterAllCallback {

    private final boolean applySchema;
    private final List<HikariDataSource> pools = new ArrayList<>();
    private TestPostgres.Database database;
    private HikariDataSource dataSource;

    /** A database with the FlowMonkey schema applied. */
    public PostgresExtension() {
        this(true);
    }

    private PostgresExtension(boolean applySchema) {
        this.applySchema = applySchema;
    }

    /**
     * Returns an extension whose database is left empty (for schema tests).
     *
     * @return the extension
     */
    public static PostgresExtension withoutSchema() {
        return new PostgresExtension(false);
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        database = TestPostgres.createDatabase();
        dataSource = newDataSource(16);
        if (applySchema) {
            SchemaApplier.apply(dataSource);
        }
    }

    @Override
    public void afterAll(ExtensionContext context) {
        pools.forEach(HikariDataSource::close);
        pools.clear();
    }

    /**
     * Returns the shared pool (16 connections) of this class's database.
     *
     * @return the data source
     */
    public HikariDataSource dataSource() {
        return dataSource;
    }

    /**
     * Opens another pool on this class's database, closed after the class.
     *
     * @param maxPoolSize its size
     * @return the data source
     */
    public HikariDataSource newDataSource(int maxPoolSize) {
        return newDataSource(maxPoolSize, database.user(), database.password());
    }

    /**
     * Opens a pool on this class's database as another role, closed after the class.
     *
     * @param maxPoolSize its size
     * @param user the role
     * @param password its password
     * @return the data source
     */
    public HikariDataSource newDataSource(int maxPoolSize, String user, String password) {
        return newDataSource(maxPoolSize, user, password, config -> { });
    }

    /**
     * Opens a pool on this class's database with settings of the caller's, closed after the class.
     *
     * @param maxPoolSize its size
     * @param customizer changes the configuration before the pool starts
     * @return the data source
     */
    public HikariDataSource newDataSource(int maxPoolSize, Consumer<HikariConfig> customizer) {
        return newDataSource(maxPoolSize, database.user(), database.password(), customizer);
    }

    private synchronized HikariDataSource newDataSource(int maxPoolSize, String user, String password,
                                                        Consumer<HikariConfig> customizer) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(database.jdbcUrl());
        config.setUsername(user);
        config.setPassword(password);
        config.setMaximumPoolSize(maxPoolSize);
        config.setMinimumIdle(0);
        config.setConnectionTimeout(10_000);
        config.setPoolName("test-" + database.name() + "-" + pools.size());
        config.setConnectionInitSql("SET TIME ZONE 'Pacific/Chatham'");
        customizer.accept(config);
        HikariDataSource ds = new HikariDataSource(config);
        pools.add(ds);
        return ds;
    }

    /**
     * Runs SQL on this class's database, as its owner.
     *
     * @param sql one or more statements
     * @throws SQLException if PostgreSQL refuses it
     */
    public void execute(String sql) throws SQLException {
        try (Connection c = dataSource.getConnection(); Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }

    /**
     * Empties tables of this class's database, so that each test starts from none of their rows.
     *
     * @param tables the tables, such as {@code executions}
     * @throws SQLException if PostgreSQL refuses it
     */
    public void truncate(String... tables) throws SQLException {
        execute("TRUNCATE " + String.join(", ", tables));
    }

    /**
     * Replaces the trigger function {@code schema.function} with one that first logs the id of the row
     * it is called for into the table {@code schema.function_calls} (emptied here, with the schema's
     * {@code executions}), then runs {@code body}: calls made on any connection, a pool's included, can
     * then be counted.
     *
     * @param schema the schema of the function and of its executions table
     * @param function the function's name, e.g. {@code executions_end_lease}
     * @param body PL/pgSQL statements that do the function's work and end with a {@code RETURN}
     * @return the qualified name of the table of calls
     * @throws SQLException if PostgreSQL refuses it
     */
    public String logCallsOf(String schema, String function, String body) throws SQLException {
        String calls = schema + "." + function + "_calls";
        execute("CREATE TABLE IF NOT EXISTS " + calls + " (id text)");
        truncate(schema + ".executions", calls);
        execute("CREATE OR REPLACE FUNCTION " + schema + "." + function + "() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                + "BEGIN\n  INSERT INTO " + calls + " VALUES (NEW.id);\n" + body + "\nEND\n$$");
        return calls;
    }

    /**
     * Runs a query that returns one number.
     *
     * @param query the query
     * @return the first column of its first row
     * @throws SQLException if PostgreSQL refuses it
     */
    public long queryLong(String query) throws SQLException {
        try (Connection c = dataSource.getConnection(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery(query)) {
            if (!rs.next()) {
                throw new SQLException("no row from: " + query);
            }
            return rs.getLong(1);
        }
    }

    /**
     * Counts the rows of this class's {@code executions} table that match {@code where}, for awaits and
     * other lambdas that cannot throw a checked exception.
     *
     * @param where the condition, SQL written by the test
     * @return how many rows match
     * @throws IllegalStateException if PostgreSQL refuses the query
     */
    public long countExecutions(String where) {
        try {
            return queryLong("SELECT count(*) FROM executions WHERE " + where);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Runs a query and returns the first column of every row, as text.
     *
     * @param query the query
     * @return the values, in the query's order
     * @throws SQLException if PostgreSQL refuses it
     */
    public List<String> queryStrings(String query) throws SQLException {
        List<String> values = new ArrayList<>();
        try (Connection c = dataSource.getConnection(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery(query)) {
            while (rs.next()) {
                values.add(rs.getString(1));
            }
        }
        return values;
    }

    /**
     * Makes the open transaction on {@code c} look, to every other transaction that commits pending
     * rows of the table {@code executions} in the next ten seconds, like one committing and announcing
     * pending work: it takes the table's advisory locks of those 20 ms slots, as the V4 trigger does
     * for the transaction that announces. Until {@code c} ends, pending rows committed elsewhere send
     * no notice of their own.
     *
     * @param c a connection with autocommit off
     * @throws SQLException if the locks cannot be taken
     */
    public static void takeNoticeOfPendingWork(Connection c) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute("""
                    SELECT pg_advisory_xact_lock('executions'::regclass::oid::integer, slot::integer)
                    FROM (SELECT (extract(epoch FROM clock_timestamp()) * 50)::bigint % 2147483647 AS now_slot) n,
                         generate_series(now_slot, now_slot + 500) slot""");
        }
    }

    /**
     * Returns the JDBC URL of this class's database.
     *
     * @return the URL
     */
    public String jdbcUrl() {
        return database.jdbcUrl();
    }

    /**
     * Returns the connection details of this class's database.
     *
     * @return the details
     */
    public TestPostgres.Database database() {
        return database;
    }
}
