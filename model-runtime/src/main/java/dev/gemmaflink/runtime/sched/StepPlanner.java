package dev.gemmaflink.runtime.sched;

import dev.gemmaflink.runtime.kvcache.CachedPrefix;
import dev.gemmaflink.runtime.kvcache.ImageSpan;
import dev.gemmaflink.runtime.kvcache.ImageSpans;
import dev.gemmaflink.runtime.kvcache.KvCacheManager;
import dev.gemmaflink.runtime.kvcache.Sequence;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Token-budget step planning with chunked prefill, in the manner of vLLM v1: there are no prefill and decode phases;
 * each step lets every request's computed tokens catch up with its known tokens, within a budget of
 * {@code maxTokensPerStep} tokens and {@code maxBatchSize} running requests.
 *
 * <ol>
 *   <li>Expired requests (queued or running) leave with {@link RequestStatus#DEADLINE_EXCEEDED}.</li>
 *   <li>Running requests, most important first: a decode takes 1 token, an unfinished prefill the next chunk. When
 *       the KV cache has no room the least important running request is preempted ({@link PreemptionPolicy}) and the
 *       allocation retried; a request that is itself the least important is preempted instead.</li>
 *   <li>Only if nobody was preempted: waiting requests in queue order are admitted with their prefix-cache hit and a
 *       first prefill chunk, until the budget, the batch size or the KV cache runs out (head-of-line: no skipping).</li>
 * </ol>
 * The planner owns each request's life cycle; the KV cache sees only its {@link Sequence}. The plan holds no tensors.
 * The engine computes it, then calls {@link #commit(StepPlan)}, appends the sampled token of each chunk with
 * {@link ScheduledChunk#samples()}, and calls {@link #finish} for requests that stopped. Not thread-safe: one
 * scheduling thread per device.
 */
public final class StepPlanner {

    private final KvCacheManager kvCache;
    private final RequestQueue waiting;
    private final int maxTokensPerStep;
    private final int maxBatchSize;
    /** Running requests; sorted most important first at the start of every plan. */
    private final List<ScheduledRequest> running = new ArrayList<>();

    /**
     * @param kvCache the device's KV cache
     * @param waiting the waiting queue (the planner admits from it and requeues preempted requests into it)
     * @param maxTokensPerStep token budget of one step (>= 1)
     * @param maxBatchSize most requests running at once (>= 1)
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
     * Queues a new request.
     *
     * @return false when the waiting queue is full (back-pressure)
     * @throws IllegalArgumentException when the prompt alone exceeds {@link KvCacheManager#maxSequenceTokens()}
     */
    public boolean submit(ScheduledRequest request) {
        int numTokens = request.sequence().numTokens();
        if (numTokens >= kvCache.maxSequenceTokens()) {
            throw new IllegalArgumentException("request " + request.requestId() + ": " + numTokens
                    + " prompt tokens leave no room in a KV cache of " + kvCache.maxSequenceTokens() + " tokens");
        }
        return waiting.offer(request);
    }

    /** Plans the next step; {@code nowNanos} is on the {@link System#nanoTime()} scale of the deadlines. */
    public StepPlan plan(long nowNanos) {
        List<ScheduledRequest> expired = new ArrayList<>(waiting.removeExpired(nowNanos));
        for (ScheduledRequest request : List.copyOf(running)) {
            if (request.deadlineNanos() <= nowNanos) {
                finish(request, RequestStatus.DEADLINE_EXCEEDED);
                expired.add(request);
            }
        }
        running.sort(SchedulingOrder.MOST_IMPORTANT_FIRST);
        List<ScheduledChunk> chunks = new ArrayList<>();
        List<ScheduledRequest> preempted = new ArrayList<>();
        int budget = maxTokensPerStep;

        int index = 0;
        while (index < running.size() && budget > 0) {
            ScheduledRequest request = running.get(index);
            Sequence sequence = request.sequence();
            int wanted = Math.min(sequence.numTokens() - sequence.numComputedTokens(), budget);
            wanted = imageSafeChunk(sequence, sequence.numComputedTokens(), wanted, true);
            if (wanted == 0) {
                index++; // the engine has not appended its sampled token: nothing to compute
                continue;
            }
            int granted = allocateRunning(request, wanted, index, preempted);
            if (granted == 0) {
                break; // the request preempted itself; it was the last one
            }
            chunks.add(chunk(request, granted, 0));
            budget -= granted;
            index++;
        }

        while (preempted.isEmpty() && budget > 0 && running.size() < maxBatchSize && !waiting.isEmpty()) {
            ScheduledRequest request = waiting.peek();
            Sequence sequence = request.sequence();
            CachedPrefix prefix = kvCache.findLongestCachedPrefix(sequence);
            int wanted = imageSafeChunk(sequence, prefix.numTokens(),
                    Math.min(sequence.numTokens() - prefix.numTokens(), budget), true);
            int granted = admit(sequence, wanted, prefix);
            if (granted == 0) {
                break;
            }
            waiting.poll();
            request.setStatus(RequestStatus.RUNNING);
            running.add(request);
            chunks.add(chunk(request, granted, sequence.numCachedTokens()));
            budget -= granted;
        }
        return new StepPlan(chunks, preempted, expired);
    }

    /** Records that the engine computed every chunk of {@code plan}. */
    public void commit(StepPlan plan) {
        for (ScheduledChunk chunk : plan.chunks()) {
            ScheduledRequest request = chunk.request();
            if (request.status() != RequestStatus.RUNNING) {
                continue; // cancelled or finished while the step ran
            }
            Sequence sequence = request.sequence();
            if (sequence.numComputedTokens() != chunk.startPosition()) {
                throw new IllegalStateException("request " + request.requestId() + " moved from position "
                        + chunk.startPosition() + " to " + sequence.numComputedTokens() + " while its step ran");
            }
            sequence.advanceComputed(chunk.numTokens());
        }
    }

    /** Ends a running request (stop token, length limit, deadline) and frees its blocks. */
    public void finish(ScheduledRequest request, RequestStatus outcome) {
        if (!outcome.isFinal()) {
            throw new IllegalArgumentException("finish needs a final status, got " + outcome);
        }
        if (!running.remove(request)) {
            throw new IllegalArgumentException("request " + request.requestId() + " is not running");
        }
        kvCache.free(request.sequence());
        request.setStatus(outcome);
    }

    /**
     * Cancels a queued or running request; its blocks are freed (their cached prefix stays reusable).
     *
     * @return the cancelled request, or null when no such request is queued or running
     */
    public ScheduledRequest cancel(String requestId) {
        ScheduledRequest queued = waiting.remove(requestId);
        if (queued != null) {
            queued.setStatus(RequestStatus.CANCELLED);
            return queued;
        }
        for (ScheduledRequest request : running) {
            if (request.requestId().equals(requestId)) {
                finish(request, RequestStatus.CANCELLED);
                return request;
            }
        }
        return null;
    }

    /** Running requests (read-only view), most important first as of the last plan. */
    public List<ScheduledRequest> running() {
        return Collections.unmodifiableList(running);
    }

    public RequestQueue waiting() {
        return waiting;
    }

    /**
     * Allocates for a running request, preempting less important ones until it fits. A request that is alone and
     * still does not fit (a prefill chunk larger than the free window) gets a smaller chunk instead.
     *
     * @return tokens granted, or 0 when the request itself was preempted
     */
    private int allocateRunning(ScheduledRequest request, int wanted, int index, List<ScheduledRequest> preempted) {
        Sequence sequence = request.sequence();
        int tokens = wanted;
        while (!kvCache.allocateSlots(sequence, tokens)) {
            List<ScheduledRequest> candidates = running.subList(index, running.size());
            if (candidates.size() == 1 && index == 0) {
                // Nobody left to preempt: shrink the chunk to what fits rather than stall.
                int fits = imageSafeChunk(sequence, sequence.numComputedTokens(),
                        kvCache.maxAllocatableTokens(sequence, tokens, CachedPrefix.none()), false);
                if (fits > 0) {
                    tokens = fits;
                    continue;
                }
            }
            ScheduledRequest victim = PreemptionPolicy.selectVictim(candidates);
            preempt(victim);
            preempted.add(victim);
            if (victim == request) {
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
            return 0; // running requests will free blocks; keep the head of the queue waiting
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

    private void preempt(ScheduledRequest victim) {
        running.remove(victim);
        kvCache.free(victim.sequence());
        victim.markPreempted();
        waiting.requeue(victim);
    }

    private ScheduledChunk chunk(ScheduledRequest request, int numTokens, int cachedTokens) {
        Sequence sequence = request.sequence();
        int start = sequence.numComputedTokens();
        return new ScheduledChunk(request, start, numTokens, kvCache.blockTables(sequence),
                start + numTokens == sequence.numTokens(), cachedTokens);
    }
}
