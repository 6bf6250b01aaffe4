package dev.gemmaflink.runtime.engine;

import java.util.concurrent.RejectedExecutionException;

/**
 * Thrown by {@link GemmaEngine#submit} when the waiting queue is at capacity: back-pressure, the request was not
 * accepted and nothing was allocated for it. Retry later or shed load.
 */
public final class QueueFullException extends RejectedExecutionException {

    private static final long serialVersionUID = 1L;

    private final int capacity;

    QueueFullException(String requestId, int capacity) {
        super("request " + requestId + " rejected: the engine's waiting queue is full (" + capacity
                + " requests waiting); retry later");
        this.capacity = capacity;
    }

    /** The queue capacity that was reached. */
    public int capacity() {
        return capacity;
    }
}
