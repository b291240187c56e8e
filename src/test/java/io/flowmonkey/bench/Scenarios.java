package io.flowmonkey.bench;

import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.LeasingExecutionStore;
import io.flowmonkey.postgres.PgExecutionStore;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import javax.sql.DataSource;

/**
 * The measured operations, each as a pair: the store's call and the raw-JDBC call running the same
 * SQL. Both sides of a pair do the same work on rows of the same shape.
 */
final class Scenarios {

    /** What the operations run against at one thread count: one pool, shared by both sides. */
    record Target(DataSource dataSource, PgExecutionStore store, RawJdbc raw) {
    }

    /**
     * One operation.
     *
     * @param key its name for {@code -Dbench.ops}
     * @param name its name in the report
     * @param rowsPerOp rows written or read per call (for rows/s)
     * @param ratioTarget the store ÷ raw ops/s the performance contract asks for, or 0 for none
     * @param expectedRoundTrips what one call should cost in round trips, for the report
     * @param store the store's side
     * @param raw the raw-JDBC side
     */
    record Scenario(String key, String name, int rowsPerOp, double ratioTarget, String expectedRoundTrips,
                    Function<Target, Measurement.OpFactory> store, Function<Target, Measurement.OpFactory> raw) {
    }

    static final int FIND_LIMIT = 100;
    static final int CLAIM_BATCH = 10;
    private static final List<LeasingExecutionStore.FlowVersion> CLAIM_FLOWS =
            List.of(new LeasingExecutionStore.FlowVersion(Fixtures.FLOW_ID, Fixtures.FLOW_VERSION));
    private static final java.time.Duration CLAIM_LEASE = java.time.Duration.ofMillis(1);
    static final int UPDATE_ROWS_PER_THREAD = 16;
    private static final ExecutionStatus[] FOUND_STATUSES = {ExecutionStatus.COMPLETED, ExecutionStatus.RUNNING,
        ExecutionStatus.WAITING, ExecutionStatus.FAILED, ExecutionStatus.PENDING};

    private final Fixtures fixtures;
    private final EngineScenarios engine;
    private final long rows;
    private final AtomicLong newIds = new AtomicLong();
    private final AtomicLong updateCursor = new AtomicLong();

    Scenarios(Fixtures fixtures, long rows) {
        this.fixtures = fixtures;
        this.engine = new EngineScenarios(fixtures, this::newId);
        this.rows = rows;
    }

    EngineScenarios engine() {
        return engine;
    }

    List<Scenario> all() {
        return List.of(
                new Scenario("save-insert", "save (insert)", 1, 0.85, "1",
                        t -> thread -> () -> t.store().save(fixtures.newExecution(newId(), tenant())),
                        t -> thread -> () -> t.raw().insert(newId(), tenant())),
                new Scenario("save-update", "save (update)", 1, 0.85, "1", this::storeUpdate, this::rawUpdate),
                new Scenario("load", "load", 1, 0.85, "1",
                        t -> thread -> () -> t.store().load(loadedId()).orElseThrow(),
                        t -> thread -> () -> require(t.raw().load(loadedId()))),
                new Scenario("find-status", "findByStatus(100)", FIND_LIMIT, 0, "1",
                        t -> thread -> () -> t.store().findByStatus(status(), FIND_LIMIT),
                        t -> thread -> () -> t.raw().findByStatus(status().wireName(), FIND_LIMIT)),
                // The same list through PgExecutionStore.decodingOnAccess(): context and history are
                // decoded only when used, which a list that shows ids and statuses never does.
                new Scenario("find-status-deferred", "findByStatus(100), decodingOnAccess", FIND_LIMIT, 0, "1",
                        t -> {
                            PgExecutionStore deferring = t.store().decodingOnAccess();
                            return thread -> () -> deferring.findByStatus(status(), FIND_LIMIT);
                        },
                        t -> thread -> () -> t.raw().findByStatus(status().wireName(), FIND_LIMIT)),
                new Scenario("find-tenant", "findByTenant(100)", FIND_LIMIT, 0, "1",
                        t -> thread -> () -> t.store().findByTenant(tenant(), FIND_LIMIT),
                        t -> thread -> () -> t.raw().findByTenant(tenant(), FIND_LIMIT)),
                new Scenario("find-wake", "findWakeReady(100)", FIND_LIMIT, 0, "1",
                        t -> thread -> () -> t.store().findWakeReady(Instant.now(), FIND_LIMIT),
                        t -> thread -> () -> t.raw().findWakeReady(System.currentTimeMillis(), FIND_LIMIT)),
                saveAll(100),
                saveAll(1_000),
                // Each thread is one worker's claim loop. A one-millisecond lease makes every claimed row
                // claimable again at once, so the supply of due rows never runs out during a run.
                new Scenario("claim", "claimDue(10)", CLAIM_BATCH, 0, "1",
                        t -> thread -> () -> t.store().claimDue("bench-worker-" + thread, CLAIM_FLOWS, CLAIM_LEASE,
                                CLAIM_BATCH),
                        t -> thread -> () -> t.raw().claimDue("bench-worker-" + thread, CLAIM_LEASE.toMillis(),
                                CLAIM_BATCH)),
                engine.createAndRun());
    }

