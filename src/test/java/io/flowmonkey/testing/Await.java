package io.flowmonkey.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/** Bounded waits for conditions that other threads or processes make true. */
public final class Await {

    private Await() {
    }

    /**
     * Polls a condition every 5 ms; the bound keeps a broken worker from hanging the build.
     *
     * @param timeout how long to wait at most
     * @param condition what must become true
     * @throws AssertionError if it does not within {@code timeout}
     * @throws InterruptedException if interrupted while waiting
     */
    public static void awaitTrue(Duration timeout, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("condition not met within " + timeout);
            }
            TimeUnit.MILLISECONDS.sleep(5);
        }
    }

    /**
     * Waits until a file (a child process's log, say) exists and contains {@code text}.
     *
     * @param file the file
     * @param text what it must contain
     * @param timeout how long to wait at most
     * @throws AssertionError if it does not within {@code timeout}
     * @throws InterruptedException if interrupted while waiting
     */
    public static void awaitFileContains(Path file, String text, Duration timeout) throws InterruptedException {
        awaitTrue(timeout, () -> {
            try {
                return Files.exists(file) && Files.readString(file).contains(text);
            } catch (IOException e) {
                return false;
            }
        });
    }
}
