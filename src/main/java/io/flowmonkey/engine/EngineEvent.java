package io.flowmonkey.engine;

import io.flowmonkey.execution.Cancellation;
import io.flowmonkey.execution.ExecutionStatus;
import java.time.Duration;
import java.time.Instant;

/**
 * Something that happened to an execution, told to every {@link EngineListener}: small, immutable
 * values that name the execution, its flow and what happened, never its context, outputs, signal data
 * or error messages (which may hold what a log or a metric must not). Times are the engine's
 * {@link EngineOptions#clock() clock}.
 *
 * <p>Events are told on the thread that made them happen, right after it did (a step's outcome, for
 * example, once its save has succeeded), so a listener sees the events of one execution in order. A
 * run that loses its race to another writer ({@link io.flowmonkey.execution.ConcurrentUpdateException})
 * has told {@link StepStarted} with no outcome after it; {@link RunEnded} says so with its
 * {@link RunEnded#thrown()}.
 *
 * <p>Match on the type, for example {@code if (event instanceof EngineEvent.StepFailed failed)}; the
 * set of types is closed ({@code sealed}), and {@link #type()} names each one for logs and tags.
 */
public sealed interface EngineEvent {

    /**
     * Returns the id of the execution the event is about.
     *
     * @return the id
     */
    String executionId();

    /**
     * Returns the id of the execution's flow.
     *
     * @return the flow id, or null where the event says it is unknown
     */
    String flowId();

    /**
     * Returns the version of the execution's flow.
     *
     * @return the version, or null where the event says it is unknown
     */
    String flowVersion();

    /**
     * Returns when it happened, by the engine's clock.
     *
     * @return the time
     */
    Instant at();

    /**
     * Returns which kind of event this is.
     *
     * @return the type
     */
    Type type();

    /** The kinds of event, each with a stable lower-case name for logs and metric tags. */
    enum Type {
        /** {@link ExecutionCreated}. */
        CREATED("created"),
        /** {@link ExecutionClaimed}. */
        CLAIMED("claimed"),
        /** {@link RunStarted}. */
        RUN_STARTED("run.started"),
        /** {@link ExecutionWoken}. */
        WOKEN("woken"),
        /** {@link StepStarted}. */
        STEP_STARTED("step.started"),
        /** {@link StepSucceeded}. */
        STEP_SUCCEEDED("step.succeeded"),
        /** {@link StepFailed}. */
        STEP_FAILED("step.failed"),
        /** {@link StepRetrying}. */
        STEP_RETRYING("step.retrying"),
        /** {@link ExecutionWaiting}. */
        WAITING("waiting"),
        /** {@link SignalSent}. */
        SIGNALLED("signalled"),
        /** {@link ExecutionRetried}. */
        RETRIED("retried"),
        /** {@link ExecutionCompleted}. */
        COMPLETED("completed"),
        /** {@link ExecutionFailed}. */
        FAILED("failed"),
        /** {@link ExecutionCancelled}. */
        CANCELLED("cancelled"),
        /** {@link RunEnded}. */
        RUN_ENDED("run.ended"),
        /** {@link LeaseLost}. */
        LEASE_LOST("lease.lost"),
        /** {@link ExecutionSetAside}. */
        SET_ASIDE("set.aside");

        private final String tagValue;

        Type(String tagValue) {
            this.tagValue = tagValue;
        }

        /**
         * Returns the stable name of this kind, such as {@code step.succeeded}.
         *
         * @return the name
         */
        public String tagValue() {
            return tagValue;
        }
    }

    /** What ended a wait, in {@link ExecutionWoken}. */
    enum WakeCause {
        /** A timed wait's {@code wakeAt} passed. */
        TIMER,
        /** A retry's backoff passed: the next attempt runs. */
        RETRY,
        /** {@link Engine#resume(String, java.util.Map)} ended the wait. */
        RESUME,
        /** A signal of the awaited name was consumed. */
        SIGNAL,
        /** The awaited child executions ended. */
        CHILDREN
    }

    /**
     * An execution was stored for the first time: by {@link Engine#create}, as a child a step started,
     * or as the fork {@link Engine#restartFrom} made. A create that returned an existing execution
     * (idempotency key, chosen id) tells nothing.
     *
     * @param executionId the execution
     * @param flowId its flow
     * @param flowVersion its flow's version
     * @param at when it was stored
     * @param parentExecutionId its parent, or null
     */
    record ExecutionCreated(String executionId, String flowId, String flowVersion, Instant at,
                            String parentExecutionId) implements EngineEvent {
        @Override
        public Type type() {
            return Type.CREATED;
        }
    }

