package io.flowmonkey.memory;

import io.flowmonkey.execution.SignalStore;
import io.flowmonkey.execution.SignalStoreContract;
import org.junit.jupiter.api.BeforeEach;

class InMemorySignalStoreTest extends SignalStoreContract {

    private InMemoryExecutionStore store;

    @BeforeEach
    void newStore() {
        store = new InMemoryExecutionStore();
    }

    @Override
    protected SignalStore store() {
        return store;
    }
}
