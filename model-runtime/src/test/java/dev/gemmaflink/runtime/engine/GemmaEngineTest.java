package dev.gemmaflink.runtime.engine;

import static dev.gemmaflink.runtime.engine.EngineTestSupport.BLOCK_SIZE;
import static dev.gemmaflink.runtime.engine.EngineTestSupport.WINDOW;
import static dev.gemmaflink.runtime.engine.EngineTestSupport.concat;
import static dev.gemmaflink.runtime.engine.EngineTestSupport.config;
import static dev.gemmaflink.runtime.engine.EngineTestSupport.engine;
import static dev.gemmaflink.runtime.engine.EngineTestSupport.greedy;
import static dev.gemmaflink.runtime.engine.EngineTestSupport.prompt;
import static dev.gemmaflink.runtime.engine.EngineTestSupport.reference;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpoint;
import dev.gemmaflink.runtime.config.LayerType;
import dev.gemmaflink.runtime.generate.GenerationParams;
import dev.gemmaflink.runtime.generate.GenerationResult;
import dev.gemmaflink.runtime.generate.Generator;
import dev.gemmaflink.runtime.model.GemmaModel;
import dev.gemmaflink.runtime.tokenizer.GemmaTokenizer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GemmaEngineTest {

    @TempDir
    static Path tmp;

    static TinyCheckpoint ckpt;
    static GemmaModel model;

    @BeforeAll
    static void load() {
        ckpt = EngineTestSupport.write(tmp.resolve("ckpt"));
        model = EngineTestSupport.load(ckpt);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    private static EngineResult get(RequestHandle h) throws Exception {
        return h.result().get(60, TimeUnit.SECONDS);
    }

    private static void assertPoolFree(GemmaEngine engine) {
        EngineMetrics m = engine.metrics();
        assertThat(m.runningBatchSize()).isZero();
        for (EngineMetrics.KvGroupMetrics g : m.kv()) {
            assertThat(g.usedBlocks()).as("used blocks of %s", g.type()).isZero();
        }
    }

    @Test
    void aloneGivesTheGeneratorsTokensAndStreamsEachOne() throws Exception {
        int[] p = prompt(11, 1);
        GenerationParams params = greedy(20);
        List<Integer> streamed = new ArrayList<>();
        try (GemmaEngine engine = engine(model).build()) {
            EngineResult r = get(engine.submit(EngineRequest.builder().promptIds(p).params(params).build(),
                    (id, text) -> streamed.add(id)));
            assertThat(r.tokens()).containsExactly(reference(model, p, params));
            assertThat(streamed).containsExactlyElementsOf(java.util.Arrays.stream(r.tokens()).boxed().toList());
            assertThat(r.finishReason()).isEqualTo(EngineFinishReason.LENGTH);
            assertThat(r.promptTokens()).isEqualTo(11);
            assertThat(r.cachedPromptTokens()).isZero();
            assertThat(r.timeToFirstTokenMillis()).isGreaterThanOrEqualTo(r.queueMillis());
            assertThat(r.totalMillis()).isGreaterThanOrEqualTo(r.timeToFirstTokenMillis());
            assertPoolFree(engine);
        }
    }

    @Test
    void aBatchOfMixedLengthsGivesEachRequestItsOwnTokens() throws Exception {
        int[] lengths = {3, 40, 9, 17, 1, 26};
        List<RequestHandle> handles = new ArrayList<>();
        List<int[]> prompts = new ArrayList<>();
        List<GenerationParams> params = new ArrayList<>();
        try (GemmaEngine engine = engine(model).build()) {
            for (int i = 0; i < lengths.length; i++) {
                prompts.add(prompt(lengths[i], 100 + i));
                params.add(greedy(8 + 3 * i));
                handles.add(engine.submit(EngineRequest.builder().promptIds(prompts.get(i)).params(params.get(i))
                        .build()));
            }
            for (int i = 0; i < lengths.length; i++) {
                assertThat(get(handles.get(i)).tokens()).as("request %d", i)
                        .containsExactly(reference(model, prompts.get(i), params.get(i)));
            }
            EngineMetrics m = engine.metrics();
            assertThat(m.meanBatchSize()).isGreaterThan(1.0);
            long multi = 0;
            for (int b = 2; b < m.batchSizeCounts().length; b++) {
                multi += m.batchSizeCounts()[b];
            }
            assertThat(multi).as("steps with several sequences").isPositive();
            assertThat(m.decodeTokens()).isPositive();
            assertThat(m.prefillTokens()).isGreaterThanOrEqualTo(3 + 40 + 9 + 17 + 1 + 26);
            assertThat(m.completed()).isEqualTo(lengths.length);
            assertPoolFree(engine);
        }
    }

    /**
     * Sampled (non-greedy) requests, seeded, batched with each other and with greedy ones: each gets the tokens the
     * Java reference sampler draws from host logits, and the same tokens alone, or under a smaller step budget
     * (other chunking, other batch compositions).
     */
    @Test
    void seededSampledRequestsGiveTheJavaReferencesTokensInAnyBatch() throws Exception {
        int[] lengths = {3, 40, 9, 17, 26, 5};
        List<GenerationParams> params = List.of(
                GenerationParams.builder().seed(11).maxNewTokens(14).stopIds().build(), // T 1, top-k 64, top-p 0.95
                GenerationParams.builder().seed(12).temperature(1.5).topK(0).topP(1.0).maxNewTokens(9).stopIds().build(),
                greedy(12),
                GenerationParams.builder().seed(-13).temperature(0.7).topK(10).topP(0.8).maxNewTokens(11).stopIds()
                        .build(),
                GenerationParams.builder().seed(14).temperature(2.0).topK(3).maxNewTokens(10).stopIds().build(),
                GenerationParams.builder().seed(11).maxNewTokens(14).stopIds().build()); // a replay of request 0's seed
        List<int[]> prompts = new ArrayList<>();
        for (int i = 0; i < lengths.length; i++) {
            prompts.add(prompt(lengths[i], 300 + i));
        }
        List<int[]> expected = new ArrayList<>();
        for (int i = 0; i < lengths.length; i++) {
            expected.add(reference(model, prompts.get(i), params.get(i)));
        }
        for (EngineConfig.Builder cfg : List.of(config(), config().maxTokensPerStep(8))) {
            try (GemmaEngine engine = engine(model, cfg).build()) {
                List<RequestHandle> handles = new ArrayList<>();
                for (int i = 0; i < lengths.length; i++) {
                    handles.add(engine.submit(EngineRequest.builder().promptIds(prompts.get(i)).params(params.get(i))
                            .build()));
                }
                for (int i = 0; i < lengths.length; i++) {
                    assertThat(get(handles.get(i)).tokens()).as("request %d together", i)
                            .containsExactly(expected.get(i));
                }
                for (int i : new int[] {0, 3}) {
                    assertThat(get(engine.submit(EngineRequest.builder().promptIds(prompts.get(i))
                            .params(params.get(i)).build())).tokens()).as("request %d alone", i)
                            .containsExactly(expected.get(i));
                }
                assertPoolFree(engine);
            }
        }
        // The sampled requests really sample: not the greedy tokens, and one seed with another prompt draws others.
        assertThat(expected.get(0)).isNotEqualTo(reference(model, prompts.get(0), greedy(14)));
        assertThat(expected.get(5)).isNotEqualTo(expected.get(0));
    }

    @Test
    void aSharedPrefixIsServedFromTheCacheAndGivesTheSameTokens() throws Exception {
        int[] shared = prompt(30, 7);
        int[] first = concat(shared, new int[] {50, 51, 52});
        int[] second = concat(shared, new int[] {60, 61});
        GenerationParams params = greedy(10);
        try (GemmaEngine engine = engine(model).build()) {
            EngineResult a = get(engine.submit(EngineRequest.builder().promptIds(first).params(params).build()));
            EngineResult b = get(engine.submit(EngineRequest.builder().promptIds(second).params(params).build()));
            assertThat(a.cachedPromptTokens()).isZero();
            assertThat(b.cachedPromptTokens()).isEqualTo(28); // the 7 full blocks of the 30 shared tokens
            assertThat(a.tokens()).containsExactly(reference(model, first, params));
            assertThat(b.tokens()).containsExactly(reference(model, second, params));
            EngineMetrics m = engine.metrics();
            assertThat(m.prefixHitTokens()).isEqualTo(28);
            assertThat(m.prefixHitRate()).isGreaterThan(0);
        }
    }

    @Test
    void tenantsWithIsolationDoNotShareCachedBlocks() throws Exception {
        int[] p = prompt(30, 8);
        GenerationParams params = greedy(4);
        try (GemmaEngine engine = engine(model).build()) {
            get(engine.submit(EngineRequest.builder().promptIds(p).params(params).tenant("a").build()));
            EngineResult otherTenant = get(engine.submit(EngineRequest.builder().promptIds(p).params(params)
                    .tenant("b").build()));
            EngineResult sameTenant = get(engine.submit(EngineRequest.builder().promptIds(p).params(params)
                    .tenant("a").build()));
            assertThat(otherTenant.cachedPromptTokens()).isZero();
            assertThat(sameTenant.cachedPromptTokens()).isEqualTo(28);
            assertThat(otherTenant.tokens()).containsExactly(sameTenant.tokens());
        }
    }

    @Test
    void aChatSessionReusesEveryFullBlockOfTheEarlierTurn() throws Exception {
        int[] p1 = prompt(21, 9);
        GenerationParams params = greedy(14);
        try (GemmaEngine engine = engine(model).build()) {
            EngineResult r1 = get(engine.submit(EngineRequest.builder().promptIds(p1).params(params).build()));
            int[] p2 = concat(p1, r1.tokens(), new int[] {70, 71, 72, 73, 74});
            EngineResult r2 = get(engine.submit(EngineRequest.builder().promptIds(p2).params(params).build()));
            // Request 1 computed its prompt and all but its last generated token.
            int fullBlocksOfFirst = (p1.length + r1.numTokens() - 1) / BLOCK_SIZE * BLOCK_SIZE;
            assertThat(r2.cachedPromptTokens()).isGreaterThanOrEqualTo(fullBlocksOfFirst);
            assertThat(r2.tokens()).containsExactly(reference(model, p2, params));
        }
    }

    @Test
    void preemptionUnderATinyPoolRecomputesAndGivesTheSameTokens() throws Exception {
        // Pools sized for four sequences of 32 tokens: four of 60 cannot all keep their global-layer blocks.
        GenerationParams params = greedy(40);
        List<int[]> prompts = new ArrayList<>();
        List<RequestHandle> handles = new ArrayList<>();
        try (GemmaEngine engine = engine(model, config().targetSequenceLength(32)
                .kvCacheBytes(EngineTestSupport.budgetFor(4, 32, 16))).build()) {
            for (int i = 0; i < 4; i++) {
                prompts.add(prompt(20, 200 + i));
                handles.add(engine.submit(EngineRequest.builder().promptIds(prompts.get(i)).params(params).build()));
            }
            int preempted = 0;
            for (int i = 0; i < 4; i++) {
                EngineResult r = get(handles.get(i));
                preempted += r.preemptions();
                assertThat(r.tokens()).as("request %d", i).containsExactly(reference(model, prompts.get(i), params));
            }
            EngineMetrics m = engine.metrics();
            assertThat(m.preemptions()).isPositive();
            assertThat(preempted).isEqualTo((int) m.preemptions());
            assertPoolFree(engine);
        }
    }

    @Test
    void sequencesLongerThanTheWindowFreeSlidingBlocksAndMatchTheGenerator() throws Exception {
        int[] p = prompt(5, 12);
        GenerationParams params = greedy(60);
        try (GemmaEngine engine = engine(model).build()) {
            EngineResult r = get(engine.submit(EngineRequest.builder().promptIds(p).params(params).build()));
            assertThat(r.tokens()).containsExactly(reference(model, p, params));
            EngineMetrics m = engine.metrics();
            int length = p.length + r.numTokens() - 1; // tokens that got K/V
            // Local layers: the window plus one block, whatever the length; global layers: the whole sequence.
            assertThat(m.kv(LayerType.SLIDING_ATTENTION).peakUsedBlocks()).isLessThanOrEqualTo(WINDOW / BLOCK_SIZE + 1);
            assertThat(m.kv(LayerType.FULL_ATTENTION).peakUsedBlocks())
                    .isEqualTo((length + BLOCK_SIZE - 1) / BLOCK_SIZE);
            assertPoolFree(engine);
        }
    }

    @Test
    void textPromptsAreTokenizedAndDetokenizedLikeTheGenerator() throws Exception {
        GenerationParams params = greedy(12);
        try (GemmaTokenizer tok = GemmaTokenizer.load(ckpt.directory());
             GemmaEngine engine = GemmaEngine.builder().model(model, tok).config(EngineConfig.builder()
                     .blockSize(BLOCK_SIZE).targetSequenceLength(128)
                     .kvCacheBytes(EngineTestSupport.budgetFor(4, 128, 2048)).build()).build();
             Generator gen = new Generator(model, tok, 0, Generator.DEFAULT_PREFILL_CHUNK,
                     Generator.Sampling.HOST_REFERENCE)) {
            EngineResult r = get(engine.submit(EngineRequest.builder().text("hello world").chat(true).params(params)
                    .build()));
            GenerationResult expected = gen.generate("hello world", true, params, null);
            assertThat(r.tokens()).containsExactly(expected.tokens());
            assertThat(r.text()).isEqualTo(expected.text());
            assertThat(r.promptTokens()).isEqualTo(expected.promptTokens());
        }
    }

    @Test
    void requestsThatCanNeverRunEndWithTheirErrorAndLeaveTheEngineServing() throws Exception {
        try (GemmaEngine engine = engine(model).build()) {
            assertError(engine.submit(EngineRequest.builder().requestId("long").promptIds(prompt(500, 1))
                    .params(greedy(20)).build()), EngineError.Reason.PROMPT_TOO_LONG,
                    "request long: prompt of 500 tokens plus maxNewTokens 20 exceeds the longest sequence this "
                    + "engine holds, 512 tokens (model context 512, KV capacity of the full-attention pool)", 500);
            assertError(engine.submit(EngineRequest.builder().requestId("vocab").promptIds(2, 9999).build()),
                    EngineError.Reason.INVALID_PROMPT, "request vocab: token id 9999 at position 1 is outside the "
                    + "vocabulary [0, " + model.config().vocabSize() + ")", 0);
            assertError(engine.submit(EngineRequest.builder().requestId("text").text("hi").build()),
                    EngineError.Reason.INVALID_PROMPT,
                    "request text has a text prompt but the engine has no tokenizer: pass promptIds", 0);
            int[] p = prompt(5, 2);
            assertThat(get(engine.submit(EngineRequest.builder().promptIds(p).params(greedy(3)).build())).tokens())
                    .containsExactly(reference(model, p, greedy(3)));
            assertThat(engine.metrics().failed()).isEqualTo(3);
            assertPoolFree(engine);
        }
        try (GemmaEngine small = engine(model, config().kvCacheBytes(EngineTestSupport.budgetFor(1, 128, 16)))
                .build()) {
            assertThat(small.maxSequenceTokens()).isEqualTo(128);
            EngineResult r = get(small.submit(EngineRequest.builder().promptIds(prompt(100, 1)).params(greedy(29))
                    .build()));
            assertThat(r.error().reason()).isEqualTo(EngineError.Reason.PROMPT_TOO_LONG);
            assertThat(r.error().message()).contains("128 tokens");
        }
    }

    @Test
    void maxSequenceLengthRefusesALongerRequestNamingItAndRunsOneWithin() throws Exception {
        // The budget holds eight 128-token sequences, the model 512 tokens: the cap of 64 is the binding limit.
        try (GemmaEngine engine = engine(model, config().maxSequenceLength(64)).build()) {
            assertThat(engine.maxSequenceTokens()).isEqualTo(64);
            assertThat(engine.maxBatchSize()).as("automatic on a CPU").isEqualTo(EngineConfig.CPU_MAX_BATCH);
            int[] p = prompt(50, 3);
            assertError(engine.submit(EngineRequest.builder().requestId("capped").promptIds(p).params(greedy(15))
                    .build()), EngineError.Reason.PROMPT_TOO_LONG, "request capped: prompt of 50 tokens plus "
                    + "maxNewTokens 15 exceeds the longest sequence this engine holds, 64 tokens (maxSequenceLength 64 "
                    + "of the engine's configuration; model context 512)", 50);
            EngineResult r = get(engine.submit(EngineRequest.builder().promptIds(p).params(greedy(14)).build()));
            assertThat(r.error()).isNull();
            assertThat(r.tokens()).containsExactly(reference(model, p, greedy(14)));
            assertPoolFree(engine);
        }
        // A cap above the KV capacity leaves the capacity binding, named in the message as the limit.
        try (GemmaEngine small = engine(model, config().maxSequenceLength(512)
                .kvCacheBytes(EngineTestSupport.budgetFor(1, 128, 16))).build()) {
            assertThat(small.maxSequenceTokens()).isEqualTo(128);
            assertThat(get(small.submit(EngineRequest.builder().promptIds(prompt(100, 1)).params(greedy(29)).build()))
                    .error().message()).endsWith("128 tokens (model context 512, KV capacity of the full-attention "
                    + "pool)");
        }
    }

    @Test
    void aCapBeyondTheModelsContextFailsTheBuildNamingBoth() {
        String message = "maxSequenceLength 513 exceeds the model's context of 512 tokens (max_position_embeddings "
                + "of its config.json): lower it, or set 0 for the model's context";
        assertThatThrownBy(() -> engine(model, config().maxSequenceLength(513)).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessage(message);
        // From a folder it fails before the weights load.
        assertThatThrownBy(() -> GemmaEngine.builder().modelDir(ckpt.directory())
                .config(config().maxSequenceLength(513).build()).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessage(message);
    }

    @Test
    void anExplicitBatchSizeIsKept() {
        try (GemmaEngine engine = engine(model, config().maxBatchSize(3)).build()) {
            assertThat(engine.maxBatchSize()).isEqualTo(3);
            assertThat(engine.metrics().batchSizeCounts()).hasSize(4);
        }
    }

    private static void assertError(RequestHandle handle, EngineError.Reason reason, String message,
            int promptTokens) throws Exception {
        EngineResult r = get(handle);
        assertThat(r.finishReason()).isEqualTo(EngineFinishReason.ERROR);
        assertThat(r.error()).isEqualTo(new EngineError(reason, message));
        assertThat(r.tokens()).isEmpty();
        assertThat(r.promptTokens()).isEqualTo(promptTokens);
    }

    @Test
    void theBuilderRefusesMissingOrConflictingSettings() {
        assertThatThrownBy(() -> GemmaEngine.builder().build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("neither");
        assertThatThrownBy(() -> GemmaEngine.builder().model(model, null).modelDir(tmp).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("both");
        assertThatThrownBy(() -> engine(model, config().kvCacheBytes(1000)).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cannot hold one sequence");
    }

    @Test
    void aFullQueueRefusesAtOnceWithARetryableError() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch blocked = new CountDownLatch(1);
        // The first request's first step runs; the engine thread is then held, so later requests stay queued.
        try (GemmaEngine engine = engine(model, config().queueCapacity(2))
                .beforeIteration(EngineTestSupport.holdFrom(1, blocked, release)).build()) {
            RequestHandle first = engine.submit(EngineRequest.builder().promptIds(prompt(4, 1)).params(greedy(2))
                    .build());
            assertThat(blocked.await(30, TimeUnit.SECONDS)).isTrue();
            RequestHandle q1 = engine.submit(EngineRequest.builder().promptIds(prompt(4, 2)).params(greedy(2)).build());
            RequestHandle q2 = engine.submit(EngineRequest.builder().promptIds(prompt(4, 3)).params(greedy(2)).build());
            assertThat(engine.metrics().queueDepth()).isEqualTo(2);
            RequestHandle third = engine.submit(EngineRequest.builder().requestId("third").promptIds(prompt(4, 4))
                    .build());
            assertThat(third.result()).isDone();
            EngineResult refused = third.result().get();
            assertThat(refused.error()).isEqualTo(new EngineError(EngineError.Reason.QUEUE_FULL,
                    "request third: the engine's queue of 2 requests is full"));
            assertThat(refused.error().retryable()).isTrue();
            assertThat(engine.metrics().rejected()).isEqualTo(1);
            release.countDown();
            for (RequestHandle h : List.of(first, q1, q2)) {
                assertThat(get(h).finishReason()).isEqualTo(EngineFinishReason.LENGTH);
            }
        }
    }

    @Test
    void cancelAndDeadlineEndRequestsWithTheirReasons() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch blocked = new CountDownLatch(1);
        try (GemmaEngine engine = engine(model).beforeIteration(EngineTestSupport.holdFrom(1, blocked, release))
                .build()) {
            RequestHandle holder = engine.submit(EngineRequest.builder().promptIds(prompt(4, 1)).params(greedy(3))
                    .build());
            assertThat(blocked.await(30, TimeUnit.SECONDS)).isTrue();
            RequestHandle cancelled = engine.submit(EngineRequest.builder().promptIds(prompt(6, 2))
                    .params(greedy(50)).build());
            RequestHandle expired = engine.submit(EngineRequest.builder().promptIds(prompt(6, 3)).params(greedy(50))
                    .timeout(Duration.ofNanos(1)).build());
            assertThat(cancelled.cancel()).isTrue();
            release.countDown();
            assertThat(get(cancelled).finishReason()).isEqualTo(EngineFinishReason.CANCELLED);
            assertThat(get(expired).finishReason()).isEqualTo(EngineFinishReason.DEADLINE);
            assertThat(get(holder).finishReason()).isEqualTo(EngineFinishReason.LENGTH);
            assertThat(engine.cancel(holder.requestId())).isFalse();
            EngineMetrics m = engine.metrics();
            assertThat(m.cancelled()).isEqualTo(1);
            assertThat(m.deadlineExceeded()).isEqualTo(1);
            assertPoolFree(engine);
        }
    }

    @Test
    void closeWithoutDrainFailsEveryPendingFutureAndRefusesNewRequests() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch blocked = new CountDownLatch(1);
        GemmaEngine engine = engine(model, config().drainTimeout(Duration.ZERO))
                .beforeIteration(EngineTestSupport.holdFrom(1, blocked, release)).build();
        List<CompletableFuture<EngineResult>> futures = new ArrayList<>();
        futures.add(engine.submit(EngineRequest.builder().promptIds(prompt(4, 1)).params(greedy(30)).build())
                .result());
        assertThat(blocked.await(30, TimeUnit.SECONDS)).isTrue();
        for (int i = 0; i < 5; i++) {
            futures.add(engine.submit(EngineRequest.builder().promptIds(prompt(5, 10 + i)).params(greedy(30))
                    .build()).result());
        }
        Thread closer = new Thread(engine::close);
        closer.start();
        while (!engine.isClosed()) {
            Thread.onSpinWait();
        }
        EngineResult late = engine.submit(EngineRequest.builder().requestId("late").promptIds(2, 3).build())
                .result().get();
        assertThat(late.error()).isEqualTo(new EngineError(EngineError.Reason.ENGINE_CLOSED,
                "request late: the engine is closed"));
        release.countDown();
        closer.join(30_000);
        assertThat(closer.isAlive()).isFalse();
        for (CompletableFuture<EngineResult> f : futures) {
            assertThat(f).isDone();
            EngineResult r = f.get();
            assertThat(r.finishReason()).isEqualTo(EngineFinishReason.ERROR);
            assertThat(r.error().reason()).isEqualTo(EngineError.Reason.ENGINE_CLOSED);
            assertThat(r.error().message()).isEqualTo("request " + r.requestId()
                    + ": engine closed before the request finished (drain timeout)");
        }
    }

    @Test
    void closeWithDrainLetsQueuedWorkFinish() throws Exception {
        List<RequestHandle> handles = new ArrayList<>();
        List<int[]> prompts = new ArrayList<>();
        GemmaEngine engine = engine(model, config().drainTimeout(Duration.ofMinutes(1))).build();
        for (int i = 0; i < 5; i++) {
            prompts.add(prompt(6 + i, 300 + i));
            handles.add(engine.submit(EngineRequest.builder().promptIds(prompts.get(i)).params(greedy(6)).build()));
        }
        engine.close();
        for (int i = 0; i < 5; i++) {
            assertThat(handles.get(i).result()).isDone();
            assertThat(handles.get(i).result().get().tokens()).containsExactly(reference(model, prompts.get(i),
                    greedy(6)));
        }
        engine.close(); // idempotent
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
