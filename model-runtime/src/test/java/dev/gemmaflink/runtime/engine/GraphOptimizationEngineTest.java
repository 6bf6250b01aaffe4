package dev.gemmaflink.runtime.engine;

import static dev.gemmaflink.runtime.engine.EngineTestSupport.config;
import static dev.gemmaflink.runtime.engine.EngineTestSupport.engine;
import static dev.gemmaflink.runtime.engine.EngineTestSupport.greedy;
import static dev.gemmaflink.runtime.engine.EngineTestSupport.prompt;
import static dev.gemmaflink.runtime.engine.EngineTestSupport.reference;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gemmaflink.runtime.generate.GenerationParams;
import dev.gemmaflink.runtime.model.GemmaModel;
import dev.gemmaflink.runtime.model.GraphMode;
import dev.gemmaflink.runtime.model.StepShapeRecorder;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpoint;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link EngineConfig#graphOptimization()}: the engine's scenarios (mixed batches with prefill chunks beside decodes,
 * seeded sampling, a sequence past the sliding window; GQA 4/2, float32) give the {@code Generator}'s tokens exactly,
 * as with it off, and the steps show a bounded number of shapes.
 */
class GraphOptimizationEngineTest {

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

    private static int[] run(GemmaEngine engine, int[] prompt, GenerationParams params) throws Exception {
        return engine.submit(EngineRequest.builder().promptIds(prompt).params(params).build()).result()
                .get(60, TimeUnit.SECONDS).tokens();
    }

    /** Mixed lengths and sampling settings, submitted at once: prefill chunks of 16 or 8 tokens beside decodes. */
    private static final int[] LENGTHS = {3, 40, 9, 17, 1, 26, 5};

    private static List<GenerationParams> params() {
        return List.of(greedy(8),
                GenerationParams.builder().seed(11).maxNewTokens(14).stopIds().build(),
                greedy(14),
                GenerationParams.builder().seed(-13).temperature(0.7).topK(10).topP(0.8).maxNewTokens(11).stopIds()
                        .build(),
                greedy(20),
                GenerationParams.builder().seed(14).temperature(2.0).topK(3).maxNewTokens(10).stopIds().build(),
                greedy(60)); // past the window of 8: sliding blocks are freed while it runs
    }

    @Test
    void mixedBatchesGiveTheGeneratorsTokensWithTheOptimisationOn() throws Exception {
        List<GenerationParams> params = params();
        List<int[]> prompts = new ArrayList<>();
        List<int[]> expected = new ArrayList<>();
        for (int i = 0; i < LENGTHS.length; i++) {
            prompts.add(prompt(LENGTHS[i], 700 + i));
            expected.add(reference(model, prompts.get(i), params.get(i)));
        }
        for (EngineConfig.Builder cfg : List.of(config().graphOptimization(true),
                config().graphOptimization(true).maxTokensPerStep(8))) {
            assertThat(cfg.build().graphMode()).isEqualTo(GraphMode.OPTIMIZED);
            try (GemmaEngine engine = engine(model, cfg).build()) {
                List<RequestHandle> handles = new ArrayList<>();
                for (int i = 0; i < LENGTHS.length; i++) {
                    handles.add(engine.submit(EngineRequest.builder().promptIds(prompts.get(i))
                            .params(params.get(i)).build()));
                }
                for (int i = 0; i < LENGTHS.length; i++) {
                    assertThat(handles.get(i).result().get(60, TimeUnit.SECONDS).tokens()).as("request %d", i)
                            .containsExactly(expected.get(i));
                }
                assertThat(run(engine, prompts.get(6), params.get(6))).as("alone").containsExactly(expected.get(6));
            }
        }
    }

    @Test
    void anEngineWithTheOptimisationOffBesideOneWithItOnKeepsItsTokens() throws Exception {
        int[] p = prompt(11, 1);
        GenerationParams params = greedy(20);
        int[] expected = reference(model, p, params);
        try (GemmaEngine on = engine(model, config().graphOptimization(true)).build();
             GemmaEngine off = engine(model, config()).build()) {
            assertThat(off.submit(EngineRequest.builder().promptIds(p).params(params).build()).result()
                    .get(60, TimeUnit.SECONDS).tokens()).containsExactly(expected);
            assertThat(run(on, p, params)).containsExactly(expected);
            assertThat(run(off, p, params)).containsExactly(expected);
        }
    }

