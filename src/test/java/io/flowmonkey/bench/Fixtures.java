package io.flowmonkey.bench;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.StepHistory;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The committed payloads every run writes, so that runs compare: a 1 KB context and a five-entry
 * history. Holds them both as model values (for the store) and as the compact JSON text the store
 * would send (for the raw-JDBC baseline, which gets its JSON pre-serialised).
 */
final class Fixtures {

    static final String FLOW_ID = "order-flow";
    static final String FLOW_VERSION = "1";
    static final String CURRENT_STEP = "charge";
    static final int STEP_COUNT = 3;
    static final int TENANTS = 1_000;

    final Map<String, Object> context;
    final List<StepHistory> history;
    final String contextJson;
    final String historyJson;
    /** What new executions are made from: frozen maps, so that copies share them. */
    final Execution template;

    private Fixtures(Map<String, Object> context, List<StepHistory> history, String contextJson,
                     String historyJson) {
        this.template = running("template", "tenant-1", context, history);
        this.context = template.context();
        this.history = template.history();
        this.contextJson = contextJson;
        this.historyJson = historyJson;
    }

    static Fixtures load() {
        ObjectMapper mapper = new ObjectMapper();
        try {
            Map<String, Object> context = mapper.readValue(resource("context-1k.json"), new TypeReference<>() {
            });
            JsonNode historyNode = mapper.readTree(resource("history-5.json"));
            List<StepHistory> history = new ArrayList<>();
            for (JsonNode h : historyNode) {
                history.add(new StepHistory(h.get("stepId").asText(), h.get("handlerType").asText(),
                        h.get("outcome").asText(), Instant.ofEpochMilli(h.get("startedAt").asLong()),
                        Instant.ofEpochMilli(h.get("completedAt").asLong()), h.get("durationMs").asLong(), null));
            }
            return new Fixtures(context, history, mapper.writeValueAsString(context),
                    mapper.writeValueAsString(historyNode));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the benchmark fixtures", e);
        }
    }

    Execution newExecution(String id, String tenantId) {
        return running(id, tenantId, context, history);
    }

    private static Execution running(String id, String tenantId, Map<String, Object> context,
                                     List<StepHistory> history) {
        return Execution.builder(id, FLOW_ID, FLOW_VERSION)
                .tenantId(tenantId)
                .status(ExecutionStatus.RUNNING)
                .currentStepId(CURRENT_STEP)
                .stepCount(STEP_COUNT)
                .context(context)
                .history(history)
                .build();
    }

    private static byte[] resource(String name) throws IOException {
        try (InputStream in = Fixtures.class.getResourceAsStream("/bench/" + name)) {
            if (in == null) {
                throw new IOException("missing test resource /bench/" + name);
            }
            return in.readAllBytes();
        }
    }
}
