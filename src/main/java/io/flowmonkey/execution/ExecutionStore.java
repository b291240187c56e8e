package io.flowmonkey.execution;

import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

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
}
