package io.flowmonkey.execution;

import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Where executions live. Implementations are thread-safe. What goes wrong in the store is a
 * {@link StoreException}; a bad argument is an {@code IllegalArgumentException} or, when null, a
 * {@code NullPointerException}, thrown before anything is written.
 *
 * <p>Saves are optimistic: an execution of version 0 is inserted, any other is updated only if the
 * stored version still equals it, and the returned copy carries the new version. A lost race is a
 * {@link ConcurrentUpdateException}, never a silent overwrite.
 *
 * <p>The idempotency key and its expiry are written by the insert only; updates leave them as
 * stored. When an expired key is reused, it is taken from the execution that held it.
 */
public interface ExecutionStore {

    /** How many rows the finder methods without a limit return. */
    int DEFAULT_LIMIT = 100;

    /**
     * Inserts (version 0) or updates (version matches the stored one) an execution.
     *
     * @param e the execution to store
     * @return the stored copy, its version incremented and {@code updatedAt} set to the save time
     * @throws DuplicateExecutionException on insert of an id that exists
     * @throws DuplicateIdempotencyKeyException if another unexpired execution holds the key
     * @throws ConcurrentUpdateException if the stored version differs from {@code e.version()}
     * @throws ExecutionNotFoundException on update of an execution that is not stored (deleted meanwhile)
     * @throws ExecutionDataException if a field cannot be stored
     */
    Execution save(Execution e);

    /**
     * Saves many executions at once, all or nothing, in one round trip per kind of write.
     *
     * @param es the executions, each inserted or updated as by {@link #save(Execution)}
     * @return the stored copies, in the order given
     * @throws StoreException as {@link #save(Execution)}; then none is saved
     */
    List<Execution> saveAll(Collection<Execution> es);

    /**
     * Loads an execution.
     *
     * @param id the execution id
     * @return the execution, or empty if none has that id
     */
    Optional<Execution> load(String id);

    /**
     * Deletes an execution, whatever its version.
     *
     * @param id the execution id
     * @return true if it existed
     */
    boolean delete(String id);

    /**
     * Finds the execution holding an unexpired idempotency key.
     *
     * @param key the idempotency key
     * @return the holder, or empty if no execution holds the key or it expired
     */
    Optional<Execution> findByIdempotencyKey(String key);

    /**
     * Finds up to {@value #DEFAULT_LIMIT} executions in a status, newest first.
     *
     * @param status the status
     * @return the executions, newest {@code createdAt} first
     */
    default List<Execution> findByStatus(ExecutionStatus status) {
        return findByStatus(status, DEFAULT_LIMIT);
    }

    /**
     * Finds executions in a status, newest first.
     *
     * @param status the status
     * @param limit the most rows to return, at least 1
     * @return the executions, newest {@code createdAt} first (ties by id, descending)
     */
    List<Execution> findByStatus(ExecutionStatus status, int limit);

    /**
     * Finds up to {@value #DEFAULT_LIMIT} executions of a tenant, newest first.
     *
     * @param tenantId the tenant
     * @return the executions, newest {@code createdAt} first
     */
    default List<Execution> findByTenant(String tenantId) {
        return findByTenant(tenantId, DEFAULT_LIMIT);
    }

    /**
     * Finds executions of a tenant, newest first.
     *
     * @param tenantId the tenant
     * @param limit the most rows to return, at least 1
     * @return the executions, newest {@code createdAt} first (ties by id, descending)
     */
    List<Execution> findByTenant(String tenantId, int limit);

    /**
     * Finds up to {@value #DEFAULT_LIMIT} waiting executions due to wake.
     *
     * @param now the time to compare {@code waitMetadata().wakeAt()} with
     * @return the executions, earliest {@code wakeAt} first
     */
    default List<Execution> findWakeReady(Instant now) {
        return findWakeReady(now, DEFAULT_LIMIT);
    }

    /**
     * Finds executions in status {@link ExecutionStatus#WAITING} whose {@code wakeAt} is at or before
     * {@code now}.
     *
     * @param now the time to compare {@code waitMetadata().wakeAt()} with
     * @param limit the most rows to return, at least 1
     * @return the executions, earliest {@code wakeAt} first
     */
    List<Execution> findWakeReady(Instant now, int limit);

    /**
     * Finds the executions started by another as sub-flows.
     *
     * @param parentExecutionId the parent's id
     * @return the children, oldest first
     */
    List<Execution> findChildren(String parentExecutionId);

    // ---- Query and operate (issue 12): listing, counting, exporting and deleting by ExecutionQuery ----

    /**
     * Returns one page of the executions that match the query's filters, after its
     * {@link ExecutionQuery#position() position}, newest {@code createdAt} first (ties by id, descending),
     * at most {@link ExecutionQuery#limit()} of them. Pass {@link Page#nextCursor()} to
     * {@link ExecutionQuery#after(String)} for the next page: paging is by keyset, so every page costs
     * the same however deep it is, and rows written meanwhile are neither skipped nor repeated.
     *
     * @param q the query
     * @return the page
     * @throws StoreException if the store fails
     */
    Page<Execution> query(ExecutionQuery q);

    /**
     * Counts the executions that match the query's filters (its position and limit are ignored). Exact;
     * its cost grows with the number of matches, so see {@link #countEstimate(ExecutionQuery)} for large
     * sets.
     *
     * @param q the query
     * @return how many executions match
     * @throws StoreException if the store fails
     */
    long count(ExecutionQuery q);

    /**
     * Estimates {@link #count(ExecutionQuery)} cheaply, for display beside large result sets ("about
     * 1.2 million"). An estimate may be off by a wide margin; a store without a cheaper way returns the
     * exact count, which this default does.
     *
     * @param q the query
     * @return an estimate of how many executions match, never negative
     * @throws StoreException if the store fails
     */
    default long countEstimate(ExecutionQuery q) {
        return count(q);
    }

    /**
     * Streams every execution that matches the query's filters, after its position, in the query's
     * order, with no page limit: for exports. A store reads ahead a bounded number of rows at a time,
     * so memory stays constant however many match. The stream holds store resources (for PostgreSQL a
     * connection and an open transaction) until it is closed: use it in try-with-resources, and on the
     * thread that opened it.
     *
     * @param q the query
     * @return the executions, to be closed after use
     * @throws StoreException if the store fails, when opened or while read
     */
    Stream<Execution> stream(ExecutionQuery q);

    /**
     * Deletes the executions that match the query's filters, after its position, in batches of
     * {@link ExecutionQuery#limit()}: each batch is found, then deleted in a statement of its own that
     * checks the filters again, so a row that stopped matching meanwhile is skipped, not deleted. No
     * batch holds locks past its own statement.
     *
     * @param q the query; its limit is the batch size
     * @return how many matched, were deleted, and were skipped
     * @throws StoreException if the store fails; batches deleted before stay deleted
     */
    BulkResult deleteAll(ExecutionQuery q);
}
