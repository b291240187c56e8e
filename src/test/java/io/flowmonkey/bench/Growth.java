package io.flowmonkey.bench;

import com.zaxxer.hikari.HikariDataSource;
import io.flowmonkey.engine.CreateResult;
import io.flowmonkey.engine.Engine;
import io.flowmonkey.engine.EngineOptions;
import io.flowmonkey.engine.Flow;
import io.flowmonkey.engine.HandlerRegistry;
import io.flowmonkey.engine.InMemoryFlowRegistry;
import io.flowmonkey.engine.RunResult;
import io.flowmonkey.engine.Step;
import io.flowmonkey.engine.StepResult;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.postgres.PgExecutionStore;
import io.flowmonkey.postgres.PgStoreOptions;
import io.flowmonkey.postgres.SchemaApplier;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;

/**
 * How the cost of a step grows with the flow ({@code -Dbench.ops=growth}): flows of 3, 30, 300 and
 * 1,000 no-op steps, each execution created (not timed) and then run to its end by one
 * {@code Engine.run} on one thread. Per step: the wall time of {@code run} and the WAL it wrote
 * ({@code pg_current_wal_lsn()} before and after each run, read on another connection, so that the
 * create is left out). Each save of a step rewrites the execution's row, history included, so both
 * show what a save costs as the history grows. For the longest flow also the growth of the table
 * (heap, TOAST and indexes, dead row versions included) per execution.
 */
final class Growth {

    static final int[] STEPS = {3, 30, 300, 1_000};
    /** Steps run per flow length, so that each length runs for a comparable time: at least 2 executions. */
    private static final int STEP_BUDGET = 3_000;
    private static final String TABLE = "growth_executions";

    /** One flow length's figures. */
    record Row(int steps, int executions, double microsPerStep, double walBytesPerStep, double walBytesPerExecution,
               double clientCpuMicrosPerStep, Double serverCpuMicrosPerStep, Long tableBytesPerExecution) {
    }

    private final BenchServer server;
    private final Fixtures fixtures;
    private final List<Row> rows = new ArrayList<>();
    private final ThreadMXBean threads = ManagementFactory.getThreadMXBean();

    Growth(BenchServer server, Fixtures fixtures) {
        this.server = server;
        this.fixtures = fixtures;
    }

