package dev.gemmaflink.runtime.sched;

import dev.gemmaflink.runtime.kvcache.Sequence;
import dev.gemmaflink.runtime.kvcache.SequenceStatus;
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
 * back-pressure); preempted sequences always come back ({@link #requeue}) and, keeping their arrival order, go ahead
 * of newer ones of the same priority. Not thread-safe: the scheduling thread owns it.
 */
public final class RequestQueue {

    private final int capacity;
    private final TreeSet<Sequence> ordered = new TreeSet<>(SchedulingOrder.MOST_IMPORTANT_FIRST);
    private final Map<String, Sequence> byId = new HashMap<>();

    /** @param capacity most new sequences waiting at once (>= 1) */
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
     * Enqueues a new sequence.
     *
     * @return false when the queue is full (nothing changed)
     * @throws IllegalArgumentException when a sequence with the same request id is already queued
     */
    public boolean offer(Sequence sequence) {
        if (byId.size() >= capacity) {
            return false;
        }
        add(sequence);
        return true;
    }

    /** Puts a preempted sequence back, ignoring the bound (it was admitted once already). */
    public void requeue(Sequence sequence) {
        add(sequence);
    }

    /** The most important waiting sequence, or null when empty. */
    public Sequence peek() {
        return ordered.isEmpty() ? null : ordered.first();
    }

    /** Removes and returns the most important waiting sequence, or null when empty. */
    public Sequence poll() {
        Sequence head = ordered.pollFirst();
        if (head != null) {
            byId.remove(head.requestId());
        }
        return head;
    }

    /** Removes a waiting sequence by id (cancellation); null when it is not queued. */
    public Sequence remove(String requestId) {
        Sequence sequence = byId.remove(requestId);
        if (sequence != null) {
            ordered.remove(sequence);
        }
        return sequence;
    }

    /**
     * Removes every sequence whose deadline is at or before {@code nowNanos} and marks it
     * {@link SequenceStatus#DEADLINE_EXCEEDED}; returns them, most important first.
     */
    public List<Sequence> removeExpired(long nowNanos) {
        List<Sequence> expired = new ArrayList<>();
        for (Iterator<Sequence> it = ordered.iterator(); it.hasNext(); ) {
            Sequence sequence = it.next();
            if (sequence.deadlineNanos() <= nowNanos) {
                it.remove();
                byId.remove(sequence.requestId());
                sequence.setStatus(SequenceStatus.DEADLINE_EXCEEDED);
                expired.add(sequence);
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

    private void add(Sequence sequence) {
        if (byId.putIfAbsent(sequence.requestId(), sequence) != null) {
            throw new IllegalArgumentException("request " + sequence.requestId() + " is already queued");
        }
        if (sequence.status().isFinal()) {
            byId.remove(sequence.requestId());
            throw new IllegalArgumentException("request " + sequence.requestId() + " is " + sequence.status()
                    + " and cannot be queued");
        }
        ordered.add(sequence);
    }
}
