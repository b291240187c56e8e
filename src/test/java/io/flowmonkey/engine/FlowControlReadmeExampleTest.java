package io.flowmonkey.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.memory.InMemoryExecutionStore;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/** Runs the README's flow-control snippet (Configuration, scheduled starts and priorities). */
class FlowControlReadmeExampleTest {

    private final MutableClock clock = new MutableClock();
    private final List<String> ran = new CopyOnWriteArrayList<>();

    @Test
    void the_readme_snippet_schedules_a_report_and_puts_an_urgent_order_first() {
        HandlerRegistry handlers = new HandlerRegistry().register("record", ctx -> {
            ran.add(ctx.execution().flowId() + ":" + ctx.context());
            return StepResult.success(ctx.stepId());
        });
        InMemoryFlowRegistry flows = new InMemoryFlowRegistry()
                .register(Flow.builder("report", "1").initialStep("render")
                        .step(Step.builder("render", "record").build()).build())
                .register(Flow.builder("order", "1").initialStep("ship")
                        .step(Step.builder("ship", "record").build()).build());
        Engine engine = new Engine(new InMemoryExecutionStore(clock), handlers, flows,
                EngineOptions.builder().clock(clock).build());
        Execution routine = engine.create("order", Map.of("orderId", 1001)).execution();
        clock.advance(Duration.ofMillis(1));

        Instant tomorrowAtTwo = LocalDate.now(clock).plusDays(1).atTime(2, 0).toInstant(ZoneOffset.UTC);
        Execution report = engine.create("report", Map.of("day", "2026-12-01"), CreateOptions.builder()
                .idempotencyKey("daily-report-2026-12-01")      // one per day, however often this runs
                .startAt(tomorrowAtTwo)                         // stored now, first step not before 02:00
                .build()).execution();
        Execution urgent = engine.create("order", Map.of("orderId", 1002), CreateOptions.builder()
                .priority(10)                                   // claimed before pending executions below 10
                .build()).execution();

        assertThat(report.status()).isEqualTo(ExecutionStatus.WAITING);
        assertThat(report.waitMetadata().wakeAt()).isEqualTo(tomorrowAtTwo);
        assertThat(urgent.priority()).isEqualTo(10);
        EngineWorker worker = EngineWorker.builder(engine).workerId("one").threads(1).build();
        worker.runOnce();
        worker.runOnce();
        assertThat(worker.runOnce().claimed()).as("the report waits for its time").isZero();
        assertThat(ran).containsExactly("order:{orderId=1002}", "order:{orderId=1001}");
        assertThat(engine.get(routine.id()).orElseThrow().status()).isEqualTo(ExecutionStatus.COMPLETED);

        clock.advance(Duration.between(clock.instant(), tomorrowAtTwo));
        worker.runOnce();

        assertThat(ran).last().isEqualTo("report:{day=2026-12-01}");
        assertThat(engine.get(report.id()).orElseThrow().status()).isEqualTo(ExecutionStatus.COMPLETED);
    }
}
