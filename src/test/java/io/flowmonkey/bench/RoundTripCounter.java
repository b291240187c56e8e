package io.flowmonkey.bench;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.Statement;
import java.util.Set;
import java.util.concurrent.atomic.LongAdder;
import javax.sql.DataSource;

/**
 * Wraps a {@link DataSource} and counts the calls that each cost one round trip to the server:
 * every {@code execute*} of a statement (a JDBC batch is one) and every {@code commit} or
 * {@code rollback}. pgjdbc sends a transaction's {@code BEGIN} with its first statement, so
 * beginning costs nothing extra. Used to prove round-trip counts, never in a timed run.
 */
final class RoundTripCounter {

    private static final Set<String> EXECUTES = Set.of("execute", "executeQuery", "executeUpdate", "executeBatch",
            "executeLargeUpdate", "executeLargeBatch");
    private static final Set<String> ENDS = Set.of("commit", "rollback");

    private final LongAdder statements = new LongAdder();
    private final LongAdder transactionEnds = new LongAdder();
    private final DataSource dataSource;

    RoundTripCounter(DataSource target) {
        this.dataSource = proxy(DataSource.class, target, (method, result) -> {
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

    private Object connectionCall(Method method, Object result) {
        if (ENDS.contains(method.getName())) {
            transactionEnds.increment();
        }
        if (result instanceof Statement statement) {
            Class<? extends Statement> type = method.getReturnType().asSubclass(Statement.class);
            return proxy(type, statement, (m, r) -> {
                if (EXECUTES.contains(m.getName())) {
                    statements.increment();
                }
                return r;
            });
        }
        return result;
    }

    @FunctionalInterface
    private interface AfterCall {
        Object apply(Method method, Object result) throws Exception;
    }

    private static <T> T proxy(Class<T> type, Object target, AfterCall after) {
        InvocationHandler handler = (p, method, args) -> {
            try {
                return after.apply(method, method.invoke(target, args));
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        };
        return type.cast(Proxy.newProxyInstance(RoundTripCounter.class.getClassLoader(), new Class<?>[] {type},
                handler));
    }
}
