package io.flowmonkey.readme;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.testing.PostgresExtension;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Runs the order service of README.md's "Child flows, signals and results" ({@link OrderService},
 * kept line for line with the README by {@code ReadmeSnippetsTest}).
 */
class OrderServiceTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    @Test
    void the_readme_order_service_runs_children_a_signal_and_await_end() {
        try (OrderService service = new OrderService(PG.dataSource())) {
            String id = service.placeOrder("order-1001", List.of("P1", "P2"));
            // The webhook may well come before the order waits for it: the signal is buffered.
            service.paymentConfirmed(id, "card");
            Execution order = assertTimeoutPreemptively(Duration.ofSeconds(60),
                    () -> service.awaitOrder(id, Duration.ofSeconds(50)));

            assertThat(order.status()).isEqualTo(ExecutionStatus.COMPLETED);
            assertThat(order.context()).containsEntry("summary",
                    Map.of("paidBy", "card", "labels", List.of("LABEL-P1", "LABEL-P2")));
            assertThat(service.placeOrder("order-1001", List.of("P1", "P2"))).as("same order id, same execution")
                    .isEqualTo(id);
        }
    }
}
