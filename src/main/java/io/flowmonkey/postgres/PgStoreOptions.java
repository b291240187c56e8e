package io.flowmonkey.postgres;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Clock;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Settings of a {@link PgExecutionStore} and of {@link SchemaApplier}: where the table lives, how
 * JSON is written and which clock stamps {@code updated_at}. Immutable; build with {@link #builder()}.
 * Each setter checks its argument, so a bad value fails where it is set.
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

    private static final Pattern IDENTIFIER = Pattern.compile("[a-z_][a-z0-9_]*");

    private final String schema;
    private final String tableName;
    private final ObjectMapper objectMapper;
    private final Clock clock;

    private PgStoreOptions(Builder b) {
        this.schema = b.schema;
        this.tableName = b.tableName;
        this.objectMapper = b.objectMapper;
        this.clock = b.clock;
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

    /** Builds {@link PgStoreOptions}. Not thread-safe. */
    public static final class Builder {
        private String schema = DEFAULT_SCHEMA;
        private String tableName = DEFAULT_TABLE_NAME;
        private ObjectMapper objectMapper;
        private Clock clock = Clock.systemUTC();

        private Builder() {
        }

        /**
         * Sets the schema. It is created by {@link SchemaApplier} when missing.
         *
         * @param schema a lower-case SQL identifier: letters, digits, underscores, not starting with a digit
         * @return this builder
         * @throws IllegalArgumentException if {@code schema} is not such an identifier, or starts with {@code pg_}
         */
        public Builder schema(String schema) {
            String name = identifier("schema", schema, 63);
            if (name.startsWith("pg_")) {
                throw new IllegalArgumentException("schema must not start with 'pg_', which PostgreSQL keeps for "
                        + "system schemas, got '" + name + "'");
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
         *     {@value SchemaApplier#HISTORY_TABLE}, or ends in {@code _signals} (the name of another table's signals)
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
         * Builds the options.
         *
         * @return the options
         */
        public PgStoreOptions build() {
            return new PgStoreOptions(this);
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
