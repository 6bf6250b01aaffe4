package dev.gemmaflink.runtime.sched;

import dev.gemmaflink.runtime.kvcache.ChunkSlots;
import dev.gemmaflink.runtime.kvcache.KvCacheLayout;
import dev.gemmaflink.runtime.kvcache.Sequence;

/**
 * One request's share of a step: compute tokens {@code [startPosition, startPosition + numTokens)} of its sequence.
 *
 * @param request the request (read its token ids with {@link Sequence#tokens(int, int)} of
 *     {@link ScheduledRequest#sequence()})
 * @param startPosition first position to compute (= its computed tokens before the step)
 * @param numTokens tokens to compute: 1 for decode, a chunk for prefill
 * @param blockTables block ids per KV group, (numGroups, numBlocksOfSequence), valid for this step only; the slot of
 *     position p in group g is {@code blockTables[g][p / blockSize] * blockSize + p % blockSize}
 * @param samples true when the chunk ends at the last known token, so the step's logits for it yield the next token
 * @param cachedTokens tokens of this admission served by the prefix cache (0 unless the request was just admitted)
 */
public record ScheduledChunk(ScheduledRequest request, int startPosition, int numTokens, int[][] blockTables,
        boolean samples, int cachedTokens) {

    /** Exclusive end position. */
    public int endPosition() {
        return startPosition + numTokens;
    }

    /**
     * Slots of this chunk in one group, for the forward pass.
     *
     * @param layout the KV layout the block tables belong to
     */
    public ChunkSlots slots(int groupIndex, KvCacheLayout layout) {
        return ChunkSlots.of(blockTables[groupIndex], layout.blockSize(), layout.group(groupIndex).slidingWindow(),
                startPosition, numTokens);
    }

    /** True for a one-token step of a request whose prompt is computed. */
    public boolean isDecode() {
        return numTokens == 1 && startPosition >= request.numPromptTokens();
    }
}
