package io.flowmonkey.engine;

import io.flowmonkey.internal.Arguments;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One child execution that a step starts with {@link StepResult#startChildren(java.util.List)}: the
 * flow to run (its latest registered version), its initial context, and optionally its id, tenant
 * and idempotency key. Immutable: each setter returns a copy.
 *
 * <p>Without an id the engine derives one from the parent's id, the step's position in the parent
 * and the child's index, so that running the same step again can never start the same child twice.
 *
 * @param flowId the flow the child runs
 * @param input the child's initial context, a JSON-like map; empty when none
 * @param executionId the child's id, or null for a derived one
 * @param tenantId the child's tenant, or null for the parent's
 * @param idempotencyKey the child's idempotency key, or null
 */
public record ChildSpec(String flowId, Map<String, Object> input, String executionId, String tenantId,
                        String idempotencyKey) {

    /**
     * Checks the flow id and the optional texts, and copies {@code input}.
     *
     * @param flowId the flow the child runs
     * @param input the child's initial context, or null for empty
     * @param executionId the child's id, or null
     * @param tenantId the child's tenant, or null
     * @param idempotencyKey the child's idempotency key, or null
     * @throws IllegalArgumentException if {@code flowId} is null or blank, or an optional text is blank
     */
    public ChildSpec {
        flowId = text(flowId, "child flowId");
        input = input == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(input));
        executionId = CreateOptions.chosenId(executionId, "child executionId");
        tenantId = tenantId == null ? null : text(tenantId, "child tenantId");
        idempotencyKey = idempotencyKey == null ? null : text(idempotencyKey, "child idempotencyKey");
    }

    /**
     * A child of {@code flowId} with {@code input} as its context.
     *
     * @param flowId the flow the child runs
     * @param input its initial context, a JSON-like map; null for empty
     * @return the spec
     * @throws IllegalArgumentException if {@code flowId} is null or blank
     */
    @SuppressWarnings("unchecked")
    public static ChildSpec of(String flowId, Map<String, ?> input) {
        return new ChildSpec(flowId, (Map<String, Object>) input, null, null, null);
    }

    /**
     * Returns a copy with a caller-chosen execution id.
     *
     * @param id a non-blank id, unique among executions
     * @return the copy
     */
    public ChildSpec executionId(String id) {
        return new ChildSpec(flowId, input, Objects.requireNonNull(id, "child executionId must not be null"),
                tenantId, idempotencyKey);
    }

    /**
     * Returns a copy whose child belongs to another tenant than the parent.
     *
     * @param tenant a non-blank tenant id
     * @return the copy
     */
    public ChildSpec tenantId(String tenant) {
        return new ChildSpec(flowId, input, executionId, Objects.requireNonNull(tenant, "child tenantId must not be null"),
                idempotencyKey);
    }

    /**
     * Returns a copy with an idempotency key for the child, kept for the engine's idempotency TTL.
     * A key (or an id) that another execution holds fails the step with
     * {@link Engine#CHILDREN_NOT_STARTED} (its retry policy and {@code onFailure} apply), and no child
     * of the step is started.
     *
     * @param key a non-blank key
     * @return the copy
     */
    public ChildSpec idempotencyKey(String key) {
        return new ChildSpec(flowId, input, executionId, tenantId,
                Objects.requireNonNull(key, "child idempotencyKey must not be null"));
    }

    private static String text(String value, String field) {
        return Options.storableText(Arguments.nonBlank(value, field), field);
    }
}
