package io.flowmonkey.engine;

import java.time.Duration;
import java.util.Objects;

/**
 * One call of the engine or of an {@link EngineWorker} to its store, as told to
 * {@link EngineListener#onStoreCall(StoreCall)}: which operation, how long it took, and how it ended.
 *
 * @param operation what was called
 * @param duration how long the call took, on the calling thread
 * @param outcome how it ended
 */
public record StoreCall(Operation operation, Duration duration, Outcome outcome) {

    /**
     * Checks the components.
     *
     * @param operation what was called
     * @param duration how long the call took
     * @param outcome how it ended
     * @throws NullPointerException if any is null
     */
    public StoreCall {
        Objects.requireNonNull(operation, "operation must not be null");
        Objects.requireNonNull(duration, "duration must not be null");
        Objects.requireNonNull(outcome, "outcome must not be null");
    }

    /** The store operations that are timed. */
    public enum Operation {
        /** The first save of an execution by {@link Engine#create}. */
        CREATE,
        /** A save of a step's outcome, a wait or an end, with the signals and children it carries. */
        SAVE,
        /** A load of one execution by id. */
        LOAD,
        /** A worker's claim of due executions, one statement for a batch. */
        CLAIM;

        /**
         * Returns the lower-case name, for tags.
         *
         * @return the name
         */
        public String tagValue() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** How a store call ended. */
    public enum Outcome {
        /** It returned. */
        OK,
        /** It lost a race: {@link io.flowmonkey.execution.ConcurrentUpdateException} or a duplicate key. */
        CONFLICT,
        /** It threw anything else. */
        ERROR;

        /**
         * Returns the lower-case name, for tags.
         *
         * @return the name
         */
        public String tagValue() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }
}
