package io.flowmonkey.postgres;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionDataException;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.InvalidFieldException;
import io.flowmonkey.internal.json.Deferred;
import java.io.IOException;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.util.function.Supplier;

/**
 * An execution turned into column values before any connection is taken, so that a value that
 * cannot be stored fails with the execution id and column, and nothing is written.
 */
final class ExecutionRow {

    /** The longest id, tenant id, idempotency key or parent id stored, in characters (4 bytes at most each). */
    static final int MAX_INDEXED_LENGTH = 255;

    final Execution execution;
    private final String context;
    private final String history;
    private final String error;
    private final String waitMetadata;
    private final String cancellation;
    private final String metadata;
    private final String timeoutConfig;
    /** Whether the large texts are ones the store knows, so one bracketed value each without a look. */
    private final boolean knownContext;
    private final boolean knownHistory;

    private ExecutionRow(Execution e, ExecutionJson json) {
        this.execution = e;
        requireIndexable(e, "id", e.id());
        requireStorableText(e, "flow_id", e.flowId());
        requireStorableText(e, "flow_version", e.flowVersion());
        requireIndexable(e, "tenant_id", e.tenantId());
        requireStorableText(e, "current_step_id", e.currentStepId());
        requireIndexable(e, "idempotency_key", e.idempotencyKey());
        requireIndexable(e, "parent_execution_id", e.parentExecutionId());
        // V11 indexes the code of the error in error_code.
        requireIndexable(e, "error", e.error() == null ? null : e.error().code());
        this.context = toJson(e, "context", () -> json.writeValues(e.context()));
        this.history = toJson(e, "history", () -> json.writeHistory(e.history()));
        this.error = toJson(e, "error", () -> json.writeModel(e.error()));
        this.waitMetadata = toJson(e, "wait_metadata", () -> json.writeModel(e.waitMetadata()));
        this.cancellation = toJson(e, "cancellation", () -> json.writeModel(e.cancellation()));
        this.metadata = toJson(e, "metadata", () -> json.writeValues(e.metadata()));
        this.timeoutConfig = toJson(e, "timeout_config", () -> json.writeModel(e.timeoutConfig()));
        this.knownContext = json.knows(e.context());
        this.knownHistory = json.knows(e.history());
    }

    static ExecutionRow of(Execution e, ExecutionJson json) {
        return new ExecutionRow(e, json);
    }

    /** Binds the idempotency key and its expiry at {@code index} and the next index. */
    void bindKey(PreparedStatement ps, int index) throws SQLException {
        ps.setString(index, execution.idempotencyKey());
        setMillis(ps, index + 1, execution.idempotencyExpiresAt());
    }

    /**
     * The {@code updated_at} a save at {@code now} stamps: never before {@code created_at}, which an
     * execution created by a clock ahead of the saving one would otherwise get. Queries of an updated
     * range rely on it to bound the created range (see {@link ExecutionSql}). Null stays null (a
     * comparison with the stored row that leaves {@code updated_at} out).
     */
    Instant updatedAt(Instant now) {
        return now != null && now.isBefore(execution.createdAt()) ? execution.createdAt() : now;
    }

    /** Binds {@link ExecutionSql#DATA_COLUMNS} from {@code index} on; returns the next free index. */
    int bind(PreparedStatement ps, int index, Instant updatedAt) throws SQLException {
        Object[] values = values(updatedAt);
        int i = index;
        for (int column = 0; column < values.length; column++) {
            Object value = values[column];
            switch (ExecutionSql.DATA_COLUMN_ARRAY_TYPES[column]) {
                case "jsonb" -> ps.setObject(i++, value, Types.OTHER);
                case "int4" -> ps.setInt(i++, (Integer) value);
                case "int8" -> {
                    if (value == null) {
                        ps.setNull(i++, Types.BIGINT);
                    } else {
                        ps.setLong(i++, (Long) value);
                    }
                }
                default -> ps.setString(i++, (String) value);
            }
        }
        return i;
    }

    /**
     * The values of {@link ExecutionSql#DATA_COLUMNS}, in that order, typed as
     * {@link ExecutionSql#DATA_COLUMN_ARRAY_TYPES} says: text and JSON as {@code String}, the step count
     * as {@code Integer}, times as epoch-millisecond {@code Long}s; null where the column is NULL.
     */
    Object[] values(Instant updatedAt) {
        Execution e = execution;
        return new Object[] {e.flowId(), e.flowVersion(), e.tenantId(), e.status().wireName(), e.currentStepId(),
            e.stepCount(), context, history, error, waitMetadata, cancellation, e.parentExecutionId(), metadata,
            timeoutConfig, millis(e.createdAt()), millis(updatedAt(updatedAt)), millis(e.completedAt()),
            millis(e.failedAt()), millis(e.cancelledAt()), e.priority()};
    }

