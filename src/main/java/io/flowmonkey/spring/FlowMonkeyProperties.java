package io.flowmonkey.spring;

import io.flowmonkey.engine.EngineWorker;
import io.flowmonkey.postgres.PgStoreOptions;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * The {@code flowmonkey.*} properties of {@link FlowMonkeyAutoConfiguration}. Schema and table are
 * checked as they are bound, so a bad name stops the application at start-up with the property's name.
 *
 * @param enabled {@code flowmonkey.enabled}: false leaves out every FlowMonkey bean (default true)
 * @param schema {@code flowmonkey.schema}: schema of the executions table (default {@code public})
 * @param table {@code flowmonkey.table}: the table's name (default {@code executions})
 * @param applySchema {@code flowmonkey.apply-schema}: run {@code SchemaApplier} at start-up (default
 *     true); set false when Flyway or a DBA owns the schema, or the application's role may not create
 *     tables
 * @param worker {@code flowmonkey.worker.*}: the background worker
 */
@ConfigurationProperties("flowmonkey")
public record FlowMonkeyProperties(
        @DefaultValue("true") boolean enabled,
        @DefaultValue(PgStoreOptions.DEFAULT_SCHEMA) String schema,
        @DefaultValue(PgStoreOptions.DEFAULT_TABLE_NAME) String table,
        @DefaultValue("true") boolean applySchema,
        @DefaultValue Worker worker) {

    /**
     * Checks schema and table now, with the store's own rules.
     *
     * @param enabled {@code flowmonkey.enabled}
     * @param schema {@code flowmonkey.schema}
     * @param table {@code flowmonkey.table}
     * @param applySchema {@code flowmonkey.apply-schema}
     * @param worker {@code flowmonkey.worker.*}
     * @throws IllegalArgumentException if either is not a lower-case SQL identifier, or the table name is too long
     */
    public FlowMonkeyProperties {
        storeOptions(schema, table);
    }

    /**
     * Returns the store options these properties describe.
     *
     * @return schema and table; the library's own object mapper and the UTC clock
     */
    public PgStoreOptions storeOptions() {
        return storeOptions(schema, table);
    }

    private static PgStoreOptions storeOptions(String schema, String table) {
        return PgStoreOptions.builder().schema(schema).tableName(table).build();
    }

    /**
     * The {@code flowmonkey.worker.*} properties. Unset values keep {@link EngineWorker}'s defaults.
     *
     * @param enabled {@code flowmonkey.worker.enabled}: run a worker in this application (default
     *     true); when false no worker is built, so none ever starts
     * @param threads {@code flowmonkey.worker.threads}: executions run at once (default
     *     {@value EngineWorker#DEFAULT_THREADS})
     * @param pollInterval {@code flowmonkey.worker.poll-interval}: how often to look for due work when no
     *     notice arrives (default 5 s)
     * @param leaseTtl {@code flowmonkey.worker.lease-ttl}: how soon a dead worker's executions are taken
     *     over (default 30 s)
     * @param shutdownTimeout {@code flowmonkey.worker.shutdown-timeout}: how long shutdown lets in-flight
     *     steps finish (default 30 s)
     * @param workerId {@code flowmonkey.worker.worker-id}: the id written to {@code lease_owner}
     *     (default: host name, process id and a random suffix)
     */
    public record Worker(
            @DefaultValue("true") boolean enabled,
            Integer threads,
            Duration pollInterval,
            Duration leaseTtl,
            Duration shutdownTimeout,
            String workerId) {
    }
}
