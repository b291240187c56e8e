package io.flowmonkey.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionDataException;
import io.flowmonkey.execution.InvalidFieldException;
import io.flowmonkey.testing.TestPostgres;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import net.jqwik.api.statistics.Statistics;

/**
 * Issue 9: arbitrary JSON-like contexts (every Unicode plane, control characters, nesting up to and
 * past the limit, huge and tiny numbers, long strings and keys) saved to PostgreSQL and loaded back
 * come back equal, or are refused with a named exception, and an independent oracle decides which:
 * a value that fits is never refused, and one that does not is never stored changed.
 *
 * <p>Equal means: the same strings, booleans, nulls, keys and list order; numbers of the same value
 * (JSON has one number type, so a {@code Long} may come back as an {@code Integer}, a {@code double}
 * as the {@code BigDecimal} of its decimal form), and a {@code BigDecimal} with digits after the
 * point keeps exactly those digits.
 */
class JsonRoundTripPropertyTest {

    private static final int MAX_STRING = 2_000;
    private static final int MAX_NAME = 64;
    private static final int MAX_NUMBER = PgStoreOptions.DEFAULT_MAX_NUMBER_LENGTH;
    private static final AtomicInteger IDS = new AtomicInteger();

    private static HikariDataSource pool;
    private static PgExecutionStore store;

    @BeforeContainer
    static void startDatabase() {
        TestPostgres.Database db = TestPostgres.createDatabase();
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(db.jdbcUrl());
        config.setUsername(db.user());
        config.setPassword(db.password());
        config.setMaximumPoolSize(2);
        config.setConnectionInitSql("SET TIME ZONE 'Pacific/Chatham'");
        pool = new HikariDataSource(config);
        SchemaApplier.apply(pool);
        store = new PgExecutionStore(pool, PgStoreOptions.builder().maxStringLength(MAX_STRING)
                .maxNameLength(MAX_NAME).build());
    }

    @AfterContainer
    static void stopDatabase() {
        pool.close();
    }

    /** 250 tries take about ten seconds on a loaded 2-core machine; each generates a fresh mix. */
    @Property(tries = 250)
    void a_context_round_trips_exactly_or_is_refused_by_name(@ForAll("samples") Sample sample) {
        Map<String, Object> context = sample.context();
        String id = "prop-" + IDS.incrementAndGet();
        boolean storable = storable(context, 1);
        // The property means something only if both outcomes occur often enough.
        Statistics.label("outcome").collect(storable ? "stored" : "refused").coverage(c -> {
            c.check("stored").percentage(p -> p >= 40);
            c.check("refused").count(n -> n >= 10);
        });
        Execution saved;
        try {
            saved = store.save(Execution.builder(id, "flow", "1").context(context).build());
        } catch (InvalidFieldException refused) {
            assertThat(storable).as("refused by the model although it fits: %s", refused.getMessage()).isFalse();
            assertThat(refused.field()).startsWith("context");
            return;
        } catch (ExecutionDataException refused) {
            assertThat(storable).as("refused by the store although it fits: %s", refused.getMessage()).isFalse();
            assertThat(refused.executionId()).isEqualTo(id);
            assertThat(refused.column()).isEqualTo("context");
            assertThat(store.load(id)).as("nothing written").isEmpty();
            return;
        }
        assertThat(storable).as("stored although it does not fit").isTrue();
        Execution loaded = store.load(id).orElseThrow();
        assertSame(context, loaded.context(), "context");
        assertSame(saved.context(), loaded.context(), "context as built");
    }

    // --- the oracle: what fits, decided independently of the store's code ---

    private static boolean storable(Object value, int depth) {
        if (value instanceof String s) {
            return fits(s, MAX_STRING);
        }
        if (value instanceof Double d) {
            return Double.isFinite(d) && new BigDecimal(Double.toString(d)).toPlainString().length() <= MAX_NUMBER;
        }
        if (value instanceof Float f) {
            return Float.isFinite(f) && new BigDecimal(Float.toString(f)).toPlainString().length() <= MAX_NUMBER;
        }
        if (value instanceof BigDecimal d) {
            return d.toPlainString().length() <= MAX_NUMBER;
        }
        if (value instanceof BigInteger i) {
            return i.toString().length() <= MAX_NUMBER;
        }
        // Loops, not streams: a thousand levels of stream frames would overflow the test's own stack.
        if (value instanceof Map<?, ?> map) {
            if (depth > Execution.MAX_NESTING_DEPTH) {
                return false;
            }
            for (Map.Entry<?, ?> e : map.entrySet()) {
                String key = (String) e.getKey();
                // Jackson counts a key in bytes of UTF-8 when it reads bytes, as the store does.
                if (!fits(key, Integer.MAX_VALUE) || key.getBytes(java.nio.charset.StandardCharsets.UTF_8).length
                        > MAX_NAME || !storable(e.getValue(), depth + 1)) {
                    return false;
                }
            }
            return true;
        }
        if (value instanceof List<?> list) {
            if (depth > Execution.MAX_NESTING_DEPTH) {
                return false;
            }
            for (Object item : list) {
                if (!storable(item, depth + 1)) {
                    return false;
                }
            }
            return true;
        }
        return true;
    }

