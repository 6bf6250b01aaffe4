package dev.gemmaflink.runtime.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemmaflink.runtime.kvcache.ChunkSlots;
import dev.gemmaflink.runtime.kvcache.ImageSpan;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpoint;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointSpec;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointWriter;
import dev.gemmaflink.runtime.weights.DType;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Gemma 3 image inputs in the text forward pass against {@link ReferenceGemma}: soft-token embeddings replace the
 * token embeddings after scaling (unscaled), and attention is bidirectional within each image span, also on sliding
 * layers whose window (4) is shorter than the span (6). Same tolerances as {@link ReferenceForwardTest}.
 */
class ImageForwardTest {
    private static final int IMAGE_TOKEN = 262_144; // outside the tiny vocabulary: must be ignored, not looked up
    private static final int[][] SPANS = {{3, 6}, {12, 4}};

    @TempDir
    Path tmp;

    private static int[] spanIds(int n) {
        int[] s = new int[n];
        Arrays.fill(s, -1);
        for (int k = 0; k < SPANS.length; k++) {
            for (int i = SPANS[k][0]; i < SPANS[k][0] + SPANS[k][1]; i++) {
                s[i] = k;
            }
        }
        return s;
    }

    /** Soft rows for positions inside spans, in position order, rounded as the runtime receives them. */
    private static double[][] softRows(int n, int hidden, long seed) {
        Random rnd = new Random(seed);
        int[] span = spanIds(n);
        double[][] soft = new double[n][];
        for (int i = 0; i < n; i++) {
            if (span[i] >= 0) {
                soft[i] = new double[hidden];
                for (int j = 0; j < hidden; j++) {
                    soft[i][j] = (float) rnd.nextGaussian();
                }
            }
        }
        return soft;
    }

    /** StepImages for the positions [from, to) of the prompt. */
    private static StepImages stepImages(double[][] soft, int from, int to, int hidden) {
        int[] span = spanIds(soft.length);
        int count = 0;
        for (int i = from; i < to; i++) {
            count += soft[i] != null ? 1 : 0;
        }
        int[] idx = new int[count];
        float[] emb = new float[count * hidden];
        int k = 0;
        for (int i = from; i < to; i++) {
            if (soft[i] != null) {
                idx[k] = i - from;
                for (int j = 0; j < hidden; j++) {
                    emb[k * hidden + j] = (float) soft[i][j];
                }
                k++;
            }
        }
        List<ImageSpan> spans = Arrays.stream(SPANS).filter(s -> s[0] >= from && s[0] < to)
                .map(s -> new ImageSpan(s[0], s[1], "image@" + s[0])).toList();
        assertThat(span).isNotNull();
        return new StepImages(idx, emb, spans);
    }

    private static int[] prompt(int n, int vocab) {
        int[] ids = ModelTestSupport.randomTokens(n, vocab, 3);
        int[] span = spanIds(n);
        for (int i = 0; i < n; i++) {
            if (span[i] >= 0) {
                ids[i] = IMAGE_TOKEN;
            }
        }
        return ids;
    }

    /**
     * Bucketed steps ({@link GraphMode#OPTIMIZED}) with images: the chunks of 10 and 7 tokens get 2 and 1 padding
     * queries (no image span) and the logits stay those of plain steps, bit for bit.
     */
    @Test
    void bucketedImageChunksGiveThePlainLogits() {
        TinyCheckpoint ckpt = TinyCheckpointWriter.write(tmp.resolve("bucketed"), TinyCheckpointSpec.builder()
                .layers(6).hidden(64).heads(4).kvHeads(2).headDim(16).window(4).dtype(DType.BF16).seed(8).build());
        int n = 20;
        int[] ids = prompt(n, ckpt.spec().vocab());
        double[][] soft = softRows(n, 64, 4);
        try (GemmaModel model = GemmaModel.load(ckpt.directory(),
                ModelOptions.builder().threads(1).precision(Precision.FLOAT32).build(), LoadProgress.NONE)) {
            java.util.Map<GraphMode, java.util.List<float[]>> rows = new java.util.EnumMap<>(GraphMode.class);
            for (GraphMode mode : GraphMode.values()) {
                java.util.List<float[]> out = new java.util.ArrayList<>();
                try (KvStorage kv = model.allocateKv(n, n)) {
                    SequenceCache cache = new SequenceCache(model.config(), 0, n);
                    ForwardResult r1 = model.forward(ForwardBatch.of(cache.append(Arrays.copyOfRange(ids, 0, 10), true)
                            .withImages(stepImages(soft, 0, 10, 64))), kv, mode);
                    ForwardResult r2 = model.forward(ForwardBatch.of(cache.append(Arrays.copyOfRange(ids, 10, 17), true)
                            .withImages(stepImages(soft, 10, 17, 64))), kv, mode);
                    ForwardResult r3 = model.forward(ForwardBatch.of(cache.append(Arrays.copyOfRange(ids, 17, 20), true)),
                            kv, mode);
                    for (ForwardResult r : java.util.List.of(r1, r2, r3)) {
                        for (int i = 0; i < r.rows(0); i++) {
                            out.add(r.row(0, i));
                        }
                    }
                }
                rows.put(mode, out);
            }
            assertThat(rows.get(GraphMode.OPTIMIZED)).hasSize(n);
            for (int i = 0; i < n; i++) {
                assertThat(rows.get(GraphMode.OPTIMIZED).get(i)).as("position %d", i)
                        .containsExactly(rows.get(GraphMode.PLAIN).get(i));
            }
        }
    }

