package io.flowmonkey.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Runs the benchmark's table of the store beside raw JDBC once, small and short, so that a schema
 * change the harness's own SQL does not follow (a new column its loader or raw update leaves out)
 * fails {@code mvn verify} instead of the next benchmark run. It measures nothing worth reading.
 */
@Tag("slow")
class BenchHarnessSmokeTest {

    @Test
    void every_operation_of_the_store_table_runs_on_both_sides_against_the_current_schema() {
        Set<String> operations = new TreeSet<>();
        new Scenarios(Fixtures.load(), 1_000).all().forEach(s -> operations.add(s.key()));
        operations.add("worker");
        BenchConfig config = new BenchConfig(1_000, 1, 0, 1, List.of(1), operations, "target/bench-smoke", 20,
                1, 1, 10, 1);

        Report report = assertTimeoutPreemptively(Duration.ofMinutes(3), () -> {
            try (BenchServer server = BenchServer.builder().start()) {
                return new Bench(config, server).run();
            }
        });

        Set<String> measured = new TreeSet<>();
        for (Report.Result r : report.results()) {
            measured.add(r.scenario().key());
            assertThat(r.store().opsPerSecond()).as("store side of %s", r.scenario().key()).isPositive();
            assertThat(r.raw().opsPerSecond()).as("raw JDBC side of %s", r.scenario().key()).isPositive();
        }
        operations.remove("worker");
        assertThat(measured).containsExactlyInAnyOrderElementsOf(operations);
    }
}
