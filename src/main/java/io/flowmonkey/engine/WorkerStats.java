package io.flowmonkey.engine;

/**
 * Counters of one {@link EngineWorker} since it started. A snapshot: the numbers do not change.
 *
 * @param claimed executions claimed
 * @param completed runs that returned: the execution advanced until it waited or ended
 * @param failed runs that threw (store failures, interrupted handlers); their executions are claimed again
 * @param leaseLost executions whose lease passed to another worker while this one ran them
 * @param wakeupsByNotify times the worker looked for work because a notice said some was due
 * @param wakeupsByPoll times the worker looked for work because its poll interval passed
 * @param inFlight executions being run right now
 */
public record WorkerStats(long claimed, long completed, long failed, long leaseLost, long wakeupsByNotify,
                          long wakeupsByPoll, int inFlight) {
}
