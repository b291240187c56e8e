package io.flowmonkey.execution;

import java.util.List;
import java.util.Objects;

/**
 * One page of a query's results, in the query's order, and the cursor of the page after it.
 *
 * @param items the results on this page, unmodifiable
 * @param nextCursor the opaque cursor to pass to {@link ExecutionQuery#after(String)} for the next
 *     page, or null when this is the last page
 * @param <T> what the page holds
 */
public record Page<T>(List<T> items, String nextCursor) {

    /**
     * Copies the items.
     *
     * @param items the results on this page
     * @param nextCursor the next page's cursor, or null on the last page
     */
    public Page {
        items = List.copyOf(Objects.requireNonNull(items, "items must not be null"));
    }

    /**
     * Tells whether another page follows. It may turn out empty, when the rows after this page were
     * deleted or changed meanwhile.
     *
     * @return true if {@link #nextCursor()} is set
     */
    public boolean hasNext() {
        return nextCursor != null;
    }
}
