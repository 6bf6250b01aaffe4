package dev.gemmaflink.runtime.engine;

import dev.gemmaflink.runtime.kvcache.KvCacheUsage;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * The engine's counters: written by the engine thread (and by submitters for rejections), read by anyone through
 * {@link #snapshot}. Lock-free; a snapshot may mix values of two adjacent steps, which monitoring tolerates.
 */
final class MetricsRecorder {

    final LongAdder submitted = new LongAdder();
    final LongAdder rejected = new LongAdder();
    final LongAdder completed = new LongAdder();
    final LongAdder cancelled = new LongAdder();
    final LongAdder deadlineExceeded = new LongAdder();
    final LongAdder failed = new LongAdder();
    final LongAdder preemptions = new LongAdder();
    final LongAdder steps = new LongAdder();
    final LongAdder prefillTokens = new LongAdder();
    final LongAdder decodeTokens = new LongAdder();
    final LongAdder busyNanos = new LongAdder();
    final LongAdder imageEncoderCalls = new LongAdder();
    final LongAdder imageViewsEncoded = new LongAdder();
    final LongAdder imageCacheHits = new LongAdder();
    final LatencyHistogram ttft = new LatencyHistogram();
    final LatencyHistogram tpot = new LatencyHistogram();
    private final AtomicLongArray batchSizes;
    private final AtomicIntegerArray peakUsed;
    private final AtomicLong running = new AtomicLong();
    private final AtomicLong visionWaiting = new AtomicLong();
    private final AtomicLong maxImageViewsPerCall = new AtomicLong();
    private volatile KvCacheUsage usage;

    MetricsRecorder(int maxBatchSize, KvCacheUsage initial) {
        this.batchSizes = new AtomicLongArray(maxBatchSize + 1);
        this.peakUsed = new AtomicIntegerArray(initial.groups().size());
        this.usage = initial;
    }

    void recordStep(int sequences, long nanos) {
        steps.increment();
        busyNanos.add(nanos);
        batchSizes.incrementAndGet(Math.min(sequences, batchSizes.length() - 1));
    }

    /** Counts one successful encoder call over {@code views} views (engine thread only). */
    void recordImageEncoderCall(int views) {
        imageEncoderCalls.increment();
        imageViewsEncoded.add(views);
        maxImageViewsPerCall.accumulateAndGet(views, Math::max);
    }

    /** Publishes the KV occupancy and the queue of requests waiting for their images after a step (engine thread). */
    void recordUsage(KvCacheUsage now, int runningSequences, int waitingForImages) {
        usage = now;
        running.set(runningSequences);
        visionWaiting.set(waitingForImages);
        for (int g = 0; g < now.groups().size(); g++) {
            peakUsed.accumulateAndGet(g, now.groups().get(g).usedBlocks(), Math::max);
        }
    }

    void recordFinish(EngineResult r) {
        completed.increment();
        switch (r.finishReason()) {
            case CANCELLED: cancelled.increment(); break;
            case DEADLINE: deadlineExceeded.increment(); break;
            case ERROR: failed.increment(); break;
            default: break;
        }
        if (r.timeToFirstTokenMillis() >= 0) {
            ttft.recordMillis(r.timeToFirstTokenMillis());
        }
        if (r.numTokens() > 1) {
            tpot.recordMillis(r.timePerOutputTokenMillis());
        }
    }

    EngineMetrics snapshot(int queueDepth, long kvStorageBytes) {
        KvCacheUsage u = usage;
        List<EngineMetrics.KvGroupMetrics> groups = new ArrayList<>();
        for (int g = 0; g < u.groups().size(); g++) {
            KvCacheUsage.GroupUsage gu = u.groups().get(g);
            groups.add(new EngineMetrics.KvGroupMetrics(gu.type(), gu.totalBlocks(), gu.usedBlocks(),
                    peakUsed.get(g), gu.cachedBlocks(), gu.bytesPerBlock()));
        }
        long[] sizes = new long[batchSizes.length()];
        for (int i = 0; i < sizes.length; i++) {
            sizes[i] = batchSizes.get(i);
        }
        return new EngineMetrics(queueDepth, (int) running.get(), submitted.sum(), rejected.sum(), completed.sum(),
                cancelled.sum(), deadlineExceeded.sum(), failed.sum(), preemptions.sum(), steps.sum(),
                prefillTokens.sum(), decodeTokens.sum(), busyNanos.sum() / 1e9, sizes, ttft.quantileMillis(0.5),
                ttft.quantileMillis(0.99), tpot.quantileMillis(0.5), tpot.quantileMillis(0.99),
                u.prefixQueryTokens(), u.prefixHitTokens(), kvStorageBytes, groups,
                imageEncoderCalls.sum(), imageViewsEncoded.sum(), imageCacheHits.sum(), (int) visionWaiting.get(),
                (int) maxImageViewsPerCall.get());
    }
}
