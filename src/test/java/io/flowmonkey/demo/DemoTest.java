package io.flowmonkey.demo;

import static org.assertj.core.api.Assertions.assertThat;

import io.flowmonkey.testing.PostgresExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The README's demo command runs {@link Demo}; CI runs its work here, against the tests' database. */
class DemoTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    @Test
    void the_demo_stores_its_executions_and_runs_the_order_flow_to_completion() throws Exception {
        Demo.run(PG.dataSource());

        assertThat(PG.queryLong("SELECT count(*) FROM executions WHERE flow_id = 'order' AND status = 'completed'"))
                .isEqualTo(1);
        assertThat(PG.queryLong("SELECT count(*) FROM executions WHERE flow_id <> 'order'")).isPositive();
    }
}
