package io.flowmonkey.spring;

import io.flowmonkey.engine.EngineWorker;
import io.flowmonkey.postgres.PgStoreOptions;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * The {@code flowmonkey.*} properties of {@link FlowMonkeyAutoConfiguration}. Schema and table are
 * checked as they are bound, so a bad name stops the application at start-up with the property's name.
 * (The parameter descriptions are plain text: Spring Boot copies them into the metadata IDEs show.)
 *
 * @param enabled whether to configure FlowMonkey at all; false leaves out every FlowMonkey bean
 * @param schema schema of the executions table, a lower-case SQL identifier; created if missing
 *     when the schema is applied
 * @param table name of the executions table, a lower-case SQL identifier of at most 40 characters
 * @param applySchema whether to run SchemaApplier at start-up; set false when the application's role
 *     may not create tables, or a DBA or Flyway owns the schema
 * @param worker the background worker
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
     * @param enabled flowmonkey.enabled
     * @param schema flowmonkey.schema
     * @param table flowmonkey.table
     * @param applySchema flowmonkey.apply-schema
     * @param worker flowmonkey.worker.*
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
     * The {@code flowmonkey.worker.*} properties. Unset values keep {@link EngineWorker}'s
     * {@code DEFAULT_*} values.
     *
     * @param enabled whether this application runs a worker; when false none is built, so none starts
     * @param threads how many executions' steps run at once, at least 1 (default EngineWorker.DEFAULT_THREADS, 4)
     * @param pollInterval how often to look for due work when no notice arrives (default 5s)
     * @param leaseTtl how long a claim lasts without renewal: how soon a dead worker's executions are
     *     taken over (default 30s)
     * @param shutdownTimeout how long shutdown lets in-flight steps finish before interrupting them
     *     (default 30s)
     * @param workerId the id written to lease_owner, unique among live workers (default: host name,
     *     process id and a random suffix)
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
