package dev.gemmaflink.runtime.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gemmaflink.runtime.generate.GenerationParams;
import dev.gemmaflink.runtime.generate.Generator;
import dev.gemmaflink.runtime.sched.ScheduledRequest;
import dev.gemmaflink.runtime.vision.ImageCaptioner;
import dev.gemmaflink.runtime.vision.ImageDecoder;
import dev.gemmaflink.runtime.vision.ImagePreprocessor;
import dev.gemmaflink.runtime.vision.MultimodalPrompt;
import dev.gemmaflink.runtime.vision.PanAndScanOptions;
import dev.gemmaflink.runtime.vision.PreprocessedImage;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The vision queue and its encoder budget ({@link EngineConfig#maxImageViewsPerStep()}) on the tiny multimodal
 * checkpoint of {@link EngineImageTest} (FLOAT32, so the batched engine matches the single-sequence reference token
 * for token). A text request decodes while image requests wait for their views; the tests hold the engine thread at
 * the top of an iteration ({@link Stepper}) to act while requests are in the queue, and see every encoder call
 * through {@link GemmaEngineBuilder#viewEncoders}.
 */
class EngineVisionQueueTest {

    private static final String PROMPT = "Describe the image.";
    private static final String TEXT_ID = "text";

    @TempDir
    static Path tmp;

    static TinyMultimodal tiny;

    @BeforeAll
    static void load() {
        tiny = TinyMultimodal.write(tmp.resolve("mm"));
    }

    @AfterAll
    static void close() {
        tiny.close();
    }

    /** One preparation thread: requests reach the engine, and the vision queue, in the order they are submitted. */
    private static EngineConfig.Builder config(int maxViews) {
        return EngineConfig.builder().preparationThreads(1).blockSize(4).targetSequenceLength(128).maxTokensPerStep(8)
                .kvCacheBytes(16L << 20).modelId("tiny-mm").maxImageViewsPerStep(maxViews);
    }

    private static GemmaEngineBuilder engine(EngineConfig.Builder config) {
        return GemmaEngine.builder().model(tiny.model, tiny.tokenizer).imageEncoder(tiny.encoder)
                .config(config.build());
    }

    private static GenerationParams greedy(int n) {
        return GenerationParams.builder().temperature(0).maxNewTokens(n).stopIds().build();
    }

    private static EngineRequest imageRequest(String id, byte[] img, int maxNew) {
        return EngineRequest.builder().requestId(id).text(PROMPT).images(List.of(img)).params(greedy(maxNew)).build();
    }

    private static EngineRequest textRequest(int maxNew) {
        return EngineRequest.builder().requestId(TEXT_ID)
                .promptIds(tiny.tokenizer.encode("Tell me a story about a cat.", true)).params(greedy(maxNew)).build();
    }

    private static EngineResult get(RequestHandle h) throws Exception {
        return h.result().get(60, TimeUnit.SECONDS);
    }

    /** The single-sequence reference of a one-image request without Pan &amp; Scan. */
    private static int[] reference(byte[] img, int maxNew) {
        MultimodalPrompt mp = new ImageCaptioner(tiny.encoder, tiny.tokenizer, new ImageDecoder())
                .prepare(PROMPT, false, List.of(img), PanAndScanOptions.DISABLED);
        try (Generator gen = new Generator(tiny.model, tiny.tokenizer, 0, 8, Generator.Sampling.HOST_REFERENCE)) {
            return gen.generate(mp.ids(), mp.images(), greedy(maxNew), null).tokens();
        }
    }

    private static void awaitInbox(GemmaEngine engine, int commands) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (engine.inboxSize() < commands) {
            assertThat(System.nanoTime()).as("commands reaching the inbox").isLessThan(deadline);
            Thread.sleep(5);
        }
    }

    /**
     * A {@link GemmaEngineBuilder#beforeIteration} hook that counts iterations, records the text request's output
     * tokens at the top of each, and, once armed and the text request has a token, holds the engine thread at the top
     * of each iteration until the test lets one iteration through.
     */
    static final class Stepper implements Consumer<List<ScheduledRequest>> {
        /** Index of the iteration running now (its hook call), read by {@link Calls}. */
        final AtomicInteger iteration = new AtomicInteger(-1);
        /** Per iteration (index), the text request's output tokens at its top; -1 when it is not running. */
        final List<Integer> textTokens = new CopyOnWriteArrayList<>();
        private final Semaphore arrived = new Semaphore(0);
        private final Semaphore permits = new Semaphore(0);
        private volatile boolean armed = true;

        @Override
        public void accept(List<ScheduledRequest> running) {
            int tokens = running.stream().filter(r -> r.requestId().equals(TEXT_ID)).findFirst()
                    .map(ScheduledRequest::numOutputTokens).orElse(-1);
            textTokens.add(tokens);
            iteration.set(textTokens.size() - 1);
            if (armed && tokens >= 1) {
                arrived.release();
                permits.acquireUninterruptibly();
            }
        }

        /** Waits until the engine thread is held at the top of an iteration. */
        void awaitHeld() throws InterruptedException {
            assertThat(arrived.tryAcquire(60, TimeUnit.SECONDS)).as("engine held").isTrue();
        }

        /** Lets the held iteration run; the engine holds again at the top of the next one. */
        void stepOnce() {
            permits.release();
        }

        /** Lets the engine run freely from now on. */
        void releaseAll() {
            armed = false;
            permits.release(1_000);
        }
    }

    /** Records each encoder call: its iteration, its views' content hashes; fails calls that include {@code bad}. */
    static final class Calls implements UnaryOperator<VisionStage.ViewEncoder> {
        final List<int[]> iterationAndViews = new CopyOnWriteArrayList<>();
        final List<String> hashes = new CopyOnWriteArrayList<>();
        private final AtomicInteger iteration;
        private final String bad;

        Calls(AtomicInteger iteration, String bad) {
            this.iteration = iteration;
            this.bad = bad;
        }

        @Override
        public VisionStage.ViewEncoder apply(VisionStage.ViewEncoder real) {
            return views -> {
                iterationAndViews.add(new int[] {iteration.get(), views.size()});
                views.forEach(v -> hashes.add(v.contentHash()));
                if (bad != null && views.stream().map(PreprocessedImage::contentHash).anyMatch(bad::equals)) {
                    throw new IllegalStateException("vision encoder failed: a bad view");
                }
                return real.encode(views);
            };
        }

        /** Views encoded (or tried) per iteration, indexed by iteration. */
        int[] viewsPerIteration(int iterations) {
            int[] out = new int[iterations];
            for (int[] c : iterationAndViews) {
                out[c[0]] += c[1];
            }
            return out;
        }
    }

    @Test
    void aBurstOfImagesEncodesOneViewPerIterationWhileTheTextRequestGainsATokenInEach() throws Exception {
        List<byte[]> images = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            images.add(EngineImageTest.image(40 + 10 * i, 50, "png", 13 * i));
        }
        Stepper stepper = new Stepper();
        Calls calls = new Calls(stepper.iteration, null);
        List<EngineResult> budgeted = new ArrayList<>();
        EngineResult text;
        try (GemmaEngine engine = engine(config(1)).beforeIteration(stepper).viewEncoders(calls).build()) {
            RequestHandle textHandle = engine.submit(textRequest(24));
            stepper.awaitHeld();
            List<RequestHandle> handles = new ArrayList<>();
            for (int i = 0; i < images.size(); i++) {
                handles.add(engine.submit(imageRequest("img" + i, images.get(i), 6)));
            }
            awaitInbox(engine, images.size()); // all four are taken in the same iteration
            stepper.releaseAll();
            for (RequestHandle h : handles) {
                budgeted.add(get(h));
            }
            text = get(textHandle);
            EngineMetrics m = engine.metrics();
            assertThat(m.imageEncoderCalls()).isEqualTo(4);
            assertThat(m.imageViewsEncoded()).isEqualTo(4);
            assertThat(m.maxImageViewsPerCall()).isEqualTo(1);
            assertThat(m.visionQueueDepth()).isZero();
            assertThat(m.queueDepth()).isZero();
        }
        int iterations = stepper.textTokens.size();
        assertThat(java.util.Arrays.stream(calls.viewsPerIteration(iterations)).max().orElse(0))
                .as("most views encoded in one iteration").isEqualTo(1);
        int first = calls.iterationAndViews.get(0)[0];
        int last = calls.iterationAndViews.get(calls.iterationAndViews.size() - 1)[0];
        assertThat(last - first).as("one view in each of four consecutive iterations").isEqualTo(3);
        // From the iteration that took the burst until the text request ends, it gains one token per iteration.
        List<Integer> tokens = stepper.textTokens;
        assertThat(tokens.get(last)).as("the text request still runs after the last encoder call").isPositive();
        int end = first;
        while (end < tokens.size() && tokens.get(end) >= 0) {
            end++;
        }
        assertThat(end).as("the text request runs through the burst").isGreaterThan(last);
        for (int i = first + 1; i < end; i++) {
            assertThat(tokens.get(i) - tokens.get(i - 1)).as("text tokens gained in iteration %d", i - 1)
                    .isEqualTo(1);
        }
        assertThat(text.numTokens()).isEqualTo(24);

        // The same requests with no budget (all four views in one call) give the same tokens.
        try (GemmaEngine engine = engine(config(Integer.MAX_VALUE)).build()) {
            RequestHandle textHandle = engine.submit(textRequest(24));
            List<RequestHandle> handles = new ArrayList<>();
            for (int i = 0; i < images.size(); i++) {
                handles.add(engine.submit(imageRequest("img" + i, images.get(i), 6)));
            }
            for (int i = 0; i < images.size(); i++) {
                EngineResult r = get(handles.get(i));
                assertThat(budgeted.get(i).finishReason()).isEqualTo(EngineFinishReason.LENGTH);
                assertThat(budgeted.get(i).tokens()).as("image request %d", i).containsExactly(r.tokens());
            }
            assertThat(text.tokens()).containsExactly(get(textHandle).tokens());
        }
        assertThat(budgeted.get(0).tokens()).containsExactly(reference(images.get(0), 6));
    }

    @Test
    void aPanAndScanRequestWithMoreViewsThanTheBudgetIsEncodedOverSeveralIterationsWithoutTheCache()
            throws Exception {
        PanAndScanOptions pas = new PanAndScanOptions(true, 32, 4, 1.2);
        ImageCaptioner cap = new ImageCaptioner(tiny.encoder, tiny.tokenizer, new ImageDecoder());
        byte[] wide = EngineImageTest.image(160, 40, "png", 3);
        byte[] small = EngineImageTest.image(30, 30, "jpeg", 9);
        String prompt = "Compare <start_of_image> with <start_of_image> please.";
        MultimodalPrompt mp = cap.prepare(prompt, true, List.of(wide, small), pas);
        int views = mp.tokens().spans().size();
        assertThat(views).as("the wide image, its crops and the small image").isEqualTo(6);
        int[] expected;
        try (Generator gen = new Generator(tiny.model, tiny.tokenizer, 0, 8, Generator.Sampling.HOST_REFERENCE)) {
            expected = gen.generate(mp.ids(), mp.images(), greedy(5), null).tokens();
        }
        AtomicInteger iteration = new AtomicInteger();
        Calls calls = new Calls(iteration, null);
        // No image cache: the views encoded in earlier iterations wait with their request.
        try (GemmaEngine engine = engine(config(2).imageCacheBytes(0)).viewEncoders(calls)
                .beforeIteration(running -> iteration.incrementAndGet()).build()) {
            EngineResult r = get(engine.submit(EngineRequest.builder().text(prompt).chat(true)
                    .images(List.of(wide, small)).panAndScan(pas).params(greedy(5)).build()));
            assertThat(r.tokens()).containsExactly(expected);
            EngineMetrics m = engine.metrics();
            assertThat(m.imageEncoderCalls()).isEqualTo(3);
            assertThat(m.imageViewsEncoded()).as("no view encoded twice").isEqualTo(views);
            assertThat(m.maxImageViewsPerCall()).isEqualTo(2);
            assertThat(m.imageCacheHits()).isZero();
        }
        assertThat(calls.iterationAndViews).extracting(c -> c[1]).containsExactly(2, 2, 2);
        assertThat(calls.iterationAndViews).extracting(c -> c[0]).doesNotHaveDuplicates();
    }

    @Test
    void requestsWaitingForTheirViewsCanBeCancelledOrExpireThereAndAreNeverEncoded() throws Exception {
        byte[][] img = new byte[4][];
        for (int i = 0; i < 4; i++) {
            img[i] = EngineImageTest.image(50, 40 + 10 * i, "png", 50 + i);
        }
        Stepper stepper = new Stepper();
        Calls calls = new Calls(stepper.iteration, null);
        try (GemmaEngine engine = engine(config(1)).beforeIteration(stepper).viewEncoders(calls).build()) {
            RequestHandle text = engine.submit(textRequest(24));
            stepper.awaitHeld();
            RequestHandle a = engine.submit(imageRequest("a", img[0], 4));
            RequestHandle b = engine.submit(imageRequest("b", img[1], 4));
            RequestHandle c = engine.submit(imageRequest("c", img[2], 4));
            Instant deadline = Instant.now().plusSeconds(2);
            RequestHandle d = engine.submit(EngineRequest.builder().requestId("d").text(PROMPT)
                    .images(List.of(img[3])).params(greedy(4)).deadline(deadline).build());
            awaitInbox(engine, 4);
            stepper.stepOnce(); // takes a, b, c, d into the vision queue, encodes a's view, admits a
            stepper.awaitHeld();
            EngineMetrics waiting = engine.metrics();
            assertThat(waiting.visionQueueDepth()).isEqualTo(3);
            assertThat(waiting.queueDepth()).as("b, c, d wait (a may wait for its first chunk)").isBetween(3, 4);
            assertThat(c.cancel()).isTrue();
            awaitInbox(engine, 1);
            Thread.sleep(Math.max(0, Duration.between(Instant.now(), deadline).toMillis() + 50));
            stepper.releaseAll();

            EngineResult cancelled = get(c);
            assertThat(cancelled.finishReason()).isEqualTo(EngineFinishReason.CANCELLED);
            assertThat(cancelled.numTokens()).isZero();
            EngineResult expired = get(d);
            assertThat(expired.finishReason()).isEqualTo(EngineFinishReason.DEADLINE);
            assertThat(expired.numTokens()).isZero();
            assertThat(get(a).tokens()).containsExactly(reference(img[0], 4));
            assertThat(get(b).tokens()).containsExactly(reference(img[1], 4));
            assertThat(get(text).numTokens()).isEqualTo(24);
            EngineMetrics m = engine.metrics();
            assertThat(m.imageViewsEncoded()).as("a and b only").isEqualTo(2);
            assertThat(m.queueDepth()).isZero();
            assertThat(m.visionQueueDepth()).isZero();
            assertThat(m.cancelled()).isEqualTo(1);
            assertThat(m.deadlineExceeded()).isEqualTo(1);
        }
        assertThat(calls.hashes).containsExactly(ImagePreprocessor.sha256(img[0]), ImagePreprocessor.sha256(img[1]));
    }

    @Test
    void closeDrainsTheRequestsStillWaitingForTheirViews() throws Exception {
        // Steps of 64 tokens and one output token: an image request is prefilled and done in the iteration that
        // encodes it, so after the first iteration only the vision queue holds work.
        Stepper stepper = new Stepper();
        GemmaEngine engine = engine(config(1).maxTokensPerStep(64)).beforeIteration(stepper).build();
        List<RequestHandle> handles = new ArrayList<>();
        Thread closer;
        try {
            RequestHandle text = engine.submit(textRequest(2));
            stepper.awaitHeld();
            for (int i = 0; i < 3; i++) {
                handles.add(engine.submit(imageRequest("img" + i, EngineImageTest.image(50, 50, "png", 90 + i), 1)));
            }
            awaitInbox(engine, 3);
            closer = new Thread(engine::close, "closer");
            closer.start();
            awaitInbox(engine, 4); // the close command is behind the three requests
            stepper.releaseAll();
            assertThat(get(text).numTokens()).isEqualTo(2);
        } catch (Throwable t) {
            stepper.releaseAll();
            engine.close();
            throw t;
        }
        closer.join(TimeUnit.SECONDS.toMillis(60));
        assertThat(closer.isAlive()).isFalse();
        for (RequestHandle h : handles) {
            EngineResult r = h.result().getNow(null);
            assertThat(r).as(h.requestId()).isNotNull();
            assertThat(r.finishReason()).as(h.requestId()).isEqualTo(EngineFinishReason.LENGTH);
            assertThat(r.numTokens()).isEqualTo(1);
        }
        assertThat(engine.metrics().imageEncoderCalls()).isEqualTo(3);
    }

    @Test
    void aBadImageAmongWaitingOnesFailsOnlyItsOwnRequest() throws Exception {
        byte[] good1 = EngineImageTest.image(60, 40, "png", 71);
        byte[] bad = EngineImageTest.image(60, 40, "png", 72);
        byte[] good2 = EngineImageTest.image(60, 40, "png", 73);
        Stepper stepper = new Stepper();
        Calls calls = new Calls(stepper.iteration, ImagePreprocessor.sha256(bad));
        try (GemmaEngine engine = engine(config(2)).beforeIteration(stepper).viewEncoders(calls).build()) {
            RequestHandle text = engine.submit(textRequest(16));
            stepper.awaitHeld();
            RequestHandle h1 = engine.submit(imageRequest("good1", good1, 4));
            RequestHandle hb = engine.submit(imageRequest("bad", bad, 4));
            RequestHandle h2 = engine.submit(imageRequest("good2", good2, 4));
            awaitInbox(engine, 3);
            stepper.releaseAll();

            EngineResult failed = get(hb);
            assertThat(failed.finishReason()).isEqualTo(EngineFinishReason.ERROR);
            assertThat(failed.error().reason()).isEqualTo(EngineError.Reason.ENGINE_FAILURE);
            assertThat(failed.error().message()).startsWith("request bad: image encoding failed: ")
                    .contains("a bad view");
            assertThat(get(h1).tokens()).containsExactly(reference(good1, 4));
            assertThat(get(h2).tokens()).containsExactly(reference(good2, 4));
            assertThat(get(text).numTokens()).isEqualTo(16);
            EngineMetrics m = engine.metrics();
            assertThat(m.failed()).isEqualTo(1);
            assertThat(m.imageEncoderCalls()).as("good1 alone, then good2").isEqualTo(2);
            assertThat(m.queueDepth()).isZero();
            assertThat(m.visionQueueDepth()).isZero();
        }
        // good1 and bad together (fails), then each alone (bad fails), then good2 in the next iteration.
        assertThat(calls.iterationAndViews).extracting(c -> c[1]).containsExactly(2, 1, 1, 1);
        int first = calls.iterationAndViews.get(0)[0];
        assertThat(calls.iterationAndViews).extracting(c -> c[0]).containsExactly(first, first, first, first + 1);
    }
}
