package dev.gemmaflink.runtime.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gemmaflink.runtime.config.LayerType;
import dev.gemmaflink.runtime.kvcache.ChunkSlots;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpoint;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointSpec;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointWriter;
import dev.gemmaflink.runtime.weights.DType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bucketed steps ({@link GraphMode#OPTIMIZED}: graph-executor optimisation on, shapes padded to
 * {@link ShapeBuckets}) give exactly the float32 logits of plain steps, and their padding writes only the scratch
 * slot: the sequences here start at slot 0, so a padding write to slot 0 (the slot padded context entries name)
 * would change later logits.
 */
class BucketedForwardTest {

    @TempDir
    static Path tmp;

    static TinyCheckpoint ckpt;
    static GemmaModel f32;

    @BeforeAll
    static void load() {
        // GQA 4/2, window 6 (shorter than the sequences), RoPE scaling.
        ckpt = TinyCheckpointWriter.write(tmp.resolve("ckpt"), TinyCheckpointSpec.builder().layers(6).hidden(64)
                .heads(4).kvHeads(2).headDim(16).window(6).dtype(DType.BF16).ropeScaling(true).seed(11).build());
        f32 = GemmaModel.load(ckpt.directory(), ModelOptions.builder().threads(1).precision(Precision.FLOAT32).build(),
                LoadProgress.NONE);
    }

    @AfterAll
    static void close() {
        f32.close();
    }

    @Test
    void mixedStepsGiveThePlainLogitsExactly() {
        List<float[]> plain = runMixed(GraphMode.PLAIN);
        List<float[]> bucketed = runMixed(GraphMode.OPTIMIZED);
        assertThat(bucketed).hasSameSizeAs(plain);
        for (int i = 0; i < plain.size(); i++) {
            assertThat(bucketed.get(i)).as("row %d", i).containsExactly(plain.get(i));
        }
        // And they are the model's logits: A's rows against a full recomputation.
        int[] a = ModelTestSupport.randomTokens(20, ckpt.spec().vocab(), 51);
        float[][] aloneA = ModelTestSupport.prefillAll(f32, a);
        for (int i = 0; i < 11; i++) {
            assertThat(ModelTestSupport.relError(bucketed.get(i), aloneA[i])).isLessThan(1e-5);
        }
    }

    /**
     * A (slots from 0), B and C: prefills of 11 and 3 with every row's logits, A's decode beside a 4-token chunk of
     * B, decodes of A and B beside C's 5-token prefill, then decodes of all three.
     */
    private static List<float[]> runMixed(GraphMode mode) {
        int vocab = ckpt.spec().vocab();
        int[] a = ModelTestSupport.randomTokens(20, vocab, 51);
        int[] b = ModelTestSupport.randomTokens(20, vocab, 52);
        int[] c = ModelTestSupport.randomTokens(20, vocab, 53);
        List<float[]> out = new ArrayList<>();
        try (KvStorage kv = f32.allocateKv(60, 60)) {
            SequenceCache ca = new SequenceCache(f32.config(), 0, 20);
            SequenceCache cb = new SequenceCache(f32.config(), 20, 20);
            SequenceCache cc = new SequenceCache(f32.config(), 40, 20);
            collect(out, f32.forward(new ForwardBatch(List.of(ca.append(Arrays.copyOfRange(a, 0, 11), true),
                    cb.append(Arrays.copyOfRange(b, 0, 3), true))), kv, mode), 2);
            collect(out, f32.forward(new ForwardBatch(List.of(ca.append(new int[] {a[11]}, false),
                    cb.append(Arrays.copyOfRange(b, 3, 7), false))), kv, mode), 2);
            collect(out, f32.forward(new ForwardBatch(List.of(ca.append(new int[] {a[12]}, false),
                    cb.append(new int[] {b[7]}, false), cc.append(Arrays.copyOfRange(c, 0, 5), true))), kv, mode), 3);
            for (int p = 0; p < 6; p++) {
                collect(out, f32.forward(new ForwardBatch(List.of(ca.append(new int[] {a[13 + p]}, false),
                        cb.append(new int[] {b[8 + p]}, false), cc.append(new int[] {c[5 + p]}, false))), kv, mode), 3);
            }
        }
        return out;
    }

    private static void collect(List<float[]> out, ForwardResult r, int sequences) {
        for (int s = 0; s < sequences; s++) {
            for (int i = 0; i < r.rows(s); i++) {
                out.add(r.row(s, i));
            }
        }
    }

    @Test
    void pagedContextsGiveThePlainLogitsExactly() {
        int saved = BatchTensors.tableMinEntries;
        BatchTensors.tableMinEntries = 0; // every context travels as blocks
        try {
            List<float[]> plain = runPaged(GraphMode.PLAIN);
            List<float[]> bucketed = runPaged(GraphMode.OPTIMIZED);
            for (int i = 0; i < plain.size(); i++) {
                assertThat(bucketed.get(i)).as("row %d", i).containsExactly(plain.get(i));
            }
        } finally {
            BatchTensors.tableMinEntries = saved;
        }
    }

    /** A and B through block tables: prefills, a chunk beside a decode, decodes. */
    private static List<float[]> runPaged(GraphMode mode) {
        int[] a = ModelTestSupport.randomTokens(16, ckpt.spec().vocab(), 41);
        int[] b = ModelTestSupport.randomTokens(11, ckpt.spec().vocab(), 42);
        int[][] tables = {{5, 2, 7, 1}, {3, 6, 4}};
        int window = f32.config().slidingWindow();
        List<float[]> out = new ArrayList<>();
        try (KvStorage kv = f32.allocateKv(32, 32)) {
            int doneA = 0;
            int doneB = 0;
            int[][] plan = {{6, 3}, {6, 1}, {1, 1}, {1, 1}, {1, 1}, {1, 1}};
            for (int[] n : plan) {
                SequenceStep sa = new SequenceStep(Arrays.copyOfRange(a, doneA, doneA + n[0]), doneA,
                        ChunkSlots.of(tables[0], 4, window, doneA, n[0]), ChunkSlots.of(tables[0], 4, 0, doneA, n[0]),
                        false);
                SequenceStep sb = new SequenceStep(Arrays.copyOfRange(b, doneB, doneB + n[1]), doneB,
                        ChunkSlots.of(tables[1], 4, window, doneB, n[1]), ChunkSlots.of(tables[1], 4, 0, doneB, n[1]),
                        false);
                ForwardResult r = f32.forward(new ForwardBatch(List.of(sa, sb)), kv, mode);
                out.add(r.lastLogits(0));
                out.add(r.lastLogits(1));
                doneA += n[0];
                doneB += n[1];
            }
        }
        return out;
    }

    @Test
    void paddingFollowsTheBucketsAndWritesTheScratchSlot() {
        try (KvStorage kv = f32.allocateKv(72, 72)) {
            List<SequenceStep> steps = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                SequenceCache seq = new SequenceCache(f32.config(), 12 * i, 12);
                seq.append(new int[i < 5 ? 3 + i : 2], false); // positions only: nothing runs
                steps.add(seq.append(i < 5 ? new int[] {1 + i} : new int[] {7, 8, 9, 10, 11}, false));
            }
            // Five decodes and a 5-token chunk: decode group 5 -> 6 sequences; T 6 + 5 = 11 -> 12, so the chunk
            // (the last group) gets 6 queries.
            BatchTensors bt = BatchTensors.build(new ForwardBatch(steps), f32.config(), kv, true);
            long[] dims = bt.dims();
            assertThat(dims[0]).as("T").isEqualTo(12);
            assertThat(dims[1]).as("N").isEqualTo(6);
            assertThat(dims[3]).as("groups").isEqualTo(2);
            // Decode group: start 0, B 6, Q 1, contexts 16 (window 6 for sliding layers, at most 8 tokens).
            assertThat(Arrays.copyOfRange(dims, 4, 9)).containsExactly(0, 6, 1, 16, 16);
            // Chunk group: start 6, B 1, Q 6, contexts 16.
            assertThat(Arrays.copyOfRange(dims, 12, 17)).containsExactly(6, 1, 6, 16, 16);
            long[] sizes = bt.sizes();
            long[] buf = bt.buffer();
            int ids = 0;
            int pos = (int) sizes[0];
            int wsL = pos + (int) sizes[1];
            int wsG = wsL + (int) sizes[2];
            int scratchL = kv.scratchSlot(LayerType.SLIDING_ATTENTION);
            int scratchG = kv.scratchSlot(LayerType.FULL_ATTENTION);
            assertThat(scratchL).isEqualTo(72);
            assertThat(scratchG).isEqualTo(72);
            // Flat row 5: the decode group's padding sequence; row 11: the chunk's padding query.
            for (int f : new int[] {5, 11}) {
                assertThat(buf[ids + f]).as("id of padding row %d", f).isZero();
                assertThat(buf[wsL + f]).as("sliding write slot of padding row %d", f).isEqualTo(scratchL);
                assertThat(buf[wsG + f]).as("full write slot of padding row %d", f).isEqualTo(scratchG);
            }
            assertThat(buf[pos + 5]).isZero();
            assertThat(Arrays.copyOfRange(buf, pos + 6, pos + 12)).containsExactly(2, 3, 4, 5, 6, 7);
            for (int f = 0; f < 11; f++) {
                if (f != 5) {
                    assertThat(buf[wsG + f]).as("real row %d", f).isLessThan(72);
                }
            }
            // Logit rows: the decodes' (0..4) and the chunk's last real token (10).
            int rowAt = wsG + (int) sizes[3];
            assertThat(Arrays.copyOfRange(buf, rowAt, rowAt + 6)).containsExactly(0, 1, 2, 3, 4, 10);
            // The decode group's padding sequence: every full-attention context entry at the padding position.
            int ctxL = rowAt + (int) sizes[4] + (int) sizes[5];
            int kposG = ctxL + (int) (sizes[6] + sizes[7] + sizes[8]);
            assertThat(sizes[9]).isEqualTo(6 * 16);
            for (int i = 5 * 16; i < 6 * 16; i++) {
                assertThat(buf[kposG + i]).isEqualTo(GemmaScript.PAD_POSITION);
            }
            // Plain: the shapes as they come.
            BatchTensors exact = BatchTensors.build(new ForwardBatch(steps), f32.config(), kv, false);
            assertThat(exact.dims()[0]).isEqualTo(10);
            assertThat(Arrays.copyOfRange(exact.dims(), 4, 7)).containsExactly(0, 5, 1);
        }
    }

    @Test
    void bucketsArePowersOfTwoAndThreeTimesPowersOfTwo() {
        int[] rows = new int[14];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = ShapeBuckets.rows(i + 1);
        }
        assertThat(rows).containsExactly(1, 2, 3, 4, 6, 6, 8, 8, 12, 12, 12, 12, 16, 16);
        assertThat(ShapeBuckets.context(1)).isEqualTo(16);
        assertThat(ShapeBuckets.context(17)).isEqualTo(32);
        assertThat(ShapeBuckets.context(33)).isEqualTo(48);
        assertThat(ShapeBuckets.context(49)).isEqualTo(64);
        assertThat(ShapeBuckets.context(65)).isEqualTo(96);
        assertThat(ShapeBuckets.context(97)).isEqualTo(128);
        assertThat(ShapeBuckets.context(131_072)).isEqualTo(131_072);
        long upTo2048 = java.util.stream.IntStream.rangeClosed(1, 2048).map(ShapeBuckets::rows).distinct().count();
        assertThat(upTo2048).isEqualTo(22);
        // What the engine reserves activations for: PLAIN as is, OPTIMIZED the bucket of 1.5 x the budget.
        assertThat(GraphMode.PLAIN.paddedTokens(2048)).isEqualTo(2048);
        assertThat(GraphMode.OPTIMIZED.paddedTokens(16)).isEqualTo(24);
        assertThat(GraphMode.OPTIMIZED.paddedTokens(2048)).isEqualTo(3072);
        assertThat(GraphMode.PLAIN.paddedContext(641)).isEqualTo(656);
        assertThat(GraphMode.OPTIMIZED.paddedContext(641)).isEqualTo(768);
    }
}
