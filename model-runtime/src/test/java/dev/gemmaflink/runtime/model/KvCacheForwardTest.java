package dev.gemmaflink.runtime.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpoint;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointSpec;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointWriter;
import dev.gemmaflink.runtime.config.LayerType;
import dev.gemmaflink.runtime.kvcache.ChunkSlots;
import dev.gemmaflink.runtime.weights.DType;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Cached decode, chunked prefill and mixed batches give the logits of a full recomputation. */
class KvCacheForwardTest {

    @TempDir
    static Path tmp;

    static TinyCheckpoint ckpt;
    static GemmaModel f32;
    static GemmaModel bf16;

    @BeforeAll
    static void load() {
        ckpt = TinyCheckpointWriter.write(tmp.resolve("ckpt"), TinyCheckpointSpec.builder().layers(6).hidden(64)
                .heads(4).kvHeads(2).headDim(16).window(6).dtype(DType.BF16).ropeScaling(true).seed(11).build());
        f32 = GemmaModel.load(ckpt.directory(), ModelOptions.builder().threads(1).precision(Precision.FLOAT32).build(),
                LoadProgress.NONE);
        bf16 = GemmaModel.load(ckpt.directory(), ModelOptions.builder().threads(1).build(), LoadProgress.NONE);
    }

    @AfterAll
    static void close() {
        f32.close();
        bf16.close();
    }

    @Test
    void chunkedPrefillThenDecodeMatchesRecomputation() {
        int[] ids = ModelTestSupport.randomTokens(20, ckpt.spec().vocab(), 5);
        for (GemmaModel model : List.of(f32, bf16)) {
            double tol = model.precision() == Precision.FLOAT32 ? 1e-5 : 2e-2;
            float[][] full = ModelTestSupport.prefillAll(model, ids);
            try (KvStorage kv = model.allocateKv(32, 32)) {
                SequenceCache cache = new SequenceCache(model.config(), 0, 32);
                ForwardResult r = model.forward(ForwardBatch.of(cache.append(Arrays.copyOfRange(ids, 0, 5), false)), kv);
                assertThat(ModelTestSupport.relError(r.lastLogits(0), full[4])).isLessThan(tol);
                r = model.forward(ForwardBatch.of(cache.append(Arrays.copyOfRange(ids, 5, 12), true)), kv);
                for (int i = 0; i < 7; i++) {
                    assertThat(ModelTestSupport.relError(r.row(0, i), full[5 + i]))
                            .as("%s chunk row %d", model.precision(), i).isLessThan(tol);
                }
                for (int p = 12; p < ids.length; p++) {
                    r = model.forward(ForwardBatch.of(cache.append(new int[] {ids[p]}, false)), kv);
                    assertThat(ModelTestSupport.relError(r.lastLogits(0), full[p]))
                            .as("%s decode position %d", model.precision(), p).isLessThan(tol);
                }
            }
        }
    }

    @Test
    void batchOfTwoSequencesMatchesEachAlone() {
        int[] a = ModelTestSupport.randomTokens(15, ckpt.spec().vocab(), 21);
        int[] b = ModelTestSupport.randomTokens(7, ckpt.spec().vocab(), 22);
        float[][] aloneA = ModelTestSupport.prefillAll(f32, a);
        float[][] aloneB = ModelTestSupport.prefillAll(f32, b);
        try (KvStorage kv = f32.allocateKv(40, 40)) {
            SequenceCache ca = new SequenceCache(f32.config(), 0, 20);
            SequenceCache cb = new SequenceCache(f32.config(), 20, 20);
            // Step 1: prefill of A's first 11 tokens beside B's first 3.
            ForwardResult r = f32.forward(new ForwardBatch(List.of(
                    ca.append(Arrays.copyOfRange(a, 0, 11), true), cb.append(Arrays.copyOfRange(b, 0, 3), true))), kv);
            for (int i = 0; i < 11; i++) {
                assertThat(ModelTestSupport.relError(r.row(0, i), aloneA[i])).isLessThan(1e-5);
            }
            for (int i = 0; i < 3; i++) {
                assertThat(ModelTestSupport.relError(r.row(1, i), aloneB[i])).isLessThan(1e-5);
            }
            // Then: decode of A beside a 4-token chunk of B, then plain decode of both.
            r = f32.forward(new ForwardBatch(List.of(
                    ca.append(new int[] {a[11]}, false), cb.append(Arrays.copyOfRange(b, 3, 7), false))), kv);
            assertThat(ModelTestSupport.relError(r.lastLogits(0), aloneA[11])).isLessThan(1e-5);
            assertThat(ModelTestSupport.relError(r.lastLogits(1), aloneB[6])).isLessThan(1e-5);
            for (int p = 12; p < a.length; p++) {
                r = f32.forward(ForwardBatch.of(ca.append(new int[] {a[p]}, false)), kv);
                assertThat(ModelTestSupport.relError(r.lastLogits(0), aloneA[p])).isLessThan(1e-5);
            }
        }
    }

