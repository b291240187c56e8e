package io.flowmonkey.postgres;

import io.flowmonkey.execution.Execution;
import io.flowmonkey.testing.PostgresExtension;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/** Waits until a due-work subscription hears notices, for tests that must not send one before it listens. */
final class DueWorkProbe {

    private DueWorkProbe() {
    }

    /**
     * Saves pending probes until the subscription hears one, then forgets the probes and the rows.
     *
     * @param store the store that saves the probes
     * @param newExecution a new pending execution, per probe
     * @param pg the database, whose executions table is emptied afterwards
     * @param heard where the subscription records what it hears
     * @throws Exception if waiting fails, or nothing is heard within 10 s
     */
    static void awaitListening(PgExecutionStore store, Supplier<Execution> newExecution, PostgresExtension pg,
                               BlockingQueue<String> heard) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            String probe = store.save(newExecution.get()).id();
            // Notices arrive in commit order: once this probe is heard, every earlier one is queued too.
            for (String h = heard.poll(200, TimeUnit.MILLISECONDS); h != null; h = heard.poll(50, TimeUnit.MILLISECONDS)) {
                if (h.equals(probe + "@now")) {
                    heard.clear();
                    pg.execute("DELETE FROM executions");
                    return;
                }
            }
        }
        throw new AssertionError("the subscription heard nothing within 10 s");
    }
}
