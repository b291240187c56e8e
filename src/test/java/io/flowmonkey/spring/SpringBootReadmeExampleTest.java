package io.flowmonkey.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flowmonkey.engine.Engine;
import io.flowmonkey.engine.Flow;
import io.flowmonkey.engine.InputSelector;
import io.flowmonkey.engine.Step;
import io.flowmonkey.engine.StepHandler;
import io.flowmonkey.engine.StepResult;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.testing.PostgresExtension;
import java.util.Map;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.jdbc.DataSourceTransactionManagerAutoConfiguration;
import org.springframework.boot.autoconfigure.jdbc.JdbcTemplateAutoConfiguration;
import org.springframework.boot.autoconfigure.transaction.TransactionAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;

/** The README's Spring Boot snippets (the classes below this one), line for line, in a context Spring Boot's auto-configurations build. */
class SpringBootReadmeExampleTest {

    @RegisterExtension
    static final PostgresExtension PG = PostgresExtension.withoutSchema();

    @Test
    void the_checkout_enqueues_in_the_applications_transaction_and_the_flow_runs_on_the_beans() throws Exception {
        PG.execute("CREATE TABLE orders (id TEXT PRIMARY KEY, execution_id TEXT NOT NULL)");
        new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(DataSourceTransactionManagerAutoConfiguration.class,
                        TransactionAutoConfiguration.class, JdbcTemplateAutoConfiguration.class,
                        FlowMonkeyAutoConfiguration.class))
                .withUserConfiguration(OrderFlows.class, Checkout.class)
                .withBean(DataSource.class, () -> PG.newDataSource(8))
                .withPropertyValues("flowmonkey.worker.enabled=false")
                .run(context -> {
                    Checkout checkout = context.getBean(Checkout.class);
                    Engine engine = context.getBean(Engine.class);

                    String id = checkout.placeOrder("o-1");
                    assertThatThrownBy(() -> checkout.placeOrder("o-1")).isInstanceOf(DuplicateKeyException.class);

                    assertThat(PG.queryLong("SELECT count(*) FROM executions")).as("the second was rolled back")
                            .isEqualTo(1);
                    assertThat(PG.queryLong("SELECT count(*) FROM orders")).isEqualTo(1);
                    var done = engine.run(id).execution();
                    assertThat(done.status()).isEqualTo(ExecutionStatus.COMPLETED);
                    assertThat(done.context()).containsEntry("reservation", Map.of("reservationId", "R-o-1"));
                });
    }
}

@Configuration
class OrderFlows {

    @Bean
    Flow orderFlow() {
        return Flow.builder("order", "1").initialStep("reserve")
                .step(Step.builder("reserve", "inventory.reserve").input(InputSelector.key("orderId"))
                        .outputKey("reservation").build())
                .build();
    }

    @Bean("inventory.reserve")              // the bean name is the handler type
    StepHandler reserve() {
        return ctx -> StepResult.success(Map.of("reservationId", "R-" + ctx.input()));
    }
}

@Service
class Checkout {
    private final JdbcTemplate jdbc;
    private final Engine engine;

    Checkout(JdbcTemplate jdbc, Engine engine) {
        this.jdbc = jdbc;
        this.engine = engine;
    }

    @Transactional
    public String placeOrder(String orderId) {
        // Enqueued in the application's transaction: if the order's insert fails, there is no execution.
        String id = engine.create("order", Map.of("orderId", orderId)).execution().id();
        jdbc.update("INSERT INTO orders (id, execution_id) VALUES (?, ?)", orderId, id);
        return id;
    }
}
