package io.flowmonkey.engine;

import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.ExecutionStore;
import io.flowmonkey.execution.StoreException;
import io.flowmonkey.execution.BulkResult;
import io.flowmonkey.execution.ExecutionQuery;
import io.flowmonkey.execution.Page;
import java.util.stream.Stream;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * Delegates to a real store, counts saves, and can simulate a crash: the save numbered
 * {@code failingSave} throws before reaching the store.
 */
final class FaultyStore implements ExecutionStore {

    private final ExecutionStore delegate;
    private final AtomicInteger saves = new AtomicInteger();
    private final AtomicInteger loads = new AtomicInteger();
    private volatile int failingSave;
    private volatile Consumer<Execution> beforeSave = e -> { };

    FaultyStore(ExecutionStore delegate) {
        this.delegate = delegate;
    }

    /** Makes the n-th save from now throw, as if the process died on it. */
    void failOnSave(int n) {
        failingSave = saves.get() + n;
    }

    /** Runs {@code hook} before every save reaches the store, as if another process acted just then. */
    void beforeSave(Consumer<Execution> hook) {
        beforeSave = hook;
    }

    int saves() {
        return saves.get();
    }

    int loads() {
        return loads.get();
    }

    @Override
    public Execution save(Execution e) {
        if (saves.incrementAndGet() == failingSave) {
            throw new StoreException(e.id(), "simulated crash on save " + failingSave);
        }
        beforeSave.accept(e);
        return delegate.save(e);
    }

    @Override
    public List<Execution> saveAll(Collection<Execution> es) {
        throw new UnsupportedOperationException("the engine saves one execution at a time");
    }

    @Override
    public Optional<Execution> load(String id) {
        loads.incrementAndGet();
        return delegate.load(id);
    }

    @Override
    public boolean delete(String id) {
        return delegate.delete(id);
    }

    @Override
    public Optional<Execution> findByIdempotencyKey(String key) {
        return delegate.findByIdempotencyKey(key);
    }

    @Override
    public List<Execution> findByStatus(ExecutionStatus status, int limit) {
        return delegate.findByStatus(status, limit);
    }

    @Override
    public List<Execution> findByTenant(String tenantId, int limit) {
        return delegate.findByTenant(tenantId, limit);
    }

    @Override
    public List<Execution> findWakeReady(Instant now, int limit) {
        return delegate.findWakeReady(now, limit);
    }

    @Override
    public List<Execution> findChildren(String parentExecutionId) {
        return delegate.findChildren(parentExecutionId);
    }

    // ---- Query and bulk delete (issue 12): delegated as they are ----

    @Override
    public Page<Execution> query(ExecutionQuery q) {
        return delegate.query(q);
    }

    @Override
    public long count(ExecutionQuery q) {
        return delegate.count(q);
    }

    @Override
    public Stream<Execution> stream(ExecutionQuery q) {
        return delegate.stream(q);
    }

    @Override
    public BulkResult deleteAll(ExecutionQuery q) {
        return delegate.deleteAll(q);
    }
}
