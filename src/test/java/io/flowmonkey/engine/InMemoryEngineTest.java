package io.flowmonkey.engine;

import io.flowmonkey.execution.ExecutionStore;
import io.flowmonkey.memory.InMemoryExecutionStore;
import java.time.Clock;

/** The engine suite on {@link InMemoryExecutionStore}. */
class InMemoryEngineTest extends AbstractEngineTest {

    /** One map per test, shared by every engine of that test, as a database would be. */
    private InMemoryExecutionStore shared;

    @Override
    ExecutionStore newStore(Clock clock) {
        if (shared == null) {
            shared = new InMemoryExecutionStore(clock);
        }
        return shared;
    }
}
