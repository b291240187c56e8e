package io.flowmonkey.execution;

import io.flowmonkey.internal.json.Values;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * Which executions to list, and which page of them: the argument of
 * {@link ExecutionStore#query(ExecutionQuery)}, {@link ExecutionStore#count(ExecutionQuery)},
 * {@link ExecutionStore#stream(ExecutionQuery)} and the bulk operations. Immutable and thread-safe.
 *
 * <p>Every filter that is set must hold (AND); a filter not set matches everything. Results come
 * newest first: {@code createdAt} descending, then id descending, an order that never changes for a
 * stored execution, so paging by cursor (keyset) neither skips nor repeats rows while others are
 * written, and page 1,000 costs what page 1 costs. An execution created after the first page was read
 * appears on no later page (it sorts before them all).
 *
 * <pre>{@code
 * ExecutionQuery failed = ExecutionQuery.builder().status(ExecutionStatus.FAILED).tenantId("acme").limit(50).build();
 * Page<Execution> page = store.query(failed);
 * while (page.hasNext()) {
 *     page = store.query(failed.after(page.nextCursor()));
 * }
 * }</pre>
 *
 * <p>The cursor is an opaque string bound to the query's filters (not to its limit): a cursor that was
 * altered, or made by a query with other filters, is refused with an {@code IllegalArgumentException}.
 */
public final class ExecutionQuery {

    /** The page size unless set: {@value}. */
    public static final int DEFAULT_LIMIT = 50;
    /** The largest page size accepted: {@value}. */
    public static final int MAX_LIMIT = 1_000;

    private static final String CURSOR_VERSION = "c1";
    private static final int CHECK_BYTES = 8;

    private final Set<ExecutionStatus> statuses;
    private final String flowId;
    private final String flowVersion;
    private final String tenantId;
    private final String parentExecutionId;
    private final Instant createdFrom;
    private final Instant createdBefore;
    private final Instant updatedFrom;
    private final Instant updatedBefore;
    private final String errorCode;
    private final Map<String, Object> metadata;
    private final int limit;
    private final Position after;
    /** The filters written out unambiguously: what equality and cursors compare. */
    private final String canonical;
    /** Binds cursors to these filters; computed once, as every page and cursor needs it. */
    private final String fingerprint;

    private ExecutionQuery(Builder b, Position after) {
        this.statuses = b.statuses.isEmpty() ? Set.of() : Set.copyOf(b.statuses);
        this.flowId = b.flowId;
        this.flowVersion = b.flowVersion;
        this.tenantId = b.tenantId;
        this.parentExecutionId = b.parentExecutionId;
        this.createdFrom = b.createdFrom;
        this.createdBefore = b.createdBefore;
        this.updatedFrom = b.updatedFrom;
        this.updatedBefore = b.updatedBefore;
        this.errorCode = b.errorCode;
        this.metadata = Map.copyOf(b.metadata);
        this.limit = b.limit;
        this.canonical = canonicalOf(this);
        this.fingerprint = fingerprintOf(canonical);
        this.after = after;
    }

    /**
     * Starts a query that matches every execution, first page, {@value #DEFAULT_LIMIT} per page.
     *
     * @return a builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Returns a builder holding this query's filters and limit, on its first page.
     *
     * @return a builder
     */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.statuses.addAll(statuses);
        b.flowId = flowId;
        b.flowVersion = flowVersion;
        b.tenantId = tenantId;
        b.parentExecutionId = parentExecutionId;
        b.createdFrom = createdFrom;
        b.createdBefore = createdBefore;
        b.updatedFrom = updatedFrom;
        b.updatedBefore = updatedBefore;
        b.errorCode = errorCode;
        b.metadata.putAll(metadata);
        b.limit = limit;
        return b;
    }

    /**
     * Returns this query positioned after a cursor, as {@link Page#nextCursor()} handed out.
     *
     * @param cursor a cursor of a page of a query with the same filters; null for the first page
     * @return the query for the page after the cursor
     * @throws IllegalArgumentException if the cursor was altered or belongs to a query with other filters
     */
    public ExecutionQuery after(String cursor) {
        return cursor == null ? new ExecutionQuery(toBuilder(), null) : new ExecutionQuery(toBuilder(), decode(cursor));
    }

    /**
     * Returns this query positioned after an execution of the query's order, as a cursor made after it
     * would: for stores and bulk operations that page through keys they hold.
     *
     * @param position where the page starts; null for the first page
     * @return the query for the page after that position
     */
    public ExecutionQuery afterPosition(Position position) {
        return new ExecutionQuery(toBuilder(), position);
    }

    /**
     * Returns this query with another page size.
     *
     * @param limit the page size, 1 to {@value #MAX_LIMIT}
     * @return the query, at the same position
     * @throws IllegalArgumentException if the limit is out of range
     */
    public ExecutionQuery withLimit(int limit) {
        return new ExecutionQuery(toBuilder().limit(limit), after);
    }

    /**
     * Returns the statuses matched, any of them; empty for every status.
     *
     * @return an unmodifiable set
     */
    public Set<ExecutionStatus> statuses() {
        return statuses;
    }

    /**
     * Returns the flow id matched, or null for every flow.
     *
     * @return the flow id
     */
    public String flowId() {
        return flowId;
    }

    /**
     * Returns the flow version matched (with {@link #flowId()}), or null for every version.
     *
     * @return the flow version
     */
    public String flowVersion() {
        return flowVersion;
    }

    /**
     * Returns the tenant matched, or null for every tenant (and none).
     *
     * @return the tenant id
     */
    public String tenantId() {
        return tenantId;
    }

    /**
     * Returns the parent whose children are matched, or null for any parent (and none).
     *
     * @return the parent execution id
     */
    public String parentExecutionId() {
        return parentExecutionId;
    }

    /**
     * Returns the earliest {@code createdAt} matched (inclusive), or null.
     *
     * @return the bound
     */
    public Instant createdFrom() {
        return createdFrom;
    }

    /**
     * Returns the {@code createdAt} matched rows are before (exclusive), or null.
     *
     * @return the bound
     */
    public Instant createdBefore() {
        return createdBefore;
    }

    /**
     * Returns the earliest {@code updatedAt} matched (inclusive), or null.
     *
     * @return the bound
     */
    public Instant updatedFrom() {
        return updatedFrom;
    }

    /**
     * Returns the {@code updatedAt} matched rows are before (exclusive), or null.
     *
     * @return the bound
     */
    public Instant updatedBefore() {
        return updatedBefore;
    }

    /**
     * Returns the {@link ExecutionError#code()} matched, or null.
     *
     * @return the error code
     */
    public String errorCode() {
        return errorCode;
    }

    /**
     * Returns the metadata entries an execution's {@link Execution#metadata()} must all hold; empty for
     * any metadata. Values are strings, booleans or integral numbers.
     *
     * @return an unmodifiable map
     */
    public Map<String, Object> metadata() {
        return metadata;
    }

    /**
     * Returns the page size.
     *
     * @return 1 to {@value #MAX_LIMIT}
     */
    public int limit() {
        return limit;
    }

    /**
     * Returns where this page starts: after the execution at this position in the query's order.
     *
     * @return the position, or empty on the first page
     */
    public Optional<Position> position() {
        return Optional.ofNullable(after);
    }

    /**
     * Tells whether an execution passes the filters, whatever the page: the predicate stores implement.
     *
     * @param e an execution
     * @return true if every filter that is set holds for it
     */
    public boolean matches(Execution e) {
        Objects.requireNonNull(e, "execution must not be null");
        ExecutionError error = e.error();
        return (statuses.isEmpty() || statuses.contains(e.status()))
                && (flowId == null || flowId.equals(e.flowId()))
                && (flowVersion == null || flowVersion.equals(e.flowVersion()))
                && (tenantId == null || tenantId.equals(e.tenantId()))
                && (parentExecutionId == null || parentExecutionId.equals(e.parentExecutionId()))
                && within(e.createdAt(), createdFrom, createdBefore)
                && within(e.updatedAt(), updatedFrom, updatedBefore)
                && (errorCode == null || error != null && errorCode.equals(error.code()))
                && metadata.entrySet().stream().allMatch(m -> sameJsonValue(m.getValue(), e.metadata().get(m.getKey())));
    }

    /**
     * Builds the page stores return from the rows they read: up to {@code limit() + 1} matching
     * executions after {@link #position()}, in the query's order. The extra row only tells that another
     * page exists; it is not returned.
     *
     * @param rows the executions read, in order
     * @return the page, with a cursor when more rows follow
     */
    public Page<Execution> page(List<Execution> rows) {
        Objects.requireNonNull(rows, "rows must not be null");
        if (rows.size() <= limit) {
            return new Page<>(rows, null);
        }
        List<Execution> items = rows.subList(0, limit);
        return new Page<>(items, cursorAfter(items.get(limit - 1)));
    }

    /**
     * Returns the cursor of the page that starts after {@code last}, for this query's filters.
     *
     * @param last the last execution of a page
     * @return an opaque cursor for {@link #after(String)}
     */
    public String cursorAfter(Execution last) {
        Objects.requireNonNull(last, "last must not be null");
        String body = CURSOR_VERSION + "|" + last.createdAt().toEpochMilli() + "|" + fingerprint + "|" + last.id();
        byte[] text = body.getBytes(StandardCharsets.UTF_8);
        byte[] check = sha256(text);
        byte[] all = new byte[text.length + CHECK_BYTES];
        System.arraycopy(text, 0, all, 0, text.length);
        System.arraycopy(check, 0, all, text.length, CHECK_BYTES);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(all);
    }

    private Position decode(String cursor) {
        byte[] all;
        try {
            all = Base64.getUrlDecoder().decode(cursor);
        } catch (IllegalArgumentException e) {
            throw badCursor(cursor, "it is not a cursor this library made");
        }
        if (all.length <= CHECK_BYTES) {
            throw badCursor(cursor, "it is too short");
        }
        byte[] text = java.util.Arrays.copyOf(all, all.length - CHECK_BYTES);
        byte[] check = java.util.Arrays.copyOfRange(all, all.length - CHECK_BYTES, all.length);
        if (!MessageDigest.isEqual(check, java.util.Arrays.copyOf(sha256(text), CHECK_BYTES))) {
            throw badCursor(cursor, "it was altered or damaged");
        }
        String[] parts = new String(text, StandardCharsets.UTF_8).split("\\|", 4);
        if (parts.length != 4 || !CURSOR_VERSION.equals(parts[0])) {
            throw badCursor(cursor, "it is not a cursor this library made");
        }
        if (!fingerprint.equals(parts[2])) {
            throw badCursor(cursor, "it belongs to a query with other filters; page with the query that made it");
        }
        try {
            return new Position(Instant.ofEpochMilli(Long.parseLong(parts[1])), parts[3]);
        } catch (RuntimeException e) {
            throw badCursor(cursor, "its position cannot be read");
        }
    }

    private static IllegalArgumentException badCursor(String cursor, String why) {
        String shown = cursor.length() > 80 ? cursor.substring(0, 80) + "..." : cursor;
        return new IllegalArgumentException("cursor '" + shown + "' is refused: " + why);
    }

    private static String canonicalOf(ExecutionQuery q) {
        // Each value is length-prefixed and each metadata value typed, so that no two different filter
        // sets read alike: flow "a|b" is not flow "a" of version "b", and metadata "1" is not 1. Numbers
        // are written by value, as matching compares them, so 1 and 1L are the same filter. A sorted
        // EnumSet and a TreeMap make the text independent of the order filters were set in.
        StringBuilder text = new StringBuilder();
        field(text, q.statuses.isEmpty() ? null : EnumSet.copyOf(q.statuses).toString());
        for (Object value : new Object[] {q.flowId, q.flowVersion, q.tenantId, q.parentExecutionId, q.createdFrom,
                q.createdBefore, q.updatedFrom, q.updatedBefore, q.errorCode}) {
            field(text, value == null ? null : value.toString());
        }
        new TreeMap<>(q.metadata).forEach((key, value) -> {
            field(text, key);
            field(text, value instanceof String s ? "s" + s
                    : value instanceof Boolean b ? "b" + b : "n" + new java.math.BigInteger(value.toString()));
        });
        return text.toString();
    }

    private static void field(StringBuilder text, String value) {
        if (value == null) {
            text.append('-');
        } else {
            text.append(value.length()).append(':').append(value);
        }
    }

    private static String fingerprintOf(String canonical) {
        byte[] hash = sha256(canonical.getBytes(StandardCharsets.UTF_8));
        return Base64.getUrlEncoder().withoutPadding().encodeToString(java.util.Arrays.copyOf(hash, 9));
    }

    private static byte[] sha256(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }

    private static boolean within(Instant t, Instant from, Instant before) {
        return (from == null || !t.isBefore(from)) && (before == null || t.isBefore(before));
    }

    /** JSON equality as PostgreSQL's {@code @>} decides it: numbers by value, whatever their Java type. */
    private static boolean sameJsonValue(Object wanted, Object actual) {
        if (wanted instanceof Number w && actual instanceof Number a) {
            return new BigDecimal(w.toString()).compareTo(new BigDecimal(a.toString())) == 0;
        }
        return wanted.equals(actual);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ExecutionQuery q && canonical.equals(q.canonical) && limit == q.limit
                && Objects.equals(after, q.after);
    }

    @Override
    public int hashCode() {
        return Objects.hash(canonical, limit, after);
    }

    @Override
    public String toString() {
        List<String> parts = new ArrayList<>();
        add(parts, "statuses", statuses.isEmpty() ? null : statuses);
        add(parts, "flowId", flowId);
        add(parts, "flowVersion", flowVersion);
        add(parts, "tenantId", tenantId);
        add(parts, "parentExecutionId", parentExecutionId);
        add(parts, "createdFrom", createdFrom);
        add(parts, "createdBefore", createdBefore);
        add(parts, "updatedFrom", updatedFrom);
        add(parts, "updatedBefore", updatedBefore);
        add(parts, "errorCode", errorCode);
        add(parts, "metadata", metadata.isEmpty() ? null : metadata);
        add(parts, "after", after);
        parts.add("limit=" + limit);
        return "ExecutionQuery" + parts;
    }

    private static void add(List<String> parts, String name, Object value) {
        if (value != null) {
            parts.add(name + "=" + value);
        }
    }

    /**
     * A place in the query's order: a page starts after the execution with this {@code createdAt} and
     * id, as decoded from a cursor.
     *
     * @param createdAt the {@code createdAt} of the last execution of the page before
     * @param id its id
     */
    public record Position(Instant createdAt, String id) {

        /**
         * Validates the position.
         *
         * @param createdAt the {@code createdAt} of the last execution of the page before
         * @param id its id
         */
        public Position {
            Objects.requireNonNull(createdAt, "createdAt must not be null");
            Values.requireText(id, "id");
        }

        /**
         * Tells whether an execution comes after this position in the query's order (newest first).
         *
         * @param e an execution
         * @return true if it belongs on a page after this position
         */
        public boolean comesBefore(Execution e) {
            int byTime = e.createdAt().compareTo(createdAt);
            return byTime < 0 || byTime == 0 && e.id().compareTo(id) < 0;
        }
    }

    private static final Instant LATEST = Instant.ofEpochMilli(Long.MAX_VALUE);
    private static final Instant EARLIEST = Instant.ofEpochMilli(Long.MIN_VALUE);

    /**
     * Collects the filters. Each setter checks its argument; setting a filter again replaces it.
     * Not thread-safe.
     */
    public static final class Builder {
        private final Set<ExecutionStatus> statuses = EnumSet.noneOf(ExecutionStatus.class);
        private String flowId;
        private String flowVersion;
        private String tenantId;
        private String parentExecutionId;
        private Instant createdFrom;
        private Instant createdBefore;
        private Instant updatedFrom;
        private Instant updatedBefore;
        private String errorCode;
        private final Map<String, Object> metadata = new TreeMap<>();
        private int limit = DEFAULT_LIMIT;

        private Builder() {
        }

        /**
         * Matches executions in this status.
         *
         * @param status the status
         * @return this builder
         */
        public Builder status(ExecutionStatus status) {
            return statuses(Set.of(Objects.requireNonNull(status, "status must not be null")));
        }

        /**
         * Matches executions in any of these statuses; an empty set matches every status.
         *
         * @param statuses the statuses
         * @return this builder
         */
        public Builder statuses(Collection<ExecutionStatus> statuses) {
            Objects.requireNonNull(statuses, "statuses must not be null");
            EnumSet<ExecutionStatus> chosen = EnumSet.noneOf(ExecutionStatus.class);
            for (ExecutionStatus status : statuses) {
                chosen.add(Objects.requireNonNull(status, "statuses must not contain null"));
            }
            this.statuses.clear();
            this.statuses.addAll(chosen);
            return this;
        }

        /**
         * Matches executions of a flow, any version.
         *
         * @param flowId the flow id
         * @return this builder
         */
        public Builder flow(String flowId) {
            this.flowId = text(flowId, "flowId");
            this.flowVersion = null;
            return this;
        }

        /**
         * Matches executions of one version of a flow.
         *
         * @param flowId the flow id
         * @param flowVersion the flow version
         * @return this builder
         */
        public Builder flow(String flowId, String flowVersion) {
            this.flowId = text(flowId, "flowId");
            this.flowVersion = text(flowVersion, "flowVersion");
            return this;
        }

        /**
         * Matches executions of a tenant.
         *
         * @param tenantId the tenant id
         * @return this builder
         */
        public Builder tenantId(String tenantId) {
            this.tenantId = text(tenantId, "tenantId");
            return this;
        }

        /**
         * Matches the children of an execution.
         *
         * @param parentExecutionId the parent's id
         * @return this builder
         */
        public Builder parentExecutionId(String parentExecutionId) {
            this.parentExecutionId = text(parentExecutionId, "parentExecutionId");
            return this;
        }

        /**
         * Matches executions created in {@code [from, before)}; either bound may be null for none.
         *
         * @param from the earliest {@code createdAt}, inclusive
         * @param before the bound {@code createdAt} stays below, exclusive
         * @return this builder
         * @throws IllegalArgumentException if {@code before} is not after {@code from}
         */
        public Builder createdBetween(Instant from, Instant before) {
            requireRange(from, before, "created");
            this.createdFrom = millis(from);
            this.createdBefore = millis(before);
            return this;
        }

        /**
         * Matches executions last saved in {@code [from, before)}; either bound may be null for none.
         *
         * @param from the earliest {@code updatedAt}, inclusive
         * @param before the bound {@code updatedAt} stays below, exclusive
         * @return this builder
         * @throws IllegalArgumentException if {@code before} is not after {@code from}
         */
        public Builder updatedBetween(Instant from, Instant before) {
            requireRange(from, before, "updated");
            this.updatedFrom = millis(from);
            this.updatedBefore = millis(before);
            return this;
        }

        /**
         * Matches executions whose {@link Execution#error()} has this code.
         *
         * @param errorCode the error code, such as {@code "HANDLER_ERROR"}
         * @return this builder
         */
        public Builder errorCode(String errorCode) {
            this.errorCode = text(errorCode, "errorCode");
            return this;
        }

        /**
         * Matches executions whose metadata holds {@code key} with this value (several calls: all of
         * them).
         *
         * @param key the metadata key
         * @param value a string, boolean, or integral number ({@code Integer}, {@code Long},
         *     {@code Short}, {@code Byte}, {@code BigInteger})
         * @return this builder
         * @throws IllegalArgumentException if the value is of another type
         */
        public Builder metadata(String key, Object value) {
            text(key, "metadata key");
            Objects.requireNonNull(value, () -> "metadata value of '" + key + "' must not be null");
            if (!(value instanceof String || value instanceof Boolean || value instanceof Integer
                    || value instanceof Long || value instanceof Short || value instanceof Byte
                    || value instanceof java.math.BigInteger)) {
                throw new IllegalArgumentException("metadata value of '" + key + "' must be a string, boolean or "
                        + "integral number, got " + value.getClass().getName());
            }
            if (value instanceof String s) {
                text(s, "metadata value of '" + key + "'");
            }
            metadata.put(key, value);
            return this;
        }

        /**
         * Sets the page size (for bulk operations: the batch size).
         *
         * @param limit 1 to {@value #MAX_LIMIT}
         * @return this builder
         * @throws IllegalArgumentException if out of range
         */
        public Builder limit(int limit) {
            if (limit < 1 || limit > MAX_LIMIT) {
                throw new IllegalArgumentException("limit must be between 1 and " + MAX_LIMIT + ", got " + limit);
            }
            this.limit = limit;
            return this;
        }

        /**
         * Builds the query, on its first page.
         *
         * @return the query
         */
        public ExecutionQuery build() {
            return new ExecutionQuery(this, null);
        }

        private static String text(String value, String field) {
            Values.requireText(value, field);
            if (value.indexOf('\0') >= 0) {
                throw new IllegalArgumentException(field + " must not contain the NUL character U+0000");
            }
            return value;
        }

        /**
         * Whole milliseconds, as times are stored; an instant beyond what epoch milliseconds hold is
         * the end of that range, which every stored time is within.
         */
        private static Instant millis(Instant t) {
            if (t == null) {
                return null;
            }
            if (t.isAfter(LATEST)) {
                return LATEST;
            }
            return t.isBefore(EARLIEST) ? EARLIEST : Instant.ofEpochMilli(t.toEpochMilli());
        }

        private static void requireRange(Instant from, Instant before, String what) {
            if (from != null && before != null && !before.isAfter(from)) {
                throw new IllegalArgumentException(what + " range is empty: before (" + before
                        + ") must be after from (" + from + ")");
            }
        }
    }
}
