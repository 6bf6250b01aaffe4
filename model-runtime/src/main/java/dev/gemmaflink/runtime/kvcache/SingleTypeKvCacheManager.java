package dev.gemmaflink.runtime.kvcache;

import dev.gemmaflink.runtime.config.LayerType;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Block tables of one KV group: which blocks each sequence holds, in token order (entry i covers token positions
 * [i * blockSize, (i + 1) * blockSize)). Subclasses decide what a prefix hit needs and which blocks can be dropped.
 */
abstract class SingleTypeKvCacheManager {

    final KvGroupSpec spec;
    final BlockPool pool;
    final int blockSize;
    private final Map<String, List<KvBlock>> blocksByRequest = new HashMap<>();
    /** Per sequence: how many leading blocks were offered to the prefix cache already. */
    private final Map<String, Integer> numCachedBlocks = new HashMap<>();

    SingleTypeKvCacheManager(KvGroupSpec spec, BlockPool pool, int blockSize) {
        this.spec = spec;
        this.pool = pool;
        this.blockSize = blockSize;
    }

    static SingleTypeKvCacheManager create(KvGroupSpec spec, BlockPool pool, int blockSize) {
        return spec.type() == LayerType.FULL_ATTENTION
                ? new FullAttentionManager(spec, pool, blockSize)
                : new SlidingWindowManager(spec, pool, blockSize);
    }

    /**
     * The longest prefix of {@code blockHashes} whose blocks this group can serve, at most {@code maxLength} tokens.
     * Entries may be the null block where the group does not need the block. Changes no state.
     */
    abstract List<KvBlock> findLongestCacheHit(List<BlockHash> blockHashes, int maxLength);

    /** Tokens before this position are never read again once {@code numComputedTokens} tokens are computed. */
    abstract int numSkippedTokens(int numComputedTokens);

    /**
     * Blocks the pool must hand out so the sequence has slots for {@code numTokens} tokens after adopting
     * {@code hitBlocks}: new blocks, plus hit blocks that sit unreferenced in the free list (touching them takes
     * them out of it).
     */
    int numBlocksToAllocate(String requestId, int numTokens, List<KvBlock> hitBlocks) {
        int required = KvCacheLayout.ceilDiv(numTokens, blockSize);
        int held = blocksByRequest.getOrDefault(requestId, List.of()).size();
        int newBlocks = Math.max(0, required - held - hitBlocks.size());
        int evictableHits = 0;
        for (KvBlock block : hitBlocks) {
            if (!block.isNull() && block.refCount() == 0) {
                evictableHits++;
            }
        }
        return newBlocks + evictableHits;
    }

    /** Appends prefix-hit blocks (already touched) to a sequence that holds none yet. */
    void saveHitBlocks(String requestId, List<KvBlock> hitBlocks) {
        if (hitBlocks.isEmpty()) {
            return;
        }
        List<KvBlock> blocks = blocksByRequest.computeIfAbsent(requestId, k -> new ArrayList<>());
        if (!blocks.isEmpty()) {
            throw new IllegalStateException("request " + requestId + " already holds " + blocks.size()
                    + " blocks; prefix hits apply at admission only");
        }
        blocks.addAll(hitBlocks);
        // Hit blocks are cached (or null) already: do not offer them again.
        numCachedBlocks.put(requestId, hitBlocks.size());
    }

    /** Allocates blocks until the sequence has slots for {@code numTokens} tokens. Caller checked the free count. */
    void allocateNewBlocks(String requestId, int numTokens) {
        List<KvBlock> blocks = blocksByRequest.computeIfAbsent(requestId, k -> new ArrayList<>());
        int missing = KvCacheLayout.ceilDiv(numTokens, blockSize) - blocks.size();
        if (missing > 0) {
            blocks.addAll(pool.allocate(missing));
        }
    }

    /** Offers the sequence's full blocks covering its first {@code numTokens} tokens to the prefix cache. */
    void cacheBlocks(Sequence sequence, int numTokens) {
        String id = sequence.requestId();
        List<KvBlock> blocks = blocksByRequest.get(id);
        if (blocks == null) {
            return;
        }
        int numFull = Math.min(numTokens / blockSize, blocks.size());
        int already = numCachedBlocks.getOrDefault(id, 0);
        if (numFull > already) {
            pool.cacheFullBlocks(blocks, sequence.blockHashes(), already, numFull);
            numCachedBlocks.put(id, numFull);
        }
    }

    /**
     * Blocks that {@link #removeSkippedBlocks} would return to the pool's free list now: the skipped blocks only this
     * sequence holds (a block shared with another sequence stays in use). Changes no state.
     */
    int numSkippedBlocksToFree(String requestId, int numComputedTokens) {
        List<KvBlock> blocks = blocksByRequest.get(requestId);
        int freed = 0;
        for (int i : skippedIndicesToRemove(requestId, numComputedTokens)) {
            if (blocks.get(i).refCount() == 1) {
                freed++;
            }
        }
        return freed;
    }

    /**
     * Replaces blocks that no future token of the sequence reads with the null block and frees them, newest first
     * (the same tail-first order as {@link #free}).
     */
    void removeSkippedBlocks(String requestId, int numComputedTokens) {
        List<KvBlock> blocks = blocksByRequest.get(requestId);
        KvBlock nullBlock = pool.nullBlock();
        List<KvBlock> removed = new ArrayList<>();
        for (int i : skippedIndicesToRemove(requestId, numComputedTokens)) {
            removed.add(blocks.get(i));
            blocks.set(i, nullBlock);
        }
        pool.free(removed);
    }

    /**
     * Positions in the sequence's block list of the blocks no future token reads and that still hold a block,
     * newest first; empty when there are none.
     */
    private List<Integer> skippedIndicesToRemove(String requestId, int numComputedTokens) {
        int skippedTokens = numSkippedTokens(numComputedTokens);
        List<KvBlock> blocks = blocksByRequest.get(requestId);
        if (skippedTokens <= 0 || blocks == null) {
            return List.of();
        }
        List<Integer> indices = new ArrayList<>();
        for (int i = Math.min(skippedTokens / blockSize, blocks.size()) - 1; i >= 0; i--) {
            if (blocks.get(i).isNull()) {
                break; // everything before was removed by an earlier call
            }
            indices.add(i);
        }
        return indices;
    }

    /** Frees every block of the sequence, tail first, so its tail is evicted before its (more shareable) prefix. */
    void free(String requestId) {
        List<KvBlock> blocks = blocksByRequest.remove(requestId);
        numCachedBlocks.remove(requestId);
        if (blocks != null) {
            List<KvBlock> reversed = new ArrayList<>(blocks);
            Collections.reverse(reversed);
            pool.free(reversed);
        }
    }

    /** Frees every block of the sequence; blocks nobody else holds also leave the prefix cache. */
    void discard(String requestId) {
        List<KvBlock> blocks = blocksByRequest.remove(requestId);
        numCachedBlocks.remove(requestId);
        if (blocks != null) {
            List<KvBlock> reversed = new ArrayList<>(blocks);
            Collections.reverse(reversed);
            pool.freeAndForget(reversed);
        }
    }

    /** The sequence's blocks in token order (read-only); empty when it holds none. */
    List<KvBlock> blocks(String requestId) {
        return Collections.unmodifiableList(blocksByRequest.getOrDefault(requestId, List.of()));
    }

    /** Number of sequences holding blocks. */
    int numRequests() {
        return blocksByRequest.size();
    }

    /** Every sequence's block table; for invariant checks. */
    Map<String, List<KvBlock>> allBlockTables() {
        return Collections.unmodifiableMap(blocksByRequest);
    }
}
