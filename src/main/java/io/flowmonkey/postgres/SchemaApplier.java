package io.flowmonkey.postgres;

import io.flowmonkey.execution.StoreException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Objects;
import java.util.zip.CRC32;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Installs and upgrades the executions table from the versioned SQL files bundled under
 * {@code io/flowmonkey/postgres/migration}.
 *
 * <p>Applied versions are recorded per table in {@code flowmonkey_schema_history}, in the table's
 * schema. The whole run holds a PostgreSQL advisory lock for that schema, and each migration runs in
 * its own transaction, so applying from many processes at once, or twice, is safe. A database
 * upgraded by a newer library is refused rather than guessed at, and a shipped migration whose text
 * changed since it was applied is reported in the log.
 *
 * <p>Run it as a role that may create tables in the schema (the schema's owner, typically). The
 * store itself needs only {@code USAGE} on the schema and {@code SELECT, INSERT, UPDATE, DELETE} on
 * the table; with {@code SELECT} on {@value #HISTORY_TABLE} as well, the application's role may run
 * {@code apply} too: when the table is current that is a read-only check (and when it is not, it
 * fails, saying that the owner must run it).
 *
 * <p>A table that its history says was applied but that is missing (dropped by hand) is created
 * again, empty, with a warning in the log: the history no longer describes anything.
 *
 * <p>The same files work as a Flyway location ({@code classpath:io/flowmonkey/postgres/migration})
 * with the placeholders {@code schema} and {@code table} set.
 */
public final class SchemaApplier {

    /** The table, in the executions table's schema, that records applied migrations. */
    public static final String HISTORY_TABLE = "flowmonkey_schema_history";

    private static final Logger LOG = LoggerFactory.getLogger(SchemaApplier.class);
    private static final String LOCATION = "/io/flowmonkey/postgres/migration/";
    /** First key of the advisory lock, "FMSA": keeps our locks apart from the application's. */
    private static final int LOCK_NAMESPACE = 0x464D5341;

    private record Migration(int version, String file, String description) {
    }

    private static final List<Migration> MIGRATIONS = List.of(
            new Migration(1, "V1__seed_executions_table.sql", "seed executions table"),
            new Migration(2, "V2__engine_columns_and_indexes.sql", "engine columns and indexes"),
            new Migration(3, "V3__due_work_notifications.sql", "due work notifications"),
            new Migration(4, "V4__coalesced_pending_notifications.sql", "coalesced pending notifications"));

    private SchemaApplier() {
    }

    /**
     * Returns the newest schema version this library knows.
     *
     * @return the version of the last bundled migration
     */
    public static int latestVersion() {
        return MIGRATIONS.get(MIGRATIONS.size() - 1).version();
    }

    /**
     * Brings {@code public.executions} up to date.
     *
     * @param ds a data source whose role may create tables
     * @return the schema version now in place
     * @throws StoreException if a migration fails (it is rolled back), the role lacks privileges, or
     *     the database was upgraded by a newer version of this library
     */
    public static int apply(DataSource ds) {
        return apply(ds, PgStoreOptions.defaults());
    }

    /**
     * Brings the table named by {@code options} up to date, creating its schema if needed.
     *
     * @param ds a data source whose role may create tables
     * @param options the schema and table name; other options are ignored
     * @return the schema version now in place
     * @throws StoreException if a migration fails (it is rolled back), the role lacks privileges, or
     *     the database was upgraded by a newer version of this library
     */
    public static int apply(DataSource ds, PgStoreOptions options) {
        Objects.requireNonNull(ds, "dataSource must not be null");
        Objects.requireNonNull(options, "options must not be null");
        String target = options.schema() + "." + options.tableName();
        try (Connection c = ds.getConnection()) {
            c.setAutoCommit(true);
            // One lock per schema: tables of one schema share its creation and its history table.
            lock(c, options.schema(), true);
            try {
                return migrate(c, options, target);
            } finally {
                try {
                    lock(c, options.schema(), false);
                } catch (SQLException unlock) {
                    // The lock ends with the session anyway; keep the failure that matters, if any.
                    LOG.debug("Could not release the schema lock of {}", target, unlock);
                }
            }
        } catch (SQLException e) {
            throw failure(e, target, null);
        } catch (MigrationFailed e) {
            throw failure(e.failure, target, e.migration);
        }
    }

    private static int migrate(Connection c, PgStoreOptions options, String target) throws SQLException {
        String schema = options.schema();
        String history = '"' + schema + "\".\"" + HISTORY_TABLE + '"';
        if (!exists(c, "SELECT 1 FROM pg_namespace WHERE nspname = ?", schema)) {
            execute(c, "CREATE SCHEMA \"" + schema + '"');
        }
        if (!exists(c, "SELECT 1 FROM pg_tables WHERE schemaname = ? AND tablename = '" + HISTORY_TABLE + "'",
                schema)) {
            execute(c, "CREATE TABLE IF NOT EXISTS " + history + " (table_name TEXT NOT NULL, version INTEGER NOT NULL, "
                    + "description TEXT NOT NULL, checksum BIGINT NOT NULL, "
                    + "installed_at TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (table_name, version))");
        }
        int current;
        try {
            warnOfChangedMigrations(c, history, options.tableName());
            current = currentVersion(c, history, options.tableName());
        } catch (SQLException e) {
            if (!"42501".equals(SqlErrors.state(e))) {
                throw e;
            }
            throw new StoreException(null, "SchemaApplier cannot read " + history + " to check that " + target
                    + " is current: the database role lacks SELECT on it; grant it (GRANT SELECT ON " + history
                    + " TO <role>), or run SchemaApplier as the schema's owner", e);
        }
        if (current > 0 && !exists(c, "SELECT 1 WHERE to_regclass(?) IS NOT NULL",
                '"' + schema + "\".\"" + options.tableName() + '"')) {
            LOG.warn("Table {} is missing, though {} records schema version {} for it (was it dropped?); creating it "
                    + "again, empty", target, history, current);
            try (PreparedStatement forget = c.prepareStatement("DELETE FROM " + history + " WHERE table_name = ?")) {
                forget.setString(1, options.tableName());
                forget.executeUpdate();
            }
            current = 0;
        }
        if (current > latestVersion()) {
            throw new StoreException(null, "table " + target + " is at schema version " + current
                    + ", newer than this library knows (" + latestVersion() + "); upgrade flowmonkey-postgres "
                    + "rather than run an older version against this database");
        }
        for (Migration m : MIGRATIONS) {
            if (m.version() > current) {
                run(c, m, options, history);
                current = m.version();
            }
        }
        return current;
    }

    private static void warnOfChangedMigrations(Connection c, String history, String table) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT version, checksum FROM " + history
                + " WHERE table_name = ?")) {
            ps.setString(1, table);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    int version = rs.getInt(1);
                    for (Migration m : MIGRATIONS) {
                        if (m.version() == version && checksum(resource(m.file())) != rs.getLong(2)) {
                            LOG.warn("FlowMonkey migration {} ({}) differs from the one applied to {}; shipped "
                                    + "migrations must not change", version, m.file(), table);
                        }
                    }
                }
            }
        }
    }

    private static void run(Connection c, Migration m, PgStoreOptions options, String history) throws SQLException {
        String template = resource(m.file());
        String script = template.replace("${schema}", options.schema()).replace("${table}", options.tableName());
        c.setAutoCommit(false);
        try (Statement st = c.createStatement();
             PreparedStatement record = c.prepareStatement("INSERT INTO " + history
                     + " (table_name, version, description, checksum) VALUES (?, ?, ?, ?)")) {
            st.execute(script);
            record.setString(1, options.tableName());
            record.setInt(2, m.version());
            record.setString(3, m.description());
            record.setLong(4, checksum(template));
            record.executeUpdate();
            c.commit();
            LOG.info("Applied FlowMonkey schema migration {} ({}) to {}.{}", m.version(), m.description(),
                    options.schema(), options.tableName());
        } catch (SQLException e) {
            rollbackQuietly(c, e);
            throw new MigrationFailed(m, e);
        } catch (RuntimeException e) {
            rollbackQuietly(c, e);
            throw e;
        } finally {
            c.setAutoCommit(true);
        }
    }

    private static void rollbackQuietly(Connection c, Exception failure) {
        try {
            c.rollback();
        } catch (SQLException rollbackFailure) {
            failure.addSuppressed(rollbackFailure);
        }
    }

    /** Carries a migration's failure, and which migration it was, out to {@link #apply}. */
    private static final class MigrationFailed extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final transient Migration migration;
        private final SQLException failure;

        MigrationFailed(Migration migration, SQLException failure) {
            super(failure);
            this.migration = migration;
            this.failure = failure;
        }
    }

    private static int currentVersion(Connection c, String history, String table) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT coalesce(max(version), 0) FROM " + history
                + " WHERE table_name = ?")) {
            ps.setString(1, table);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    private static void lock(Connection c, String schema, boolean acquire) throws SQLException {
        String function = acquire ? "pg_advisory_lock" : "pg_advisory_unlock";
        try (PreparedStatement ps = c.prepareStatement("SELECT " + function + "(?, hashtext(?))")) {
            ps.setInt(1, LOCK_NAMESPACE);
            ps.setString(2, schema);
            ps.execute();
        }
    }

    private static boolean exists(Connection c, String query, String param) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(query)) {
            ps.setString(1, param);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    private static void execute(Connection c, String ddl) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute(ddl);
        }
    }

    private static String resource(String file) {
        try (InputStream in = SchemaApplier.class.getResourceAsStream(LOCATION + file)) {
            if (in == null) {
                throw new IllegalStateException("migration " + file + " is missing from the classpath at " + LOCATION);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read migration " + file, e);
        }
    }

    private static long checksum(String text) {
        CRC32 crc = new CRC32();
        crc.update(text.getBytes(StandardCharsets.UTF_8));
        return crc.getValue();
    }

    private static StoreException failure(SQLException e, String target, Migration failed) {
        String state = SqlErrors.state(e);
        if ("42501".equals(state)) {
            return new StoreException(null, "SchemaApplier cannot change " + target + ": the database role lacks the "
                    + "privilege (" + e.getMessage() + "); run it as the schema's owner or a role with CREATE on the "
                    + "schema, and give the application's role only SELECT, INSERT, UPDATE, DELETE", e);
        }
        String what = failed == null ? "" : "; migration " + failed.version() + " (" + failed.file()
                + ") was rolled back and earlier ones stay applied";
        return new StoreException(null, "SchemaApplier failed on " + target + " [SQLState " + state + ": "
                + e.getMessage() + "]" + what, e);
    }
}
