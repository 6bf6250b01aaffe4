package dev.gemmaflink.operators.gemma;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import javax.imageio.ImageIO;

import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.gemmaflink.operators.TestRequests;
import dev.gemmaflink.operators.config.EnrichmentOptions;
import dev.gemmaflink.operators.config.OptionsLoader;
import dev.gemmaflink.operators.enrich.Enricher;
import dev.gemmaflink.operators.enrich.EnricherContext;
import dev.gemmaflink.operators.enrich.EnricherProvider;
import dev.gemmaflink.operators.enrich.EnrichmentException;
import dev.gemmaflink.operators.model.ValidatedRequest;
import dev.gemmaflink.runtime.config.VisionConfig;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointSpec;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointWriter;
import dev.gemmaflink.runtime.engine.EngineRequest;
import dev.gemmaflink.runtime.engine.GemmaEngine;
import dev.gemmaflink.runtime.weights.TensorNaming;
import dev.gemmaflink.schemas.EnrichmentRequest;
import dev.gemmaflink.schemas.EnrichmentResult;
import dev.gemmaflink.schemas.ErrorCode;
import dev.gemmaflink.schemas.GenerationParameters;
import dev.gemmaflink.schemas.ImageData;

/** The gemma enricher on a tiny random checkpoint: request mapping, shared engine, failures as dead letters. */
class GemmaEnricherTest {

    @TempDir
    static Path tmp;
    static Path modelDir;

    @BeforeAll
    static void writeCheckpoint() {
        modelDir = tmp.resolve("tiny-gemma");
        TinyCheckpointWriter.write(modelDir, TinyCheckpointSpec.builder().layers(2).seed(7).build());
    }

    static Configuration config(Map<String, String> extra) {
        Map<String, String> raw = new java.util.HashMap<>(Map.of(
                EnrichmentOptions.ENRICHER.key(), "gemma",
                GemmaOptions.MODEL_DIR.key(), String.valueOf(modelDir), // callers with their own checkpoint override it
                GemmaOptions.PRECISION.key(), "FLOAT32",
                GemmaOptions.THREADS.key(), "1",
                GemmaOptions.KV_CACHE_BYTES.key(), String.valueOf(8L << 20),
                GemmaOptions.BLOCK_SIZE.key(), "4",
                GemmaOptions.TARGET_SEQUENCE_LENGTH.key(), "256",
                GemmaOptions.MAX_NEW_TOKENS.key(), "6"));
        raw.putAll(extra);
        return OptionsLoader.fromMap(raw);
    }

    private static ValidatedRequest validated(EnrichmentRequest request) {
        return ValidatedRequest.of(TestRequests.origin(new byte[] {1}), request);
    }

