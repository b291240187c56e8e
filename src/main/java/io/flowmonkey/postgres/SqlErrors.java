package io.flowmonkey.postgres;

import io.flowmonkey.execution.StoreException;
import java.sql.BatchUpdateException;
import java.sql.SQLException;
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
        String advice;
        if (state.startsWith("08") || state.startsWith("57P0")) {
            advice = "the connection to PostgreSQL was lost; the next call uses a new connection, retry it";
        } else if (state.equals("40001") || state.equals("40P01")) {
            advice = "PostgreSQL rolled the transaction back (serialization failure or deadlock); retry it";
        } else if (state.equals("42P01") || state.equals("3F000")) {
            advice = "table " + table + " does not exist; run SchemaApplier.apply(dataSource) first";
        } else if (state.equals("42703")) {
            advice = "table " + table + " lacks a column this library needs; run SchemaApplier.apply(dataSource) "
                    + "to upgrade it";
        } else if (state.equals("42501")) {
            advice = "the database role lacks a privilege on " + table + "; grant SELECT, INSERT, UPDATE, DELETE on it";
        } else if (state.equals("25P02")) {
            advice = "the surrounding transaction was already aborted by an earlier error; roll it back";
        } else {
            advice = "PostgreSQL refused it";
        }
        return new StoreException(executionId, subject + " failed: " + advice + " [SQLState " + state + ": "
                + e.getMessage() + "]", e);
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