    @Test
    void decodeRowsShareOneAttentionGroupBesideAPrefill() {
        int[] a = ModelTestSupport.randomTokens(9, ckpt.spec().vocab(), 31);
        int[] b = ModelTestSupport.randomTokens(6, ckpt.spec().vocab(), 32);
        int[] c = ModelTestSupport.randomTokens(12, ckpt.spec().vocab(), 33);
        float[][] aloneA = ModelTestSupport.prefillAll(f32, a);
        float[][] aloneB = ModelTestSupport.prefillAll(f32, b);
        float[][] aloneC = ModelTestSupport.prefillAll(f32, c);
        try (KvStorage kv = f32.allocateKv(60, 60)) {
            SequenceCache ca = new SequenceCache(f32.config(), 0, 20);
            SequenceCache cb = new SequenceCache(f32.config(), 20, 20);
            SequenceCache cc = new SequenceCache(f32.config(), 40, 20);
            f32.forward(new ForwardBatch(List.of(ca.append(Arrays.copyOfRange(a, 0, 8), false),
                    cb.append(Arrays.copyOfRange(b, 0, 5), false))), kv);
            List<SequenceStep> mixed = List.of(ca.append(new int[] {a[8]}, false), cc.append(c, true),
                    cb.append(new int[] {b[5]}, false));
            assertThat(BatchTensors.groups(mixed)).containsExactly(new int[] {0, 2}, new int[] {1});
            ForwardResult r = f32.forward(new ForwardBatch(mixed), kv);
            assertThat(ModelTestSupport.relError(r.lastLogits(0), aloneA[8])).isLessThan(1e-5);
            assertThat(ModelTestSupport.relError(r.lastLogits(2), aloneB[5])).isLessThan(1e-5);
            assertThat(r.rows(1)).isEqualTo(12);
            for (int i = 0; i < 12; i++) {
                assertThat(ModelTestSupport.relError(r.row(1, i), aloneC[i])).as("C row %d", i).isLessThan(1e-5);
            }
        }
    }

    @Test
    void pagedContextsTravellingAsBlocksGiveTheLogitsOfShippedSlots() {
        int[] a = ModelTestSupport.randomTokens(16, ckpt.spec().vocab(), 41);
        int[] b = ModelTestSupport.randomTokens(11, ckpt.spec().vocab(), 42);
        int[][] tables = {{5, 2, 7, 1}, {3, 6, 4}}; // blocks of 4 from one pool, interleaved
        for (GemmaModel model : List.of(f32, bf16)) {
            float[][] aloneA = ModelTestSupport.prefillAll(model, a);
            List<float[]> viaSlots = runPaged(model, tables, a, b, Integer.MAX_VALUE);
            List<float[]> viaBlocks = runPaged(model, tables, a, b, 0);
            assertThat(viaBlocks).hasSameSizeAs(viaSlots);
            for (int i = 0; i < viaSlots.size(); i++) {
                assertThat(viaBlocks.get(i)).as("%s row %d", model.precision(), i).containsExactly(viaSlots.get(i));
            }
            if (model == f32) { // rows 0.. are A's last logits of each step: positions 5, 11, 12, ..., 15
                assertThat(ModelTestSupport.relError(viaSlots.get(0), aloneA[5])).isLessThan(1e-5);
                assertThat(ModelTestSupport.relError(viaSlots.get(2), aloneA[11])).isLessThan(1e-5);
                assertThat(ModelTestSupport.relError(viaSlots.get(viaSlots.size() - 2), aloneA[15])).isLessThan(1e-5);
            }
        }
    }