    /** The error as JSON, or null: bound once more for the code that {@code error_code} holds. */
    String errorJson() {
        return error;
    }

    /** Whether saving this status gives up the execution's lease: waiting and ended executions are nobody's. */
    boolean givesUpLease() {
        return ExecutionSql.LEASE_ENDING.contains(execution.status());
    }

    /**
     * Whether each JSON text of the row is null or one bracketed value ({@link #oneBracketedValue}). The
     * context and history the store knows are not looked through: they are the largest texts, and
     * scanning them on every batched save was a tenth of the runners' CPU (JFR, 3-step drain).
     */
    boolean jsonIsBracketed() {
        if (!knownContext && context != null && !oneBracketedValue(context)
                || !knownHistory && history != null && !oneBracketedValue(history)) {
            return false;
        }
        for (String text : new String[] {error, waitMetadata, cancellation, metadata, timeoutConfig}) {
            if (text != null && !oneBracketedValue(text)) {
                return false;
            }
        }
        return true;
    }

    /**
     * Whether {@code json} is one object or array: it opens with a bracket that closes at its last
     * character, counting brackets outside strings. Then, between commas in an array, it is one element,
     * whatever it holds; whether it is valid JSON is left to PostgreSQL, which parses the array whole.
     */
    static boolean oneBracketedValue(String json) {
        int n = json.length();
        if (n < 2 || json.charAt(0) != '{' && json.charAt(0) != '[') {
            return false;
        }
        int depth = 0;
        boolean inString = false;
        for (int i = 0; i < n; i++) {
            char c = json.charAt(i);
            if (inString) {
                if (c == '\\') {
                    i++;
                } else if (c == '"') {
                    inString = false;
                }
            } else if (c == '"') {
                inString = true;
            } else if (c == '{' || c == '[') {
                depth++;
            } else if ((c == '}' || c == ']') && --depth == 0) {
                return i == n - 1;
            }
        }
        return false;
    }

    private static Long millis(Instant instant) {
        return instant == null ? null : instant.toEpochMilli();
    }

    /** How {@link #read} decodes a row's JSON. */
    enum Reading {
        /** Decoded at once, and the column bytes dropped. */
        EAGER,
        /**
         * Decoded at once, and the bytes of {@code context}, {@code history} and {@code metadata} kept
         * with the decoded values, so that a save of them unchanged sends them back as they are: rows read
         * to be run or changed ({@code load}, claims), not pages of lists.
         */
        KEEPING_TEXT,
        /** {@code context} and {@code history} decoded on first access ({@link #deferred}). */
        DEFERRED
    }

    /** Reads one row of the store's SELECT column list, decoding its JSON as {@code reading} says. */
    static Execution read(ResultSet rs, ExecutionJson json, Reading reading) throws SQLException {
        boolean deferHeavy = reading == Reading.DEFERRED;
        String id = rs.getString(1);
        String column = "flow_id";
        try {
            Execution.Builder b = Execution.builder(id, rs.getString(2), rs.getString(3));
            b.tenantId(rs.getString(4));
            column = "status";
            b.status(ExecutionStatus.fromWireName(rs.getString(5)));
            b.currentStepId(rs.getString(6));
            b.stepCount(rs.getInt(7));
            column = "context";
            byte[] context = rs.getBytes(8);
            b.context(deferHeavy && context != null
                    ? Deferred.object(deferred(id, "context", () -> json.readValues(context)), "context", id)
                    : json.readValues(context));
            column = "history";
            byte[] history = rs.getBytes(9);
            b.history(deferHeavy && history != null
                    ? Deferred.records(deferred(id, "history", () -> json.readHistory(history)), "history", id)
                    : json.readHistory(history));
            column = "error";
            b.error(json.readError(rs.getBytes(10)));
            column = "wait_metadata";
            b.waitMetadata(json.readWait(rs.getBytes(11)));
            column = "cancellation";
            b.cancellation(json.readCancellation(rs.getBytes(12)));
            b.parentExecutionId(rs.getString(13));
            column = "metadata";
            byte[] metadata = rs.getBytes(14);
            b.metadata(json.readValues(metadata));
            column = "timeout_config";
            b.timeoutConfig(json.readTimeout(rs.getBytes(15)));
            column = "created_at";
            b.createdAt(getMillis(rs, 16));
            column = "updated_at";
            b.updatedAt(getMillis(rs, 17));
            column = "completed_at";
            b.completedAt(getMillis(rs, 18));
            column = "failed_at";
            b.failedAt(getMillis(rs, 19));
            column = "cancelled_at";
            b.cancelledAt(getMillis(rs, 20));
            column = "priority";
            b.priority(rs.getInt(21));
            column = "idempotency_key";
            b.idempotencyKey(rs.getString(22));
            column = "idempotency_expires_at";
            b.idempotencyExpiresAt(getMillis(rs, 23));
            column = "version";
            b.version(rs.getLong(24));
            column = "lease_owner";
            b.lease(rs.getString(25), getMillis(rs, 26));
            column = "row";
            Execution e = b.build();
            if (reading == Reading.KEEPING_TEXT) {
                json.remember(e.context(), context);
                json.remember(e.history(), history);
                json.remember(e.metadata(), metadata);
            }
            return e;
        } catch (InvalidFieldException e) {
            // build() checks the text columns and counts: report the column of the field it names.
            throw new ExecutionDataException(id, column.equals("row") ? columnOf(e.field()) : column,
                    "stored value cannot be read (" + e.getMessage() + "); fix or delete the row", e);
        } catch (IOException | RuntimeException e) {
            throw new ExecutionDataException(id, column, "stored value cannot be read (" + e.getMessage()
                    + "); fix or delete the row", e);
        }
    }

