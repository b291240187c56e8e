package io.flowmonkey.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flowmonkey.engine.Engine;
import io.flowmonkey.engine.EngineEvent;
import io.flowmonkey.engine.EngineListener;
import io.flowmonkey.engine.Flow;
import io.flowmonkey.engine.HandlerRegistry;
import io.flowmonkey.engine.Step;
import io.flowmonkey.engine.StepHandler;
import io.flowmonkey.engine.StepResult;
import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionQuery;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.execution.ExecutionStore;
import io.flowmonkey.execution.LeasingExecutionStore;
import io.flowmonkey.memory.InMemoryExecutionStore;
import io.flowmonkey.micrometer.FlowMonkeyMetrics;
import io.flowmonkey.postgres.PgExecutionStore;
import io.flowmonkey.postgres.PgStoreOptions;
import io.flowmonkey.postgres.SchemaApplier;
import io.flowmonkey.testing.PostgresExtension;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.observation.ObservationRegistry;
import io.micrometer.observation.tck.TestObservationRegistry;
import io.micrometer.observation.tck.TestObservationRegistryAssert;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.actuate.health.Health;
import org.springframework.boot.actuate.health.HealthIndicator;
import org.springframework.boot.actuate.health.Status;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.jdbc.DataSourceTransactionManagerAutoConfiguration;
import org.springframework.boot.autoconfigure.jdbc.JdbcTemplateAutoConfiguration;
import org.springframework.boot.autoconfigure.transaction.TransactionAutoConfiguration;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.ApplicationListener;
import org.springframework.context.event.ContextClosedEvent;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.TransactionAwareDataSourceProxy;
import org.springframework.transaction.support.TransactionTemplate;

/** The auto-configuration in contexts built by Spring Boot's test runner, on a real PostgreSQL. */
class FlowMonkeyAutoConfigurationTest {

    @RegisterExtension
    static final PostgresExtension PG = PostgresExtension.withoutSchema();