    private Scenario saveAll(int size) {
        return new Scenario("saveall-" + size, "saveAll(" + size + ")", size, 0, "1 (one multi-row INSERT)",
                t -> thread -> () -> {
                    String tenant = tenant();
                    List<Execution> batch = new ArrayList<>(size);
                    for (int i = 0; i < size; i++) {
                        batch.add(fixtures.newExecution(newId(), tenant));
                    }
                    t.store().saveAll(batch);
                },
                t -> thread -> () -> {
                    List<String> ids = new ArrayList<>(size);
                    for (int i = 0; i < size; i++) {
                        ids.add(newId());
                    }
                    t.raw().insertBatch(ids, tenant());
                });
    }

    /** Each thread updates rows of its own, round-robin, so that no two threads race for one. */
    private Measurement.OpFactory storeUpdate(Target t) {
        return thread -> {
            Execution[] owned = new Execution[UPDATE_ROWS_PER_THREAD];
            for (int i = 0; i < owned.length; i++) {
                owned[i] = t.store().load(DataLoader.id(nextRunningRow())).orElseThrow();
            }
            int[] next = {0};
            return () -> {
                int i = next[0]++ % owned.length;
                Execution e = owned[i];
                owned[i] = t.store().save(e.toBuilder().stepCount(e.stepCount() + 1).build());
            };
        };
    }

    private Measurement.OpFactory rawUpdate(Target t) {
        return thread -> {
            RawJdbc.Row[] owned = new RawJdbc.Row[UPDATE_ROWS_PER_THREAD];
            for (int i = 0; i < owned.length; i++) {
                owned[i] = t.raw().read(nextRunningRow());
            }
            int[] next = {0};
            return () -> t.raw().update(owned[next[0]++ % owned.length]);
        };
    }

    private long nextRunningRow() {
        return DataLoader.runningRow(updateCursor.getAndIncrement() % DataLoader.runningRows(rows));
    }

    private String newId() {
        return "new-" + newIds.incrementAndGet();
    }

    private String loadedId() {
        return DataLoader.id(ThreadLocalRandom.current().nextLong(rows));
    }

    private static String tenant() {
        return DataLoader.tenant(ThreadLocalRandom.current().nextInt(Fixtures.TENANTS));
    }

    private static ExecutionStatus status() {
        return FOUND_STATUSES[ThreadLocalRandom.current().nextInt(FOUND_STATUSES.length)];
    }

    private static void require(Object row) {
        if (row == null) {
            throw new IllegalStateException("a loaded row is missing");
        }
    }
}
