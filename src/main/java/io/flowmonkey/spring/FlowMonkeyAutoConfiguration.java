package io.flowmonkey.spring;

import io.flowmonkey.engine.Engine;
import io.flowmonkey.engine.EngineListener;
import io.flowmonkey.engine.EngineOptions;
import io.flowmonkey.engine.EngineWorker;
import io.flowmonkey.engine.Flow;
import io.flowmonkey.engine.FlowRegistry;
import io.flowmonkey.engine.HandlerRegistry;
import io.flowmonkey.engine.InMemoryFlowRegistry;
import io.flowmonkey.engine.StepHandler;
import io.flowmonkey.execution.ExecutionStore;
import io.flowmonkey.micrometer.FlowMonkeyMetrics;
import io.flowmonkey.postgres.PgExecutionStore;
import io.flowmonkey.postgres.PgStoreOptions;
import io.flowmonkey.postgres.SchemaApplier;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.observation.ObservationRegistry;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.actuate.health.HealthIndicator;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnSingleCandidate;
import org.springframework.boot.autoconfigure.jdbc.DataSourceAutoConfiguration;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.sql.init.dependency.DatabaseInitializationDependencyConfigurer;
import org.springframework.boot.sql.init.dependency.DependsOnDatabaseInitialization;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import org.springframework.jdbc.datasource.TransactionAwareDataSourceProxy;

/**
 * Spring Boot auto-configuration of FlowMonkey, active when the application has exactly one
 * {@link DataSource} and spring-jdbc on its classpath (both come with
 * {@code spring-boot-starter-jdbc}); {@code flowmonkey.enabled=false} turns it off. Every bean backs
 * off when the application defines one of the same type.
 *
 * <ul>
 *   <li>{@link PgStoreOptions} from {@code flowmonkey.schema} and {@code flowmonkey.table}.</li>
 *   <li>{@link PgExecutionStore} over the application's {@code DataSource} wrapped in a
 *       {@link TransactionAwareDataSourceProxy}: inside a Spring transaction ({@code @Transactional},
 *       {@code TransactionTemplate}) every store call, and so every {@code Engine} call, runs on the
 *       transaction's connection and commits or rolls back with the application's own writes; outside
 *       one it borrows a connection per call as usual. Inside a Spring transaction, do not also call
 *       {@link PgExecutionStore#inTransaction}: it commits its connection, which is Spring's. Before
 *       the store is built, {@link SchemaApplier} brings the table up to date, unless
 *       {@code flowmonkey.apply-schema=false}.</li>
 *   <li>{@link Engine} with the application's {@link HandlerRegistry} bean or, if it defines none,
 *       every {@link StepHandler} bean registered under its bean name (so
 *       {@code @Bean("inventory.reserve") StepHandler reserve()} serves steps of handler type
 *       {@code inventory.reserve}); with the application's {@link FlowRegistry} bean or, if none, an
 *       {@link InMemoryFlowRegistry} of every {@link Flow} bean; with its {@link EngineOptions} bean if
 *       any, to which every {@link EngineListener} bean is added (in {@code @Order}).</li>
 *   <li>{@link FlowMonkeyMetrics} as {@code flowMonkeyMetrics} (an {@code EngineListener}, so it is added
 *       too), when Micrometer is on the class path and the context has a {@code MeterRegistry}: bound to
 *       the registry (the primary one, if several), with the store's gauges and, when the context has an
 *       {@code ObservationRegistry}, observations of runs and steps for tracing.</li>
 *   <li>{@link FlowMonkeyWorkerLifecycle}, running an {@link EngineWorker} from
 *       {@code flowmonkey.worker.*} while the context runs, unless {@code flowmonkey.worker.enabled=false}
 *       (then no worker is built at all).</li>
 *   <li>{@link FlowMonkeyHealthIndicator} as {@code flowMonkey}, when Spring Boot Actuator is present.</li>
 * </ul>
 */
// After Boot's metrics and observation auto-configuration (where present), so that their registries are beans.
@AutoConfiguration(after = DataSourceAutoConfiguration.class, afterName = {
        "org.springframework.boot.actuate.autoconfigure.metrics.CompositeMeterRegistryAutoConfiguration",
        "org.springframework.boot.actuate.autoconfigure.observation.ObservationAutoConfiguration"})
@ConditionalOnClass(TransactionAwareDataSourceProxy.class)
@ConditionalOnSingleCandidate(DataSource.class)
@ConditionalOnProperty(prefix = "flowmonkey", name = "enabled", matchIfMissing = true)
@EnableConfigurationProperties(FlowMonkeyProperties.class)
@Import(DatabaseInitializationDependencyConfigurer.class)
public class FlowMonkeyAutoConfiguration {

    /** Created by Spring Boot. */
    public FlowMonkeyAutoConfiguration() {
    }

    /**
     * The store's schema and table, from {@code flowmonkey.schema} and {@code flowmonkey.table}. Define
     * a bean of your own to set an {@code ObjectMapper} or a clock as well.
     *
     * @param properties the bound properties
     * @return the options
     */
    @Bean
    @ConditionalOnMissingBean
    public PgStoreOptions flowMonkeyStoreOptions(FlowMonkeyProperties properties) {
        return properties.storeOptions();
    }

