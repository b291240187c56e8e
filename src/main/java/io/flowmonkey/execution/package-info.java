/**
 * The execution model and the storage SPI: {@link io.flowmonkey.execution.Execution} and its parts,
 * {@link io.flowmonkey.execution.ExecutionStore} (and {@link io.flowmonkey.execution.SignalStore} for signals),
 * and the unchecked exceptions every store throws.
 * Engines and workers depend on this package only; stores implement it.
 */
package io.flowmonkey.execution;