    private static EnrichmentException failure(Enricher enricher, EnrichmentRequest request) {
        var future = enricher.enrich(validated(request));
        try {
            future.get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            assertThat(e.getCause()).isInstanceOf(EnrichmentException.class);
            return (EnrichmentException) e.getCause();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        throw new AssertionError("expected a failure for " + request.getRequestId());
    }

    @Test
    void providerIsFoundByNameAndItsOptionsAreValidKeys() {
        Enricher enricher = EnricherProvider.fromConfig(config(Map.of()));
        assertThat(enricher).isInstanceOf(GemmaEnricher.class);
        assertThat(OptionsLoader.knownOptions()).containsKeys(GemmaOptions.MODEL_DIR.key(),
                GemmaOptions.DEVICE_POLICY.key(), GemmaOptions.TEMPLATE_TRANSLATE.key());
    }

    @Test
    void aCapacityBelowTheBatchLimitIsWarnedAbout() {
        assertThat(GemmaEnricher.capacityWarning(64, 32)).isEmpty();
        assertThat(GemmaEnricher.capacityWarning(32, 32)).isEmpty();
        assertThat(GemmaEnricher.capacityWarning(8, 32)).get(org.assertj.core.api.InstanceOfAssertFactories.STRING)
                .contains("enrich.async-capacity=8").contains("enrich.gemma.max-batch=32");
    }

    @Test
    void badSettingsAreRefusedOnTheClientNamingTheOption() {
        assertThatThrownBy(() -> EnricherProvider.fromConfig(config(Map.of(GemmaOptions.MODEL_DIR.key(), ""))))
                .hasMessageContaining("enrich.gemma.model-dir is required");
        assertThatThrownBy(() -> EnricherProvider.fromConfig(config(Map.of(GemmaOptions.PRECISION.key(), "int4"))))
                .hasMessage("enrich.gemma.precision: unknown precision 'int4': use bf16 or f32");
        assertThatThrownBy(() -> EnricherProvider.fromConfig(config(Map.of(GemmaOptions.MAX_BATCH.key(), "-1"))))
                .hasMessage("enrich.gemma.max-batch must be >= 0, got -1");
        assertThatThrownBy(() -> EnricherProvider.fromConfig(config(Map.of(GemmaOptions.MAX_SEQUENCE_LENGTH.key(),
                "-1")))).hasMessage("enrich.gemma.max-sequence-length must be >= 0, got -1");
        assertThat(GemmaOptions.engineConfig(config(Map.of(GemmaOptions.MAX_SEQUENCE_LENGTH.key(), "2048")))
                .maxSequenceLength()).isEqualTo(2048);
        assertThat(GemmaOptions.engineConfig(config(Map.of())).maxBatchSize()).as("automatic").isZero();
        assertThat(GemmaOptions.engineConfig(config(Map.of())).graphOptimization()).as("default").isFalse();
        assertThat(GemmaOptions.engineConfig(config(Map.of(GemmaOptions.GRAPH_OPTIMIZATION.key(), "true")))
                .graphOptimization()).isTrue();
        assertThatThrownBy(() -> EnricherProvider.fromConfig(config(Map.of(
                GemmaOptions.MAX_IMAGE_VIEWS_PER_STEP.key(), "0"))))
                .hasMessage("enrich.gemma.max-image-views-per-step must be > 0, got 0");
    }

    @Test
    void openFailsClearlyWithoutACheckpointOrWithoutARequiredGpu() {
        GemmaEnricher missing = GemmaEnricher.fromConfig(config(Map.of(GemmaOptions.MODEL_DIR.key(),
                tmp.resolve("nothing-here").toString())));
        assertThatThrownBy(() -> missing.open(new EnricherContext(0, 1, 0, config(Map.of()))))
                .hasMessageContaining("holds no config.json");
        GemmaEnricher gpuOnly = GemmaEnricher.fromConfig(config(Map.of(GemmaOptions.DEVICE_POLICY.key(),
                "require-gpu")));
        assertThatThrownBy(() -> gpuOnly.open(new EnricherContext(0, 1, 0, config(Map.of()))))
                .hasMessageContaining("require-gpu");
        // The tiny checkpoint's context is 4096 tokens; the cap is checked against it before the weights load.
        GemmaEnricher tooLong = GemmaEnricher.fromConfig(config(Map.of(GemmaOptions.MAX_SEQUENCE_LENGTH.key(),
                "8192")));
        assertThatThrownBy(() -> tooLong.open(new EnricherContext(0, 1, 0, config(Map.of()))))
                .hasMessage("enrich.gemma.max-sequence-length 8192 exceeds the model's context of 4096 tokens "
                        + "(max_position_embeddings of its config.json): lower it, or set 0 for the model's context");
    }

    @Test
    void twoSubtasksShareOneEngineAndTheLastCloseClosesIt() throws Exception {
        Configuration conf = config(Map.of(GemmaOptions.MODEL_ID.key(), "tiny-shared"));
        GemmaEnricher first = GemmaEnricher.fromConfig(conf);
        GemmaEnricher second = GemmaEnricher.fromConfig(conf);
        first.open(new EnricherContext(0, 2, 0, conf));
        second.open(new EnricherContext(1, 2, 0, conf));
        try {
            var mine = SharedEngines.live().entrySet().stream()
                    .filter(e -> "tiny-shared".equals(e.getKey().config().modelId())).toList();
            assertThat(mine).hasSize(1);
            SharedEngines.Key key = mine.get(0).getKey();
            GemmaEngine engine = mine.get(0).getValue();
            assertThat(key.config().device()).isEqualTo("cpu");
            assertThat(SharedEngines.references(key)).isEqualTo(2);

            EnrichmentResult a = first.enrich(validated(TestRequests.summarize("s1", "The quick brown fox.")
                    .build())).get(60, TimeUnit.SECONDS);
            EnrichmentResult b = second.enrich(validated(TestRequests.summarize("s2", "The quick brown fox.")
                    .build())).get(60, TimeUnit.SECONDS);
            assertThat(a.getModelId()).isEqualTo("tiny-shared");
            assertThat(a.getRequestId()).isEqualTo("s1");
            assertThat(a.getFinishReason()).isIn("STOP", "LENGTH");
            assertThat(a.getOutputTokens()).isBetween(0, 6);
            assertThat(a.getPromptTokens()).isGreaterThan(10);
            // Same tenant, same instruction and text: the second request finds the first one's blocks cached.
            assertThat(b.getCachedPromptTokens()).isPositive();
            assertThat(b.getOutputText()).isEqualTo(a.getOutputText()).doesNotContain("<end_of_turn>");
            assertThat(engine.metrics().completed()).isEqualTo(2);

            first.close();
            assertThat(engine.isClosed()).isFalse();
            assertThat(SharedEngines.references(key)).isEqualTo(1);
            second.close();
            assertThat(engine.isClosed()).isTrue();
            assertThat(SharedEngines.references(key)).isZero();
            assertThat(SharedEngines.finalMetrics().get(key).completed()).isEqualTo(2);
        } finally {
            first.close();
            second.close();
        }
    }

    @Test
    void captionDeadlinesAndBadParametersFailTheRequestOnly() throws Exception {
        Configuration conf = config(Map.of(GemmaOptions.MODEL_ID.key(), "tiny-failures"));
        GemmaEnricher enricher = GemmaEnricher.fromConfig(conf);
        enricher.open(new EnricherContext(0, 1, 0, conf));
        try {
            EnrichmentException caption = failure(enricher, TestRequests.caption("c1", 20, "image/png").build());
            assertThat(caption.code()).isEqualTo(ErrorCode.ENRICHMENT_FAILED);
            assertThat(caption.getMessage()).contains("captioning needs a multimodal checkpoint");

            EnrichmentException late = failure(enricher, TestRequests.summarize("d1", "text")
                    .setDeadline(Instant.now().minusSeconds(1)).build());
            assertThat(late.code()).isEqualTo(ErrorCode.TIMEOUT);

            EnrichmentException tooLong = failure(enricher, TestRequests.summarize("l1", "text")
                    .setGeneration(GenerationParameters.newBuilder().setMaxNewTokens(100_000).build()).build());
            assertThat(tooLong.code()).isEqualTo(ErrorCode.PROMPT_TOO_LONG);
            assertThat(tooLong.getMessage()).contains("exceeds the longest sequence");

            // The enricher still serves requests after those failures.
            assertThat(enricher.enrich(validated(TestRequests.translate("t1", "Good morning", "fr").build()))
                    .get(60, TimeUnit.SECONDS).getTask()).isEqualTo("TRANSLATE");
        } finally {
            enricher.close();
        }
    }

    @Test
    void aRequestTheAsyncTimeoutGivesUpOnIsCancelledInTheEngine() throws Exception {
        Configuration conf = config(Map.of(GemmaOptions.MODEL_ID.key(), "tiny-cancel",
                GemmaOptions.MAX_NEW_TOKENS.key(), "400"));
        GemmaEnricher enricher = GemmaEnricher.fromConfig(conf);
        enricher.open(new EnricherContext(0, 1, 0, conf));
        try {
            ValidatedRequest request = validated(TestRequests.summarize("slow", "text").build());
            var future = enricher.enrich(request);
            enricher.cancel(request);
            assertThatThrownBy(() -> future.get(60, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                    .cause().isInstanceOf(EnrichmentException.class)
                    .hasMessageStartingWith("the request was cancelled in the engine after ")
                    .satisfies(e -> assertThat(((EnrichmentException) e).code()).isEqualTo(ErrorCode.TIMEOUT));
            // A second cancel, or one for a request that finished, finds nothing to stop.
            enricher.cancel(request);
            GemmaEngine engine = SharedEngines.live().entrySet().stream()
                    .filter(e -> "tiny-cancel".equals(e.getKey().config().modelId())).findFirst().orElseThrow()
                    .getValue();
            assertThat(engine.metrics().cancelled()).isEqualTo(1);
        } finally {
            enricher.close();
        }
    }

    @Test
    void aJpegCutShortIsImageUnreadableAndAWholeOneIsCaptioned() throws Exception {
        Path visionModel = tmp.resolve("tiny-gemma-vision");
        TinyCheckpointWriter.write(visionModel, TinyCheckpointSpec.builder().layers(2).seed(5).maxPositions(512)
                .scheme(TensorNaming.LANGUAGE_MODEL).vision(new VisionConfig(32, 64, 2, 2, 3, 56, 14, 1e-6))
                .mmTokensPerImage(4).imageTokenIds(6, 7, 262_144).build());
        Configuration conf = config(Map.of(GemmaOptions.MODEL_DIR.key(), visionModel.toString(),
                GemmaOptions.MODEL_ID.key(), "tiny-vision"));
        GemmaEnricher enricher = GemmaEnricher.fromConfig(conf);
        enricher.open(new EnricherContext(0, 1, 0, conf));
        try {
            byte[] jpeg = jpeg(64, 48);
            byte[] cut = Arrays.copyOf(jpeg, jpeg.length * 6 / 10);
            EnrichmentException unreadable = failure(enricher, captionOf("cut", cut));
            assertThat(unreadable.code()).isEqualTo(ErrorCode.IMAGE_UNREADABLE);
            assertThat(unreadable.getMessage()).startsWith("image: ").contains("CORRUPT")
                    .contains("the 64x48 jpeg image is truncated: the data ends after " + cut.length
                            + " bytes, before the EOI marker (FF D9)");

            EnrichmentResult whole = enricher.enrich(validated(captionOf("whole", jpeg))).get(60, TimeUnit.SECONDS);
            assertThat(whole.getRequestId()).isEqualTo("whole");
            assertThat(whole.getTask()).isEqualTo("CAPTION");
        } finally {
            enricher.close();
        }
    }

    private static EnrichmentRequest captionOf(String id, byte[] image) {
        return TestRequests.caption(id, 1, "image/jpeg").setImage(ImageData.newBuilder()
                .setData(ByteBuffer.wrap(image)).setMediaType("image/jpeg").build()).build();
    }

    private static byte[] jpeg(int width, int height) throws IOException {
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                img.setRGB(x, y, (x * 4) << 16 | (y * 5) << 8 | ((x + y) * 3 & 0xFF));
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertThat(ImageIO.write(img, "jpeg", out)).isTrue();
        return out.toByteArray();
    }

    @Test
    void requestFieldsMapOntoTheEngineRequest() {
        GemmaEnricher enricher = GemmaEnricher.fromConfig(config(Map.of()));
        Instant now = Instant.parse("2026-01-01T00:00:00Z");
        EnrichmentRequest request = TestRequests.translate("m1", "Hello", "de").setTenant("globex").setPriority(3)
                .setDeadline(now.plusSeconds(30))
                .setGeneration(GenerationParameters.newBuilder().setMaxNewTokens(9).setTemperature(0.5f).setTopK(5)
                        .setSeed(99L).build()).build();
        EngineRequest mapped = enricher.toEngineRequest(request, now);
        assertThat(mapped.text()).contains(PromptTemplates.defaults().prompt(request));
        assertThat(mapped.chat()).isFalse();
        assertThat(mapped.tenant()).isEqualTo("globex");
        assertThat(mapped.cacheSalt()).isEqualTo("globex");
        assertThat(mapped.priority()).isEqualTo(3);
        assertThat(mapped.deadline()).isEqualTo(now.plusSeconds(30));
        assertThat(mapped.params().maxNewTokens()).isEqualTo(9);
        assertThat(mapped.params().temperature()).isEqualTo(0.5);
        assertThat(mapped.params().topK()).isEqualTo(5);
        assertThat(mapped.params().seed()).isEqualTo(99L);

        EngineRequest defaults = enricher.toEngineRequest(TestRequests.summarize("m2", "x").build(), now);
        assertThat(defaults.params().maxNewTokens()).isEqualTo(6);
        assertThat(defaults.params().greedy()).isTrue();
        assertThat(defaults.deadline()).isNull();
        // A replayed request gets the same seed.
        assertThat(enricher.toEngineRequest(TestRequests.summarize("m2", "x").build(), now).params().seed())
                .isEqualTo(defaults.params().seed());
    }
}
