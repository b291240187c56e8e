package io.flowmonkey.testing;

import io.flowmonkey.execution.SignalStore;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * An end listener that records the ends it hears, in order, and whether it is listening yet (a store
 * reports missed notices once it listens, so that callers look again).
 */
public final class RecordedEnds implements SignalStore.EndListener {

    private final BlockingQueue<String> ends = new LinkedBlockingQueue<>();
    private final CountDownLatch listening = new CountDownLatch(1);

    @Override
    public void onEnded(String executionId) {
        ends.add(executionId);
    }

    @Override
    public void onMissedNotices() {
        listening.countDown();
    }

    /**
     * Waits until the store listens.
     *
     * @param timeout how long to wait
     * @return whether it listens
     */
    public boolean awaitListening(Duration timeout) throws InterruptedException {
        return listening.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * The next end heard.
     *
     * @param timeout how long to wait for it
     * @return its execution id, or null when none was heard in time
     */
    public String next(Duration timeout) throws InterruptedException {
        return ends.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }
}