    /** A context with a data source of its own (closed with it) and the FlowMonkey auto-configuration. */
    private static ApplicationContextRunner runner(String schema) {
        return new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(FlowMonkeyAutoConfiguration.class))
                .withBean(DataSource.class, () -> PG.newDataSource(8))
                .withPropertyValues("flowmonkey.schema=" + schema);
    }

    private static Flow oneStepFlow(String flowId, String handlerType) {
        return Flow.builder(flowId, "1").initialStep("only")
                .step(Step.builder("only", handlerType).outputKey("result").build())
                .build();
    }

    private static PgExecutionStore storeIn(String schema) {
        return new PgExecutionStore(PG.dataSource(), PgStoreOptions.builder().schema(schema).build());
    }

    private static boolean threadNamed(String name) {
        return Thread.getAllStackTraces().keySet().stream().anyMatch(t -> t.getName().startsWith(name));
    }

    @Test
    void the_context_has_store_engine_and_a_running_worker_and_the_schema_is_applied_at_start_up() {
        runner("boot_basic").withPropertyValues("flowmonkey.worker.worker-id=basic-worker").run(context -> {
            assertThat(context).hasSingleBean(PgExecutionStore.class).hasSingleBean(Engine.class)
                    .hasSingleBean(FlowMonkeyWorkerLifecycle.class);
            assertThat(context.getBean(FlowMonkeyWorkerLifecycle.class).isRunning()).isTrue();
            assertThat(context.getBean(FlowMonkeyWorkerLifecycle.class).workerId()).contains("basic-worker");
            assertThat(threadNamed("flowmonkey-claim-basic-worker")).isTrue();
            assertThat(PG.queryLong("SELECT max(version) FROM boot_basic.flowmonkey_schema_history"))
                    .isEqualTo(SchemaApplier.latestVersion());
        });

        assertThat(threadNamed("flowmonkey-claim-basic-worker")).as("worker stopped with the context").isFalse();
    }

    @Test
    void a_context_stopped_and_started_again_runs_a_fresh_worker() {
        runner("boot_restart").withPropertyValues("flowmonkey.worker.worker-id=restart-worker").run(context -> {
            FlowMonkeyWorkerLifecycle worker = context.getBean(FlowMonkeyWorkerLifecycle.class);

            context.stop();
            assertThat(worker.isRunning()).isFalse();
            assertThat(worker.stats()).isEmpty();
            assertThat(threadNamed("flowmonkey-claim-restart-worker")).isFalse();

            context.start();
            assertThat(worker.isRunning()).isTrue();
            assertThat(worker.stats()).hasValueSatisfying(stats -> assertThat(stats.claimed()).isZero());
            assertThat(threadNamed("flowmonkey-claim-restart-worker")).isTrue();
        });
    }

    @Test
    void no_worker_is_built_or_started_when_the_worker_is_disabled() {
        runner("boot_noworker")
                .withPropertyValues("flowmonkey.worker.enabled=false", "flowmonkey.worker.worker-id=never-started")
                .withBean("flow", Flow.class, () -> oneStepFlow("noworker-flow", "noop"))
                .withBean("noop", StepHandler.class, () -> ctx -> StepResult.success(true))
                .run(context -> {
                    assertThat(context).hasSingleBean(Engine.class).doesNotHaveBean(FlowMonkeyWorkerLifecycle.class);
                    String id = context.getBean(Engine.class).create("noworker-flow", Map.of()).execution().id();

                    assertThat(threadNamed("flowmonkey-claim-never-started")).isFalse();
                    assertThat(storeIn("boot_noworker").load(id).orElseThrow().status())
                            .isEqualTo(ExecutionStatus.PENDING);
                });
    }

    @Test
    void a_worker_runs_flows_of_flow_and_step_handler_beans_and_finishes_its_in_flight_step_when_the_context_closes()
            throws Exception {
        CountDownLatch stepStarted = new CountDownLatch(1);
        CountDownLatch contextClosing = new CountDownLatch(1);
        StepHandler slow = ctx -> {
            stepStarted.countDown();
            // Finishes only once the context has begun to close, so the worker must wait for it.
            boolean closing = contextClosing.await(30, TimeUnit.SECONDS);
            return StepResult.success(closing ? "finished during shutdown" : "never saw the shutdown");
        };
        String[] id = new String[1];

        runner("boot_worker")
                .withPropertyValues("flowmonkey.worker.threads=2", "flowmonkey.worker.shutdown-timeout=30s")
                .withBean("graceful-flow", Flow.class, () -> oneStepFlow("graceful-flow", "slow.step"))
                .withBean("slow.step", StepHandler.class, () -> slow)
                .withBean(ClosingListener.class, () -> new ClosingListener(contextClosing))
                .run(context -> {
                    id[0] = context.getBean(Engine.class).create("graceful-flow", Map.of()).execution().id();
                    assertThat(stepStarted.await(30, TimeUnit.SECONDS)).as("the worker claimed and ran it").isTrue();
                });

        Execution done = storeIn("boot_worker").load(id[0]).orElseThrow();
        assertThat(done.status()).isEqualTo(ExecutionStatus.COMPLETED);
        assertThat(done.context()).containsEntry("result", "finished during shutdown");
    }

    /** Counts down when the context starts to close, before its lifecycle beans are stopped. */
    static final class ClosingListener implements ApplicationListener<ContextClosedEvent> {
        private final CountDownLatch closing;

        ClosingListener(CountDownLatch closing) {
            this.closing = closing;
        }

        @Override
        public void onApplicationEvent(ContextClosedEvent event) {
            closing.countDown();
        }
    }

    private static ApplicationContextRunner withSpringTransactions(String schema) {
        return runner(schema)
                .withConfiguration(AutoConfigurations.of(DataSourceTransactionManagerAutoConfiguration.class,
                        TransactionAutoConfiguration.class, JdbcTemplateAutoConfiguration.class))
                .withPropertyValues("flowmonkey.worker.enabled=false")
                .withBean("tx-flow", Flow.class, () -> oneStepFlow("tx-flow", "noop"))
                .withBean("noop", StepHandler.class, () -> ctx -> StepResult.success(true));
    }

    @Test
    void a_rollback_of_a_spring_transaction_rolls_back_the_stores_writes_with_the_applications_own() {
        withSpringTransactions("boot_rollback").run(context -> {
            JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
            jdbc.execute("CREATE TABLE boot_rollback.orders (id TEXT PRIMARY KEY)");
            TransactionTemplate tx = context.getBean(TransactionTemplate.class);
            ExecutionStore store = context.getBean(ExecutionStore.class);
            Engine engine = context.getBean(Engine.class);

            assertThatThrownBy(() -> tx.executeWithoutResult(status -> {
                jdbc.update("INSERT INTO boot_rollback.orders (id) VALUES ('order-1')");
                store.save(Execution.builder("saved-in-tx", "tx-flow", "1").build());
                engine.create("tx-flow", Map.of("orderId", "order-1"));
                // Inside the transaction the store reads its own uncommitted writes...
                assertThat(store.load("saved-in-tx")).isPresent();
                // ...which no other connection can see yet.
                assertThat(storeIn("boot_rollback").load("saved-in-tx")).isEmpty();
                throw new IllegalStateException("payment declined");
            })).hasMessage("payment declined");

            assertThat(jdbc.queryForObject("SELECT count(*) FROM boot_rollback.orders", Long.class)).isZero();
            assertThat(PG.queryLong("SELECT count(*) FROM boot_rollback.executions")).isZero();
        });
    }

    @Test
    void store_calls_of_several_statements_join_a_spring_transaction_instead_of_committing_or_ending_it() {
        withSpringTransactions("boot_nested").run(context -> {
            JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
            jdbc.execute("CREATE TABLE boot_nested.orders (id TEXT PRIMARY KEY)");
            TransactionTemplate tx = context.getBean(TransactionTemplate.class);
            PgExecutionStore store = context.getBean(PgExecutionStore.class);

            assertThatThrownBy(() -> tx.executeWithoutResult(status -> {
                jdbc.update("INSERT INTO boot_nested.orders (id) VALUES ('order-3')");
                store.inTransaction(inner -> inner.save(Execution.builder("inner", "tx-flow", "1").build()));
                store.saveWithSignals(List.of(Execution.builder("with-signals", "tx-flow", "1").build()), List.of(),
                        List.of());
                try (var all = store.stream(ExecutionQuery.builder().build())) {
                    assertThat(all.count()).as("the stream reads the transaction's own writes").isEqualTo(2);
                }
                // Still the application's transaction: another connection sees none of it.
                assertThat(storeIn("boot_nested").load("inner")).isEmpty();
                jdbc.update("INSERT INTO boot_nested.orders (id) VALUES ('order-4')");
                throw new IllegalStateException("payment declined");
            })).hasMessage("payment declined");

            assertThat(jdbc.queryForObject("SELECT count(*) FROM boot_nested.orders", Long.class)).isZero();
            assertThat(PG.queryLong("SELECT count(*) FROM boot_nested.executions")).isZero();
        });
    }

    @Test
    void the_pool_size_check_sees_the_hikari_pool_through_springs_transaction_aware_proxy() throws Exception {
        try (var pool = PG.newDataSource(1)) {
            PgExecutionStore store = new PgExecutionStore(new TransactionAwareDataSourceProxy(pool));

            assertThatThrownBy(() -> store.subscribe(new LeasingExecutionStore.DueWorkListener() {
                @Override
                public void onDue(String executionId, Instant wakeAt) {
                }

                @Override
                public void onMissedNotices() {
                }
            }))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("allows 1 connection(s)");
        }
    }

    @Test
    void a_commit_of_a_spring_transaction_commits_the_stores_writes_with_the_applications_own() {
        withSpringTransactions("boot_commit").run(context -> {
            JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
            jdbc.execute("CREATE TABLE boot_commit.orders (id TEXT PRIMARY KEY)");
            TransactionTemplate tx = context.getBean(TransactionTemplate.class);
            Engine engine = context.getBean(Engine.class);

            String id = tx.execute(status -> {
                jdbc.update("INSERT INTO boot_commit.orders (id) VALUES ('order-2')");
                return engine.create("tx-flow", Map.of("orderId", "order-2")).execution().id();
            });

            assertThat(jdbc.queryForObject("SELECT count(*) FROM boot_commit.orders", Long.class)).isEqualTo(1);
            assertThat(storeIn("boot_commit").load(id)).isPresent();
            // Outside a transaction every call commits by itself, as without Spring.
            context.getBean(ExecutionStore.class).save(Execution.builder("outside-tx", "tx-flow", "1").build());
            assertThat(storeIn("boot_commit").load("outside-tx")).isPresent();
        });
    }

    @Test
    void the_schema_is_left_alone_when_apply_schema_is_false() {
        runner("boot_noschema").withPropertyValues("flowmonkey.apply-schema=false", "flowmonkey.worker.enabled=false")
                .run(context -> {
                    assertThat(context).hasSingleBean(PgExecutionStore.class);
                    assertThat(PG.queryLong("SELECT count(*) FROM pg_namespace WHERE nspname = 'boot_noschema'"))
                            .isZero();
                });
    }

    @Test
    void the_applications_own_registry_and_store_are_used_instead_of_the_auto_configured_ones() {
        HandlerRegistry handlers = new HandlerRegistry().register("own", ctx -> StepResult.success("from registry"));
        InMemoryExecutionStore ownStore = new InMemoryExecutionStore();
        runner("boot_own").withPropertyValues("flowmonkey.worker.enabled=false")
                .withBean(HandlerRegistry.class, () -> handlers)
                .withBean(ExecutionStore.class, () -> ownStore)
                .withBean("ignored", StepHandler.class, () -> ctx -> StepResult.success("from bean"))
                .withBean("own-flow", Flow.class, () -> oneStepFlow("own-flow", "own"))
                .run(context -> {
                    assertThat(context).doesNotHaveBean(PgExecutionStore.class);
                    Engine engine = context.getBean(Engine.class);
                    String id = engine.create("own-flow", Map.of()).execution().id();

                    assertThat(engine.run(id).execution().context()).containsEntry("result", "from registry");
                    assertThat(ownStore.load(id)).isPresent();
                });
    }

    @Test
    void health_is_up_with_the_running_worker_and_down_when_the_table_is_missing() {
        runner("boot_health").withPropertyValues("flowmonkey.worker.worker-id=health-worker").run(context -> {
            Health health = context.getBean("flowMonkeyHealthIndicator", HealthIndicator.class).health();

            assertThat(health.getStatus()).isEqualTo(Status.UP);
            assertThat(health.getDetails()).containsEntry("worker", "running")
                    .containsEntry("workerId", "health-worker").containsKey("stats");
        });
        runner("boot_health_missing").withPropertyValues("flowmonkey.apply-schema=false",
                "flowmonkey.worker.enabled=false").run(context -> {
                    Health health = context.getBean(FlowMonkeyHealthIndicator.class).health();

                    assertThat(health.getStatus()).isEqualTo(Status.DOWN);
                    assertThat(health.getDetails().get("error").toString()).contains("boot_health_missing");
                });
    }

    @Test
    void health_is_down_once_the_worker_has_stopped() {
        runner("boot_health_stop").run(context -> {
            context.getBean(FlowMonkeyWorkerLifecycle.class).stop();

            Health health = context.getBean(FlowMonkeyHealthIndicator.class).health();
            assertThat(health.getStatus()).isEqualTo(Status.DOWN);
            assertThat(health.getDetails()).containsEntry("worker", "stopped");
        });
    }

    @Test
    void there_is_no_health_indicator_without_actuator() {
        runner("boot_noactuator").withPropertyValues("flowmonkey.worker.enabled=false")
                .withClassLoader(new FilteredClassLoader(HealthIndicator.class))
                .run(context -> assertThat(context).hasSingleBean(Engine.class)
                        .doesNotHaveBean(FlowMonkeyHealthIndicator.class));
    }

    @Test
    void nothing_is_configured_without_a_data_source_without_spring_jdbc_or_when_disabled() {
        new ApplicationContextRunner().withConfiguration(AutoConfigurations.of(FlowMonkeyAutoConfiguration.class))
                .run(context -> assertThat(context).doesNotHaveBean(Engine.class));
        runner("boot_nojdbc").withClassLoader(new FilteredClassLoader(TransactionAwareDataSourceProxy.class))
                .run(context -> assertThat(context).doesNotHaveBean(Engine.class));
        runner("boot_disabled").withPropertyValues("flowmonkey.enabled=false")
                .run(context -> assertThat(context).doesNotHaveBean(Engine.class)
                        .doesNotHaveBean(FlowMonkeyWorkerLifecycle.class));
    }

    @Test
    void a_bad_schema_name_or_worker_setting_stops_the_context_with_the_reason() {
        runner("ignored").withPropertyValues("flowmonkey.schema=Bad;Name").run(context ->
                assertThat(context).getFailure().rootCause()
                        .hasMessageContaining("schema must be a lower-case SQL identifier")
                        .hasMessageContaining("Bad;Name"));
        runner("boot_badworker").withPropertyValues("flowmonkey.worker.threads=0").run(context ->
                assertThat(context).getFailure().rootCause().hasMessageContaining("threads must be at least 1"));
    }

    @Test
    void with_a_meter_registry_the_engine_is_measured_and_observed_and_engine_listener_beans_are_told() {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        TestObservationRegistry observations = TestObservationRegistry.create();
        List<EngineEvent> told = new CopyOnWriteArrayList<>();
        runner("boot_metrics").withPropertyValues("flowmonkey.worker.enabled=false")
                .withBean(MeterRegistry.class, () -> meters)
                .withBean(ObservationRegistry.class, () -> observations)
                .withBean("recorder", EngineListener.class, () -> told::add)
                .withBean("metrics-flow", Flow.class, () -> oneStepFlow("metrics-flow", "noop"))
                .withBean("noop", StepHandler.class, () -> ctx -> StepResult.success(true))
                .run(context -> {
                    assertThat(context).hasSingleBean(FlowMonkeyMetrics.class);
                    Engine engine = context.getBean(Engine.class);
                    String id = engine.create("metrics-flow", Map.of()).execution().id();
                    engine.run(id);

                    assertThat(meters.get(FlowMonkeyMetrics.EVENTS).tags("event", "completed", "flow", "metrics-flow")
                            .counter().count()).isEqualTo(1);
                    assertThat(meters.get(FlowMonkeyMetrics.EXECUTIONS).tags("status", "completed").gauge().value())
                            .isGreaterThanOrEqualTo(0);
                    assertThat(told).extracting(EngineEvent::type).contains(EngineEvent.Type.CREATED,
                            EngineEvent.Type.COMPLETED);
                    TestObservationRegistryAssert.assertThat(observations)
                            .hasNumberOfObservationsWithNameEqualTo(FlowMonkeyMetrics.STEP_OBSERVATION, 1);
                });
    }

    @Test
    void there_are_no_metrics_without_a_meter_registry_or_without_micrometer() {
        runner("boot_nometrics").withPropertyValues("flowmonkey.worker.enabled=false")
                .run(context -> assertThat(context).hasSingleBean(Engine.class)
                        .doesNotHaveBean(FlowMonkeyMetrics.class));
        runner("boot_nomicrometer").withPropertyValues("flowmonkey.worker.enabled=false")
                .withClassLoader(new FilteredClassLoader("io.micrometer.core"))
                .run(context -> assertThat(context).hasSingleBean(Engine.class)
                        .doesNotHaveBean(FlowMonkeyMetrics.class));
    }

    @Test
    void the_auto_configuration_is_registered_for_spring_boot_to_find() throws Exception {
        try (var in = getClass().getResourceAsStream(
                "/META-INF/spring/org.springframework.boot.autoconfigure.AutoConfiguration.imports")) {
            assertThat(in).isNotNull();
            assertThat(Set.of(new String(in.readAllBytes()).strip().split("\\s+")))
                    .containsExactly(FlowMonkeyAutoConfiguration.class.getName());
        }
    }

    @Test
    void the_property_metadata_ides_read_describes_every_flowmonkey_property() throws Exception {
        try (var in = getClass().getResourceAsStream("/META-INF/spring-configuration-metadata.json")) {
            assertThat(in).as("written by spring-boot-configuration-processor").isNotNull();
            var properties = new com.fasterxml.jackson.databind.ObjectMapper().readTree(in).get("properties");

            assertThat(properties).extracting(p -> p.get("name").asText()).contains("flowmonkey.enabled",
                    "flowmonkey.schema", "flowmonkey.table", "flowmonkey.apply-schema", "flowmonkey.worker.enabled",
                    "flowmonkey.worker.threads", "flowmonkey.worker.poll-interval", "flowmonkey.worker.lease-ttl",
                    "flowmonkey.worker.shutdown-timeout", "flowmonkey.worker.worker-id");
            assertThat(properties).allSatisfy(p -> assertThat(p.path("description").asText()).isNotBlank());
        }
    }

    @Test
    void properties_bind_to_the_store_options_and_the_worker_settings() throws SQLException {
        runner("boot_props").withPropertyValues("flowmonkey.table=jobs", "flowmonkey.worker.enabled=false",
                "flowmonkey.worker.poll-interval=250ms", "flowmonkey.worker.lease-ttl=1m").run(context -> {
                    FlowMonkeyProperties p = context.getBean(FlowMonkeyProperties.class);
                    assertThat(p.worker().pollInterval()).hasMillis(250);
                    assertThat(p.worker().leaseTtl()).hasSeconds(60);
                    assertThat(context.getBean(PgStoreOptions.class).tableName()).isEqualTo("jobs");
                });
        assertThat(PG.queryLong("SELECT count(*) FROM pg_tables WHERE schemaname = 'boot_props' AND tablename = 'jobs'"))
                .isEqualTo(1);
    }
}
