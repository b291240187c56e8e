/**
 * {@link io.flowmonkey.memory.InMemoryExecutionStore}: the reference implementation of the store SPI,
 * for tests and prototypes. Same semantics as the PostgreSQL store; nothing survives the JVM.
 */
package io.flowmonkey.memory;
