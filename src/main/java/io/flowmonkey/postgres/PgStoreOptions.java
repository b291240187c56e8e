package io.flowmonkey.postgres;

import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flowmonkey.execution.Execution;
import java.time.Clock;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Settings of a {@link PgExecutionStore} and of {@link SchemaApplier}: where the table lives, how
 * JSON is written and which clock stamps {@code updated_at}. Immutable; build with {@link #builder()}.
 * Each setter checks its argument, so a bad value fails where it is set.
 *
 * <p>The JSON limits ({@code maxStringLength}, {@code maxNameLength}, {@code maxNumberLength},
 * {@code maxNestingDepth}) bound what the store writes and what it reads alike, so that nothing is
 * written that the store could not read back: a save that exceeds one is refused with an
 * {@link io.flowmonkey.execution.ExecutionDataException} naming the execution and the column, and
 * nothing is written. They default to Jackson's own reading limits ({@link StreamReadConstraints}).
 * Every store over one table should use the same limits: a row written under higher limits cannot
 * be read under lower ones.
 */
public final class PgStoreOptions {

    /** The default schema, {@value}. */
    public static final String DEFAULT_SCHEMA = "public";
    /** The default table name, {@value}, as on FlowMonkey's PostgreSQL documentation page. */
    public static final String DEFAULT_TABLE_NAME = "executions";
    /** The longest table name accepted; index names are derived from it and must fit in 63 bytes. */
    public static final int MAX_TABLE_NAME_LENGTH = 40;

    /** What the name of a table's signal table adds to the table name (see {@link SchemaApplier}). */
    static final String SIGNALS_SUFFIX = "_signals";
    /** What the name of a table's worker heartbeat table adds to the table name (migration V9). */
    static final String WORKERS_SUFFIX = "_workers";
    /** The default longest string value, in chars (UTF-16 units): {@value}, Jackson's reading default. */
    public static final int DEFAULT_MAX_STRING_LENGTH = StreamReadConstraints.DEFAULT_MAX_STRING_LEN;
    /**
     * The default longest JSON object key, in bytes of UTF-8 (Jackson's byte parser counts keys so):
     * {@value}, Jackson's reading default.
     */
    public static final int DEFAULT_MAX_NAME_LENGTH = StreamReadConstraints.DEFAULT_MAX_NAME_LEN;
    /**
     * The default longest number, in characters of its plain decimal form (as PostgreSQL gives it back,
     * e.g. {@code 1E+5} is {@code 100000}): {@value}, Jackson's reading default.
     */
    public static final int DEFAULT_MAX_NUMBER_LENGTH = StreamReadConstraints.DEFAULT_MAX_NUM_LEN;
    /** The default deepest nesting of a JSON column's document: {@value}, the model's own limit. */
    public static final int DEFAULT_MAX_NESTING_DEPTH = Execution.MAX_NESTING_DEPTH;
    /**
     * The highest string or key length that may be set: a JSONB string holds at most 2^28 - 1 bytes,
     * and one char takes up to 3 bytes of UTF-8.
     */
    public static final int MAX_STRING_LENGTH_LIMIT = ((1 << 28) - 1) / 3;
    /**
     * The highest number length that may be set: PostgreSQL's {@code numeric}, which JSONB numbers
     * are, holds at most 16,383 digits after the decimal point.
     */
    public static final int MAX_NUMBER_LENGTH_LIMIT = 16_383;

    /**
     * The lowest string or key length that may be set, {@value}: the store's own JSON (keys such as
     * {@code executionTimeoutMs}, wire names) must always fit.
     */
    public static final int MIN_STRING_LENGTH = 32;
    /** The lowest number length that may be set, {@value}: any {@code long}, epoch millis among them, must fit. */
    public static final int MIN_NUMBER_LENGTH = 20;
    /** The lowest nesting depth that may be set, {@value}: a history entry's error object must fit. */
    public static final int MIN_NESTING_DEPTH = 3;

    private static final Pattern IDENTIFIER = Pattern.compile("[a-z_][a-z0-9_]*");

    private final String schema;
    private final String tableName;
    private final ObjectMapper objectMapper;
    private final Clock clock;
    private final int maxStringLength;
    private final int maxNameLength;
    private final int maxNumberLength;
    private final int maxNestingDepth;

    private PgStoreOptions(Builder b) {
        this.schema = b.schema;
        this.tableName = b.tableName;
        this.objectMapper = b.objectMapper;
        this.clock = b.clock;
        this.maxStringLength = b.maxStringLength;
        this.maxNameLength = b.maxNameLength;
        this.maxNumberLength = b.maxNumberLength;
        this.maxNestingDepth = b.maxNestingDepth;
    }

    /**
     * Returns the defaults: schema {@value #DEFAULT_SCHEMA}, table {@value #DEFAULT_TABLE_NAME}, the
     * library's own {@code ObjectMapper}, the UTC system clock.
     *
     * @return the default options
     */
    public static PgStoreOptions defaults() {
        return builder().build();
    }

    /**
     * Starts from the defaults.
     *
     * @return a builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Returns the schema that holds the table.
     *
     * @return a lower-case SQL identifier
     */
    public String schema() {
        return schema;
    }

    /**
     * Returns the table name.
     *
     * @return a lower-case SQL identifier
     */
    public String tableName() {
        return tableName;
    }

    /**
     * Returns the mapper used for context and metadata values, or null for the library's own.
     *
     * @return the caller's mapper, or null
     */
    public ObjectMapper objectMapper() {
        return objectMapper;
    }

    /**
     * Returns the clock that stamps {@code updated_at} and decides idempotency-key expiry.
     *
     * @return the clock
     */
    public Clock clock() {
        return clock;
    }

    /**
     * Returns the longest string value written or read, in chars (UTF-16 units).
     *
     * @return the limit, {@value #DEFAULT_MAX_STRING_LENGTH} unless set
     */
    public int maxStringLength() {
        return maxStringLength;
    }

    /**
     * Returns the longest JSON object key written or read, in bytes of UTF-8.
     *
     * @return the limit, {@value #DEFAULT_MAX_NAME_LENGTH} unless set
     */
    public int maxNameLength() {
        return maxNameLength;
    }

    /**
     * Returns the longest number written or read, in characters of its plain decimal form.
     *
     * @return the limit, {@value #DEFAULT_MAX_NUMBER_LENGTH} unless set
     */
    public int maxNumberLength() {
        return maxNumberLength;
    }

    /**
     * Returns the deepest nesting of maps and lists in a JSON column's document, written or read.
     *
     * @return the limit, {@value #DEFAULT_MAX_NESTING_DEPTH} unless set
     */
    public int maxNestingDepth() {
        return maxNestingDepth;
    }

    /** Builds {@link PgStoreOptions}. Not thread-safe. */
    public static final class Builder {
        private String schema = DEFAULT_SCHEMA;
        private String tableName = DEFAULT_TABLE_NAME;
        private ObjectMapper objectMapper;
        private Clock clock = Clock.systemUTC();
        private int maxStringLength = DEFAULT_MAX_STRING_LENGTH;
        private int maxNameLength = DEFAULT_MAX_NAME_LENGTH;
        private int maxNumberLength = DEFAULT_MAX_NUMBER_LENGTH;
        private int maxNestingDepth = DEFAULT_MAX_NESTING_DEPTH;

        private Builder() {
        }

        /**
         * Sets the schema. It is created by {@link SchemaApplier} when missing.
         *
         * @param schema a lower-case SQL identifier: letters, digits, underscores, not starting with a digit
         * @return this builder
         * @throws IllegalArgumentException if {@code schema} is not such an identifier, starts with {@code pg_},
         *     or is {@code information_schema}
         */
        public Builder schema(String schema) {
            String name = identifier("schema", schema, 63);
            if (name.startsWith("pg_") || name.equals("information_schema")) {
                throw new IllegalArgumentException("schema must not be a system schema (information_schema, or a "
                        + "name starting with 'pg_', which PostgreSQL keeps for its own), got '" + name + "'");
            }
            this.schema = name;
            return this;
        }

        /**
         * Sets the table name.
         *
         * @param tableName a lower-case SQL identifier of at most {@value #MAX_TABLE_NAME_LENGTH} characters
         * @return this builder
         * @throws IllegalArgumentException if {@code tableName} is not such an identifier, or is
         *     {@value SchemaApplier#HISTORY_TABLE}, or ends in {@code _signals} or {@code _workers} (the names of another table's signals and
         *     worker heartbeats)
         */
        public Builder tableName(String tableName) {
            String name = identifier("table name", tableName, MAX_TABLE_NAME_LENGTH);
            if (name.equals(SchemaApplier.HISTORY_TABLE)) {
                throw new IllegalArgumentException("table name must not be '" + name + "', which SchemaApplier "
                        + "uses for its migration history");
            }
            if (name.endsWith(SIGNALS_SUFFIX)) {
                throw new IllegalArgumentException("table name must not end in '" + SIGNALS_SUFFIX + "': the signals "
                        + "of table t are kept in t" + SIGNALS_SUFFIX + ", got '" + name + "'");
            }
            if (name.endsWith(WORKERS_SUFFIX)) {
                throw new IllegalArgumentException("table name must not end in '" + WORKERS_SUFFIX + "': the worker "
                        + "heartbeats of table t are kept in t" + WORKERS_SUFFIX + ", got '" + name + "'");
            }
            this.tableName = name;
            return this;
        }

        /**
         * Sets the mapper for context and metadata values, e.g. one with your own modules. The store
         * works on a copy with its own settings added, so later changes to {@code mapper} are not seen.
         *
         * @param mapper the mapper
         * @return this builder
         */
        public Builder objectMapper(ObjectMapper mapper) {
            this.objectMapper = Objects.requireNonNull(mapper, "objectMapper must not be null");
            return this;
        }

        /**
         * Sets the clock, e.g. a fixed one in tests.
         *
         * @param clock the clock
         * @return this builder
         */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock must not be null");
            return this;
        }

        /**
         * Sets the longest string value in a JSON column, in chars, for writing and reading.
         *
         * @param maxStringLength from {@value #MIN_STRING_LENGTH} to {@value #MAX_STRING_LENGTH_LIMIT}
         * @return this builder
         * @throws IllegalArgumentException if out of that range
         */
        public Builder maxStringLength(int maxStringLength) {
            this.maxStringLength = limit("maxStringLength", maxStringLength, MIN_STRING_LENGTH, MAX_STRING_LENGTH_LIMIT,
                    "a JSONB string holds at most 256 MB");
            return this;
        }

        /**
         * Sets the longest JSON object key, in bytes of UTF-8 (as Jackson counts keys when it reads
         * bytes), for writing and reading.
         *
         * @param maxNameLength from {@value #MIN_STRING_LENGTH} to {@value #MAX_STRING_LENGTH_LIMIT}
         * @return this builder
         * @throws IllegalArgumentException if out of that range
         */
        public Builder maxNameLength(int maxNameLength) {
            this.maxNameLength = limit("maxNameLength", maxNameLength, MIN_STRING_LENGTH, MAX_STRING_LENGTH_LIMIT,
                    "a JSONB key holds at most 256 MB");
            return this;
        }

        /**
         * Sets the longest number, in characters of its plain decimal form, for writing and reading.
         *
         * @param maxNumberLength from {@value #MIN_NUMBER_LENGTH} to {@value #MAX_NUMBER_LENGTH_LIMIT}
         * @return this builder
         * @throws IllegalArgumentException if out of that range
         */
        public Builder maxNumberLength(int maxNumberLength) {
            this.maxNumberLength = limit("maxNumberLength", maxNumberLength, MIN_NUMBER_LENGTH, MAX_NUMBER_LENGTH_LIMIT,
                    "PostgreSQL numeric holds at most 16383 digits after the point");
            return this;
        }

        /**
         * Sets the deepest nesting of maps and lists in a JSON column's document, for writing and reading.
         *
         * @param maxNestingDepth from {@value #MIN_NESTING_DEPTH} to {@value Execution#MAX_NESTING_DEPTH}, which the model itself
         *     enforces when an execution is built
         * @return this builder
         * @throws IllegalArgumentException if out of that range
         */
        public Builder maxNestingDepth(int maxNestingDepth) {
            this.maxNestingDepth = limit("maxNestingDepth", maxNestingDepth, MIN_NESTING_DEPTH, Execution.MAX_NESTING_DEPTH,
                    "Execution refuses deeper values when built");
            return this;
        }

        /**
         * Builds the options.
         *
         * @return the options
         */
        public PgStoreOptions build() {
            return new PgStoreOptions(this);
        }

        private static int limit(String what, int value, int lowest, int highest, String why) {
            if (value < lowest || value > highest) {
                throw new IllegalArgumentException(what + " must be between " + lowest + " (so that the store's own "
                        + "JSON fits) and " + highest + " (" + why + "), got " + value);
            }
            return value;
        }

        private static String identifier(String what, String value, int maxLength) {
            if (value == null || !IDENTIFIER.matcher(value).matches() || value.length() > maxLength) {
                throw new IllegalArgumentException(what + " must be a lower-case SQL identifier (letters, digits and "
                        + "underscores, not starting with a digit, at most " + maxLength + " characters), got "
                        + (value == null ? "null" : "'" + value + "'"));
            }
            return value;
        }
    }
}
