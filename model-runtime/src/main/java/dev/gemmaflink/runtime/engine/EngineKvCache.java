package dev.gemmaflink.runtime.engine;

import dev.gemmaflink.runtime.config.LayerType;
import dev.gemmaflink.runtime.kvcache.KvCacheLayout;
import dev.gemmaflink.runtime.kvcache.KvCacheManager;
import dev.gemmaflink.runtime.kvcache.KvCacheSizing;
import dev.gemmaflink.runtime.model.GemmaModel;
import dev.gemmaflink.runtime.model.KvStorage;
import java.util.Arrays;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An engine's KV cache, sized once at start: the budget ({@link KvBudget}: configured, or free device memory less one
 * step's activation headroom), the blocks per layer group it buys, the block manager over them, and the
 * {@link KvStorage} of {@code numBlocks_g * blockSize} slots per layer of group g (block 0 the null block).
 *
 * @param manager the block manager (engine thread only)
 * @param storage the K/V tensors, freed by the engine thread as it exits
 * @param maxSequenceTokens the longest sequence a request may reach: the configured {@code maxSequenceLength} (else
 *     the model context) or the KV capacity, whichever is less
 * @param sequenceLimit what sets {@code maxSequenceTokens}, for the refusal of a request beyond it
 * @param maxBatchSize the most sequences running at once: the configured batch size or the automatic choice
 */
record EngineKvCache(KvCacheManager manager, KvStorage storage, int maxSequenceTokens, String sequenceLimit,
        int maxBatchSize) {

    private static final Logger LOG = LoggerFactory.getLogger(EngineKvCache.class);

    static EngineKvCache allocate(EngineConfig config, GemmaModel model) {
        KvCacheLayout layout =
                KvCacheLayout.fromConfig(model.config(), model.precision().bytesPerElement(), config.blockSize());
        KvBudget budget = KvBudget.of(config, model.config(), layout, DeviceMemory.freeBytes(model.device()),
                model.device().isGpu());
        LOG.info("Gemma engine on {}: KV budget {} MB, activation headroom {} MB (context {}, batch {}{})",
                model.device(), budget.bytes() >> 20, budget.headroom().totalBytes() >> 20, budget.longestContext(),
                budget.maxBatchSize(), config.maxBatchSize() > 0 ? "" : ", chosen automatically for this device");
        KvCacheManager manager = KvCacheManager.builder(layout)
                .numBlocks(KvCacheSizing.blocksForBudget(layout, budget.bytes(), config.sizingSequenceLength(),
                        config.maxTokensPerStep()))
                .prefixCaching(config.prefixCaching()).build();
        int[] blocks = new int[layout.numGroups()];
        for (int g = 0; g < blocks.length; g++) {
            blocks[g] = manager.usage().groups().get(g).totalBlocks() + 1; // + the null block
        }
        int full = EngineLoop.groupIndex(layout, LayerType.FULL_ATTENTION);
        int sliding = EngineLoop.groupIndex(layout, LayerType.SLIDING_ATTENTION);
        KvStorage storage = model.allocateKv(sliding < 0 ? 1 : blocks[sliding] * config.blockSize(),
                full < 0 ? 1 : blocks[full] * config.blockSize());
        int configured = config.longestSequence(model.config());
        int longest = Math.min(configured, manager.maxSequenceTokens());
        String limit = config.maxSequenceLength() > 0 && configured <= manager.maxSequenceTokens()
                ? "maxSequenceLength " + configured + " of the engine's configuration; model context "
                        + model.config().maxPositionEmbeddings()
                : "model context " + model.config().maxPositionEmbeddings()
                        + ", KV capacity of the full-attention pool";
        LOG.info("Gemma engine: KV storage {} MB (blocks per group {}, block size {}), longest sequence {} tokens, "
                + "batch {} x {} tokens per step, queue {}", storage.bytes() >> 20, Arrays.toString(blocks),
                config.blockSize(), longest, budget.maxBatchSize(), config.maxTokensPerStep(),
                config.queueCapacity());
        return new EngineKvCache(manager, storage, longest, limit, budget.maxBatchSize());
    }
}
