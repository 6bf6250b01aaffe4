package dev.gemmaflink.runtime.sched;

import dev.gemmaflink.runtime.kvcache.CachedPrefix;
import dev.gemmaflink.runtime.kvcache.ImageSpan;
import dev.gemmaflink.runtime.kvcache.ImageSpans;
import dev.gemmaflink.runtime.kvcache.KvCacheManager;
import dev.gemmaflink.runtime.kvcache.Sequence;
import dev.gemmaflink.runtime.kvcache.SequenceStatus;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Token-budget step planning with chunked prefill, in the manner of vLLM v1: there are no prefill and decode phases;
 * each step lets every sequence's computed tokens catch up with its known tokens, within a budget of
 * {@code maxTokensPerStep} tokens and {@code maxBatchSize} running sequences.
 *
 * <ol>
 *   <li>Expired sequences (queued or running) leave with {@link SequenceStatus#DEADLINE_EXCEEDED}.</li>
 *   <li>Running sequences, most important first: a decode takes 1 token, an unfinished prefill the next chunk. When
 *       the KV cache has no room the least important running sequence is preempted ({@link PreemptionPolicy}) and the
 *       allocation retried; a sequence that is itself the least important is preempted instead.</li>
 *   <li>Only if nobody was preempted: waiting sequences in queue order are admitted with their prefix-cache hit and a
 *       first prefill chunk, until the budget, the batch size or the KV cache runs out (head-of-line: no skipping).</li>
 * </ol>
 * The plan holds no tensors. The engine computes it, then calls {@link #commit(StepPlan)}, appends the sampled token
 * of each chunk with {@link ScheduledChunk#samples()}, and calls {@link #finish} for sequences that stopped. Not
 * thread-safe: one scheduling thread per device.
 */
public final class StepPlanner {

    private final KvCacheManager kvCache;
    private final RequestQueue waiting;
    private final int maxTokensPerStep;
    private final int maxBatchSize;
    /** Running sequences; sorted most important first at the start of every plan. */
    private final List<Sequence> running = new ArrayList<>();

    /**
     * @param kvCache the device's KV cache
     * @param waiting the waiting queue (the planner admits from it and requeues preempted sequences into it)
     * @param maxTokensPerStep token budget of one step (>= 1)
     * @param maxBatchSize most sequences running at once (>= 1)
     */
    public StepPlanner(KvCacheManager kvCache, RequestQueue waiting, int maxTokensPerStep, int maxBatchSize) {
        if (kvCache == null || waiting == null) {
            throw new IllegalArgumentException("kvCache and waiting queue are required");
        }
        if (maxTokensPerStep < 1) {
            throw new IllegalArgumentException("maxTokensPerStep must be >= 1, got " + maxTokensPerStep);
        }
        if (maxBatchSize < 1) {
            throw new IllegalArgumentException("maxBatchSize must be >= 1, got " + maxBatchSize);
        }
        this.kvCache = kvCache;
        this.waiting = waiting;
        this.maxTokensPerStep = maxTokensPerStep;
        this.maxBatchSize = maxBatchSize;
    }

    /**
     * Queues a new sequence.
     *
     * @return false when the waiting queue is full (back-pressure)
     * @throws IllegalArgumentException when the prompt alone exceeds {@link KvCacheManager#maxSequenceTokens()}
     */
    public boolean submit(Sequence sequence) {
        if (sequence.numTokens() >= kvCache.maxSequenceTokens()) {
            throw new IllegalArgumentException("request " + sequence.requestId() + ": " + sequence.numTokens()
                    + " prompt tokens leave no room in a KV cache of " + kvCache.maxSequenceTokens() + " tokens");
        }
        return waiting.offer(sequence);
    }

    /** Plans the next step; {@code nowNanos} is on the {@link System#nanoTime()} scale of the deadlines. */
    public StepPlan plan(long nowNanos) {
        List<Sequence> expired = new ArrayList<>(waiting.removeExpired(nowNanos));
        for (Sequence sequence : List.copyOf(running)) {
            if (sequence.deadlineNanos() <= nowNanos) {
                finish(sequence, SequenceStatus.DEADLINE_EXCEEDED);
                expired.add(sequence);
            }
        }
        running.sort(SchedulingOrder.MOST_IMPORTANT_FIRST);
        List<ScheduledChunk> chunks = new ArrayList<>();
        List<Sequence> preempted = new ArrayList<>();
        int budget = maxTokensPerStep;

        int index = 0;
        while (index < running.size() && budget > 0) {
            Sequence sequence = running.get(index);
            int wanted = Math.min(sequence.numTokens() - sequence.numComputedTokens(), budget);
            wanted = imageSafeChunk(sequence, sequence.numComputedTokens(), wanted, true);
            if (wanted == 0) {
                index++; // the engine has not appended its sampled token: nothing to compute
                continue;
            }
            int granted = allocateRunning(sequence, wanted, index, preempted);
            if (granted == 0) {
                break; // the sequence preempted itself; it was the last one
            }
            chunks.add(chunk(sequence, granted, 0));
            budget -= granted;
            index++;
        }

        while (preempted.isEmpty() && budget > 0 && running.size() < maxBatchSize && !waiting.isEmpty()) {
            Sequence sequence = waiting.peek();
            CachedPrefix prefix = kvCache.findLongestCachedPrefix(sequence);
            int wanted = imageSafeChunk(sequence, prefix.numTokens(),
                    Math.min(sequence.numTokens() - prefix.numTokens(), budget), true);
            int granted = admit(sequence, wanted, prefix);
            if (granted == 0) {
                break;
            }
            waiting.poll();
            sequence.setStatus(SequenceStatus.RUNNING);
            running.add(sequence);
            chunks.add(chunk(sequence, granted, sequence.numCachedTokens()));
            budget -= granted;
        }
        return new StepPlan(chunks, preempted, expired);
    }

    /** Records that the engine computed every chunk of {@code plan}. */
    public void commit(StepPlan plan) {
        for (ScheduledChunk chunk : plan.chunks()) {
            Sequence sequence = chunk.sequence();
            if (sequence.status() != SequenceStatus.RUNNING) {
                continue; // cancelled or finished while the step ran
            }
            if (sequence.numComputedTokens() != chunk.startPosition()) {
                throw new IllegalStateException("request " + sequence.requestId() + " moved from position "
                        + chunk.startPosition() + " to " + sequence.numComputedTokens() + " while its step ran");
            }
            sequence.advanceComputed(chunk.numTokens());
        }
    }

    /** Ends a running sequence (stop token, length limit, deadline) and frees its blocks. */
    public void finish(Sequence sequence, SequenceStatus outcome) {
        if (!outcome.isFinal()) {
            throw new IllegalArgumentException("finish needs a final status, got " + outcome);
        }
        if (!running.remove(sequence)) {
            throw new IllegalArgumentException("request " + sequence.requestId() + " is not running");
        }
        kvCache.free(sequence);
        sequence.setStatus(outcome);
    }

    /**
     * Cancels a queued or running sequence; its blocks are freed (their cached prefix stays reusable).
     *
     * @return the cancelled sequence, or null when no such sequence is queued or running
     */
    public Sequence cancel(String requestId) {
        Sequence queued = waiting.remove(requestId);
        if (queued != null) {
            queued.setStatus(SequenceStatus.CANCELLED);
            return queued;
        }
        for (Sequence sequence : running) {
            if (sequence.requestId().equals(requestId)) {
                finish(sequence, SequenceStatus.CANCELLED);
                return sequence;
            }
        }
        return null;
    }

    /** Running sequences (read-only view), most important first as of the last plan. */
    public List<Sequence> running() {
        return Collections.unmodifiableList(running);
    }

    public RequestQueue waiting() {
        return waiting;
    }

    /**
     * Allocates for a running sequence, preempting less important ones until it fits. A sequence that is alone and
     * still does not fit (a prefill chunk larger than the free window) gets a smaller chunk instead.
     *
     * @return tokens granted, or 0 when the sequence itself was preempted
     */
    private int allocateRunning(Sequence sequence, int wanted, int index, List<Sequence> preempted) {
        int tokens = wanted;
        while (!kvCache.allocateSlots(sequence, tokens)) {
            List<Sequence> candidates = running.subList(index, running.size());
            if (candidates.size() == 1 && index == 0) {
                // Nobody left to preempt: shrink the chunk to what fits rather than stall.
                int fits = imageSafeChunk(sequence, sequence.numComputedTokens(),
                        kvCache.maxAllocatableTokens(sequence, tokens, CachedPrefix.none()), false);
                if (fits > 0) {
                    tokens = fits;
                    continue;
                }
            }
            Sequence victim = PreemptionPolicy.selectVictim(candidates);
            preempt(victim);
            preempted.add(victim);
            if (victim == sequence) {
                return 0;
            }
        }
        return tokens;
    }

    /** Admits a waiting sequence with a first chunk; shrinks the chunk only when nothing runs. 0 when no room. */
    private int admit(Sequence sequence, int wanted, CachedPrefix prefix) {
        if (kvCache.allocateSlots(sequence, wanted, prefix)) {
            return wanted;
        }
        if (!running.isEmpty()) {
            return 0; // running sequences will free blocks; keep the head of the queue waiting
        }
        int fits = imageSafeChunk(sequence, prefix.numTokens(), kvCache.maxAllocatableTokens(sequence, wanted, prefix),
                false);
        return fits > 0 && kvCache.allocateSlots(sequence, fits, prefix) ? fits : 0;
    }

    /**
     * Tokens of a chunk from {@code start} that would like {@code tokens} tokens, its end moved out of any image span
     * ({@link ImageSpans}): to the span's start when the span begins after {@code start}; otherwise, when
     * {@code mayGrow}, to the span's end (the chunk grows past the budget to hold the whole image, as the
     * single-sequence generator does), else to nothing.
     */
    static int imageSafeChunk(Sequence sequence, int start, int tokens, boolean mayGrow) {
        List<ImageSpan> images = sequence.cacheKeys().images();
        int end = mayGrow ? ImageSpans.chunkEnd(images, start, start + tokens)
                : Math.max(start, ImageSpans.roundDown(images, start + tokens, 1));
        return end - start;
    }

    private void preempt(Sequence victim) {
        running.remove(victim);
        kvCache.free(victim);
        victim.resetForRecompute();
        waiting.requeue(victim);
    }

    private ScheduledChunk chunk(Sequence sequence, int numTokens, int cachedTokens) {
        int start = sequence.numComputedTokens();
        return new ScheduledChunk(sequence, start, numTokens, kvCache.blockTables(sequence),
                start + numTokens == sequence.numTokens(), cachedTokens);
    }
}