    /**
     * An {@link EngineWorker} claimed an execution, about to run it.
     *
     * @param executionId the execution
     * @param flowId its flow
     * @param flowVersion its flow's version
     * @param at when the claim returned
     * @param workerId the worker
     * @param status its status as claimed: {@code PENDING} (new work), {@code WAITING} (a due wait or a
     *     buffered signal), {@code RUNNING} or {@code CANCELLING} (abandoned by a worker that died)
     * @param dueAt since when it was due, where that is known: {@code updatedAt} (its last save) for a pending
     *     execution, {@code wakeAt} for a timed wait; otherwise null. {@code at - dueAt} is how late it was
     *     claimed.
     */
    record ExecutionClaimed(String executionId, String flowId, String flowVersion, Instant at, String workerId,
                            ExecutionStatus status, Instant dueAt) implements EngineEvent {
        @Override
        public Type type() {
            return Type.CLAIMED;
        }
    }

    /**
     * A caller or worker began to advance an execution ({@link Engine#run(String)}, a worker's run,
     * {@link Engine#resume}, {@link Engine#retry}, ...). Always followed, on the same thread, by
     * {@link RunEnded}, whatever happens in between.
     *
     * @param executionId the execution
     * @param flowId its flow
     * @param flowVersion its flow's version
     * @param at when the run began
     * @param status its status then
     */
    record RunStarted(String executionId, String flowId, String flowVersion, Instant at, ExecutionStatus status)
            implements EngineEvent {
        @Override
        public Type type() {
            return Type.RUN_STARTED;
        }
    }

    /**
     * A wait ended and the execution runs on. Not saved on its own: the next step's save carries it.
     *
     * @param executionId the execution
     * @param flowId its flow
     * @param flowVersion its flow's version
     * @param at when the wait ended here
     * @param stepId the step that waited
     * @param cause what ended it
     * @param wakeAt the wait's wake-up time, or null for a wait without one; {@code at - wakeAt} is how late
     *     it was woken
     */
    record ExecutionWoken(String executionId, String flowId, String flowVersion, Instant at, String stepId,
                          WakeCause cause, Instant wakeAt) implements EngineEvent {
        @Override
        public Type type() {
            return Type.WOKEN;
        }
    }

    /**
     * A step's handler is about to be called.
     *
     * @param executionId the execution
     * @param flowId its flow
     * @param flowVersion its flow's version
     * @param at when the attempt started
     * @param stepId the step
     * @param attempt the attempt, from 1 ({@link StepContext#attempt()})
     */
    record StepStarted(String executionId, String flowId, String flowVersion, Instant at, String stepId,
                       int attempt) implements EngineEvent {
        @Override
        public Type type() {
            return Type.STEP_STARTED;
        }
    }

    /**
     * A step's attempt succeeded and its outcome is saved: it returned a success, or asked to wait,
     * await a signal or start children, and the execution went on accordingly.
     *
     * @param executionId the execution
     * @param flowId its flow
     * @param flowVersion its flow's version
     * @param at when the attempt ended
     * @param stepId the step
     * @param attempt the attempt, from 1
     * @param duration how long the handler took
     */
    record StepSucceeded(String executionId, String flowId, String flowVersion, Instant at, String stepId,
                         int attempt, Duration duration) implements EngineEvent {
        @Override
        public Type type() {
            return Type.STEP_SUCCEEDED;
        }
    }

    /**
     * A step's attempt failed for good and that is saved: no retry is left, so the execution either
     * moves to the step's {@link Step#onFailure()} or fails ({@link ExecutionFailed} follows).
     *
     * @param executionId the execution
     * @param flowId its flow
     * @param flowVersion its flow's version
     * @param at when the attempt ended
     * @param stepId the step
     * @param attempt the attempt, from 1
     * @param errorCode the failure's code, such as {@link Engine#HANDLER_ERROR}
     * @param duration how long the handler took
     */
    record StepFailed(String executionId, String flowId, String flowVersion, Instant at, String stepId,
                      int attempt, String errorCode, Duration duration) implements EngineEvent {
        @Override
        public Type type() {
            return Type.STEP_FAILED;
        }
    }

    /**
     * A step's attempt failed and its {@link RetryPolicy} retries it: the execution is saved waiting
     * until {@code retryAt}.
     *
     * @param executionId the execution
     * @param flowId its flow
     * @param flowVersion its flow's version
     * @param at when the attempt ended
     * @param stepId the step
     * @param attempt the attempt that failed, from 1
     * @param errorCode the failure's code
     * @param duration how long the handler took
     * @param retryAt when the next attempt is due (earlier if a timeout falls before it)
     */
    record StepRetrying(String executionId, String flowId, String flowVersion, Instant at, String stepId,
                        int attempt, String errorCode, Duration duration, Instant retryAt) implements EngineEvent {
        @Override
        public Type type() {
            return Type.STEP_RETRYING;
        }
    }

    /**
     * An execution was saved waiting after a step asked for it (a retry wait tells {@link StepRetrying}
     * instead).
     *
     * @param executionId the execution
     * @param flowId its flow
     * @param flowVersion its flow's version
     * @param at when the wait was saved
     * @param stepId the waiting step
     * @param wakeAt when it wakes by itself (its time, or a timeout), or null for none
     * @param signalName the signal it awaits ({@code flowmonkey.childEnded} for children), or null
     */
    record ExecutionWaiting(String executionId, String flowId, String flowVersion, Instant at, String stepId,
                            Instant wakeAt, String signalName) implements EngineEvent {
        @Override
        public Type type() {
            return Type.WAITING;
        }
    }

