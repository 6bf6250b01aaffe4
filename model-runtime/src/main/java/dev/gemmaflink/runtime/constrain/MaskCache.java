package dev.gemmaflink.runtime.constrain;

import dev.gemmaflink.runtime.model.TokenMask;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntFunction;

/**
 * The token masks of one compiled constraint, one per automaton state, computed once (on the given executor, so
 * that a mask can be computed while the device runs a step) and then shared by every request in that state. Equal
 * masks of different states are stored once. A state no token continues from has the mask null. Thread-safe.
 */
final class MaskCache {

    private final ConcurrentHashMap<Integer, CompletableFuture<TokenMask>> byState = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<TokenMask, TokenMask> distinct = new ConcurrentHashMap<>();
    private final IntFunction<TokenMask> compute;
    private final Executor executor;
    private final AtomicLong bytes = new AtomicLong();
    private final AtomicLong computeNanos = new AtomicLong();

    MaskCache(IntFunction<TokenMask> compute, Executor executor) {
        this.compute = compute;
        this.executor = executor;
    }

    /** Starts computing the mask of {@code state} unless it is known or under way; returns its future. */
    CompletableFuture<TokenMask> prefetch(int state) {
        CompletableFuture<TokenMask> f = byState.get(state);
        if (f != null) {
            return f;
        }
        CompletableFuture<TokenMask> mine = new CompletableFuture<>();
        f = byState.putIfAbsent(state, mine);
        if (f != null) {
            return f;
        }
        Runnable task = () -> {
            try {
                long t0 = System.nanoTime();
                TokenMask m = compute.apply(state);
                computeNanos.addAndGet(System.nanoTime() - t0);
                TokenMask shared = m == null ? null : distinct.putIfAbsent(m, m);
                if (m != null && shared == null) {
                    bytes.addAndGet(m.bytes());
                    shared = m;
                }
                mine.complete(shared);
            } catch (Throwable t) {
                byState.remove(state, mine); // a later request may retry
                mine.completeExceptionally(t);
            }
        };
        try {
            executor.execute(task);
        } catch (RejectedExecutionException e) {
            task.run(); // the executor is shut down (engine closing): compute here
        }
        return mine;
    }

    /**
     * The mask of {@code state} (null: no token continues), waiting for it if it is being computed; a failure is
     * rethrown as it was thrown.
     */
    TokenMask get(int state) {
        try {
            return prefetch(state).join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            if (e.getCause() instanceof Error err) {
                throw err;
            }
            throw e;
        }
    }

    /** States with a mask known or under way. */
    int states() {
        return byState.size();
    }

    /** Distinct masks stored. */
    int distinctMasks() {
        return distinct.size();
    }

    /** Approximate heap bytes of the distinct masks. */
    long bytes() {
        return bytes.get();
    }

    /** Total time spent computing masks, in nanoseconds (all threads). */
    long computeNanos() {
        return computeNanos.get();
    }
}
