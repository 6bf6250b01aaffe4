/**
 * KV cache bookkeeping for the continuous-batching engine: pure Java, no tensors. The tensor side allocates, per
 * decoder layer, K/V storage of {@code numBlocks_g * blockSize} slots for the layer's group g and addresses it by the
 * block ids (slots) this package hands out.
 *
 * <ul>
 *   <li>{@link dev.gemmaflink.runtime.kvcache.KvCacheOptions} (every tunable, defaults),
 *       {@link dev.gemmaflink.runtime.kvcache.KvCacheLayout} (shape and arithmetic) and
 *       {@link dev.gemmaflink.runtime.kvcache.KvCacheSizing} (budget to blocks per group, once at start).</li>
 *   <li>{@link dev.gemmaflink.runtime.kvcache.BlockPool} per group: ref counts, LRU free list, prefix-cache map;
 *       {@link dev.gemmaflink.runtime.kvcache.KvBlock}; {@link dev.gemmaflink.runtime.kvcache.BlockHasher} (chained
 *       128-bit SHA-256 over parent hash, tokens, images; root over model id and tenant salt).</li>
 *   <li>Per attention type: {@code FullAttentionManager}, {@code SlidingWindowManager} (frees blocks that slid out of
 *       the window; a hit needs only the last window), behind the facade
 *       {@link dev.gemmaflink.runtime.kvcache.KvCacheManager}.</li>
 *   <li>The scheduler that drives it lives in {@link dev.gemmaflink.runtime.sched}: waiting queue, preemption policy,
 *       token-budget step planner.</li>
 * </ul>
 *
 * <p>How an engine drives it, one thread per device:
 * <pre>{@code
 * KvCacheOptions o = KvCacheOptions.builder().memoryFraction(0.9).build();       // from the engine's configuration
 * KvCacheLayout layout = KvCacheLayout.fromConfig(config, 2, o.blockSize());     // bf16
 * KvCacheManager kv = o.newManager(layout, freeDeviceBytes);  // tensors: per layer of group g, numBlocks_g * bs slots
 * StepPlanner planner = new StepPlanner(kv, new RequestQueue(o.queueCapacity()), o.maxTokensPerStep(),
 *         o.maxBatchSize());
 * // submit: planner.submit(Sequence.builder(id, promptIds).cacheKeys(CacheKeys.of(modelId, tenant)).build())
 * while (running) {
 *     StepPlan plan = planner.plan(System.nanoTime());
 *     report(plan.expired(), DEADLINE_EXCEEDED);                        // preempted ones need no report
 *     // forward: per chunk, tokens chunk.sequence().tokens(start, end), positions start.., and per group
 *     // chunk.slots(g, layout) (write slots, context slots, context positions)
 *     ForwardResult out = model.forward(plan);
 *     planner.commit(plan);
 *     for (ScheduledChunk c : plan.chunks()) {
 *         if (!c.samples()) continue;                                    // a prefill chunk that is not the last
 *         int token = sample(out, c);
 *         c.sequence().appendToken(token);
 *         if (isStop(token) || c.sequence().numTokens() >= limit) planner.finish(c.sequence(), FINISHED);
 *     }
 *     metrics.record(kv.usage());
 * }
 * }</pre>
 */
package dev.gemmaflink.runtime.kvcache;
