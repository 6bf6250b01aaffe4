package dev.gemmaflink.runtime.kvcache;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Sliding-window attention with window W: the query at position p reads keys (p - W, p]. Once {@code n} tokens are
 * computed the next query is at n, so tokens before {@code n - W + 1} are dead and whole blocks of them are freed.
 * While a step computes token L - 1 the sequence therefore holds at most ceil(W / blockSize) + 1 blocks of this group.
 */
final class SlidingWindowManager extends SingleTypeKvCacheManager {

    private final int window;
    /** Cached blocks a hit must end with: the W - 1 keys the next query reads besides its own. */
    private final int contiguousBlocksNeeded;

    SlidingWindowManager(KvGroupSpec spec, BlockPool pool, int blockSize) {
        super(spec, pool, blockSize);
        this.window = spec.slidingWindow();
        this.contiguousBlocksNeeded = KvCacheLayout.ceilDiv(window - 1, blockSize);
    }

    /**
     * Scans from the longest candidate down and returns the longest prefix whose last {@code ceil((W - 1) / bs)}
     * blocks are all cached (earlier entries are the null block: nobody reads them), or a fully cached prefix shorter
     * than that.
     */
    @Override
    List<KvBlock> findLongestCacheHit(List<BlockHash> blockHashes, int maxLength) {
        int maxBlocks = Math.min(maxLength / blockSize, blockHashes.size());
        KvBlock[] hit = new KvBlock[maxBlocks];
        Arrays.fill(hit, pool.nullBlock());
        if (contiguousBlocksNeeded == 0) {
            return new ArrayList<>(Arrays.asList(hit)); // window 1: a query reads only itself
        }
        int contiguous = 0;
        for (int i = maxBlocks - 1; i >= 0; i--) {
            KvBlock block = pool.getCachedBlock(blockHashes.get(i));
            if (block == null) {
                contiguous = 0;
                continue;
            }
            hit[i] = block;
            contiguous++;
            if (contiguous >= contiguousBlocksNeeded) {
                return new ArrayList<>(Arrays.asList(hit).subList(0, i + contiguous));
            }
        }
        // No full window cached: only a run starting at block 0 (a prefix shorter than the window) can be used.
        return new ArrayList<>(Arrays.asList(hit).subList(0, contiguous));
    }

    @Override
    int numSkippedTokens(int numComputedTokens) {
        return numComputedTokens - window + 1;
    }
}