    private static boolean fits(String s, int maxLength) {
        if (s.length() > maxLength || s.indexOf('\0') >= 0) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                return false;
            }
        }
        return true;
    }

    /** Compares without recursion (with an explicit stack), since values nest a thousand levels deep. */
    private static void assertSame(Object expectedRoot, Object actualRoot, String root) {
        record Pair(Object expected, Object actual, String path) {
        }
        java.util.ArrayDeque<Pair> todo = new java.util.ArrayDeque<>();
        todo.push(new Pair(expectedRoot, actualRoot, root));
        while (!todo.isEmpty()) {
            Pair p = todo.pop();
            String path = p.path().length() > 200 ? "..." + p.path().substring(p.path().length() - 200) : p.path();
            Object expected = p.expected();
            Object actual = p.actual();
            if (expected instanceof Map<?, ?> e) {
                assertThat(actual).as(path).isInstanceOf(Map.class);
                Map<?, ?> a = (Map<?, ?>) actual;
                assertThat(a.keySet()).as(path + " keys").isEqualTo(e.keySet());
                for (Map.Entry<?, ?> entry : e.entrySet()) {
                    todo.push(new Pair(entry.getValue(), a.get(entry.getKey()), path + "." + entry.getKey()));
                }
            } else if (expected instanceof List<?> e) {
                assertThat(actual).as(path).isInstanceOf(List.class);
                List<?> a = (List<?>) actual;
                assertThat(a).as(path).hasSameSizeAs(e);
                for (int i = 0; i < e.size(); i++) {
                    todo.push(new Pair(e.get(i), a.get(i), path + "[" + i + "]"));
                }
            } else if (expected instanceof Number e) {
                assertThat(actual).as(path).isInstanceOf(Number.class);
                BigDecimal want = decimal(e);
                BigDecimal got = decimal((Number) actual);
                assertThat(got.compareTo(want)).as(path + ": %s came back as %s", e, actual).isZero();
                if (e instanceof BigDecimal && want.scale() > 0) {
                    assertThat(actual).as(path + ": the digits after the point are kept").isEqualTo(want);
                }
            } else {
                assertThat(actual).as(path).isEqualTo(expected);
            }
        }
    }

    private static BigDecimal decimal(Number n) {
        if (n instanceof BigDecimal d) {
            return d;
        }
        if (n instanceof BigInteger i) {
            return new BigDecimal(i);
        }
        if (n instanceof Double || n instanceof Float) {
            return new BigDecimal(n.toString());
        }
        if (n instanceof Integer || n instanceof Long || n instanceof Short || n instanceof Byte) {
            return BigDecimal.valueOf(n.longValue());
        }
        return fail("unexpected number type " + n.getClass());
    }

    // --- the generators ---

    /**
     * A generated context: a shallow map, and in some samples a chain of containers nested to about the
     * limit under the key {@code "deep"}. The chain is built by {@link #context()}, so that a report of
     * a failed try shows its length rather than a thousand levels.
     */
    record Sample(Map<String, Object> shallow, int chainLength) {
        Map<String, Object> context() {
            if (chainLength < 0) {
                return shallow;
            }
            Map<String, Object> context = new LinkedHashMap<>(shallow);
            context.put("deep", chain(chainLength));
            return context;
        }

        @Override
        public String toString() {
            return shallow + (chainLength < 0 ? "" : " with \"deep\": a chain of " + chainLength + " containers");
        }
    }

    @Provide
    Arbitrary<Sample> samples() {
        Arbitrary<Map<String, Object>> shallow = Arbitraries.maps(keys(), values()).ofMaxSize(6)
                .map(m -> new LinkedHashMap<String, Object>(m));
        Arbitrary<Integer> chains = Arbitraries.frequencyOf(Tuple.of(9, Arbitraries.just(-1)),
                Tuple.of(1, Arbitraries.integers().between(Execution.MAX_NESTING_DEPTH - 3,
                        Execution.MAX_NESTING_DEPTH + 1)));
        return net.jqwik.api.Combinators.combine(shallow, chains).as(Sample::new);
    }

    /** {@code n} containers, maps and lists in turn, around one string: level {@code n + 1} of a context. */
    private static Object chain(int n) {
        Object value = "bottom 🐒";
        for (int i = 0; i < n; i++) {
            value = i % 2 == 0 ? List.of(value) : Map.of("d", value);
        }
        return value;
    }

    private Arbitrary<Object> values() {
        return Arbitraries.recursive(this::scalars, inner -> Arbitraries.oneOf(
                inner.list().ofMaxSize(4).map(l -> (Object) new ArrayList<>(l)),
                Arbitraries.maps(keys(), inner).ofMaxSize(4).map(m -> (Object) new LinkedHashMap<>(m))), 0, 4);
    }

    private Arbitrary<Object> scalars() {
        return Arbitraries.frequencyOf(
                Tuple.of(5, strings(MAX_STRING).map(s -> (Object) s)),
                Tuple.of(5, numbers()),
                Tuple.of(1, Arbitraries.of(true, false).map(b -> (Object) b)),
                Tuple.of(1, Arbitraries.just(null)));
    }

    private Arbitrary<String> keys() {
        return strings(MAX_NAME);
    }

    /** Mostly short strings of any plane, sometimes around {@code limit} long; rarely a NUL or a lone surrogate. */
    private static Arbitrary<String> strings(int limit) {
        Arbitrary<String> codePoint = Arbitraries.frequencyOf(
                Tuple.of(100, Arbitraries.integers().between(0x20, 0x7E)),
                Tuple.of(20, Arbitraries.integers().between(0x01, 0x1F)),
                Tuple.of(30, Arbitraries.integers().between(0x80, 0xD7FF)),
                Tuple.of(15, Arbitraries.integers().between(0xE000, 0xFFFF)),
                Tuple.of(30, Arbitraries.integers().between(0x10000, 0x10FFFF)),
                Tuple.of(1, Arbitraries.of(0x0, 0xD800, 0xDBFF, 0xDC00, 0xDFFF)))
                .map(cp -> new String(Character.toChars(cp)));
        Arbitrary<String> shortText = codePoint.list().ofMaxSize(12).map(parts -> String.join("", parts));
        Arbitrary<String> longText = Arbitraries.integers().between(limit - 3, limit + 3)
                .map(n -> "ab\uD83D\uDC12".repeat(n / 4 + 1).substring(0, n))
                .filter(s -> !Character.isHighSurrogate(s.charAt(s.length() - 1)));
        return Arbitraries.frequencyOf(Tuple.of(30, shortText), Tuple.of(1, longText));
    }

    private static Arbitrary<Object> numbers() {
        Arbitrary<BigInteger> unscaled = Arbitraries.frequencyOf(
                Tuple.of(20, Arbitraries.bigIntegers().between(BigInteger.valueOf(-1_000_000_000_000L),
                        BigInteger.valueOf(1_000_000_000_000L))),
                Tuple.of(1, Arbitraries.integers().between(990, 1010).map(digits -> BigInteger.TEN.pow(digits - 1)
                        .add(BigInteger.valueOf(digits)))));
        Arbitrary<Integer> scales = Arbitraries.frequencyOf(
                Tuple.of(20, Arbitraries.integers().between(-20, 40)),
                Tuple.of(1, Arbitraries.integers().between(-1_010, 1_010)));
        return Arbitraries.frequencyOf(
                Tuple.of(3, Arbitraries.integers().map(i -> (Object) i)),
                Tuple.of(3, Arbitraries.longs().map(l -> (Object) l)),
                Tuple.of(2, unscaled.map(i -> (Object) i)),
                Tuple.of(4, net.jqwik.api.Combinators.combine(unscaled, scales).as((u, s) -> (Object) new BigDecimal(u, s))),
                Tuple.of(3, Arbitraries.doubles().withSpecialValue(Double.NaN).withSpecialValue(Double.MIN_VALUE)
                        .withSpecialValue(Double.MAX_VALUE).withSpecialValue(Double.NEGATIVE_INFINITY)
                        .withSpecialValue(-0.0).withSpecialValue(1e-300).map(d -> (Object) d)),
                Tuple.of(1, Arbitraries.floats().withSpecialValue(Float.POSITIVE_INFINITY)
                        .withSpecialValue(Float.MIN_VALUE).map(f -> (Object) f)));
    }
}
