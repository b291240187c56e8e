package io.flowmonkey.memory;

import io.flowmonkey.execution.ExecutionQueryContract;
import io.flowmonkey.execution.ExecutionStore;
import java.time.Clock;

class InMemoryExecutionQueryTest extends ExecutionQueryContract {

    @Override
    protected ExecutionStore newStore(Clock clock) {
        return new InMemoryExecutionStore(clock);
    }
}
