package io.flowmonkey.engine;

/**
 * Counters of one {@link EngineWorker} since it started. A snapshot: the numbers do not change.
 *
 * <p>Each run of a claimed execution ends in exactly one of: {@code completed}, {@code failed},
 * {@code cancelled}, {@code waited} (what the execution did), {@code interrupted} (the worker stopped),
 * {@code leaseLost} (someone else took it over) or {@code errors} (the worker or store failed). A
 * user's cancel of an execution this worker runs counts as {@code cancelled}, not as a lost lease.
 *
 * @param claimed executions claimed
 * @param completed runs that ended with the execution completed
 * @param failed runs that ended with the execution failed (a step's failure, not the worker's)
 * @param cancelled runs that ended with the execution cancelled: by a timeout, or by a cancel made
 *     elsewhere while this worker ran it (its step result was discarded)
 * @param waited runs that ended with the execution waiting (a timed wait, a signal, a retry backoff)
 * @param interrupted runs cut short by {@link EngineWorker#close()}; their steps were not saved
 * @param errors runs that threw (a store failure, an engine error); their executions are claimed again
 *     when the lease ends
 * @param leaseLost executions whose lease passed to another worker or writer while this one ran them
 * @param setAside claimed rows that could not be read and were set aside for good
 * @param wakeupsByNotify times the worker looked for work because a notice said some was due
 * @param wakeupsByPoll times the worker looked for work because its poll interval passed
 * @param wakeupsByDeadline times the worker looked for work because the earliest timed wait fell due
 * @param inFlight executions being run right now (their last save committing included), or claimed ahead
 *     and waiting for a runner
 */
public record WorkerStats(long claimed, long completed, long failed, long cancelled, long waited, long interrupted,
                          long errors, long leaseLost, long setAside, long wakeupsByNotify, long wakeupsByPoll,
                          long wakeupsByDeadline, int inFlight) {
}
