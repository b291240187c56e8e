package io.flowmonkey.engine;

import io.flowmonkey.execution.WaitMetadata;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How the engine's wait ends, as kept in {@link WaitMetadata#data()} under the keys the engine has
 * always written: {@code wake} ({@code resume}, {@code retry}, {@code timeout} or {@code start}), {@code attempt}
 * (the retry's attempt), {@code timeout} ({@code wait} or {@code execution}, for a timeout),
 * {@code signal} (the awaited signal's name), {@code children} (the ids of the children awaited) and
 * {@code policy} (their {@link ChildFailurePolicy}). Read with {@link #of}, written with
 * {@link #toData}; what rows hold is unchanged by this type, so rows written before it read the same.
 *
 * @param wake how the wait ends; {@code resume} when the data says nothing
 * @param attempt the attempt a retry runs, or null
 * @param timeout which timeout the wake-up time is, or null
 * @param signal the signal awaited, or null
 * @param children the ids of the children awaited, or null
 * @param policy the name of the children's {@link ChildFailurePolicy}, or null
 */
record WakeInfo(String wake, Integer attempt, String timeout, String signal, List<String> children, String policy) {

    static final String WAKE = "wake";
    static final String ATTEMPT = "attempt";
    static final String TIMEOUT = "timeout";
    static final String SIGNAL = "signal";
    static final String CHILDREN = "children";
    static final String POLICY = "policy";

    /** A wait that a resume, a signal or its time ends, continuing at the step's {@code onResume}. */
    static final String RESUME = "resume";
    /** A retry's pause: its end runs the same step again as {@link #attempt}. */
    static final String RETRY = "retry";
    /** A timeout: its end cancels the execution. */
    static final String TIMED_OUT = "timeout";
    /**
     * A scheduled start ({@link CreateOptions.Builder#startAt}): its end runs the step it waits at, the
     * flow's initial step, as its first attempt.
     */
    static final String START = "start";

    WakeInfo {
        children = children == null ? null : List.copyOf(children);
    }

    /** A plain wait (a handler's timed wait). */
    static WakeInfo resume() {
        return new WakeInfo(RESUME, null, null, null, null, null);
    }

    /** A scheduled start. */
    static WakeInfo start() {
        return new WakeInfo(START, null, null, null, null, null);
    }

    /** A retry's pause before {@code attempt}. */
    static WakeInfo retry(int attempt) {
        return new WakeInfo(RETRY, attempt, null, null, null, null);
    }

    /** A wait for the signal {@code name}. */
    static WakeInfo signal(String name) {
        return new WakeInfo(RESUME, null, null, name, null, null);
    }

    /** A wait for children, woken by the engine's own signal {@code name}. */
    static WakeInfo children(String name, List<String> ids, String policy) {
        return new WakeInfo(RESUME, null, null, name, ids, policy);
    }

    /** This wait, whose wake-up time is now the {@code kind} timeout ({@code wait} or {@code execution}). */
    WakeInfo timedOut(String kind) {
        return new WakeInfo(TIMED_OUT, attempt, kind, signal, children, policy);
    }

    boolean isRetry() {
        return RETRY.equals(wake);
    }

    boolean isStart() {
        return START.equals(wake);
    }

    boolean isTimeout() {
        return TIMED_OUT.equals(wake);
    }

    /** Reads a wait's data; no wait at all reads as {@link #resume()}. */
    static WakeInfo of(WaitMetadata wait) {
        return wait == null ? resume() : from(wait.data());
    }

    /** Reads the keys the engine writes; a value of another type reads as absent. */
    static WakeInfo from(Map<String, ?> data) {
        List<String> ids = null;
        if (data.get(CHILDREN) instanceof List<?> listed) {
            ids = new ArrayList<>();
            for (Object id : listed) {
                ids.add(String.valueOf(id));
            }
        }
        return new WakeInfo(data.containsKey(WAKE) ? String.valueOf(data.get(WAKE)) : RESUME,
                data.get(ATTEMPT) instanceof Number n ? n.intValue() : null,
                data.get(TIMEOUT) instanceof String kind ? kind : null,
                data.get(SIGNAL) instanceof String name ? name : null,
                ids,
                data.get(POLICY) instanceof String name ? name : null);
    }

    /** The data to store: {@code wake}, then each other key that has a value. */
    Map<String, Object> toData() {
        Map<String, Object> data = new LinkedHashMap<>();
        data.put(WAKE, wake);
        putIfPresent(data, ATTEMPT, attempt);
        putIfPresent(data, SIGNAL, signal);
        putIfPresent(data, CHILDREN, children);
        putIfPresent(data, POLICY, policy);
        putIfPresent(data, TIMEOUT, timeout);
        return data;
    }

    private static void putIfPresent(Map<String, Object> data, String key, Object value) {
        if (value != null) {
            data.put(key, value);
        }
    }
}
