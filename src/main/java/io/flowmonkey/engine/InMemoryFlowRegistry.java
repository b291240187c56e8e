package io.flowmonkey.engine;

import java.util.Comparator;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * A {@link FlowRegistry} in memory. Thread-safe. The latest version of a flow is the greatest by
 * version order: dot-separated segments compared numerically when both are numbers
 * ({@code "1.10" > "1.9"}), as text otherwise.
 */
public final class InMemoryFlowRegistry implements FlowRegistry {

    private static final Comparator<String> VERSION_ORDER = InMemoryFlowRegistry::compareVersions;

    private final Map<String, ConcurrentSkipListMap<String, Flow>> flows = new ConcurrentHashMap<>();

    /** Creates an empty registry. */
    public InMemoryFlowRegistry() {
    }

    /**
     * Registers a flow version. The flow was validated when it was built.
     *
     * @param flow the flow
     * @return this registry
     * @throws IllegalArgumentException if this id and version are registered already
     */
    public InMemoryFlowRegistry register(Flow flow) {
        Objects.requireNonNull(flow, "flow must not be null");
        Flow previous = flows.computeIfAbsent(flow.id(), id -> new ConcurrentSkipListMap<>(VERSION_ORDER))
                .putIfAbsent(flow.version(), flow);
        if (previous != null) {
            throw new IllegalArgumentException("flow '" + flow.id() + "' version '" + flow.version()
                    + "' is already registered; register a changed flow under a new version");
        }
        return this;
    }

    @Override
    public Optional<Flow> get(String flowId) {
        Objects.requireNonNull(flowId, "flowId must not be null");
        ConcurrentSkipListMap<String, Flow> versions = flows.get(flowId);
        if (versions == null) {
            return Optional.empty();
        }
        Map.Entry<String, Flow> latest = versions.lastEntry();
        return latest == null ? Optional.empty() : Optional.of(latest.getValue());
    }

    @Override
    public Optional<Flow> get(String flowId, String version) {
        Objects.requireNonNull(flowId, "flowId must not be null");
        Objects.requireNonNull(version, "version must not be null");
        ConcurrentSkipListMap<String, Flow> versions = flows.get(flowId);
        return versions == null ? Optional.empty() : Optional.ofNullable(versions.get(version));
    }

    @Override
    public Set<String> flowIds() {
        return Set.copyOf(flows.keySet());
    }

    @Override
    public Set<String> versions(String flowId) {
        Objects.requireNonNull(flowId, "flowId must not be null");
        ConcurrentSkipListMap<String, Flow> versions = flows.get(flowId);
        return versions == null ? Set.of() : Set.copyOf(versions.keySet());
    }

    private static int compareVersions(String a, String b) {
        String[] left = a.split("\\.", -1);
        String[] right = b.split("\\.", -1);
        for (int i = 0; i < Math.min(left.length, right.length); i++) {
            int c = compareSegments(left[i], right[i]);
            if (c != 0) {
                return c;
            }
        }
        int byLength = Integer.compare(left.length, right.length);
        // "1.0" and "1.00" number alike but are different versions: a map keyed by this order keeps both.
        return byLength != 0 ? byLength : a.compareTo(b);
    }

    private static int compareSegments(String a, String b) {
        boolean numbers = !a.isEmpty() && !b.isEmpty() && a.chars().allMatch(Character::isDigit)
                && b.chars().allMatch(Character::isDigit);
        if (numbers) {
            // Compare by length first so that segments longer than a long still order correctly.
            String x = a.replaceFirst("^0+(?=.)", "");
            String y = b.replaceFirst("^0+(?=.)", "");
            return x.length() != y.length() ? Integer.compare(x.length(), y.length()) : x.compareTo(y);
        }
        return a.compareTo(b);
    }
}
