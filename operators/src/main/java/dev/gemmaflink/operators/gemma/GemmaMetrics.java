package dev.gemmaflink.operators.gemma;

import java.util.function.IntSupplier;
import java.util.function.ToDoubleFunction;

import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.MetricGroup;

import dev.gemmaflink.runtime.engine.EngineMetrics;
import dev.gemmaflink.runtime.engine.GemmaEngine;

/**
 * Flink metrics of a gemma enrichment subtask (or of an ML_PREDICT subtask of a gemma model), in group {@code gemma}:
 * its own requests in flight, and gauges over the shared engine's {@link EngineMetrics} (every subtask on a device
 * reports the same engine values).
 */
public final class GemmaMetrics {

    /** Group name under the subtask's metric group. */
    static final String GROUP = "gemma";

    private GemmaMetrics() {
    }

    public static void register(MetricGroup parent, GemmaEngine engine, IntSupplier inFlight) {
        MetricGroup g = parent.addGroup(GROUP);
        g.gauge("requestsInFlight", (Gauge<Integer>) inFlight::getAsInt);
        engineGauge(g, engine, "queueDepth", m -> m.queueDepth());
        engineGauge(g, engine, "batchSize", m -> m.runningBatchSize());
        engineGauge(g, engine, "meanBatchSize", EngineMetrics::meanBatchSize);
        engineGauge(g, engine, "maxBatchSize", GemmaMetrics::maxBatchSize);
        // The engine's limit, as configured or as chosen for the device (max-batch 0), fixed once it runs.
        int batchSizeLimit = engine.maxBatchSize();
        g.gauge("batchSizeLimit", (Gauge<Integer>) () -> batchSizeLimit);
        engineGauge(g, engine, "kvCacheUtilization", GemmaMetrics::kvCacheUtilization);
        engineGauge(g, engine, "decodeTokensPerSecond", EngineMetrics::decodeTokensPerSecond);
        engineGauge(g, engine, "prefillTokensPerSecond", EngineMetrics::prefillTokensPerSecond);
        engineGauge(g, engine, "ttftP50Millis", EngineMetrics::ttftP50Millis);
        engineGauge(g, engine, "ttftP99Millis", EngineMetrics::ttftP99Millis);
        engineGauge(g, engine, "tpotP50Millis", EngineMetrics::tpotP50Millis);
        engineGauge(g, engine, "prefixCacheHitRate", EngineMetrics::prefixHitRate);
        engineGauge(g, engine, "prefixCacheHitTokens", m -> m.prefixHitTokens());
        engineGauge(g, engine, "rejectedSubmits", m -> m.rejected());
        engineGauge(g, engine, "preemptions", m -> m.preemptions());
        engineGauge(g, engine, "visionQueueDepth", m -> m.visionQueueDepth());
        engineGauge(g, engine, "imageViewsEncoded", m -> m.imageViewsEncoded());
        engineGauge(g, engine, "imageCacheHits", m -> m.imageCacheHits());
    }

    /** Largest batch any step computed so far. */
    static int maxBatchSize(EngineMetrics m) {
        long[] counts = m.batchSizeCounts();
        for (int b = counts.length - 1; b > 0; b--) {
            if (counts[b] > 0) {
                return b;
            }
        }
        return 0;
    }

    /**
     * The fullest KV pool's used fraction, in [0, 1]: the sliding-window pool holds far fewer blocks than the
     * full-attention one, so either can be the one that stops new sequences.
     */
    static double kvCacheUtilization(EngineMetrics m) {
        double fullest = 0;
        for (EngineMetrics.KvGroupMetrics group : m.kv()) {
            fullest = Math.max(fullest, group.utilization());
        }
        return fullest;
    }

    private static void engineGauge(MetricGroup g, GemmaEngine engine, String name, ToDoubleFunction<EngineMetrics> f) {
        // Each read takes a snapshot; reporters read every few seconds, so the cost does not matter.
        g.gauge(name, (Gauge<Double>) () -> engine.isClosed() ? 0.0 : f.applyAsDouble(engine.metrics()));
    }
}
