/**
 * Spring Boot 3 auto-configuration: a {@code PgExecutionStore} over the application's
 * {@code DataSource} that joins Spring-managed transactions, an {@code Engine}, an {@code EngineWorker}
 * started and stopped with the context, and a health indicator. Loaded only when Spring Boot is present.
 */
package io.flowmonkey.spring;
