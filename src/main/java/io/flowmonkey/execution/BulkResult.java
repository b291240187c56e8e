package io.flowmonkey.execution;

/**
 * What a bulk operation by query did, such as {@link ExecutionStore#deleteAll(ExecutionQuery)}.
 *
 * @param matched the executions the query found
 * @param changed those the operation changed (deleted, cancelled, queued for retry)
 * @param skipped those left alone: they changed between being found and being acted on (a race with
 *     another writer), so that they no longer qualified, or they were gone
 */
public record BulkResult(long matched, long changed, long skipped) {

    /** Nothing matched. */
    public static final BulkResult EMPTY = new BulkResult(0, 0, 0);

    /**
     * Validates the counts.
     *
     * @param matched the executions the query found
     * @param changed those the operation changed
     * @param skipped those left alone
     * @throws IllegalArgumentException if a count is negative or they do not add up
     */
    public BulkResult {
        if (matched < 0 || changed < 0 || skipped < 0 || changed + skipped != matched) {
            throw new IllegalArgumentException("counts must be non-negative with changed + skipped = matched, got "
                    + matched + " matched, " + changed + " changed, " + skipped + " skipped");
        }
    }

    /**
     * Adds another batch's counts.
     *
     * @param other the batch
     * @return the sums
     */
    public BulkResult plus(BulkResult other) {
        return new BulkResult(matched + other.matched, changed + other.changed, skipped + other.skipped);
    }
}
