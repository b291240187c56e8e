package io.flowmonkey.memory;

import io.flowmonkey.execution.ExecutionStore;
import io.flowmonkey.execution.ExecutionStoreContract;
import org.junit.jupiter.api.BeforeEach;

class InMemoryExecutionStoreTest extends ExecutionStoreContract {

    private InMemoryExecutionStore store;

    @BeforeEach
    void newStore() {
        store = new InMemoryExecutionStore();
    }

    @Override
    protected ExecutionStore store() {
        return store;
    }
    @Override
    protected ExecutionStore storeWithClock(java.time.Clock clock) {
        return new InMemoryExecutionStore(clock);
    }
}
