package io.flowmonkey.engine;

import io.flowmonkey.execution.SignalStore;
import io.flowmonkey.memory.InMemoryExecutionStore;
import java.time.Clock;

/** Child flows, signals and results on {@link InMemoryExecutionStore}. */
class InMemoryChildFlowsAndSignalsTest extends AbstractChildFlowsAndSignalsTest {

    @Override
    SignalStore newStore(Clock clock) {
        return new InMemoryExecutionStore(clock);
    }
}
