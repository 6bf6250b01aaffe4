/**
 * KV cache bookkeeping for the continuous-batching engine, in the manner of vLLM v1's KV cache manager: pure Java, no
 * tensors. The tensor side allocates, per decoder layer, K/V storage of {@code numBlocks_g * blockSize} slots for the
 * layer's group g and addresses it by the block ids (slots) this package hands out.
 *
 * <p>A request is seen here only as a {@link dev.gemmaflink.runtime.kvcache.Sequence}: its request id, token ids, how
 * many of them are computed, and what its blocks are cached under ({@link dev.gemmaflink.runtime.kvcache.CacheKeys}:
 * model id, tenant salt, {@link dev.gemmaflink.runtime.kvcache.ImageSpan}s; and the chain of block hashes over them).
 * Priority, deadlines, life cycle and preemption belong to the scheduler (package {@code runtime.sched}), which calls
 * into this package; nothing here refers to it.
 *
 * <ul>
 *   <li>{@link dev.gemmaflink.runtime.kvcache.KvCacheLayout} (shape and arithmetic) and
 *       {@link dev.gemmaflink.runtime.kvcache.KvCacheSizing} (budget to blocks per group, once at start).</li>
 *   <li>{@link dev.gemmaflink.runtime.kvcache.BlockPool} per group: ref counts, LRU free list, prefix-cache map;
 *       {@link dev.gemmaflink.runtime.kvcache.KvBlock}; {@link dev.gemmaflink.runtime.kvcache.BlockHasher} (chained
 *       128-bit SHA-256 over parent hash, tokens, images; root over model id and tenant salt).</li>
 *   <li>Per attention type: {@code FullAttentionManager}, {@code SlidingWindowManager} (frees blocks that slid out of
 *       the window; a hit needs only the last window), behind the facade
 *       {@link dev.gemmaflink.runtime.kvcache.KvCacheManager}; a lookup's result is a
 *       {@link dev.gemmaflink.runtime.kvcache.CachedPrefix}, and
 *       {@link dev.gemmaflink.runtime.kvcache.ChunkSlots} turns a block table into the slots of one chunk.</li>
 * </ul>
 *
 * <p>How a caller drives it for one sequence, on the device's scheduling thread:
 * <pre>{@code
 * KvCacheLayout layout = KvCacheLayout.fromConfig(config, 2, 16);                // bf16, 16-token blocks
 * long budget = KvCacheSizing.budgetFromFreeMemory(freeDeviceBytes, 0.9);
 * KvCacheManager kv = KvCacheManager.builder(layout)                    // tensors: per layer of group g,
 *         .numBlocks(KvCacheSizing.blocksForBudget(layout, budget, 32_768, 2_048)).build(); // numBlocks_g * bs slots
 * Sequence seq = new Sequence(id, promptIds, CacheKeys.of(modelId, tenant));
 * CachedPrefix hit = kv.findLongestCachedPrefix(seq);                   // at admission only
 * if (kv.allocateSlots(seq, seq.numTokens() - hit.numTokens(), hit)) {  // false: no room, free someone and retry
 *     int[][] tables = kv.blockTables(seq);                             // per group, for the forward pass
 *     // forward tokens [seq.numComputedTokens(), seq.numTokens()), then:
 *     seq.advanceComputed(seq.numTokens() - seq.numComputedTokens());
 *     seq.appendToken(sampled);                                         // next step allocates one more slot
 * }
 * kv.free(seq);                                                         // finished, cancelled or preempted
 * }</pre>
 */
package dev.gemmaflink.runtime.kvcache;
