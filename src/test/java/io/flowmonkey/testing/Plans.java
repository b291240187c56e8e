package io.flowmonkey.testing;

import com.fasterxml.jackson.databind.JsonNode;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.function.Predicate;
import javax.sql.DataSource;

/** What PostgreSQL planned: nodes of an {@code EXPLAIN (FORMAT JSON)} plan, and a connection's cached plans. */
public final class Plans {

    private Plans() {
    }

    /**
     * The first node, depth first from {@code node} itself, that {@code test} accepts.
     *
     * @param node a plan node, or null
     * @param test what the node must be
     * @return the node, or null when none is
     */
    public static JsonNode first(JsonNode node, Predicate<JsonNode> test) {
        if (node == null) {
            return null;
        }
        if (test.test(node)) {
            return node;
        }
        for (JsonNode child : node.path("Plans")) {
            JsonNode found = first(child, test);
            if (found != null) {
                return found;
            }
        }
        return null;
    }

    /** How often one prepared statement of a connection ran a generic plan and a plan of its own values. */
    public record Cached(long generic, long custom) {
    }

    /**
     * The plan counts of the one server-prepared statement whose text contains {@code fragment}, on a
     * connection of {@code oneConnection} (a pool of one, so that it is the connection that ran it).
     *
     * @param oneConnection a pool of exactly one connection
     * @param fragment text only that statement holds
     * @return its counts
     * @throws AssertionError when no prepared statement holds the text
     */
    public static Cached cachedOn(DataSource oneConnection, String fragment) throws SQLException {
        try (Connection c = oneConnection.getConnection(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                     + "WHERE strpos(statement, '" + fragment.replace("'", "''") + "') > 0")) {
            if (!rs.next()) {
                throw new AssertionError("no prepared statement of the connection holds '" + fragment + "'");
            }
            return new Cached(rs.getLong(1), rs.getLong(2));
        }
    }
}