    @Test
    void softTokensAndBidirectionalImageAttentionMatchTheReference() {
        TinyCheckpoint ckpt = TinyCheckpointWriter.write(tmp.resolve("c"), TinyCheckpointSpec.builder().layers(6)
                .hidden(64).heads(4).kvHeads(2).headDim(16).window(4).dtype(DType.BF16).seed(8).build());
        int n = 20;
        int[] ids = prompt(n, ckpt.spec().vocab());
        double[][] soft = softRows(n, 64, 4);
        int[] refIds = ids.clone();
        for (int i = 0; i < n; i++) {
            if (refIds[i] == IMAGE_TOKEN) {
                refIds[i] = 0; // the reference looks nothing up there either
            }
        }
        for (Precision precision : Precision.values()) {
            double[][] ref = ModelTestSupport.reference(ckpt, precision).forward(refIds, soft, spanIds(n));
            double[][] causalOnly = ModelTestSupport.reference(ckpt, precision).forward(refIds, soft, null);
            double tol = precision == Precision.FLOAT32 ? ReferenceForwardTest.F32_TOLERANCE
                    : ReferenceForwardTest.BF16_TOLERANCE;
            try (GemmaModel model = GemmaModel.load(ckpt.directory(),
                    ModelOptions.builder().threads(1).precision(precision).build(), LoadProgress.NONE);
                 KvStorage kv = model.allocateKv(n, n)) {
                // one prefill
                SequenceCache cache = new SequenceCache(model.config(), 0, n);
                ForwardResult r = model.forward(ForwardBatch.of(cache.append(ids, true)
                        .withImages(stepImages(soft, 0, n, 64))), kv);
                for (int i = 0; i < n; i++) {
                    assertThat(ModelTestSupport.relError(r.row(0, i), ref[i])).as("%s position %d", precision, i)
                            .isLessThan(tol);
                }
                // the bidirectional mask matters: the first image token differs from a causal-only pass
                assertThat(ModelTestSupport.relError(r.row(0, 3), causalOnly[3])).isGreaterThan(10 * tol);
            }
            try (GemmaModel model = GemmaModel.load(ckpt.directory(),
                    ModelOptions.builder().threads(1).precision(precision).build(), LoadProgress.NONE);
                 KvStorage kv = model.allocateKv(n, n)) {
                // two chunks that keep each image whole, then the text tail
                SequenceCache cache = new SequenceCache(model.config(), 0, n);
                model.forward(ForwardBatch.of(cache.append(Arrays.copyOfRange(ids, 0, 10), false)
                        .withImages(stepImages(soft, 0, 10, 64))), kv);
                ForwardResult r2 = model.forward(ForwardBatch.of(cache.append(Arrays.copyOfRange(ids, 10, 17), true)
                        .withImages(stepImages(soft, 10, 17, 64))), kv);
                for (int i = 10; i < 17; i++) {
                    assertThat(ModelTestSupport.relError(r2.row(0, i - 10), ref[i])).as("chunked %s position %d",
                            precision, i).isLessThan(tol);
                }
                ForwardResult r3 = model.forward(ForwardBatch.of(cache.append(Arrays.copyOfRange(ids, 17, 20), true)), kv);
                assertThat(ModelTestSupport.relError(r3.row(0, 2), ref[19])).isLessThan(tol);
            }
        }
    }

    @Test
    void aChunkMustNotCutAnImage() {
        ChunkSlots slots = new ChunkSlots(new int[] {0, 1, 2, 3}, new int[] {0, 1, 2, 3}, new int[] {0, 1, 2, 3});
        SequenceStep step = new SequenceStep(new int[] {1, 2, 3, 4}, 0, slots, slots, false);
        assertThatThrownBy(() -> step.withImages(new StepImages(new int[] {2, 3}, new float[8],
                List.of(new ImageSpan(2, 3, "img"))))).hasMessageContaining("must not cut an image");
        assertThatThrownBy(() -> new StepImages(new int[] {1, 1}, new float[4], List.of()))
                .hasMessageContaining("ascending");
    }
}
