package dev.gemmaflink.e2e.support;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Instant;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.apache.flink.configuration.Configuration;

import dev.gemmaflink.e2e.support.RequestProducer.Sent;
import dev.gemmaflink.operators.config.OptionsLoader;
import dev.gemmaflink.operators.gemma.GemmaEnricher;
import dev.gemmaflink.operators.gemma.GemmaOptions;
import dev.gemmaflink.runtime.engine.EngineConfig;
import dev.gemmaflink.runtime.engine.EngineRequest;
import dev.gemmaflink.runtime.engine.EngineResult;
import dev.gemmaflink.runtime.engine.GemmaEngine;
import dev.gemmaflink.schemas.EnrichmentRequest;
import dev.gemmaflink.schemas.EnrichmentResult;
import dev.gemmaflink.schemas.wire.WireFormatException;

/**
 * What the gemma enricher must publish for a request, computed by a {@link GemmaEngine} alone on the same
 * checkpoint folder: the same prompt text ({@link PromptTemplates} of the scenario's settings), the same generation
 * parameters (the {@code enrich.gemma.*} defaults, the request's own overrides, the seed derived from the request id
 * as the enricher derives it; seeded sampling too, whose draws depend on seed and position only) and the same
 * mapping of the engine's result ({@link GemmaEnricher#toResult}: free text cleaned, CLASSIFY/EXTRACT output kept
 * exactly as generated), one request at a time on an engine without prefix caching. The job's engine batches,
 * chunks prefills and serves cached prefixes; none of that may change what a request produces, so the results must
 * match field for field.
 *
 * <p>Compared: outputText, outputTokens, finishReason, promptTokens. Not compared: {@code cachedPromptTokens}
 * (how much of the prompt the job's engine found in its prefix cache depends on which requests shared it before,
 * i.e. on arrival order, batching and evictions; this reference runs without a cache), the millisecond fields and
 * {@code processingTime} (wall clock); the model id is checked by {@link PipelineRuns}.
 */
public final class EngineReference {

    /** Bound on one reference generation (a few tokens of a tiny model). */
    private static final long TIMEOUT_SECONDS = 60;

    /** The deterministic fields of a result. */
    public record Expected(String outputText, int outputTokens, String finishReason, int promptTokens) {

        /** The same fields of a published result. */
        public static Expected of(EnrichmentResult r) {
            return new Expected(r.getOutputText(), r.getOutputTokens(), r.getFinishReason(), r.getPromptTokens());
        }
    }

    private EngineReference() {
    }

    /**
     * The engine the reference runs on: the scenario's checkpoint folder, loaded as the job loads it (precision,
     * threads; on the CPU, where the MiniCluster's TaskManager runs the enricher as it has no GPU resources). The one
     * place that builds an engine here, so that a change of the engine's builder is adapted once.
     */
    static GemmaEngine engine(Path modelDir, EngineConfig job) {
        EngineConfig.Builder alone = job.toBuilder().device("cpu").prefixCaching(false);
        if (job.kvCacheBytes() == 0) {
            alone.kvCacheBytes(64L << 20);
        }
        return GemmaEngine.builder().modelDir(modelDir).config(alone.build()).build();
    }

    /**
     * The expected result of each request that should produce one, by request id.
     *
     * @param settings the scenario's settings (the job's configuration): model folder, precision, templates,
     *     default generation parameters
     * @param sent the records the test published; those expecting a dead letter are skipped
     */
    public static Map<String, Expected> expected(Map<String, String> settings, List<Sent> sent) {
        List<EnrichmentRequest> requests = sent.stream().filter(s -> s.expectation().expectsResult())
                .map(s -> decode(s.value())).toList();
        return expected(settings, requests);
    }

    private static EnrichmentRequest decode(byte[] value) {
        try {
            return Requests.CODEC.decode(value);
        } catch (WireFormatException e) {
            throw new IllegalArgumentException("a record expected to produce a result does not decode", e);
        }
    }

    /** The expected result of each request, by request id, from the engine alone (one request at a time). */
    public static Map<String, Expected> expected(Map<String, String> settings,
            Collection<EnrichmentRequest> requests) {
        Configuration config = OptionsLoader.load(null, settings);
        EngineConfig engineConfig = GemmaOptions.engineConfig(config);
        Path modelDir = Path.of(config.get(GemmaOptions.MODEL_DIR));
        // The requests exactly as the enricher submits them (template, generation defaults, seed rule).
        GemmaEnricher enricher = GemmaEnricher.fromConfig(config);
        Map<String, Expected> out = new LinkedHashMap<>();
        try (GemmaEngine engine = engine(modelDir, engineConfig)) {
            for (EnrichmentRequest request : requests) {
                if (request.getDeadline() != null) {
                    throw new IllegalArgumentException("request " + request.getRequestId() + " has a deadline; "
                            + "the reference covers requests without one");
                }
                EngineRequest engineRequest = enricher.toEngineRequest(request, Instant.now());
                EngineResult r = engine.submit(engineRequest).result().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
                // The result as the enricher maps it (free text cleaned, CLASSIFY/EXTRACT output kept exact).
                out.put(request.getRequestId(), Expected.of(enricher.toResult(request, r)));
            }
        } catch (Exception e) {
            throw new AssertionError("the reference engine failed", e);
        }
        return out;
    }

    /**
     * Asserts one expected result per published result, equal field for field (see the class comment for the
     * fields left out), naming the request on a mismatch.
     */
    public static void assertMatches(List<EnrichmentResult> results, Map<String, Expected> expected) {
        assertThat(results.stream().map(EnrichmentResult::getRequestId))
                .as("requests with a result").containsExactlyInAnyOrderElementsOf(expected.keySet());
        for (EnrichmentResult r : results) {
            assertThat(Expected.of(r)).as("result of %s against the engine alone", r.getRequestId())
                    .isEqualTo(expected.get(r.getRequestId()));
        }
    }
}