    /**
     * Over a varied run (13 requests of 1 to 60 prompt tokens and 3 to 390 new tokens, 16-token steps), bucketed
     * steps show each bucketed dimension (tokens T, logit rows N, the decode group's sequences, contexts) only at
     * bucket sizes, so at most as many distinct values as there are buckets up to its largest value. The shapes of
     * the step's token rows and of its decode group, (T, N, decode sequences, sliding and full context), take about
     * half as many distinct values as with plain steps; the gap grows with the context (logarithmic against linear). (A prefill chunk's own query count is not bucketed: the last group
     * takes the padding that brings T to its bucket.)
     */
    @Test
    void bucketedStepsShowFewDistinctShapes() throws Exception {
        List<long[]> dims;
        try (StepShapeRecorder rec = new StepShapeRecorder()) {
            variedRun(true);
            dims = rec.dims();
        }
        List<long[]> plainDims;
        try (StepShapeRecorder rec = new StepShapeRecorder()) {
            variedRun(false);
            plainDims = rec.dims();
        }
        Set<Long> tokens = new HashSet<>();
        Set<Long> contexts = new HashSet<>();
        long maxT = 0;
        long maxContext = 0;
        for (long[] d : dims) {
            assertThat(StepShapeRecorder.isRowBucket(d[0])).as("T %d", d[0]).isTrue();
            assertThat(StepShapeRecorder.isRowBucket(d[1])).as("N %d", d[1]).isTrue();
            tokens.add(d[0]);
            maxT = Math.max(maxT, d[0]);
            for (int g = 0; g < d[3]; g++) {
                int o = 4 + 8 * g;
                if (d[o + 2] == 1 && g < d[3] - 1) { // a decode group that takes no T padding
                    assertThat(StepShapeRecorder.isRowBucket(d[o + 1])).as("decode rows %d", d[o + 1]).isTrue();
                }
                for (int k : new int[] {o + 3, o + 4}) {
                    assertThat(StepShapeRecorder.isContextBucket(d[k])).as("context %d", d[k]).isTrue();
                    contexts.add(d[k]);
                    maxContext = Math.max(maxContext, d[k]);
                }
            }
        }
        assertThat((long) tokens.size()).isLessThanOrEqualTo(StepShapeRecorder.rowBucketsUpTo((int) maxT));
        assertThat((long) contexts.size()).isLessThanOrEqualTo(StepShapeRecorder.rowBucketsUpTo((int) maxContext / 16));
        assertThat(maxT).as("the most rows a 16-token step pads to").isLessThanOrEqualTo(
                GraphMode.OPTIMIZED.paddedTokens(16));
        int bucketed = decodeShapes(dims);
        int plain = decodeShapes(plainDims);
        // This run: 29 against 57 (the full-attention contexts reach 450: 10 buckets against 29 multiples of 16).
        assertThat(bucketed).as("bucketed against %d plain shapes", plain).isLessThanOrEqualTo(plain * 3 / 5);
    }

    /** Distinct (T, N, decode sequences, sliding context, full context) over the steps; 0s without decodes. */
    private static int decodeShapes(List<long[]> dims) {
        Set<List<Long>> shapes = new HashSet<>();
        for (long[] d : dims) {
            boolean decode = d[4 + 2] == 1;
            shapes.add(List.of(d[0], d[1], decode ? d[5] : 0, decode ? d[7] : 0, decode ? d[8] : 0));
        }
        return shapes.size();
    }

    private static void variedRun(boolean optimized) throws Exception {
        EngineConfig.Builder cfg = config().targetSequenceLength(512)
                .kvCacheBytes(EngineTestSupport.budgetFor(13, 512, 16)).graphOptimization(optimized);
        try (GemmaEngine engine = engine(model, cfg).build()) {
            List<RequestHandle> handles = new ArrayList<>();
            for (int i = 0; i < 13; i++) {
                int len = 1 + (i * 29) % 60;
                handles.add(engine.submit(EngineRequest.builder().promptIds(prompt(len, 900 + i))
                        .params(greedy(3 + (i * 97) % 400)).build()));
            }
            for (RequestHandle h : handles) {
                h.result().get(60, TimeUnit.SECONDS);
            }
        }
    }
}
