package dev.gemmaflink.runtime.kvcache;

import dev.gemmaflink.runtime.config.LayerType;

/**
 * Turns a memory budget into block counts per group, once per device at start.
 *
 * <p>Groups have separate pools, so the budget is split. The split serves sequences of a target length T (the
 * longest a deployment expects, often the max model length): a sequence of T tokens holds ceil(T / bs) full blocks and
 * min(ceil(T / bs), ceil(W / bs) + 1) sliding blocks, and the budget buys as many such sequences as fit. The sliding
 * pool also gets headroom for one step of prefill chunks (ceil(maxTokensPerStep / bs) + 1 blocks: a chunk is held on
 * top of the window while it is computed), and every pool its null block. Shorter sequences than T use the sliding pool
 * faster than the full one: with many short sequences the sliding pool fills first. (vLLM avoids this by one pool
 * shared by all groups with equal page sizes; that needs layer groups of equal size, here 5 global vs 29 local.)
 *
 * <pre>{@code
 * long budget = KvCacheSizing.budgetFromFreeMemory(freeDeviceBytes, 0.9);
 * int[] blocks = KvCacheSizing.blocksForBudget(layout, budget, 32_768, 2_048);
 * KvCacheManager kv = KvCacheManager.builder(layout).numBlocks(blocks).build();
 * }</pre>
 */
public final class KvCacheSizing {

    private KvCacheSizing() {
    }

    /**
     * The KV budget as a fraction of free device memory, measured after weights and activations are allocated.
     *
     * @param freeBytes free device memory in bytes
     * @param fraction in (0, 1]
     */
    public static long budgetFromFreeMemory(long freeBytes, double fraction) {
        if (freeBytes < 0) {
            throw new IllegalArgumentException("freeBytes must be >= 0, got " + freeBytes);
        }
        if (!(fraction > 0 && fraction <= 1)) {
            throw new IllegalArgumentException("memory fraction must be in (0, 1], got " + fraction);
        }
        return (long) (freeBytes * fraction);
    }

    /**
     * Blocks per group (null block included) for a budget.
     *
     * @param budgetBytes bytes the KV pools may use in total
     * @param targetSeqLen sequence length T the split serves, tokens
     * @param maxTokensPerStep the scheduler's token budget per step, tokens
     * @return blocks per group, index = group index; their bytes sum to at most budgetBytes
     * @throws IllegalArgumentException when the budget cannot hold one sequence of T tokens plus the headroom
     */
    public static int[] blocksForBudget(KvCacheLayout layout, long budgetBytes, int targetSeqLen,
            int maxTokensPerStep) {
        if (targetSeqLen < 1 || maxTokensPerStep < 1) {
            throw new IllegalArgumentException("targetSeqLen and maxTokensPerStep must be >= 1, got " + targetSeqLen
                    + " and " + maxTokensPerStep);
        }
        int groups = layout.numGroups();
        int bs = layout.blockSize();
        long[] perSequence = new long[groups];
        long[] fixed = new long[groups];
        long bytesPerSequence = 0;
        long fixedBytes = 0;
        for (int g = 0; g < groups; g++) {
            KvGroupSpec spec = layout.group(g);
            long full = KvCacheLayout.ceilDiv(targetSeqLen, bs);
            if (spec.type() == LayerType.SLIDING_ATTENTION) {
                perSequence[g] = Math.min(full, KvCacheLayout.ceilDiv(spec.slidingWindow(), bs) + 1);
                fixed[g] = 1 + KvCacheLayout.ceilDiv(maxTokensPerStep, bs) + 1;
            } else {
                perSequence[g] = full;
                fixed[g] = 1;
            }
            bytesPerSequence += perSequence[g] * layout.bytesPerBlock(g);
            fixedBytes += fixed[g] * layout.bytesPerBlock(g);
        }
        long available = budgetBytes - fixedBytes;
        if (available < bytesPerSequence) {
            throw new IllegalArgumentException("KV budget of " + budgetBytes + " bytes cannot hold one sequence of "
                    + targetSeqLen + " tokens: it needs " + (bytesPerSequence + fixedBytes) + " bytes");
        }
        double sequences = (double) available / bytesPerSequence;
        int[] blocks = new int[groups];
        for (int g = 0; g < groups; g++) {
            long count = fixed[g] + (long) Math.floor(sequences * perSequence[g]);
            if (count > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("group " + g + " would get " + count + " blocks; raise the block size");
            }
            blocks[g] = (int) count;
        }
        return blocks;
    }

    /** Bytes the pools of {@code numBlocks} (per group) occupy. */
    public static long totalBytes(KvCacheLayout layout, int[] numBlocks) {
        if (numBlocks.length != layout.numGroups()) {
            throw new IllegalArgumentException("numBlocks has " + numBlocks.length + " entries, layout has "
                    + layout.numGroups() + " groups");
        }
        long bytes = 0;
        for (int g = 0; g < numBlocks.length; g++) {
            bytes += numBlocks[g] * layout.bytesPerBlock(g);
        }
        return bytes;
    }
}
