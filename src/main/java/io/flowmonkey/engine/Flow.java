package io.flowmonkey.engine;

import io.flowmonkey.internal.Arguments;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A workflow definition: an id, a version, the step an execution starts at, and the steps. Immutable
 * and valid by construction: {@link Builder#build()} and {@link #fromJson(String)} reject an unknown
 * initial step, a transition to a missing step and a step defined twice.
 */
public final class Flow {

    private final String id;
    private final String version;
    private final String initialStepId;
    private final Map<String, Step> steps;

    private Flow(String id, String version, String initialStepId, Map<String, Step> steps) {
        this.id = id;
        this.version = version;
        this.initialStepId = initialStepId;
        this.steps = steps;
    }

    /**
     * Starts a flow definition.
     *
     * @param id the flow id, such as {@code "order-approval"}
     * @param version the version, such as {@code "1.0.0"}; executions remember the version they started on
     * @return a builder
     * @throws IllegalArgumentException if either argument is null or blank, or holds U+0000 or an
     *     unpaired surrogate (text PostgreSQL and UTF-8 cannot store)
     */
    public static Builder builder(String id, String version) {
        if (id == null || id.isBlank()) {
            throw new IllegalArgumentException("flow id must be a non-blank string, got "
                    + (id == null ? "null" : "'" + Diagnostics.id(id) + "'"));
        }
        Options.storableText(id, "flow id");
        Arguments.nonBlank(version, "version of flow '" + Diagnostics.id(id) + "'");
        Options.storableText(version, "version of flow '" + Diagnostics.id(id) + "'");
        return new Builder(id, version);
    }

    /**
     * Reads a flow in FlowMonkey's JSON shape:
     * <pre>{@code
     * {"id": "approval", "version": "1", "initialStepId": "request",
     *  "steps": {"request": {"id": "request", "type": "notify", "config": {},
     *            "input": {"type": "key", "key": "order"}, "outputKey": "ticket",
     *            "transitions": {"onSuccess": "decide", "onFailure": null, "onResume": null},
     *            "retry": {"maxAttempts": 3, "backoffMs": 1000, "backoffMultiplier": 2,
     *                      "maxBackoffMs": 60000, "retryOn": ["TIMEOUT"]},
     *            "timeoutMs": 30000}}}
     * }</pre>
     * A step's {@code id} may be left out (the key names it); {@code config}, {@code input},
     * {@code outputKey}, {@code transitions}, {@code retry} and {@code timeoutMs} (the step's
     * {@link Step#timeout()} in milliseconds; {@code timeout}, as FlowMonkey's docs write it, is read the
     * same) are optional; unknown fields are ignored.
     *
     * <p><b>Retry counts follow FlowMonkey TypeScript</b>, so that one flow JSON means the same in both:
     * {@code retry.maxAttempts} counts the retries <em>after</em> the first attempt ({@code 3} means four
     * tries, {@code 0} one; absent means 3), an absent {@code backoffMs} is 0 (retry at once) and an absent
     * {@code maxBackoffMs} is 60,000. {@link RetryPolicy.Builder#maxAttempts(int)} in Java counts the first
     * attempt too, so {@code "maxAttempts": 3} becomes {@code maxAttempts(4)}.
     *
     * <p>The text is read strictly: trailing text after the object, a key given twice in any object
     * (such as a step defined twice), a known field of the wrong type ({@code "transitions": "x"}), a
     * template input without {@code template}, and ids holding U+0000 are refused. Messages name the
     * flow, the step and the field, and list at most a few of a flow's steps however many it has.
     *
     * @param json the flow as JSON text
     * @return the validated flow
     * @throws FlowValidationException if the text is not JSON, lacks a required field, or describes an
     *     inconsistent flow
     */
    public static Flow fromJson(String json) {
        return FlowJson.read(json);
    }

    /**
     * Returns the flow id.
     *
     * @return the id
     */
    public String id() {
        return id;
    }

    /**
     * Returns the flow version.
     *
     * @return the version
     */
    public String version() {
        return version;
    }

    /**
     * Returns the step every execution starts at.
     *
     * @return a step id of this flow
     */
    public String initialStepId() {
        return initialStepId;
    }

    /**
     * Returns the steps by id, in the order they were added; unmodifiable.
     *
     * @return the steps
     */
    public Map<String, Step> steps() {
        return steps;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Flow that && id.equals(that.id) && version.equals(that.version)
                && initialStepId.equals(that.initialStepId) && steps.equals(that.steps);
    }

    @Override
    public int hashCode() {
        return Objects.hash(id, version, initialStepId, steps);
    }

    @Override
    public String toString() {
        return "Flow{id=" + Diagnostics.id(id) + ", version=" + Diagnostics.id(version) + ", initialStepId="
                + Diagnostics.id(initialStepId) + ", steps=" + Diagnostics.list(steps.keySet()) + "}";
    }

    /** Builds a {@link Flow}; {@link #build()} validates the whole definition. Not thread-safe. */
    public static final class Builder {
        private final String id;
        private final String version;
        private String initialStepId;
        private final List<Step> steps = new ArrayList<>();

        private Builder(String id, String version) {
            this.id = id;
            this.version = version;
        }

        /**
         * Sets the step every execution starts at.
         *
         * @param stepId the id of a step added with {@link #step(Step)}
         * @return this builder
         */
        public Builder initialStep(String stepId) {
            this.initialStepId = stepId;
            return this;
        }

        /**
         * Adds a step.
         *
         * @param step the step; its id must be unique within the flow
         * @return this builder
         */
        public Builder step(Step step) {
            steps.add(Objects.requireNonNull(step, () -> "flow '" + id + "': step must not be null"));
            return this;
        }

        /**
         * Validates and builds the flow.
         *
         * @return the flow
         * @throws FlowValidationException if there are no steps, a step id is used twice, the initial step
         *     is missing or unknown, or a transition names a step that is not in the flow
         */
        public Flow build() {
            if (steps.isEmpty()) {
                throw new FlowValidationException(id, null, "has no steps; add at least one with step(..)");
            }
            Map<String, Step> byId = new LinkedHashMap<>();
            for (Step step : steps) {
                if (byId.putIfAbsent(step.id(), step) != null) {
                    throw new FlowValidationException(id, step.id(), "is defined twice; step ids must be unique "
                            + "within a flow");
                }
            }
            if (initialStepId == null || !byId.containsKey(initialStepId)) {
                throw new FlowValidationException(id, initialStepId, initialStepId == null
                        ? "has no initial step; set one with initialStep(..)"
                        : "is the initial step but is not defined; defined steps: " + Diagnostics.list(byId.keySet()));
            }
            for (Step step : steps) {
                checkTarget(byId, step, "onSuccess", step.onSuccess());
                checkTarget(byId, step, "onFailure", step.onFailure());
                checkTarget(byId, step, "onResume", step.onResume());
            }
            return new Flow(id, version, initialStepId, Collections.unmodifiableMap(byId));
        }

        private void checkTarget(Map<String, Step> byId, Step step, String transition, String target) {
            if (target != null && !byId.containsKey(target)) {
                throw new FlowValidationException(id, step.id(), transition + " goes to step '"
                        + Diagnostics.id(target) + "', which is not defined; defined steps: "
                        + Diagnostics.list(byId.keySet()));
            }
        }
    }
}
