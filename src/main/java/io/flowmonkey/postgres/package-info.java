/**
 * The PostgreSQL store: {@link io.flowmonkey.postgres.PgExecutionStore}, its options,
 * {@link io.flowmonkey.postgres.SchemaApplier}, which installs and upgrades the bundled schema, and
 * {@link io.flowmonkey.postgres.PgDataSources}, which builds the pool. SQL and JSON mapping are
 * package-private details.
 *
 * <p><b>Sharing the table with TypeScript.</b> The table is the one FlowMonkey's PostgreSQL
 * documentation page describes (the first migration is that page's DDL), with the JSON shapes it
 * describes; a TypeScript service written to that schema shares its rows. The code of the
 * {@code @flowmonkey/postgres} package writes a different table ({@code fm_executions}, with other
 * columns), so it and this store do not read each other's rows. Optimistic concurrency holds only
 * between writers that bump {@code version}: a writer that updates a row without bumping and checking
 * it is neither detected nor protected, and the last save wins. Context numbers are stored and read
 * exactly here, but JavaScript parses JSON numbers into doubles: integers beyond 2<sup>53</sup> and
 * long decimals lose precision in a JavaScript reader, and in the row if it saves them back.
 */
package io.flowmonkey.postgres;
