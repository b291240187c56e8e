package io.flowmonkey.engine;

import io.flowmonkey.execution.ExecutionStatus;
import java.time.Instant;
import java.util.Objects;

/**
 * Why an execution is where it is, as {@link Engine#diagnose(String)} found it: a kind to act on in
 * code, and one sentence for a person, such as {@code "due in 42 s"},
 * {@code "leased by orders-3 until 2026-03-01T10:00:00Z"} or {@code "no live worker serves order-flow@2"}.
 *
 * @param executionId the execution
 * @param status its status; null when its row cannot be read
 * @param kind what holds it, or that nothing does
 * @param sentence the explanation, one sentence without a final full stop
 * @param at the time the sentence is about (when it is due, its lease ends, it started waiting, it
 *     ended, was set aside), or null when there is none
 */
public record Diagnosis(String executionId, ExecutionStatus status, Kind kind, String sentence, Instant at) {

    /**
     * Checks the parts.
     *
     * @param executionId the execution
     * @param status its status, or null
     * @param kind what holds it
     * @param sentence the explanation
     * @param at the time it is about, or null
     * @throws NullPointerException if the id, kind or sentence is null
     */
    public Diagnosis {
        Objects.requireNonNull(executionId, "executionId must not be null");
        Objects.requireNonNull(kind, "kind must not be null");
        Objects.requireNonNull(sentence, "sentence must not be null");
    }

    /** What holds an execution, or that it has ended. */
    public enum Kind {
        /** Completed; nothing more runs. */
        COMPLETED,
        /** Failed; {@link Engine#retry(String)} continues it. */
        FAILED,
        /** Cancelled. */
        CANCELLED,
        /** Due now and not claimed yet, by a worker that serves it (or the store cannot tell who serves it). */
        DUE,
        /** Due at a known time that has not come. */
        DUE_LATER,
        /** Due (now or later), but no live worker serves its flow version. */
        NO_LIVE_WORKER,
        /** A worker holds its lease and runs it. */
        LEASED,
        /** Running or cancelling without a lease: a caller's thread runs it, or its process died. */
        RUNNING_UNLEASED,
        /** Pausing before its next attempt of a failed step. */
        RETRY_BACKOFF,
        /** Waiting for a named signal that has not arrived. */
        WAITING_FOR_SIGNAL,
        /** Waiting for child executions that have not all ended. */
        WAITING_FOR_CHILDREN,
        /** Waiting, without a wake-up time, for {@link Engine#resume(String, java.util.Map)}. */
        WAITING_FOR_RESUME,
        /** Set aside: a column of its row could not be read, and no worker claims it until it is restored. */
        SET_ASIDE,
        /** A column of its row cannot be read; the next worker that claims it sets it aside. */
        UNREADABLE
    }
}
