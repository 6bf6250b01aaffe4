package dev.gemmaflink.operators.gemma;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.gemmaflink.runtime.engine.EngineConfig;
import dev.gemmaflink.runtime.engine.EngineRequest;
import dev.gemmaflink.runtime.engine.EngineResult;
import dev.gemmaflink.runtime.engine.GemmaEngine;
import dev.gemmaflink.runtime.engine.RequestHandle;
import dev.gemmaflink.runtime.generate.GenerationParams;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointSpec;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointWriter;

/** The {@code gemma} gauges read the shared engine: limits, occupancy, counters, and 0 once it is closed. */
class GemmaMetricsTest {

    @TempDir
    static Path tmp;
    static Path modelDir;

    @BeforeAll
    static void writeCheckpoint() {
        modelDir = tmp.resolve("tiny");
        TinyCheckpointWriter.write(modelDir, TinyCheckpointSpec.builder().layers(2).seed(3).build());
    }

    /** A group that records the gauges registered under {@code gemma}. */
    private static Map<String, Gauge<?>> register(GemmaEngine engine, AtomicInteger inFlight) {
        Map<String, Gauge<?>> gauges = new ConcurrentHashMap<>();
        MetricGroup gemma = new UnregisteredMetricsGroup() {
            @Override
            public <T, G extends Gauge<T>> G gauge(String name, G gauge) {
                gauges.put(name, gauge);
                return gauge;
            }
        };
        MetricGroup parent = new UnregisteredMetricsGroup() {
            @Override
            public MetricGroup addGroup(String name) {
                assertThat(name).isEqualTo(GemmaMetrics.GROUP);
                return gemma;
            }
        };
        GemmaMetrics.register(parent, engine, inFlight::get);
        return gauges;
    }

    private static GenerationParams greedy(int maxNewTokens) {
        return GenerationParams.builder().temperature(0).maxNewTokens(maxNewTokens).stopIds().build();
    }

    private static double value(Map<String, Gauge<?>> gauges, String name) {
        assertThat(gauges).containsKey(name);
        return ((Number) gauges.get(name).getValue()).doubleValue();
    }

    @Test
    void gaugesReadTheEnginesLimitsOccupancyAndCounters() throws Exception {
        AtomicInteger inFlight = new AtomicInteger(2);
        GemmaEngine engine = GemmaEngine.builder().modelDir(modelDir).config(EngineConfig.builder().maxBatchSize(3)
                .kvCacheBytes(8L << 20).targetSequenceLength(256).build()).build();
        Map<String, Gauge<?>> gauges;
        try (engine) {
            gauges = register(engine, inFlight);
            assertThat(gauges).containsOnlyKeys("requestsInFlight", "queueDepth", "batchSize", "meanBatchSize",
                    "maxBatchSize", "batchSizeLimit", "kvCacheUtilization", "decodeTokensPerSecond",
                    "prefillTokensPerSecond", "ttftP50Millis", "ttftP99Millis", "tpotP50Millis", "prefixCacheHitRate",
                    "prefixCacheHitTokens", "rejectedSubmits", "preemptions", "visionQueueDepth",
                    "imageViewsEncoded", "imageCacheHits");
            assertThat(value(gauges, "requestsInFlight")).isEqualTo(2);
            assertThat(value(gauges, "batchSizeLimit")).as("the configured max batch").isEqualTo(3);
            assertThat(value(gauges, "maxBatchSize")).as("no step yet").isZero();

            EngineResult r = engine.submit(EngineRequest.builder().requestId("r").promptIds(2, 10, 11, 12)
                    .params(greedy(6)).build()).result().get(60, TimeUnit.SECONDS);
            assertThat(r.tokens()).hasSize(6);
            assertThat(value(gauges, "kvCacheUtilization")).as("the finished request's blocks are free").isZero();

            // A long request holds blocks while it runs: the gauge shows them (read from this thread until seen).
            RequestHandle running = engine.submit(EngineRequest.builder().requestId("long").promptIds(2, 10, 11, 12)
                    .params(greedy(1_000)).build());
            double seen = 0;
            while (seen == 0 && !running.result().isDone()) {
                seen = value(gauges, "kvCacheUtilization");
            }
            running.cancel();
            running.result().get(60, TimeUnit.SECONDS);
            assertThat(seen).as("blocks in use while the long request ran").isGreaterThan(0).isLessThanOrEqualTo(1);
            assertThat(value(gauges, "maxBatchSize")).isEqualTo(1);
            assertThat(value(gauges, "visionQueueDepth")).isZero();
            assertThat(value(gauges, "imageViewsEncoded")).as("a text model").isZero();
            inFlight.set(0);
            assertThat(value(gauges, "requestsInFlight")).isZero();
        }
        assertThat(value(gauges, "maxBatchSize")).as("a closed engine reads 0").isZero();
        assertThat(value(gauges, "batchSizeLimit")).as("the limit is the engine's setting").isEqualTo(3);
    }

    @Test
    void anAutomaticBatchSizeReportsTheOneChosenForTheDevice() {
        try (GemmaEngine engine = GemmaEngine.builder().modelDir(modelDir).config(EngineConfig.builder()
                .kvCacheBytes(8L << 20).targetSequenceLength(256).build()).build()) {
            assertThat(value(register(engine, new AtomicInteger()), "batchSizeLimit"))
                    .isEqualTo(EngineConfig.CPU_MAX_BATCH);
        }
    }
}
