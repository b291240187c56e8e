package org.slf4j;

import org.slf4j.helpers.BasicMDCAdapter;

/**
 * slf4j-simple, the tests' logger, keeps no MDC (its adapter discards every put). Tests that check
 * what the engine puts in the MDC install SLF4J's own thread-local adapter through this class, which
 * sits in SLF4J's package only to reach its package-private setter.
 */
public final class MdcForTests {

    private MdcForTests() {
    }

    /** Makes {@link MDC} keep values, per thread, for the rest of this JVM. */
    public static synchronized void install() {
        if (!(MDC.getMDCAdapter() instanceof BasicMDCAdapter)) {
            MDC.setMDCAdapter(new BasicMDCAdapter());
        }
    }
}
