package dev.gemmaflink.runtime.engine;

import dev.gemmaflink.runtime.config.GemmaConfig;
import dev.gemmaflink.runtime.config.LayerType;
import dev.gemmaflink.runtime.kvcache.KvCacheLayout;
import dev.gemmaflink.runtime.kvcache.KvCacheSizing;

/**
 * The KV budget of an engine at start: {@link EngineConfig#kvBudgetBytes} after the {@link ActivationHeadroom} of
 * the configured step limits at the longest context a sequence can reach.
 *
 * <p>That longest context is the model's {@code maxPositionEmbeddings}, or less when the KV cache could not hold it:
 * the full-attention pool's capacity if the whole budget before headroom went to the cache (the real pool is smaller,
 * so this bounds it from above, and the headroom is never too small for a sequence the engine accepts).
 *
 * @param bytes the budget the KV pools are sized for
 * @param headroom the activation headroom reserved besides it
 * @param longestContext the context the headroom is computed for
 */
record KvBudget(long bytes, ActivationHeadroom headroom, int longestContext) {

    /**
     * @param layout the cache layout (block size and element size included)
     * @param freeBytes the device's free memory after the weights are loaded
     * @param gpu whether the device is a GPU
     * @throws IllegalArgumentException when the headroom leaves no derived budget, or on a GPU an absolute
     *     {@code kvCacheBytes} plus the headroom exceed the free memory
     */
    static KvBudget of(EngineConfig config, GemmaConfig model, KvCacheLayout layout, long freeBytes, boolean gpu) {
        long beforeHeadroom = config.kvBudgetBytes(freeBytes, gpu, 0);
        int context = longestContext(config, model, layout, beforeHeadroom);
        ActivationHeadroom headroom = ActivationHeadroom.of(model, layout.bytesPerElement(),
                config.maxTokensPerStep(), config.maxBatchSize(), context);
        long reserve = headroom.totalBytes();
        if (config.kvCacheBytes() > 0 && gpu && config.kvCacheBytes() + reserve > freeBytes) {
            throw new IllegalArgumentException("kvCacheBytes " + config.kvCacheBytes() + " plus the activation headroom "
                    + "of " + reserve + " bytes (maxTokensPerStep " + config.maxTokensPerStep() + ", maxBatchSize "
                    + config.maxBatchSize() + ", context " + context + ") exceed the " + freeBytes
                    + " bytes free on the GPU: lower kvCacheBytes or the step limits");
        }
        try {
            return new KvBudget(config.kvBudgetBytes(freeBytes, gpu, reserve), headroom, context);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(e.getMessage() + "; the headroom is for sequences of up to " + context
                    + " tokens, the longest this model and memory allow", e);
        }
    }

    /** The longest context a sequence can reach with a cache of at most {@code cacheBytes}. */
    static int longestContext(EngineConfig config, GemmaConfig model, KvCacheLayout layout, long cacheBytes) {
        int limit = model.maxPositionEmbeddings();
        int[] blocks;
        try {
            blocks = KvCacheSizing.blocksForBudget(layout, cacheBytes, config.targetSequenceLength(),
                    config.maxTokensPerStep());
        } catch (IllegalArgumentException tooSmall) {
            return limit; // the sizing after the headroom fails with its own message
        }
        for (int g = 0; g < layout.numGroups(); g++) {
            if (layout.group(g).type() == LayerType.FULL_ATTENTION) {
                long usable = (long) (blocks[g] - 1) * layout.blockSize(); // less the null block
                limit = (int) Math.min(limit, usable);
            }
        }
        return Math.max(1, limit);
    }
}