    /** A and B through block tables: prefills of 6 and 3, a 6-token chunk of A beside B's decode, then decodes. */
    private static List<float[]> runPaged(GemmaModel model, int[][] tables, int[] a, int[] b, int tableMinEntries) {
        int saved = BatchTensors.tableMinEntries;
        BatchTensors.tableMinEntries = tableMinEntries;
        int window = model.config().slidingWindow();
        List<float[]> out = new java.util.ArrayList<>();
        try (KvStorage kv = model.allocateKv(32, 32)) {
            int doneA = 0;
            int doneB = 0;
            int[][] plan = {{6, 3}, {6, 1}, {1, 1}, {1, 1}, {1, 1}, {1, 1}};
            for (int[] n : plan) {
                SequenceStep sa = new SequenceStep(Arrays.copyOfRange(a, doneA, doneA + n[0]), doneA,
                        ChunkSlots.of(tables[0], 4, window, doneA, n[0]), ChunkSlots.of(tables[0], 4, 0, doneA, n[0]), false);
                SequenceStep sb = new SequenceStep(Arrays.copyOfRange(b, doneB, doneB + n[1]), doneB,
                        ChunkSlots.of(tables[1], 4, window, doneB, n[1]), ChunkSlots.of(tables[1], 4, 0, doneB, n[1]), false);
                ForwardResult r = model.forward(new ForwardBatch(List.of(sa, sb)), kv);
                out.add(r.lastLogits(0));
                out.add(r.lastLogits(1));
                doneA += n[0];
                doneB += n[1];
            }
        } finally {
            BatchTensors.tableMinEntries = saved;
        }
        return out;
    }

    @Test
    void slidingLayersNeedOnlyTheWindow() {
        SequenceCache cache = new SequenceCache(f32.config(), 100, 50);
        cache.append(new int[20], false);
        SequenceStep step = cache.append(new int[] {3, 4}, false);
        assertThat(step.firstPosition()).isEqualTo(20);
        assertThat(step.slots(LayerType.FULL_ATTENTION).contextPositions()).hasSize(22);
        // window 6: the query at 20 sees 15..20, the one at 21 sees 16..21: positions 15..21.
        assertThat(step.slots(LayerType.SLIDING_ATTENTION).contextPositions()).containsExactly(15, 16, 17, 18, 19, 20, 21);
        assertThat(step.slots(LayerType.SLIDING_ATTENTION).writeSlots()).containsExactly(120, 121);
    }

    @Test
    void badStepsAreRejectedWithClearMessages() {
        try (KvStorage kv = f32.allocateKv(8, 8)) {
            SequenceCache tooFar = new SequenceCache(f32.config(), 6, 10);
            SequenceStep step = tooFar.append(new int[] {2, 3, 4}, false);
            assertThatThrownBy(() -> f32.forward(ForwardBatch.of(step), kv))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("slot 8").hasMessageContaining("8 slots");
            SequenceCache ok = new SequenceCache(f32.config(), 0, 8);
            SequenceStep badToken = ok.append(new int[] {2, ckpt.spec().vocab()}, false);
            assertThatThrownBy(() -> f32.forward(ForwardBatch.of(badToken), kv))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("outside the vocabulary");
        }
        SequenceCache full = new SequenceCache(f32.config(), 0, 2);
        full.append(new int[] {2, 3}, false);
        assertThatThrownBy(() -> full.append(new int[] {4}, false)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("capacity 2");
        try (KvStorage other = bf16.allocateKv(4, 4)) {
            SequenceStep s = new SequenceCache(f32.config(), 0, 4).append(new int[] {2}, false);
            assertThatThrownBy(() -> f32.forward(ForwardBatch.of(s), other))
                    .hasMessageContaining("another model");
        }
    }
}
