package dev.gemmaflink.runtime.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpoint;
import dev.gemmaflink.runtime.generate.GenerationParams;
import dev.gemmaflink.runtime.generate.Generator;
import dev.gemmaflink.runtime.kvcache.ImageSpan;
import dev.gemmaflink.runtime.model.GemmaModel;
import dev.gemmaflink.runtime.model.Precision;
import dev.gemmaflink.runtime.tokenizer.GemmaTokenizer;
import dev.gemmaflink.runtime.vision.ImageCaptioner;
import dev.gemmaflink.runtime.vision.ImageDecoder;
import dev.gemmaflink.runtime.vision.ImageEncoder;
import dev.gemmaflink.runtime.vision.MultimodalPrompt;
import dev.gemmaflink.runtime.vision.PanAndScanOptions;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Image prompts through the engine on a tiny multimodal checkpoint (SigLIP: image 56, patch 14, 4 soft tokens per
 * image; text: hidden 64) in FLOAT32, against the single-sequence {@link Generator} fed by {@link ImageCaptioner}.
 * The step budget of 8 tokens with blocks of 4 forces prefill chunks and block boundaries around the image.
 */
class EngineImageTest {

    private static final String PROMPT = "Describe the image.";

    @TempDir
    static Path tmp;

    static TinyMultimodal tiny;
    static TinyCheckpoint ckpt;
    static GemmaModel model;
    static GemmaTokenizer tokenizer;
    static ImageEncoder encoder;

    @BeforeAll
    static void load() {
        tiny = TinyMultimodal.write(tmp.resolve("mm"));
        ckpt = tiny.checkpoint;
        model = tiny.model;
        tokenizer = tiny.tokenizer;
        encoder = tiny.encoder;
    }

    @AfterAll
    static void close() {
        tiny.close();
    }

    private static EngineConfig.Builder config() {
        return EngineConfig.builder().blockSize(4).targetSequenceLength(128).maxTokensPerStep(8)
                .kvCacheBytes(16L << 20).modelId("tiny-mm");
    }

    private static GemmaEngineBuilder engine() {
        return engine(config());
    }

    private static GemmaEngineBuilder engine(EngineConfig.Builder config) {
        return GemmaEngine.builder().model(model, tokenizer).imageEncoder(encoder).config(config.build());
    }

    /** The single-sequence reference (chunks of 8, which keep each image whole), sampling with the Java sampler. */
    private static Generator reference() {
        return new Generator(model, tokenizer, 0, 8, Generator.Sampling.HOST_REFERENCE);
    }

    private static GenerationParams greedy(int n) {
        return GenerationParams.builder().temperature(0).maxNewTokens(n).stopIds().build();
    }

