package io.flowmonkey.readme;

import static org.assertj.core.api.Assertions.assertThat;

import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.StepHistory;
import io.flowmonkey.testing.PostgresExtension;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The README's first example, {@link QuickStart}, run as written against a real PostgreSQL. */
class QuickStartTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    @Test
    void the_quick_start_order_is_retried_waits_on_a_durable_timer_and_completes_on_a_worker() {
        Execution done = QuickStart.placeOrder(PG.dataSource(), 1001);

        assertThat(done.status()).isEqualTo(ExecutionStatus.COMPLETED);
        assertThat(done.context()).containsEntry("orderId", 1001)
                .containsEntry("payment", Map.of("receipt", "R-1001"))
                .containsEntry("shipment", "shipped");
        assertThat(done.history()).extracting(StepHistory::stepId, StepHistory::outcome)
                .startsWith(org.assertj.core.groups.Tuple.tuple("charge", "failure"),
                        org.assertj.core.groups.Tuple.tuple("charge", "success"));
        StepHistory cool = done.history().stream().filter(h -> h.stepId().equals("cool")).findFirst().orElseThrow();
        StepHistory ship = done.history().stream().filter(h -> h.stepId().equals("ship")).findFirst().orElseThrow();
        assertThat(Duration.between(cool.completedAt(), ship.startedAt()))
                .as("the ship step starts after the one-second timer").isGreaterThanOrEqualTo(Duration.ofSeconds(1));
    }
}
