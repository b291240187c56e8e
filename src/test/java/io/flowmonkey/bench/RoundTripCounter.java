package io.flowmonkey.bench;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.Statement;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import javax.sql.DataSource;

/**
 * Wraps a {@link DataSource} and counts the calls that each cost one round trip to the server:
 * every {@code execute*} of a statement (a JDBC batch is one) and every {@code commit} or
 * {@code rollback}. pgjdbc sends a transaction's {@code BEGIN} with its first statement, so
 * beginning costs nothing extra. In a timed run (the workers', the peers') every side pays the same
 * proxy cost.
 */
final class RoundTripCounter {

    private static final Set<String> EXECUTES = Set.of("execute", "executeQuery", "executeUpdate", "executeBatch",
            "executeLargeUpdate", "executeLargeBatch");
    private static final Set<String> ENDS = Set.of("commit", "rollback");

    private final LongAdder statements = new LongAdder();
    private final LongAdder transactionEnds = new LongAdder();
    /**
     * Statements sent, by their SQL text as given, and commits and rollbacks by name. Collapsing the
     * whitespace waits for {@link #bySql()}: a regular expression over every statement's text, on every
     * execute, cost the drains a sixth of the worker threads' CPU (JFR), more for long statements.
     */
    private final Map<String, LongAdder> bySql = new ConcurrentHashMap<>();
    private final DataSource dataSource;

    RoundTripCounter(DataSource target) {
        this.dataSource = proxy(DataSource.class, target, (method, args, result) -> {
            if (method.getName().equals("getConnection")) {
                return proxy(Connection.class, (Connection) result, this::connectionCall);
            }
            return result;
        });
    }

    DataSource dataSource() {
        return dataSource;
    }

    long roundTrips() {
        return statements.sum() + transactionEnds.sum();
    }

    /** Statements sent: every {@code execute*}, a JDBC batch counting once. */
    long statements() {
        return statements.sum();
    }

    /** Explicit {@code commit} and {@code rollback} calls (a statement in autocommit mode ends its own). */
    long transactionEnds() {
        return transactionEnds.sum();
    }

    /** Round trips so far by SQL text (or {@code commit} / {@code rollback}), most frequent first. */
    Map<String, Long> bySql() {
        Map<String, Long> collapsed = new HashMap<>();
        bySql.forEach((sql, n) -> collapsed.merge(sql.strip().replaceAll("\\s+", " "), n.sum(), Long::sum));
        Map<String, Long> counts = new LinkedHashMap<>();
        collapsed.entrySet().stream().sorted((a, b) -> Long.compare(b.getValue(), a.getValue()))
                .forEach(e -> counts.put(e.getKey(), e.getValue()));
        return counts;
    }

    private void count(String sql) {
        bySql.computeIfAbsent(sql == null ? "(batch)" : sql, k -> new LongAdder()).increment();
    }

    private Object connectionCall(Method method, Object[] args, Object result) {
        if (ENDS.contains(method.getName())) {
            transactionEnds.increment();
            count(method.getName());
        }
        if (result instanceof Statement statement) {
            Class<? extends Statement> type = method.getReturnType().asSubclass(Statement.class);
            // A prepared statement's SQL is given when it is prepared; a plain one's with each execute.
            String prepared = args != null && args.length > 0 && args[0] instanceof String sql ? sql : null;
            return proxy(type, statement, (m, a, r) -> {
                if (EXECUTES.contains(m.getName())) {
                    statements.increment();
                    count(a != null && a.length > 0 && a[0] instanceof String sql ? sql : prepared);
                }
                return r;
            });
        }
        return result;
    }

    @FunctionalInterface
    private interface AfterCall {
        Object apply(Method method, Object[] args, Object result) throws Exception;
    }

    private static <T> T proxy(Class<T> type, Object target, AfterCall after) {
        InvocationHandler handler = (p, method, args) -> {
            try {
                return after.apply(method, args, method.invoke(target, args));
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        };
        return type.cast(Proxy.newProxyInstance(RoundTripCounter.class.getClassLoader(), new Class<?>[] {type},
                handler));
    }
}