    /**
     * A decoder for {@link Deferred} that fails as {@link #read} would have: an
     * {@link ExecutionDataException} naming the execution and the column, with the same words.
     */
    private static <T> Supplier<T> deferred(String id, String column, JsonValue<T> decode) {
        return () -> {
            try {
                return decode.get();
            } catch (IOException | RuntimeException e) {
                throw new ExecutionDataException(id, column, "stored value cannot be read (" + e.getMessage()
                        + "); fix or delete the row", e);
            }
        };
    }

    /** The column of a field the model names, e.g. {@code "waitMetadata.data.k"} is {@code wait_metadata}. */
    static String columnOf(String field) {
        StringBuilder column = new StringBuilder();
        for (int i = 0; i < field.length(); i++) {
            char c = field.charAt(i);
            if (c == '.' || c == '[') {
                break;
            }
            if (Character.isUpperCase(c)) {
                column.append('_').append(Character.toLowerCase(c));
            } else {
                column.append(c);
            }
        }
        return column.toString();
    }

    private static String toJson(Execution e, String column, JsonText write) {
        String text;
        try {
            text = write.get();
        } catch (JsonProcessingException ex) {
            throw new ExecutionDataException(e.id(), column, "value cannot be written as JSON: "
                    + ex.getOriginalMessage(), ex);
        }
        if (text != null && ExecutionJson.containsNulEscape(text)) {
            throw new ExecutionDataException(e.id(), column, "text contains the NUL character U+0000, which "
                    + "PostgreSQL JSONB cannot store; remove it or encode the value", null);
        }
        return text;
    }

    /**
     * An indexed column: besides what text can hold, short enough that a B-tree entry of it and the
     * id (tenant_id's index holds both) stays well inside PostgreSQL's limit of about 2.7 kB.
     */
    private static void requireIndexable(Execution e, String column, String value) {
        requireStorableText(e, column, value);
        if (value != null && value.length() > MAX_INDEXED_LENGTH) {
            // An id too long to store is too long to repeat in full.
            String id = e.id().length() > MAX_INDEXED_LENGTH ? e.id().substring(0, 40) + "..." : e.id();
            throw new ExecutionDataException(id, column, "text is " + value.length() + " characters long; at most "
                    + MAX_INDEXED_LENGTH + " fit the index", null);
        }
    }

    private static void requireStorableText(Execution e, String column, String value) {
        if (value != null && value.indexOf('\0') >= 0) {
            throw new ExecutionDataException(e.id(), column, "text contains the NUL character U+0000, which "
                    + "PostgreSQL text cannot store", null);
        }
    }

    private static void setMillis(PreparedStatement ps, int index, Instant instant) throws SQLException {
        if (instant == null) {
            ps.setNull(index, Types.BIGINT);
        } else {
            ps.setLong(index, instant.toEpochMilli());
        }
    }

    private static Instant getMillis(ResultSet rs, int index) throws SQLException {
        long millis = rs.getLong(index);
        return rs.wasNull() ? null : Instant.ofEpochMilli(millis);
    }

    @FunctionalInterface
    private interface JsonValue<T> {
        T get() throws IOException;
    }

    @FunctionalInterface
    private interface JsonText {
        String get() throws JsonProcessingException;
    }
}