    void run(Report report, HikariDataSource pool) throws Exception {
        PgStoreOptions options = PgStoreOptions.builder().schema(Bench.SCHEMA).tableName(TABLE).build();
        SchemaApplier.apply(pool, options);
        InMemoryFlowRegistry flows = new InMemoryFlowRegistry();
        for (int steps : STEPS) {
            flows.register(flow(steps));
        }
        Engine engine = new Engine(new PgExecutionStore(pool, options),
                new HandlerRegistry().register(EngineScenarios.NOOP, ctx -> StepResult.success(null)), flows,
                EngineOptions.builder().maxSteps(STEPS[STEPS.length - 1] * 2).build());
        String table = Bench.SCHEMA + "." + TABLE;
        try (Connection c = server.connect(); Statement st = c.createStatement()) {
            ServerCpu serverCpu = ServerCpu.of(c);
            // Unmeasured: warms the JIT and the pool's prepared statements.
            for (int i = 0; i < 20; i++) {
                runOne(engine, c, 30);
            }
            for (int steps : STEPS) {
                st.execute("TRUNCATE " + table);
                st.execute("VACUUM " + table);
                st.execute("CHECKPOINT");
                long sizeBefore = tableBytes(c, table);
                int executions = Math.max(2, STEP_BUDGET / steps);
                long nanos = 0;
                long wal = 0;
                long cpu = 0;
                OptionalLong serverBefore = serverCpu.total();
                for (int i = 0; i < executions; i++) {
                    long[] one = runOne(engine, c, steps);
                    nanos += one[0];
                    wal += one[1];
                    cpu += one[2];
                }
                OptionalLong serverAfter = serverCpu.total();
                long totalSteps = (long) executions * steps;
                Long tableBytes = steps == STEPS[STEPS.length - 1]
                        ? (tableBytes(c, table) - sizeBefore) / executions : null;
                // The server's CPU includes the creates, which are one statement per execution.
                Double serverMicros = serverBefore.isPresent() && serverAfter.isPresent()
                        ? (serverAfter.getAsLong() - serverBefore.getAsLong()) / 1e3 / totalSteps : null;
                Row row = new Row(steps, executions, nanos / 1e3 / totalSteps, wal / (double) totalSteps,
                        wal / (double) executions, cpu / 1e3 / totalSteps, serverMicros, tableBytes);
                rows.add(row);
                System.out.printf(Locale.ROOT, "growth %,5d steps: %d executions, %,.0f µs, %,.0f WAL bytes, client CPU "
                                + "%,.0f µs per step%s%n", steps, executions, row.microsPerStep(), row.walBytesPerStep(),
                        row.clientCpuMicrosPerStep(), tableBytes == null ? ""
                                : String.format(Locale.ROOT, ", table +%,d bytes per execution", tableBytes));
            }
        }
        report.section(markdown());
        List<Map<String, Object>> json = new ArrayList<>();
        for (Row r : rows) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("steps", r.steps());
            m.put("executions", r.executions());
            m.put("microsPerStep", r.microsPerStep());
            m.put("walBytesPerStep", r.walBytesPerStep());
            m.put("walBytesPerExecution", r.walBytesPerExecution());
            m.put("clientCpuMicrosPerStep", r.clientCpuMicrosPerStep());
            m.put("serverCpuMicrosPerStep", r.serverCpuMicrosPerStep());
            m.put("tableBytesPerExecution", r.tableBytesPerExecution());
            json.add(m);
        }
        report.json("growth", json);
    }

    /**
     * Creates one execution of the flow of {@code steps} steps and runs it: its run's nanoseconds, WAL bytes
     * and CPU nanoseconds of this thread (the engine's and the driver's work; steady under load where the
     * wall time is not).
     */
    private long[] runOne(Engine engine, Connection lsn, int steps) throws SQLException {
        CreateResult created = engine.create(flowId(steps), fixtures.context);
        long walBefore = walPosition(lsn);
        long cpuBefore = threads.getCurrentThreadCpuTime();
        long started = System.nanoTime();
        RunResult done = engine.run(created.execution());
        long nanos = System.nanoTime() - started;
        long cpu = threads.getCurrentThreadCpuTime() - cpuBefore;
        long wal = walPosition(lsn) - walBefore;
        if (done.execution().status() != ExecutionStatus.COMPLETED) {
            throw new IllegalStateException("growth flow of " + steps + " steps ended " + done.execution().status()
                    + ": " + done.execution().error());
        }
        return new long[] {nanos, wal, cpu};
    }

    private String markdown() {
        StringBuilder md = new StringBuilder("\n### Cost growth: `Engine.run` of no-op flows, one thread\n\n");
        md.append("| steps | executions | µs per step | × 3 steps | WAL bytes per step | × 3 steps | client CPU µs per "
                + "step | × 3 steps | server CPU µs per step | WAL bytes per execution | table growth per execution |\n"
                + "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        Row first = rows.get(0);
        for (Row r : rows) {
            md.append(String.format(Locale.ROOT, "| %,d | %d | %,.0f | %.1f | %,.0f | %.1f | %,.0f | %.1f | %s | %,.0f | %s |%n",
                    r.steps(), r.executions(), r.microsPerStep(), r.microsPerStep() / first.microsPerStep(),
                    r.walBytesPerStep(), r.walBytesPerStep() / first.walBytesPerStep(), r.clientCpuMicrosPerStep(),
                    r.clientCpuMicrosPerStep() / first.clientCpuMicrosPerStep(), r.serverCpuMicrosPerStep() == null
                            ? "n/a" : String.format(Locale.ROOT, "%,.0f", r.serverCpuMicrosPerStep()),
                    r.walBytesPerExecution(), r.tableBytesPerExecution() == null ? ""
                            : String.format(Locale.ROOT, "%.1f MB", r.tableBytesPerExecution() / 1e6)));
        }
        md.append("\nEach execution carries the 1 KB context; the time and WAL are those of `run` alone (the "
                + "create before it is not counted). Table growth: `pg_total_relation_size` after minus before, "
                + "without vacuum in between, per execution of the longest flow.\n");
        return md.toString();
    }

    private static Flow flow(int steps) {
        Flow.Builder b = Flow.builder(flowId(steps), "1").initialStep("s0");
        for (int i = 0; i < steps; i++) {
            Step.Builder step = Step.builder("s" + i, EngineScenarios.NOOP);
            if (i + 1 < steps) {
                step.onSuccess("s" + (i + 1));
            }
            b.step(step.build());
        }
        return b.build();
    }

    private static String flowId(int steps) {
        return "bench-growth-" + steps;
    }

    private static long walPosition(Connection c) throws SQLException {
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static long tableBytes(Connection c, String table) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_total_relation_size(?::regclass)")) {
            ps.setString(1, table);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }
}
