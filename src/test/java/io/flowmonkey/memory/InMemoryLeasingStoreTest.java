package io.flowmonkey.memory;

import io.flowmonkey.engine.MutableClock;
import io.flowmonkey.execution.LeasingExecutionStore;
import io.flowmonkey.execution.LeasingStoreContract;
import static org.assertj.core.api.Assertions.assertThat;

import io.flowmonkey.execution.Execution;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

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

    @Test
    void stamps_and_leases_are_kept_to_the_millisecond_as_postgresql_keeps_them() {
        clock.set(Instant.parse("2026-03-01T10:00:00.123456789Z"));
        Execution saved = store.save(execution().createdAt(Instant.parse("2026-03-01T09:00:00Z")).build());

        Execution claimed = store.claimDue("w", List.of(new LeasingExecutionStore.FlowVersion("flow", "1")),
                Duration.ofSeconds(30), 1).executions().get(0);

        assertThat(saved.updatedAt()).isEqualTo(Instant.parse("2026-03-01T10:00:00.123Z"));
        assertThat(claimed.leaseExpiresAt()).isEqualTo(Instant.parse("2026-03-01T10:00:30.123Z"));
        // In the lease's last millisecond it is over, as PostgreSQL compares epoch milliseconds; with the
        // clock's nanoseconds kept it would still run for another 356 microseconds.
        clock.set(Instant.parse("2026-03-01T10:00:30.1231Z"));
        assertThat(store.claimDue("x", List.of(new LeasingExecutionStore.FlowVersion("flow", "1")),
                Duration.ofSeconds(30), 1).executions()).extracting(Execution::id).containsExactly(saved.id());
    }
}
