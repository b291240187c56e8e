package io.flowmonkey.postgres;

import io.flowmonkey.execution.StoreException;
import io.flowmonkey.execution.StoreUnavailableException;
import java.sql.BatchUpdateException;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.postgresql.util.PSQLException;
import org.postgresql.util.ServerErrorMessage;

/**
 * The one place where PostgreSQL error codes become store exceptions, so that no raw
 * {@link SQLException} leaves the public API.
 */
final class SqlErrors {

    static final String UNIQUE_VIOLATION = "23505";

    private static final String HIKARI_CLOSED = "Connection is closed";
    private static final Pattern KEY_DETAIL = Pattern.compile("\\)=\\((.*)\\) already exists");

    private SqlErrors() {
    }

    /**
     * Translates a failure of {@code action} on the given execution.
     *
     * @param executionId the execution concerned, or null
     * @param action what was being done, e.g. "save"
     */
    static StoreException translate(SQLException e, String executionId, String action, String table) {
        String state = state(e);
        String subject = executionId == null ? action : action + " of execution " + executionId;
        String detail = " [SQLState " + (state.isEmpty() ? "none" : state) + ": " + e.getMessage() + "]";
        if (e instanceof SQLTransientConnectionException) {
            // HikariCP's pool timeout: PostgreSQL was never asked, so do not word it as a refusal.
            return new StoreUnavailableException(executionId, subject + " failed: no connection became available "
                    + "from the pool in time (all in use, or the database cannot be reached); retry, or give the "
                    + "pool more connections or a longer connectionTimeout" + detail, e);
        }
        // HikariCP answers every call on a connection it evicted after a fatal error with this message
        // and no SQLState: the connection was lost as surely as with an 08xxx.
        boolean evicted = state.isEmpty() && HIKARI_CLOSED.equals(e.getMessage());
        if (state.startsWith("08") || state.startsWith("57P0") || evicted) {
            return new StoreUnavailableException(executionId, subject + " failed: connection lost, retry (the "
                    + "connection to PostgreSQL broke or the server ended it; the next call uses a new connection; "
                    + "a write whose commit was under way may have happened, so load before writing again)"
                    + detail, e);
        }
        String advice;
        if (state.equals("40001") || state.equals("40P01")) {
            advice = "PostgreSQL rolled the transaction back (serialization failure or deadlock); retry it";
        } else if (state.equals("42P01") || state.equals("3F000")) {
            advice = "table " + table + " does not exist (was it dropped?); run SchemaApplier.apply(dataSource, "
                    + "options) as the schema's owner: it creates the table, also one dropped after it was applied";
        } else if (state.equals("42703")) {
            advice = "table " + table + " lacks a column this library needs; run SchemaApplier.apply(dataSource) "
                    + "to upgrade it";
        } else if (state.equals("42501")) {
            advice = "the database role lacks a privilege on " + table + "; grant SELECT, INSERT, UPDATE, DELETE on it";
        } else if (state.equals("25P02")) {
            advice = "the surrounding transaction was already aborted by an earlier error; roll it back";
        } else if (state.equals("57014")) {
            advice = "the statement was cancelled (statement_timeout, or a cancel request); retry it, or allow more "
                    + "time";
        } else {
            advice = "PostgreSQL refused it";
        }
        return new StoreException(executionId, subject + " failed: " + advice + detail, e);
    }

    /** Returns the constraint a violation names, or an empty string. */
    static String constraint(SQLException e) {
        ServerErrorMessage server = serverMessage(e);
        return server == null || server.getConstraint() == null ? "" : server.getConstraint();
    }

    /**
     * Returns the value a unique violation reports, from its detail {@code Key (col)=(value) already
     * exists.}, or null.
     */
    static String conflictingValue(SQLException e) {
        ServerErrorMessage server = serverMessage(e);
        String detail = server == null ? null : server.getDetail();
        if (detail == null) {
            return null;
        }
        Matcher m = KEY_DETAIL.matcher(detail);
        return m.find() ? m.group(1) : null;
    }

    /** Returns the SQLState of a failure, looking through a batch's wrapper. */
    static String state(SQLException e) {
        SQLException cause = unwrapBatch(e);
        return cause.getSQLState() == null ? "" : cause.getSQLState();
    }

    private static ServerErrorMessage serverMessage(SQLException e) {
        return unwrapBatch(e) instanceof PSQLException psql ? psql.getServerErrorMessage() : null;
    }

    private static SQLException unwrapBatch(SQLException e) {
        SQLException next = e.getNextException();
        return e instanceof BatchUpdateException && next != null ? next : e;
    }
}
