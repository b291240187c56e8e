/**
 * Metrics and traces through Micrometer (an optional dependency: add {@code io.micrometer:micrometer-core}):
 * {@link io.flowmonkey.micrometer.FlowMonkeyMetrics} is an {@link io.flowmonkey.engine.EngineListener}
 * and a {@code MeterBinder}; nothing outside this package loads a Micrometer class.
 */
package io.flowmonkey.micrometer;
