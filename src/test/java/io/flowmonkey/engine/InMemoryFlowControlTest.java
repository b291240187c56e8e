package io.flowmonkey.engine;

import io.flowmonkey.execution.LeasingExecutionStore;
import io.flowmonkey.memory.InMemoryExecutionStore;
import java.time.Clock;
import java.time.Duration;

/** Flow control on {@link InMemoryExecutionStore}, whose claims go by the test clock. */
class InMemoryFlowControlTest extends AbstractFlowControlTest {

    @Override
    LeasingExecutionStore newStore(Clock clock) {
        return new InMemoryExecutionStore(clock);
    }

    @Override
    void passTimeForTheStore(String id, Duration d) {
        clock.advance(d);
    }
}
