/**
 * The embeddable admin console: {@link io.flowmonkey.console.AdminConsole} serves, from the JDK's own
 * HTTP server, a JSON API and server-rendered HTML pages to list, inspect and operate executions
 * (cancel, retry, restart from a step, signal, purge), behind a token, on loopback unless told otherwise.
 */
package io.flowmonkey.console;
