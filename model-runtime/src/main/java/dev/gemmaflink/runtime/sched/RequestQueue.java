package dev.gemmaflink.runtime.sched;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The waiting queue: bounded, ordered by priority (higher first) and arrival (older first within a priority), with
 * per-request deadlines.
 *
 * <p>The bound applies to new submissions only ({@link #offer} returns false when full, which the caller turns into
 * back-pressure); preempted requests always come back ({@link #requeue}) and, keeping their arrival order, go ahead
 * of newer ones of the same priority. Not thread-safe: the scheduling thread owns it.
 */
public final class RequestQueue {

    private final int capacity;
    private final TreeSet<ScheduledRequest> ordered = new TreeSet<>(SchedulingOrder.MOST_IMPORTANT_FIRST);
    private final Map<String, ScheduledRequest> byId = new HashMap<>();

    /** @param capacity most new requests waiting at once (>= 1) */
    public RequestQueue(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("queue capacity must be >= 1, got " + capacity);
        }
        this.capacity = capacity;
    }

    public int capacity() {
        return capacity;
    }

    /**
     * Enqueues a new request.
     *
     * @return false when the queue is full (nothing changed)
     * @throws IllegalArgumentException when a request with the same id is already queued
     */
    public boolean offer(ScheduledRequest request) {
        if (byId.size() >= capacity) {
            return false;
        }
        add(request);
        return true;
    }

    /** Puts a preempted request back, ignoring the bound (it was admitted once already). */
    public void requeue(ScheduledRequest request) {
        add(request);
    }

    /** The most important waiting request, or null when empty. */
    public ScheduledRequest peek() {
        return ordered.isEmpty() ? null : ordered.first();
    }

    /** Removes and returns the most important waiting request, or null when empty. */
    public ScheduledRequest poll() {
        ScheduledRequest head = ordered.pollFirst();
        if (head != null) {
            byId.remove(head.requestId());
        }
        return head;
    }

    /** Removes a waiting request by id (cancellation); null when it is not queued. */
    public ScheduledRequest remove(String requestId) {
        ScheduledRequest request = byId.remove(requestId);
        if (request != null) {
            ordered.remove(request);
        }
        return request;
    }

    /**
     * Removes every request whose deadline is at or before {@code nowNanos} and marks it
     * {@link RequestStatus#DEADLINE_EXCEEDED}; returns them, most important first.
     */
    public List<ScheduledRequest> removeExpired(long nowNanos) {
        List<ScheduledRequest> expired = new ArrayList<>();
        for (Iterator<ScheduledRequest> it = ordered.iterator(); it.hasNext(); ) {
            ScheduledRequest request = it.next();
            if (request.deadlineNanos() <= nowNanos) {
                it.remove();
                byId.remove(request.requestId());
                request.setStatus(RequestStatus.DEADLINE_EXCEEDED);
                expired.add(request);
            }
        }
        return expired;
    }

    public boolean contains(String requestId) {
        return byId.containsKey(requestId);
    }

    public int size() {
        return byId.size();
    }

    public boolean isEmpty() {
        return byId.isEmpty();
    }

    private void add(ScheduledRequest request) {
        if (byId.putIfAbsent(request.requestId(), request) != null) {
            throw new IllegalArgumentException("request " + request.requestId() + " is already queued");
        }
        if (request.status().isFinal()) {
            byId.remove(request.requestId());
            throw new IllegalArgumentException("request " + request.requestId() + " is " + request.status()
                    + " and cannot be queued");
        }
        ordered.add(request);
    }
}
