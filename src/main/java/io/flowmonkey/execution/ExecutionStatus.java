package io.flowmonkey.execution;

/**
 * Where an execution is in its life. The wire name is what the {@code status} column holds, as in
 * the schema of FlowMonkey's PostgreSQL documentation page.
 */
public enum ExecutionStatus {
    /** Created, no step has run yet. */
    PENDING("pending"),
    /** A step is running, or the engine stopped between steps. */
    RUNNING("running"),
    /** Parked until a signal or a wake-up time. */
    WAITING("waiting"),
    /** A cancel was requested and is being carried out. */
    CANCELLING("cancelling"),
    /** Cancelled; terminal. */
    CANCELLED("cancelled"),
    /** Finished successfully; terminal. */
    COMPLETED("completed"),
    /** Finished with an error; terminal. */
    FAILED("failed");

    private final String wireName;

    ExecutionStatus(String wireName) {
        this.wireName = wireName;
    }

    /**
     * Returns the name stored in the {@code status} column, e.g. {@code "pending"}.
     *
     * @return the lower-case wire name
     */
    public String wireName() {
        return wireName;
    }

    /**
     * Parses a wire name.
     *
     * @param s a wire name such as {@code "waiting"}
     * @return the status
     * @throws IllegalArgumentException if {@code s} is not one of the wire names
     */
    public static ExecutionStatus fromWireName(String s) {
        for (ExecutionStatus status : values()) {
            if (status.wireName.equals(s)) {
                return status;
            }
        }
        throw new IllegalArgumentException("unknown execution status '" + s + "'; expected one of "
                + "pending, running, waiting, cancelling, cancelled, completed, failed");
    }

    /**
     * Tells whether no further step will run.
     *
     * @return true for {@link #CANCELLED}, {@link #COMPLETED} and {@link #FAILED}
     */
    public boolean isTerminal() {
        return this == CANCELLED || this == COMPLETED || this == FAILED;
    }
}
