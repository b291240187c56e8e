package io.flowmonkey.engine;

/** What a parent waiting for its children does when one of them fails or is cancelled. */
public enum ChildFailurePolicy {
    /**
     * The first child that fails or is cancelled ends the wait at once: the children still running
     * are cancelled (source {@code PARENT}), then the waiting step goes to its
     * {@link Step#onFailure()}, or the parent fails with {@link Engine#CHILD_FAILED}.
     */
    FAIL_FAST,
    /** The parent waits until every child has ended, whatever each outcome, then continues as after any wait. */
    COLLECT_ALL
}
