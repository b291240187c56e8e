package io.flowmonkey.engine;

import io.flowmonkey.execution.ExecutionStore;
import io.flowmonkey.memory.InMemoryExecutionStore;
import java.time.Clock;

/** Retry, restart and bulk operations on {@link InMemoryExecutionStore}. */
class InMemoryOperateTest extends AbstractOperateTest {

    @Override
    ExecutionStore newStore(Clock clock) {
        return new InMemoryExecutionStore(clock);
    }
}
