package dev.gemmaflink.runtime.engine;

import dev.gemmaflink.runtime.config.LayerType;
import java.util.List;

/**
 * A point-in-time snapshot of a {@link GemmaEngine}'s counters; see {@link GemmaEngine#metrics()}. Rates are over the
 * time the engine spent in steps (busy time), so idle periods do not dilute them.
 *
 * @param queueDepth requests accepted and not yet scheduled (preempted ones waiting again included)
 * @param runningBatchSize sequences holding KV blocks after the last step
 * @param submitted requests accepted
 * @param rejected submissions refused because the queue was full
 * @param completed requests whose future completed (any finish reason)
 * @param cancelled requests that ended {@link EngineFinishReason#CANCELLED}
 * @param deadlineExceeded requests that ended {@link EngineFinishReason#DEADLINE}
 * @param failed requests that ended {@link EngineFinishReason#ERROR}
 * @param preemptions times a running sequence lost its blocks
 * @param steps forward steps run
 * @param prefillTokens prompt (and recomputed) tokens computed
 * @param decodeTokens one-token decode steps computed
 * @param busySeconds time spent in steps (planning, forward, sampling)
 * @param batchSizeCounts index b: steps that computed b sequences
 * @param ttftP50Millis time to first token, median
 * @param ttftP99Millis time to first token, 99th percentile
 * @param tpotP50Millis time per output token after the first, median over requests
 * @param tpotP99Millis same, 99th percentile
 * @param prefixQueryTokens prompt tokens looked up in the prefix cache
 * @param prefixHitTokens of those, tokens served from it
 * @param kvStorageBytes bytes of the KV tensors allocated at start
 * @param kv per layer group (Gemma 3: full attention, sliding window)
 * @param imageEncoderCalls successful calls into the vision encoder: at most one per engine iteration, except that
 *     a failed call over several requests is followed by one call per request
 * @param imageViewsEncoded images and Pan &amp; Scan crops encoded
 * @param imageCacheHits views served from the image embedding cache instead of the encoder
 * @param visionQueueDepth requests waiting for their images to be encoded after the last iteration (they are part of
 *     {@code queueDepth})
 * @param maxImageViewsPerCall most views one encoder call took since the start; at most
 *     {@link EngineConfig#maxImageViewsPerStep()}
 */
public record EngineMetrics(int queueDepth, int runningBatchSize, long submitted, long rejected, long completed,
        long cancelled, long deadlineExceeded, long failed, long preemptions, long steps, long prefillTokens,
        long decodeTokens, double busySeconds, long[] batchSizeCounts, double ttftP50Millis, double ttftP99Millis,
        double tpotP50Millis, double tpotP99Millis, long prefixQueryTokens, long prefixHitTokens, long kvStorageBytes,
        List<KvGroupMetrics> kv, long imageEncoderCalls, long imageViewsEncoded, long imageCacheHits,
        int visionQueueDepth, int maxImageViewsPerCall) {

    public EngineMetrics {
        batchSizeCounts = batchSizeCounts.clone();
        kv = List.copyOf(kv);
    }

    @Override
    public long[] batchSizeCounts() {
        return batchSizeCounts.clone();
    }

    /** Prefill tokens per busy second. */
    public double prefillTokensPerSecond() {
        return busySeconds == 0 ? 0 : prefillTokens / busySeconds;
    }

    /** Decode tokens per busy second. */
    public double decodeTokensPerSecond() {
        return busySeconds == 0 ? 0 : decodeTokens / busySeconds;
    }

    /** Fraction of looked-up prompt tokens served by the prefix cache. */
    public double prefixHitRate() {
        return prefixQueryTokens == 0 ? 0 : (double) prefixHitTokens / prefixQueryTokens;
    }

    /** Mean sequences per step since the engine started. */
    public double meanBatchSize() {
        return meanBatchSizeSince(null);
    }

    /**
     * Mean sequences per step of the steps taken after {@code before} (an earlier snapshot of the same engine; the
     * counters are cumulative), or since the start when {@code before} is null. 0 when there was no step.
     */
    public double meanBatchSizeSince(EngineMetrics before) {
        long[] earlier = before == null ? new long[0] : before.batchSizeCounts;
        long steps = 0;
        long sum = 0;
        for (int b = 0; b < batchSizeCounts.length; b++) {
            long n = batchSizeCounts[b] - (b < earlier.length ? earlier[b] : 0);
            steps += n;
            sum += b * n;
        }
        return steps == 0 ? 0 : (double) sum / steps;
    }

    /** The group of a layer type; throws when the model has no such layers. */
    public KvGroupMetrics kv(LayerType type) {
        return kv.stream().filter(g -> g.type() == type).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("the model has no " + type + " layers"));
    }

    /**
     * KV pool occupancy of one layer group.
     *
     * @param type attention kind
     * @param totalBlocks usable blocks (the null block excluded)
     * @param usedBlocks blocks held by sequences now
     * @param peakUsedBlocks most blocks held at once since start
     * @param cachedBlocks free blocks still holding a reusable prefix
     * @param bytesPerBlock bytes of one block over the group's layers
     */
    public record KvGroupMetrics(LayerType type, int totalBlocks, int usedBlocks, int peakUsedBlocks,
            int cachedBlocks, long bytesPerBlock) {

        /** Used fraction in [0, 1]. */
        public double utilization() {
            return totalBlocks == 0 ? 0 : (double) usedBlocks / totalBlocks;
        }
    }
}