    /**
     * {@link Engine#signal} stored a signal for an execution.
     *
     * @param executionId the execution
     * @param flowId its flow
     * @param flowVersion its flow's version
     * @param at when it was stored
     * @param signalName the signal's name
     */
    record SignalSent(String executionId, String flowId, String flowVersion, Instant at, String signalName)
            implements EngineEvent {
        @Override
        public Type type() {
            return Type.SIGNALLED;
        }
    }

    /**
     * {@link Engine#retry} or {@link Engine#retryAll} rewound a failed execution to its failed step and
     * saved it.
     *
     * @param executionId the execution
     * @param flowId its flow
     * @param flowVersion its flow's version
     * @param at when it was saved
     * @param stepId the step it continues from
     */
    record ExecutionRetried(String executionId, String flowId, String flowVersion, Instant at, String stepId)
            implements EngineEvent {
        @Override
        public Type type() {
            return Type.RETRIED;
        }
    }

    /**
     * An execution was saved completed.
     *
     * @param executionId the execution
     * @param flowId its flow
     * @param flowVersion its flow's version
     * @param at when it was saved
     * @param duration from its {@code createdAt} to {@code at}
     */
    record ExecutionCompleted(String executionId, String flowId, String flowVersion, Instant at, Duration duration)
            implements EngineEvent {
        @Override
        public Type type() {
            return Type.COMPLETED;
        }
    }

    /**
     * An execution was saved failed.
     *
     * @param executionId the execution
     * @param flowId its flow
     * @param flowVersion its flow's version
     * @param at when it was saved
     * @param stepId the step its error names, or null
     * @param errorCode its error's code
     * @param duration from its {@code createdAt} to {@code at}
     */
    record ExecutionFailed(String executionId, String flowId, String flowVersion, Instant at, String stepId,
                           String errorCode, Duration duration) implements EngineEvent {
        @Override
        public Type type() {
            return Type.FAILED;
        }
    }

    /**
     * An execution was saved cancelled (its children, if any, were cancelled before it).
     *
     * @param executionId the execution
     * @param flowId its flow
     * @param flowVersion its flow's version
     * @param at when it was saved
     * @param source who cancelled it; null if the row held no cancellation
     * @param duration from its {@code createdAt} to {@code at}
     */
    record ExecutionCancelled(String executionId, String flowId, String flowVersion, Instant at,
                              Cancellation.Source source, Duration duration) implements EngineEvent {
        @Override
        public Type type() {
            return Type.CANCELLED;
        }
    }

    /**
     * The run that {@link RunStarted} told of has returned or thrown.
     *
     * @param executionId the execution
     * @param flowId its flow
     * @param flowVersion its flow's version
     * @param at when it ended
     * @param status the status of the execution the run returned; if it threw, the status it began
     *     with (steps it saved before it threw stay saved)
     * @param duration from the run's start
     * @param thrown the class name of what the run threw (for example
     *     {@code io.flowmonkey.execution.ConcurrentUpdateException}), or null if it returned
     */
    record RunEnded(String executionId, String flowId, String flowVersion, Instant at, ExecutionStatus status,
                    Duration duration, String thrown) implements EngineEvent {
        @Override
        public Type type() {
            return Type.RUN_ENDED;
        }
    }

    /**
     * An {@link EngineWorker} found that an execution it ran was taken over by another worker or
     * writer (not a cancel): its step result is not saved and runs again there.
     *
     * @param executionId the execution
     * @param flowId its flow, or null if the stored row could not be read
     * @param flowVersion its flow's version, or null if the stored row could not be read
     * @param at when the loss was found
     * @param workerId the worker that lost it
     * @param takenBy the worker that holds it now, or null if unknown or none
     */
    record LeaseLost(String executionId, String flowId, String flowVersion, Instant at, String workerId,
                     String takenBy) implements EngineEvent {
        @Override
        public Type type() {
            return Type.LEASE_LOST;
        }
    }

    /**
     * A row that cannot be read was set aside, so that no claim or wake-up look finds it again until an
     * operator restores it ({@link io.flowmonkey.execution.LeasingExecutionStore#restoreSetAside}).
     *
     * @param executionId the execution
     * @param flowId its flow, or null when the execution's own row is what cannot be read
     * @param flowVersion its flow's version, or null likewise
     * @param at when it was set aside, by the engine's clock
     * @param column the column that cannot be read
     */
    record ExecutionSetAside(String executionId, String flowId, String flowVersion, Instant at, String column)
            implements EngineEvent {
        @Override
        public Type type() {
            return Type.SET_ASIDE;
        }
    }
}