    /** A synthetic image of {@code w x h} pixels; {@code salt} varies the pixels. */
    static byte[] image(int w, int h, String format, int salt) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, (x * 255 / w) << 16 | (y * 255 / h) << 8 | ((x ^ y) * 9 + salt & 0xFF));
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            ImageIO.write(img, format, out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private static EngineRequest request(byte[] img, int maxNew) {
        return EngineRequest.builder().text(PROMPT).images(List.of(img)).params(greedy(maxNew)).build();
    }

    private static EngineResult get(RequestHandle h) throws Exception {
        return h.result().get(60, TimeUnit.SECONDS);
    }

    @Test
    void noCallerCodeRunsOnTheEngineThreadAndImagesAreDecodedOffTheCallersThread() throws Exception {
        byte[] good = image(60, 50, "png", 7);
        byte[] corrupt = Arrays.copyOf(good, 40);
        java.util.Set<String> listenerThreads = java.util.concurrent.ConcurrentHashMap.newKeySet();
        java.util.Set<String> stageThreads = java.util.concurrent.ConcurrentHashMap.newKeySet();
        try (GemmaEngine engine = engine().build()) {
            RequestHandle ok = engine.submit(request(good, 4),
                    (id, delta) -> listenerThreads.add(Thread.currentThread().getName()));
            RequestHandle bad = engine.submit(request(corrupt, 4));
            // Submit returns before the corrupt image is decoded: its failure comes on the future, later.
            List<EngineResult> results = new ArrayList<>();
            for (RequestHandle h : List.of(ok, bad)) {
                results.add(h.result().thenApply(r -> {
                    stageThreads.add(Thread.currentThread().getName());
                    return r;
                }).get(60, TimeUnit.SECONDS));
            }
            assertThat(results.get(0).numTokens()).isEqualTo(4);
            assertThat(results.get(1).error().reason()).isEqualTo(EngineError.Reason.IMAGE_UNREADABLE);
        }
        assertThat(listenerThreads).isNotEmpty().allSatisfy(t -> assertThat(t).startsWith("gemma-callbacks-"));
        // A stage added after completion runs on the test thread; otherwise on the callback thread.
        assertThat(stageThreads).isNotEmpty().allSatisfy(t -> assertThat(t).doesNotStartWith("gemma-engine-")
                .doesNotStartWith("gemma-prepare-"));
    }

    @Test
    void aFullQueueRefusesAnImageRequestBeforeDecodingIt() throws Exception {
        CountDownLatch held = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        byte[] good = image(60, 50, "png", 8);
        try (GemmaEngine engine = engine(config().queueCapacity(1))
                .beforeIteration(EngineTestSupport.holdFrom(1, held, release)).build()) {
            RequestHandle running = engine.submit(request(good, 3));
            assertThat(held.await(60, TimeUnit.SECONDS)).isTrue();
            RequestHandle queued = engine.submit(request(good, 3));
            // A corrupt image: refused for the full queue, not for its bytes, so it was never decoded.
            EngineResult refused = engine.submit(EngineRequest.builder().requestId("full").text(PROMPT)
                    .images(List.of(new byte[] {1, 2, 3})).params(greedy(3)).build()).result().getNow(null);
            assertThat(refused).isNotNull();
            assertThat(refused.error()).isEqualTo(new EngineError(EngineError.Reason.QUEUE_FULL,
                    "request full: the engine's queue of 1 requests is full"));
            release.countDown();
            assertThat(get(running).numTokens()).isEqualTo(3);
            assertThat(get(queued).numTokens()).isEqualTo(3);
        }
    }

    @Test
    void captionsAPngAndAJpegLikeTheGenerator() throws Exception {
        ImageCaptioner cap = new ImageCaptioner(encoder, tokenizer, new ImageDecoder());
        try (GemmaEngine engine = engine().build(); Generator gen = reference()) {
            for (String format : new String[] {"png", "jpeg"}) {
                byte[] img = image(70, 40, format, 0);
                MultimodalPrompt mp = cap.prepare(PROMPT, false, List.of(img), PanAndScanOptions.DISABLED);
                int[] expected = gen.generate(mp.ids(), mp.images(), greedy(6), null).tokens();
                EngineResult r = get(engine.submit(request(img, 6)));
                assertThat(r.finishReason()).as(format).isEqualTo(EngineFinishReason.LENGTH);
                assertThat(r.promptTokens()).as(format).isEqualTo(mp.ids().length);
                assertThat(r.tokens()).as(format).containsExactly(expected);
            }
        }
    }

    @Test
    void anEngineBuiltFromAMultimodalFolderLoadsItsOwnEncoder() throws Exception {
        byte[] img = image(50, 70, "png", 4);
        MultimodalPrompt mp = new ImageCaptioner(encoder, tokenizer, new ImageDecoder())
                .prepare(PROMPT, false, List.of(img), PanAndScanOptions.DISABLED);
        try (GemmaEngine engine = GemmaEngine.builder().modelDir(ckpt.directory())
                .config(config().modelId(null).precision(Precision.FLOAT32).threads(1).build()).build();
             Generator gen = reference()) {
            EngineResult r = get(engine.submit(request(img, 5)));
            assertThat(r.tokens()).containsExactly(gen.generate(mp.ids(), mp.images(), greedy(5), null).tokens());
        }
    }

    @Test
    void panAndScanCropsAndSeveralImagesMatchTheGenerator() throws Exception {
        PanAndScanOptions pas = new PanAndScanOptions(true, 32, 4, 1.2);
        ImageCaptioner cap = new ImageCaptioner(encoder, tokenizer, new ImageDecoder());
        byte[] wide = image(160, 40, "png", 3);
        byte[] small = image(30, 30, "jpeg", 9);
        String prompt = "Compare <start_of_image> with <start_of_image> please.";
        try (GemmaEngine engine = engine(config().maxImageViewsPerStep(Integer.MAX_VALUE)).build();
             Generator gen = reference()) {
            MultimodalPrompt mp = cap.prepare(prompt, true, List.of(wide, small), pas);
            assertThat(mp.tokens().spans()).as("the wide image's crops plus the small image").hasSizeGreaterThan(3);
            int[] expected = gen.generate(mp.ids(), mp.images(), greedy(5), null).tokens();
            // submitted together, with no budget on views per iteration: their views are encoded in one call
            RequestHandle h1 = engine.submit(EngineRequest.builder().text(prompt).chat(true).images(List.of(wide, small))
                    .panAndScan(pas).params(greedy(5)).build());
            RequestHandle h2 = engine.submit(EngineRequest.builder().text(prompt).chat(true).images(List.of(wide, small))
                    .panAndScan(pas).params(greedy(5)).build());
            assertThat(get(h1).tokens()).containsExactly(expected);
            assertThat(get(h2).tokens()).containsExactly(expected);
            assertThat(get(h1).promptTokens()).isEqualTo(mp.ids().length);
            // each distinct view is encoded once, in one call: the second request's views come from the same call
            // (taken in the same iteration) or from the cache (a later one)
            EngineMetrics m = engine.metrics();
            assertThat(m.imageViewsEncoded()).isEqualTo(mp.tokens().spans().size());
            assertThat(m.imageEncoderCalls()).isEqualTo(1);
            assertThat(m.imageCacheHits()).isIn(0L, (long) mp.tokens().spans().size());
        }
    }

    @Test
    void preemptedImageRequestsRecomputeWithTheirSoftTokens() throws Exception {
        // Pools for four sequences of 32 tokens (same text geometry as EngineTestSupport's model); four image
        // requests of about 20 + 30 tokens cannot all keep their global-layer blocks.
        ImageCaptioner cap = new ImageCaptioner(encoder, tokenizer, new ImageDecoder());
        List<byte[]> images = new ArrayList<>();
        List<RequestHandle> handles = new ArrayList<>();
        try (GemmaEngine engine = engine(config().targetSequenceLength(32)
                .kvCacheBytes(EngineTestSupport.budgetFor(4, 32, 8))).build();
             Generator gen = reference()) {
            for (int i = 0; i < 4; i++) {
                images.add(image(40 + 10 * i, 50, "png", 31 * i));
                handles.add(engine.submit(request(images.get(i), 30)));
            }
            int preempted = 0;
            for (int i = 0; i < 4; i++) {
                EngineResult r = get(handles.get(i));
                preempted += r.preemptions();
                MultimodalPrompt mp = cap.prepare(PROMPT, false, List.of(images.get(i)), PanAndScanOptions.DISABLED);
                assertThat(r.tokens()).as("request %d", i)
                        .containsExactly(gen.generate(mp.ids(), mp.images(), greedy(30), null).tokens());
            }
            assertThat(preempted).isPositive();
        }
    }

    @Test
    void sameImageSharesPrefixBlocksAndADifferentImageDoesNotPastItsStart() throws Exception {
        ImageCaptioner cap = new ImageCaptioner(encoder, tokenizer, new ImageDecoder());
        byte[] a = image(70, 40, "png", 0);
        byte[] b = image(70, 40, "png", 77); // same size, same token ids, other pixels
        MultimodalPrompt pa = cap.prepare(PROMPT, false, List.of(a), PanAndScanOptions.DISABLED);
        ImageSpan span = pa.tokens().spans().get(0);
        try (GemmaEngine engine = engine().build(); Generator gen = reference()) {
            EngineResult first = get(engine.submit(request(a, 4)));
            EngineResult second = get(engine.submit(request(a, 4)));
            EngineResult other = get(engine.submit(request(b, 4)));
            assertThat(first.cachedPromptTokens()).isZero();
            assertThat(second.cachedPromptTokens()).isGreaterThanOrEqualTo(span.end());
            assertThat(second.tokens()).containsExactly(first.tokens());
            assertThat(other.cachedPromptTokens()).isPositive().isLessThanOrEqualTo(span.start());
            MultimodalPrompt pb = cap.prepare(PROMPT, false, List.of(b), PanAndScanOptions.DISABLED);
            assertThat(Arrays.equals(pa.ids(), pb.ids())).as("same token ids for both images").isTrue();
            assertThat(other.tokens()).containsExactly(gen.generate(pb.ids(), pb.images(), greedy(4), null).tokens());
            assertThat(engine.metrics().imageViewsEncoded()).as("a encoded once, then b").isEqualTo(2);
            assertThat(engine.metrics().imageCacheHits()).as("the second request with a").isEqualTo(1);
        }
    }

    @Test
    void aCorruptImageFailsOnlyItsOwnRequest() throws Exception {
        byte[] good = image(70, 40, "png", 5);
        byte[] corrupt = Arrays.copyOf(good, 60);
        int[] textPrompt = tokenizer.encode("Tell me a story about a cat.", true);
        try (GemmaEngine engine = engine().build(); Generator gen = reference()) {
            RequestHandle text = engine.submit(EngineRequest.builder().promptIds(textPrompt).params(greedy(12)).build());
            RequestHandle bad = engine.submit(request(corrupt, 4));
            RequestHandle ok = engine.submit(request(good, 4));
            EngineResult failed = bad.result().get(60, TimeUnit.SECONDS);
            assertThat(failed.finishReason()).isEqualTo(EngineFinishReason.ERROR);
            assertThat(failed.error().reason()).isEqualTo(EngineError.Reason.IMAGE_UNREADABLE);
            assertThat(failed.error().message()).startsWith("request " + bad.requestId() + ", image 0: CORRUPT: ");
            assertThat(get(text).tokens()).containsExactly(gen.generate(textPrompt, greedy(12), null).tokens());
            assertThat(get(ok).finishReason()).isEqualTo(EngineFinishReason.LENGTH);
            assertThat(get(ok).numTokens()).isEqualTo(4);
            assertThat(engine.isClosed()).isFalse();
        }
    }

    @Test
    void cancellingARequestWaitingForItsEncodingCancelsItAndEncodesNothing() throws Exception {
        int[] textPrompt = tokenizer.encode("Tell me a story about a cat.", true);
        CountDownLatch inListener = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        try (GemmaEngine engine = engine().build()) {
            // The text request's first token holds the engine thread, so the image request and its cancellation
            // reach the inbox together and are taken in the same iteration, before any encoding.
            RequestHandle text = engine.submit(EngineRequest.builder().promptIds(textPrompt).params(greedy(4)).build(),
                    (id, delta) -> {
                        inListener.countDown();
                        awaitQuietly(release);
                    });
            assertThat(inListener.await(60, TimeUnit.SECONDS)).isTrue();
            RequestHandle img = engine.submit(request(image(70, 40, "png", 9), 4));
            assertThat(img.cancel()).isTrue();
            release.countDown();

            EngineResult r = get(img);
            assertThat(r.finishReason()).isEqualTo(EngineFinishReason.CANCELLED);
            assertThat(r.numTokens()).isZero();
            assertThat(get(text).finishReason()).isEqualTo(EngineFinishReason.LENGTH);
            EngineMetrics m = engine.metrics();
            assertThat(m.imageEncoderCalls()).isZero();
            assertThat(m.queueDepth()).isZero();
            assertThat(m.cancelled()).isEqualTo(1);
        }
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void imagesOnATextOnlyModelEndWithImagesUnsupported() throws Exception {
        TinyCheckpoint text = EngineTestSupport.write(tmp.resolve("text"));
        try (GemmaModel textModel = EngineTestSupport.load(text);
             GemmaEngine engine = EngineTestSupport.engine(textModel).build()) {
            EngineRequest r = EngineRequest.builder().requestId("img").text("x")
                    .images(List.of(image(8, 8, "png", 0))).build();
            assertThat(get(engine.submit(r)).error()).isEqualTo(new EngineError(
                    EngineError.Reason.IMAGES_UNSUPPORTED, "request img has 1 images but the engine serves text "
                    + "only: the checkpoint has no vision_config"));
            assertThatThrownBy(() -> GemmaEngine.builder().model(textModel, null).imageEncoder(encoder).build())
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("text-only");
        }
    }

    @Test
    void imagesNeedATextPrompt() {
        assertThatThrownBy(() -> EngineRequest.builder().promptIds(2, 3).images(List.of(new byte[] {1})).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("text prompt");
        assertThatThrownBy(() -> EngineRequest.builder().text("x").images(List.of(new byte[0])))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("image 0 is empty");
    }
}
