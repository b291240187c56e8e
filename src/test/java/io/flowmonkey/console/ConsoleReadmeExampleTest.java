package io.flowmonkey.console;

import static org.assertj.core.api.Assertions.assertThat;

import io.flowmonkey.engine.Engine;
import io.flowmonkey.postgres.PgExecutionStore;
import io.flowmonkey.testing.PostgresExtension;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The snippet of README.md's "Admin console" subsection, line for line, so that it keeps compiling and working. */
class ConsoleReadmeExampleTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    @Test
    void admin_console_example() throws Exception {
        ConsoleFixture fx = new ConsoleFixture(PG.dataSource());
        Engine engine = fx.engine;
        PgExecutionStore store = fx.store;
        String consoleToken = ConsoleFixture.TOKEN;
        int port = 0;

        // --- README: admin console ---
        try (AdminConsole console = AdminConsole.builder(engine, store)
                .port(port)                                             // default 8090; 0: any free port, see console.port()
                .token(consoleToken)                                    // required, 16+ characters: keep it like a password
                .readOnly(false)                                        // true: every page, no action
                .build()
                .start()) {
            System.out.println("admin console at " + console.uri());   // http://127.0.0.1:8090/: loopback unless bindAddress(..)
            runApplication(console);                                    // close() stops the console
        }
        // --- end of README ---
        assertThat(status).isEqualTo(200);
    }

    private int status;

    /** Stands for the application's life in the snippet: calls the API while the console is up. */
    private void runApplication(AdminConsole console) throws Exception {
        assertThat(console.uri().getHost()).isEqualTo("127.0.0.1");
        status = HttpClient.newHttpClient().send(HttpRequest.newBuilder(console.uri().resolve("/api/counts"))
                .header("Authorization", "Bearer " + ConsoleFixture.TOKEN).build(), HttpResponse.BodyHandlers.ofString())
                .statusCode();
    }
}
