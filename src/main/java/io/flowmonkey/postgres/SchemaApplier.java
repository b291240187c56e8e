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
import java.util.ArrayList;
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
 * the table, on its signal table {@code <table>_signals} (migration V6) and on its worker table
 * {@code <table>_workers} (migration V9); with {@code SELECT} on
 * {@value #HISTORY_TABLE} as well, the application's role may run {@code apply} too: when the table
 * is current that is a read-only check (and when it is not, it fails, saying that the owner must
 * run it).
 *
 * <p>A table that its history says was applied but that is missing (dropped by hand) is created
 * again, empty, with a warning in the log: the history no longer describes anything.
 *
 * <p>The same files work as a Flyway location ({@code classpath:io/flowmonkey/postgres/migration})
 * with the placeholders {@code schema} and {@code table} set. A table Flyway made from them is
 * recognised by the script names in a Flyway history table (any name) in the table's schema: once
 * Flyway has applied every bundled migration, {@code apply} returns the version and changes nothing,
 * so an application may keep calling it at start-up; while Flyway is behind, {@code apply} refuses
 * and says to run Flyway, since migrations applied by two tools would each be applied twice.
 *
 * <p>Servers older than PostgreSQL {@value #OLDEST_SUPPORTED_POSTGRESQL} are refused before anything
 * is changed.
 */
public final class SchemaApplier {

    /** The table, in the executions table's schema, that records applied migrations. */
    public static final String HISTORY_TABLE = "flowmonkey_schema_history";

    /**
     * The oldest PostgreSQL major version supported, {@value}: the oldest the tests run on.
     * {@link #apply} refuses older servers.
     */
    public static final int OLDEST_SUPPORTED_POSTGRESQL = 15;

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
            new Migration(4, "V4__coalesced_pending_notifications.sql", "coalesced pending notifications"),
            new Migration(5, "V5__worker_hardening.sql", "worker hardening"),
            new Migration(6, "V6__signals_and_end_notices.sql", "signals and end notices"),
            new Migration(7, "V7__query_indexes.sql", "query indexes"),
            // flow control (priority, scheduled starts)
            new Migration(8, "V8__flow_control_priority.sql", "flow control priority"),
            // Worker heartbeats (issue 12)
            new Migration(9, "V9__worker_heartbeats.sql", "worker heartbeats"),
            // write path (issue 13)
            new Migration(10, "V10__write_path.sql", "write path"),
            // error code column (issue 12, counts by error code index-only)
            new Migration(11, "V11__error_code_column.sql", "error code column"),
            // updated-range index (issue 12)
            new Migration(12, "V12__updated_range_index.sql", "updated range index"),
            // write path, server CPU (issue 13)
            new Migration(13, "V13__lighter_ending_save.sql", "lighter ending save"),
            // write path, WAL of rows without a tenant (issue 13)
            new Migration(14, "V14__tenant_indexes_of_tenant_rows.sql", "tenant indexes of tenant rows"),
            // write path, WAL of rows without metadata (issue 13)
            new Migration(15, "V15__metadata_index_of_set_metadata.sql", "metadata index of set metadata"),
            // write path, no row lock of a BEFORE UPDATE trigger (issue 13)
            new Migration(16, "V16__no_row_trigger_before_update.sql", "no row trigger before update"));

    private SchemaApplier() {
    }

    /** How many migrations are bundled: versions need not be consecutive. */
    static int migrationCount() {
        return MIGRATIONS.size();
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
     * @throws StoreException if a migration fails (it is rolled back), the role lacks privileges, the
     *     database was upgraded by a newer version of this library, the server is older than PostgreSQL
     *     {@value #OLDEST_SUPPORTED_POSTGRESQL}, or Flyway made the table and has not applied every
     *     bundled migration yet
     */
    public static int apply(DataSource ds, PgStoreOptions options) {
        Objects.requireNonNull(ds, "dataSource must not be null");
        Objects.requireNonNull(options, "options must not be null");
        String target = options.schema() + "." + options.tableName();
        try (Connection c = ds.getConnection()) {
            c.setAutoCommit(true);
            requireSupportedServer(c, target);
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
        Integer flywayVersion = versionAppliedByFlyway(c, options, target);
        if (flywayVersion != null) {
            return flywayVersion;
        }
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
            throw unreadableHistory(e, history, target);
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

    // ---- PostgreSQL version check ----

    private static void requireSupportedServer(Connection c, String target) throws SQLException {
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT current_setting('server_version_num')::int, "
                     + "current_setting('server_version')")) {
            rs.next();
            requireSupportedServer(rs.getInt(1), rs.getString(2), target);
        }
    }

    /**
     * Refuses a server older than {@link #OLDEST_SUPPORTED_POSTGRESQL}.
     *
     * @param versionNum {@code server_version_num}, e.g. 150004 for 15.4
     * @param version {@code server_version}, as the server reports it
     */
    static void requireSupportedServer(int versionNum, String version, String target) {
        if (versionNum / 10_000 < OLDEST_SUPPORTED_POSTGRESQL) {
            throw new StoreException(null, "SchemaApplier refuses " + target + ": the server is PostgreSQL "
                    + version + " (server_version_num " + versionNum + "), and FlowMonkey needs PostgreSQL "
                    + OLDEST_SUPPORTED_POSTGRESQL + " or newer");
        }
    }

    // ---- Tables made by Flyway from the bundled scripts ----

    /**
     * Returns the version Flyway brought the target table to, when a Flyway history table in the
     * target's schema records the bundled scripts and this class has no history of the table; null
     * when the table is not Flyway's, and migrations proceed as usual. Changes nothing: a table Flyway
     * made stays Flyway's to upgrade.
     *
     * @throws StoreException if Flyway has not applied every bundled migration yet, or the table holds
     *     what the migrations make but neither history records them
     */
    private static Integer versionAppliedByFlyway(Connection c, PgStoreOptions options, String target)
            throws SQLException {
        String schema = options.schema();
        String table = options.tableName();
        if (!found(c, "SELECT 1 FROM pg_tables WHERE schemaname = ? AND tablename = ?", schema, table)
                || recordedHere(c, options)) {
            return null;
        }
        int found = 0;
        String foundIn = null;
        for (String flywayHistory : flywayHistoryTables(c, schema)) {
            int version = bundledVersionIn(c, '"' + schema + "\".\"" + flywayHistory.replace("\"", "\"\"") + '"');
            if (version > found) {
                found = version;
                foundIn = schema + "." + flywayHistory;
            }
        }
        if (found == 0) {
            if (found(c, "SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass(?) AND conname = ?",
                    '"' + schema + "\".\"" + table + '"', table + "_status_check")) {
                throw new StoreException(null, "table " + target + " already has what migration 2 adds, but neither "
                        + schema + "." + HISTORY_TABLE + " nor a Flyway history table in schema " + schema
                        + " records it; SchemaApplier will not guess which migrations it has. If Flyway made it, "
                        + "keep its history table in schema " + schema + " and migrate with Flyway");
            }
            return null;
        }
        if (found < latestVersion()) {
            throw new StoreException(null, "table " + target + " is managed by Flyway (" + foundIn
                    + " records the bundled migrations up to " + found + "); SchemaApplier leaves it to Flyway: "
                    + "run Flyway with the location classpath:io/flowmonkey/postgres/migration to apply migrations "
                    + (found + 1) + " to " + latestVersion());
        }
        LOG.debug("{} was migrated by Flyway ({}) to version {}; nothing to apply", target, foundIn, found);
        return found;
    }

    private static boolean recordedHere(Connection c, PgStoreOptions options) throws SQLException {
        if (!exists(c, "SELECT 1 FROM pg_tables WHERE schemaname = ? AND tablename = '" + HISTORY_TABLE + "'",
                options.schema())) {
            return false;
        }
        String history = '"' + options.schema() + "\".\"" + HISTORY_TABLE + '"';
        try {
            return currentVersion(c, history, options.tableName()) > 0;
        } catch (SQLException e) {
            throw unreadableHistory(e, history, options.schema() + "." + options.tableName());
        }
    }

    /** A role that may not read the history hears which grant it lacks; other failures go on as they are. */
    private static SQLException unreadableHistory(SQLException e, String history, String target) {
        if (!"42501".equals(SqlErrors.state(e))) {
            return e;
        }
        throw new StoreException(null, "SchemaApplier cannot read " + history + " to check that " + target
                + " is current: the database role lacks SELECT on it; grant it (GRANT SELECT ON " + history
                + " TO <role>), or run SchemaApplier as the schema's owner", e);
    }

    private static boolean found(Connection c, String query, String... params) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(query)) {
            for (int i = 0; i < params.length; i++) {
                ps.setString(i + 1, params[i]);
            }
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    /** Tables of the schema that have the columns of Flyway's schema history, whatever they are called. */
    private static List<String> flywayHistoryTables(Connection c, String schema) throws SQLException {
        List<String> tables = new ArrayList<>();
        // pg_catalog, not information_schema: the latter hides tables the role has no privilege on, and a
        // role that cannot read Flyway's history should hear that, not that no history exists.
        try (PreparedStatement ps = c.prepareStatement("SELECT t.relname FROM pg_class t "
                + "JOIN pg_namespace n ON n.oid = t.relnamespace JOIN pg_attribute a ON a.attrelid = t.oid "
                + "WHERE n.nspname = ? AND t.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped "
                + "AND a.attname IN ('installed_rank', 'version', 'script', 'success') "
                + "GROUP BY t.relname HAVING count(*) = 4 ORDER BY t.relname")) {
            ps.setString(1, schema);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    tables.add(rs.getString(1));
                }
            }
        }
        return tables;
    }

    /** The newest bundled migration recorded as applied, by script name, in a Flyway history table; 0 if none. */
    private static int bundledVersionIn(Connection c, String flywayHistory) throws SQLException {
        String[] scripts = MIGRATIONS.stream().map(Migration::file).toArray(String[]::new);
        try (PreparedStatement ps = c.prepareStatement("SELECT script FROM " + flywayHistory
                + " WHERE success AND script = ANY (?)")) {
            ps.setArray(1, c.createArrayOf("text", scripts));
            int newest = 0;
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String script = rs.getString(1);
                    for (Migration m : MIGRATIONS) {
                        if (m.file().equals(script)) {
                            newest = Math.max(newest, m.version());
                        }
                    }
                }
            }
            return newest;
        }
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
