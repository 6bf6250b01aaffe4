package dev.gemmaflink.runtime.kvcache;

import dev.gemmaflink.runtime.config.LayerType;
import java.util.List;

/**
 * A snapshot of KV cache occupancy for metrics, per group and in total.
 *
 * @param groups one entry per KV group, in group-index order
 * @param runningSequences sequences holding blocks
 * @param prefixQueryTokens prompt tokens looked up in the prefix cache since start
 * @param prefixHitTokens of those, tokens served from the cache (their prefill was skipped)
 */
public record KvCacheUsage(List<GroupUsage> groups, int runningSequences, long prefixQueryTokens,
        long prefixHitTokens) {

    /** Copies the group list. */
    public KvCacheUsage {
        groups = List.copyOf(groups);
    }

    /**
     * Occupancy of one group's pool. {@code usedBlocks + freeBlocks == totalBlocks}; {@code cachedBlocks} is the part
     * of {@code freeBlocks} that still holds a reusable prefix.
     *
     * @param type attention kind
     * @param numLayers layers in the group
     * @param totalBlocks usable blocks (the null block excluded)
     * @param usedBlocks blocks held by at least one sequence
     * @param cachedBlocks free blocks that still hold a cached prefix (evictable)
     * @param freeBlocks allocatable blocks, cached ones included
     * @param bytesPerBlock bytes of one block over the group's layers
     * @param evictions cached blocks evicted since start
     */
    public record GroupUsage(LayerType type, int numLayers, int totalBlocks, int usedBlocks, int cachedBlocks,
            int freeBlocks, long bytesPerBlock, long evictions) {

        public long totalBytes() {
            return totalBlocks * bytesPerBlock;
        }

        public long usedBytes() {
            return usedBlocks * bytesPerBlock;
        }

        public long cachedBytes() {
            return cachedBlocks * bytesPerBlock;
        }

        public long freeBytes() {
            return freeBlocks * bytesPerBlock;
        }

        /** Used fraction in [0, 1]. */
        public double usage() {
            return totalBlocks == 0 ? 0 : (double) usedBlocks / totalBlocks;
        }
    }

    /** Bytes held by sequences over all groups. */
    public long usedBytes() {
        return groups.stream().mapToLong(GroupUsage::usedBytes).sum();
    }

    /** Bytes of all pools. */
    public long totalBytes() {
        return groups.stream().mapToLong(GroupUsage::totalBytes).sum();
    }

    /** Fraction of looked-up prompt tokens served by the prefix cache. */
    public double prefixHitRate() {
        return prefixQueryTokens == 0 ? 0 : (double) prefixHitTokens / prefixQueryTokens;
    }
}
