package io.flowmonkey.memory;

import io.flowmonkey.engine.MutableClock;
import io.flowmonkey.execution.LeasingExecutionStore;
import io.flowmonkey.execution.LeasingStoreContract;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.BeforeEach;

/** The lease contract in memory, whose leases are timed by a clock the tests move. */
class InMemoryLeasingStoreTest extends LeasingStoreContract {

    private final MutableClock clock = new MutableClock();
    private InMemoryExecutionStore store;

    @BeforeEach
    void newStore() {
        store = new InMemoryExecutionStore(clock);
    }

    @Override
    protected LeasingExecutionStore store() {
        return store;
    }

    @Override
    protected Instant now() {
        return clock.instant();
    }

    @Override
    protected void elapse(Duration d) {
        clock.advance(d);
    }
}
