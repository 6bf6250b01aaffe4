package dev.gemmaflink.runtime.kvcache;

import java.util.ArrayList;
import java.util.List;

/** Full (global) attention: a sequence holds a block for every block of its tokens; a hit is a leading run. */
final class FullAttentionManager extends SingleTypeKvCacheManager {

    FullAttentionManager(KvGroupSpec spec, BlockPool pool, int blockSize) {
        super(spec, pool, blockSize);
    }

    @Override
    List<KvBlock> findLongestCacheHit(List<BlockHash> blockHashes, int maxLength) {
        int maxBlocks = Math.min(maxLength / blockSize, blockHashes.size());
        List<KvBlock> hit = new ArrayList<>();
        for (int i = 0; i < maxBlocks; i++) {
            KvBlock block = pool.getCachedBlock(blockHashes.get(i));
            if (block == null) {
                break;
            }
            hit.add(block);
        }
        return hit;
    }

    @Override
    int numSkippedTokens(int numComputedTokens) {
        return 0; // every later query attends to every earlier key
    }
}
