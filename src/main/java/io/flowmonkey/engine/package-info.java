/**
 * The workflow engine: {@link io.flowmonkey.engine.Engine} runs {@link io.flowmonkey.engine.Flow}s of
 * {@link io.flowmonkey.engine.Step}s through registered {@link io.flowmonkey.engine.StepHandler}s and
 * saves every state change through the {@link io.flowmonkey.execution.ExecutionStore} SPI only;
 * {@link io.flowmonkey.engine.EngineWorker} runs due work in the background, shared by any number of JVMs.
 */
package io.flowmonkey.engine;
