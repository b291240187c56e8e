/**
 * The PostgreSQL store: {@link io.flowmonkey.postgres.PgExecutionStore}, its options and
 * {@link io.flowmonkey.postgres.SchemaApplier}, which installs and upgrades the bundled schema.
 * SQL and JSON mapping are package-private details.
 */
package io.flowmonkey.postgres;