    /**
     * The store, joining Spring-managed transactions; the schema is applied first unless
     * {@code flowmonkey.apply-schema=false}. Created after the application's database initialisers
     * (Flyway, Liquibase, {@code spring.sql.init}), so that a table they make is there to be checked.
     *
     * @param dataSource the application's data source
     * @param options schema, table and mapping
     * @param properties the bound properties
     * @return the store
     * @throws io.flowmonkey.execution.StoreException if the schema cannot be applied; the context does not start
     */
    @Bean
    @ConditionalOnMissingBean(ExecutionStore.class)
    @DependsOnDatabaseInitialization
    public PgExecutionStore flowMonkeyExecutionStore(DataSource dataSource, PgStoreOptions options,
                                                     FlowMonkeyProperties properties) {
        if (properties.applySchema()) {
            // The plain data source: migrations commit on their own connection, outside any transaction.
            SchemaApplier.apply(dataSource, options);
        }
        return new PgExecutionStore(new TransactionAwareDataSourceProxy(dataSource), options);
    }

    /**
     * The engine, on the application's handlers and flows.
     *
     * @param store the store
     * @param handlerRegistry the application's handler registry, if it defines one
     * @param flowRegistry the application's flow registry, if it defines one
     * @param options the application's engine options, if it defines them
     * @param listeners the application's listeners, added to the options unless they hold them already
     * @param beans where {@link StepHandler} and {@link Flow} beans are found
     * @return the engine
     */
    @Bean
    @ConditionalOnMissingBean
    public Engine flowMonkeyEngine(ExecutionStore store, ObjectProvider<HandlerRegistry> handlerRegistry,
                                   ObjectProvider<FlowRegistry> flowRegistry, ObjectProvider<EngineOptions> options,
                                   ObjectProvider<EngineListener> listeners, ListableBeanFactory beans) {
        HandlerRegistry handlers = handlerRegistry.getIfAvailable(() -> handlersByBeanName(beans));
        FlowRegistry flows = flowRegistry.getIfAvailable(() -> flowsOf(beans));
        EngineOptions given = options.getIfAvailable(() -> EngineOptions.DEFAULTS);
        List<EngineListener> added = listeners.orderedStream().filter(l -> !given.listeners().contains(l)).toList();
        EngineOptions.Builder withListeners = given.toBuilder();
        added.forEach(withListeners::listener);
        return new Engine(store, handlers, flows, added.isEmpty() ? given : withListeners.build());
    }

    private static HandlerRegistry handlersByBeanName(ListableBeanFactory beans) {
        HandlerRegistry handlers = new HandlerRegistry();
        for (Map.Entry<String, StepHandler> handler : beans.getBeansOfType(StepHandler.class).entrySet()) {
            handlers.register(handler.getKey(), handler.getValue());
        }
        return handlers;
    }

    private static FlowRegistry flowsOf(ListableBeanFactory beans) {
        InMemoryFlowRegistry flows = new InMemoryFlowRegistry();
        beans.getBeansOfType(Flow.class).values().forEach(flows::register);
        return flows;
    }

    /**
     * The worker, built from {@code flowmonkey.worker.*} and started with the context. Absent when
     * {@code flowmonkey.worker.enabled=false}.
     *
     * @param engine the engine whose work to run
     * @param properties the bound properties
     * @return the worker's lifecycle
     */
    @Bean
    @ConditionalOnMissingBean
    @ConditionalOnProperty(prefix = "flowmonkey.worker", name = "enabled", matchIfMissing = true)
    public FlowMonkeyWorkerLifecycle flowMonkeyWorker(Engine engine, FlowMonkeyProperties properties) {
        FlowMonkeyProperties.Worker w = properties.worker();
        // Built here, once, so that a bad setting stops the context now rather than at start().
        workerBuilder(engine, w);
        return new FlowMonkeyWorkerLifecycle(() -> workerBuilder(engine, w).build());
    }

    private static EngineWorker.Builder workerBuilder(Engine engine, FlowMonkeyProperties.Worker w) {
        EngineWorker.Builder b = EngineWorker.builder(engine);
        if (w.workerId() != null) {
            b.workerId(w.workerId());
        }
        if (w.threads() != null) {
            b.threads(w.threads());
        }
        if (w.pollInterval() != null) {
            b.pollInterval(w.pollInterval());
        }
        if (w.leaseTtl() != null) {
            b.leaseTtl(w.leaseTtl());
        }
        if (w.shutdownTimeout() != null) {
            b.shutdownTimeout(w.shutdownTimeout());
        }
        return b;
    }

    /** Metrics and observations, only when Micrometer is on the classpath and the context has a registry. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(name = "io.micrometer.core.instrument.MeterRegistry")
    static class Metrics {

        @Bean
        @ConditionalOnMissingBean
        @ConditionalOnBean(MeterRegistry.class)
        FlowMonkeyMetrics flowMonkeyMetrics(ExecutionStore store, ObjectProvider<MeterRegistry> registry,
                                            ObjectProvider<ObservationRegistry> observations) {
            FlowMonkeyMetrics.Builder metrics = FlowMonkeyMetrics.builder().store(store);
            observations.ifAvailable(metrics::observationRegistry);
            FlowMonkeyMetrics built = metrics.build();
            // Boot's actuator binds every MeterBinder bean to this same registry too, which changes nothing;
            // without the actuator nobody else would.
            registry.ifUnique(built::bindTo);
            return built;
        }
    }

    /** The health indicator, only when Spring Boot Actuator is on the classpath. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(HealthIndicator.class)
    static class Health {

        @Bean
        @ConditionalOnMissingBean(name = "flowMonkeyHealthIndicator")
        FlowMonkeyHealthIndicator flowMonkeyHealthIndicator(ExecutionStore store,
                                                            ObjectProvider<FlowMonkeyWorkerLifecycle> worker) {
            return new FlowMonkeyHealthIndicator(store, worker.getIfAvailable());
        }
    }
}
