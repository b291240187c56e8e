package io.flowmonkey.postgres;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;
import io.flowmonkey.execution.LeasingExecutionStore.FlowVersion;
import io.flowmonkey.execution.StoreException;
import io.flowmonkey.execution.WorkerHeartbeat;
import io.flowmonkey.execution.WorkerHeartbeat.ClaimLateness;
import io.flowmonkey.execution.WorkerInfo;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Binds and reads the rows of the worker table (V9): its two JSONB columns hold what the worker
 * serves, as {@code [{"flowId", "version"}]}, and its claim lateness per minute, as
 * {@code [{"minute", "count", "maxMs", "p99Ms"}]}, with the minute as epoch minutes.
 */
final class WorkerRows {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final ObjectWriter WRITER = MAPPER.writer();
    private static final ObjectReader READER = MAPPER.readerFor(new TypeReference<List<Map<String, Object>>>() { });

    private WorkerRows() {
    }

    /** Binds the parameters of {@link ExecutionSql#heartbeat()}. */
    static void bind(PreparedStatement ps, WorkerHeartbeat h) throws SQLException {
        List<Map<String, Object>> serves = new ArrayList<>();
        for (FlowVersion v : h.serves()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("flowId", v.flowId());
            m.put("version", v.version());
            serves.add(m);
        }
        List<Map<String, Object>> lateness = new ArrayList<>();
        for (ClaimLateness l : h.lateness()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("minute", l.minute().toEpochMilli() / 60_000);
            m.put("count", l.count());
            m.put("maxMs", l.maxMs());
            m.put("p99Ms", l.p99Ms());
            lateness.add(m);
        }
        int i = 1;
        ps.setString(i++, h.workerId());
        ps.setString(i++, h.workerId());
        ps.setString(i++, h.host());
        ps.setLong(i++, h.pid());
        ps.setObject(i++, json(h.workerId(), "serves", serves), Types.OTHER);
        ps.setInt(i++, h.threads());
        ps.setInt(i++, h.inFlight());
        ps.setLong(i++, h.startedAt().toEpochMilli());
        if (h.lastClaim() == null) {
            ps.setNull(i++, Types.BIGINT);
        } else {
            ps.setLong(i++, h.lastClaim().toEpochMilli());
        }
        ps.setLong(i++, Math.max(1, h.liveFor().toMillis()));
        ps.setObject(i, json(h.workerId(), "lateness", lateness), Types.OTHER);
    }

    /** Reads a row of {@link ExecutionSql#liveWorkers()}. */
    static WorkerInfo read(ResultSet rs) throws SQLException {
        String id = rs.getString(1);
        List<FlowVersion> serves = new ArrayList<>();
        for (Map<String, Object> m : parse(id, "serves", rs.getString(4))) {
            serves.add(new FlowVersion(String.valueOf(m.get("flowId")), String.valueOf(m.get("version"))));
        }
        List<ClaimLateness> lateness = new ArrayList<>();
        for (Map<String, Object> m : parse(id, "lateness", rs.getString(11))) {
            lateness.add(new ClaimLateness(Instant.ofEpochMilli(number(m, "minute") * 60_000), number(m, "count"),
                    number(m, "maxMs"), number(m, "p99Ms")));
        }
        long lastClaim = rs.getLong(9);
        Instant lastClaimAt = rs.wasNull() ? null : Instant.ofEpochMilli(lastClaim);
        Instant lastHeartbeat = Instant.ofEpochMilli(rs.getLong(8));
        Instant expiresAt = Instant.ofEpochMilli(rs.getLong(10));
        WorkerHeartbeat reported = new WorkerHeartbeat(id, rs.getString(2), rs.getLong(3), serves, rs.getInt(5),
                rs.getInt(6), Instant.ofEpochMilli(rs.getLong(7)), lastClaimAt,
                Duration.ofMillis(Math.max(1, expiresAt.toEpochMilli() - lastHeartbeat.toEpochMilli())), lateness);
        return new WorkerInfo(reported, lastHeartbeat, expiresAt);
    }

    private static long number(Map<String, Object> m, String key) {
        return m.get(key) instanceof Number n ? n.longValue() : 0;
    }

    private static String json(String workerId, String column, Object value) {
        try {
            return WRITER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new StoreException(null, "heartbeat of worker " + workerId + ": column " + column
                    + " cannot be written as JSON: " + e.getOriginalMessage(), e);
        }
    }

    private static List<Map<String, Object>> parse(String workerId, String column, String text) {
        try {
            List<Map<String, Object>> list = READER.readValue(text);
            return list == null ? List.of() : list;
        } catch (JsonProcessingException e) {
            throw new StoreException(null, "row of worker " + workerId + ": column " + column
                    + " cannot be read: " + e.getOriginalMessage(), e);
        }
    }
}
