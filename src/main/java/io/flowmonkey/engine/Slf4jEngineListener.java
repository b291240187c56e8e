package io.flowmonkey.engine;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** {@link EngineListener#logging()}: one line per event, at a level by how much an operator cares. */
final class Slf4jEngineListener implements EngineListener {

    static final String LOGGER_NAME = "io.flowmonkey.events";
    static final Slf4jEngineListener INSTANCE = new Slf4jEngineListener(LoggerFactory.getLogger(LOGGER_NAME));

    private final Logger log;

    Slf4jEngineListener(Logger log) {
        this.log = log;
    }

    @Override
    public void onEvent(EngineEvent event) {
        if (event instanceof EngineEvent.StepFailed e) {
            log.warn("Step '{}' of execution {} (flow '{}' version '{}') failed on attempt {} with {} after {} ms",
                    e.stepId(), e.executionId(), e.flowId(), e.flowVersion(), e.attempt(), e.errorCode(),
                    e.duration().toMillis());
        } else if (event instanceof EngineEvent.ExecutionFailed e) {
            log.warn("Execution {} (flow '{}' version '{}') failed at step '{}' with {}", e.executionId(), e.flowId(),
                    e.flowVersion(), e.stepId(), e.errorCode());
        } else if (event instanceof EngineEvent.LeaseLost e) {
            log.warn("Worker {} lost execution {} (flow '{}' version '{}') to {}", e.workerId(), e.executionId(),
                    e.flowId(), e.flowVersion(), e.takenBy() != null ? e.takenBy() : "another writer");
        } else if (event instanceof EngineEvent.ExecutionSetAside e) {
            log.warn("Execution {} was set aside: column {} cannot be read", e.executionId(), e.column());
        } else if (event instanceof EngineEvent.StepRetrying e) {
            log.info("Step '{}' of execution {} (flow '{}' version '{}') failed on attempt {} with {}; retry at {}",
                    e.stepId(), e.executionId(), e.flowId(), e.flowVersion(), e.attempt(), e.errorCode(), e.retryAt());
        } else if (event instanceof EngineEvent.ExecutionCancelled e) {
            log.info("Execution {} (flow '{}' version '{}') was cancelled by {}", e.executionId(), e.flowId(),
                    e.flowVersion(), e.source());
        } else if (event instanceof EngineEvent.ExecutionRetried e) {
            log.info("Execution {} (flow '{}' version '{}') was retried from step '{}'", e.executionId(), e.flowId(),
                    e.flowVersion(), e.stepId());
        } else if (log.isDebugEnabled()) {
            // The record's own text: ids, names, codes, times and durations only, by the events' design.
            log.debug("{}", event);
        }
    }
}
