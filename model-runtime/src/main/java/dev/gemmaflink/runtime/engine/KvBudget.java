package dev.gemmaflink.runtime.engine;

import dev.gemmaflink.runtime.config.GemmaConfig;
import dev.gemmaflink.runtime.config.LayerType;
import dev.gemmaflink.runtime.kvcache.KvCacheLayout;
import dev.gemmaflink.runtime.kvcache.KvCacheSizing;
import dev.gemmaflink.runtime.model.GraphMode;

/**
 * The KV budget of an engine at start: {@link EngineConfig#kvBudgetBytes} after the {@link ActivationHeadroom} of
 * the step limits (the batch size resolved here when it is automatic) at the longest context a sequence can reach.
 *
 * <p>That longest context is {@link EngineConfig#longestSequence} (the configured {@code maxSequenceLength}, else the
 * model's {@code maxPositionEmbeddings}), or less when the KV cache could not hold it: the full-attention pool's
 * capacity if the whole budget before headroom went to the cache (the real pool is smaller, so this bounds it from
 * above, and the headroom is never too small for a sequence the engine accepts).
 *
 * @param bytes the budget the KV pools are sized for
 * @param headroom the activation headroom reserved besides it
 * @param longestContext the context the headroom is computed for
 * @param maxBatchSize the batch size the headroom is computed for: the configured one, or the automatic choice
 */
record KvBudget(long bytes, ActivationHeadroom headroom, int longestContext, int maxBatchSize) {

    /**
     * @param layout the cache layout (block size and element size included)
     * @param freeBytes the device's free memory after the weights are loaded
     * @param gpu whether the device is a GPU
     * @throws IllegalArgumentException when {@code maxSequenceLength} exceeds the model's context, the headroom
     *     leaves no derived budget, or on a GPU an absolute {@code kvCacheBytes} plus the headroom exceed the free
     *     memory
     */
    static KvBudget of(EngineConfig config, GemmaConfig model, KvCacheLayout layout, long freeBytes, boolean gpu) {
        long beforeHeadroom = config.kvBudgetBytes(freeBytes, gpu, 0);
        int context = longestContext(config, model, layout, beforeHeadroom);
        int batch = config.maxBatchSize() > 0 ? config.maxBatchSize()
                : automaticBatch(config, model, layout, freeBytes, gpu, context);
        ActivationHeadroom headroom = headroom(config, model, layout, batch, context);
        long reserve = headroom.totalBytes();
        if (config.kvCacheBytes() > 0 && gpu && config.kvCacheBytes() + reserve > freeBytes) {
            throw new IllegalArgumentException("kvCacheBytes " + config.kvCacheBytes() + " plus the activation headroom "
                    + "of " + reserve + " bytes (maxTokensPerStep " + config.maxTokensPerStep() + ", maxBatchSize "
                    + batch + ", context " + context + ") exceed the " + freeBytes
                    + " bytes free on the GPU: lower kvCacheBytes or the step limits"
                    + (config.maxSequenceLength() > 0 ? "" : ", or set maxSequenceLength to shorten the context"));
        }
        try {
            return new KvBudget(config.kvBudgetBytes(freeBytes, gpu, reserve), headroom, context, batch);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(e.getMessage() + "; the headroom is for sequences of up to " + context
                    + " tokens, the longest this model and memory allow"
                    + (config.maxSequenceLength() > 0 ? "" : " (maxSequenceLength shortens it)")
                    + (config.maxBatchSize() > 0 ? "" : ", at the automatic batch size " + batch), e);
        }
    }

    /**
     * The automatic batch size ({@link EngineConfig}'s class comment): {@link EngineConfig#CPU_MAX_BATCH} on a CPU;
     * on a GPU the largest of {@link EngineConfig#GPU_MAX_BATCH}, 128, ... 1 that {@link #fits}, else 1.
     *
     * @param context the longest context the headroom is computed for
     */
    static int automaticBatch(EngineConfig config, GemmaConfig model, KvCacheLayout layout, long freeBytes,
            boolean gpu, int context) {
        if (!gpu) {
            return EngineConfig.CPU_MAX_BATCH;
        }
        for (int batch = EngineConfig.GPU_MAX_BATCH; batch > 1; batch /= 2) {
            if (fits(config, model, layout, freeBytes, context, batch)) {
                return batch;
            }
        }
        return 1;
    }

    /**
     * Whether a batch fits on a GPU with {@code freeBytes} free: with its headroom reserved, the KV budget left holds
     * one sequence of the sizing length and is at least the headroom (and an absolute budget plus the headroom fit).
     */
    static boolean fits(EngineConfig config, GemmaConfig model, KvCacheLayout layout, long freeBytes, int context,
            int batch) {
        long headroom = headroom(config, model, layout, batch, context).totalBytes();
        if (config.kvCacheBytes() > 0 && config.kvCacheBytes() + headroom > freeBytes) {
            return false;
        }
        try {
            long cache = config.kvBudgetBytes(freeBytes, true, headroom); // refuses a budget the headroom used up
            if (cache < headroom) {
                return false;
            }
            KvCacheSizing.blocksForBudget(layout, cache, config.sizingSequenceLength(), config.maxTokensPerStep());
            return true;
        } catch (IllegalArgumentException tooSmall) {
            return false;
        }
    }

    /**
     * The longest context a sequence can reach with a cache of at most {@code cacheBytes}.
     *
     * @throws IllegalArgumentException when {@code maxSequenceLength} exceeds the model's context
     */
    static int longestContext(EngineConfig config, GemmaConfig model, KvCacheLayout layout, long cacheBytes) {
        int limit = config.longestSequence(model);
        int[] blocks;
        try {
            blocks = KvCacheSizing.blocksForBudget(layout, cacheBytes, config.sizingSequenceLength(),
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

    /**
     * The activation headroom of one step: {@code maxTokensPerStep} tokens at the longest context, both as padded
     * under the configuration's {@link EngineConfig#graphMode()} (bucketed steps may run more rows and a longer
     * context than they hold).
     */
    private static ActivationHeadroom headroom(EngineConfig config, GemmaConfig model, KvCacheLayout layout, int batch,
            int context) {
        GraphMode mode = config.graphMode();
        int padded = mode == GraphMode.PLAIN ? context : mode.paddedContext(context);
        return ActivationHeadroom.of(model, layout.bytesPerElement(), mode.paddedTokens(config.maxTokensPerStep()),
                batch, padded);
    }
}
