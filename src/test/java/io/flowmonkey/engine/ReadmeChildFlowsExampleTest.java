package io.flowmonkey.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.flowmonkey.execution.Execution;
import io.flowmonkey.execution.ExecutionStatus;
import io.flowmonkey.testing.PostgresExtension;
import java.io.File;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Compiles the order service of README.md's "Child flows, signals and results" exactly as it is
 * written there (the block is read from the file, so the two cannot drift apart) and runs it.
 */
class ReadmeChildFlowsExampleTest {

    @RegisterExtension
    static final PostgresExtension PG = new PostgresExtension();

    private static final Pattern BLOCK = Pattern.compile("```java\\n(import io\\.flowmonkey\\.engine\\.ChildSpec;.*?)```",
            Pattern.DOTALL);

    @Test
    void the_readme_order_service_compiles_and_runs_children_a_signal_and_await_end() throws Exception {
        Matcher block = BLOCK.matcher(Files.readString(Path.of("README.md"), StandardCharsets.UTF_8));
        assertThat(block.find()).as("README.md has the order service example").isTrue();
        Path dir = Files.createDirectories(Path.of("target", "readme-example"));
        Path source = dir.resolve("OrderService.java");
        Files.writeString(source, block.group(1), StandardCharsets.UTF_8);

        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        int status = javac.run(null, null, null, "-classpath", classpath, "-d", dir.toString(), "-Xlint:all",
                "-Werror", source.toString());
        assertThat(status).as("javac of the README example").isZero();

        try (URLClassLoader loader = new URLClassLoader(new URL[] {dir.toUri().toURL()}, getClass().getClassLoader())) {
            Class<?> type = loader.loadClass("OrderService");
            Object service = type.getConstructor(DataSource.class).newInstance(PG.dataSource());
            try {
                String id = (String) type.getMethod("placeOrder", String.class, List.class)
                        .invoke(service, "order-1001", List.of("P1", "P2"));
                // The webhook may well come before the order waits for it: the signal is buffered.
                type.getMethod("paymentConfirmed", String.class, String.class).invoke(service, id, "card");
                Execution order = assertTimeoutPreemptively(Duration.ofSeconds(60), () -> (Execution) type
                        .getMethod("awaitOrder", String.class, Duration.class).invoke(service, id, Duration.ofSeconds(50)));

                assertThat(order.status()).isEqualTo(ExecutionStatus.COMPLETED);
                assertThat(order.context()).containsEntry("summary",
                        Map.of("paidBy", "card", "labels", List.of("LABEL-P1", "LABEL-P2")));
                String again = (String) type.getMethod("placeOrder", String.class, List.class)
                        .invoke(service, "order-1001", List.of("P1", "P2"));
                assertThat(again).isEqualTo(id);
            } finally {
                ((AutoCloseable) service).close();
            }
        }
        assertThat(new File(dir.toFile(), "OrderService.class")).exists();
    }
}
