package dev.gemmaflink.runtime.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemmaflink.runtime.generate.Sampler;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpoint;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointSpec;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointWriter;
import dev.gemmaflink.runtime.weights.DType;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link GemmaModel#forwardSample}: the Java reference's tokens from the same step's logits, token ids only. */
class ForwardSampleTest {

    @TempDir
    static Path tmp;

    static TinyCheckpoint ckpt;
    static GemmaModel f32;
    static GemmaModel bf16;

    @BeforeAll
    static void load() {
        ckpt = TinyCheckpointWriter.write(tmp.resolve("ckpt"), TinyCheckpointSpec.builder().layers(3).hidden(64)
                .heads(4).kvHeads(2).headDim(16).window(6).dtype(DType.BF16).seed(17).build());
        f32 = GemmaModel.load(ckpt.directory(), ModelOptions.builder().threads(1).precision(Precision.FLOAT32).build(),
                LoadProgress.NONE);
        bf16 = GemmaModel.load(ckpt.directory(), ModelOptions.builder().threads(1).build(), LoadProgress.NONE);
    }

    @AfterAll
    static void close() {
        f32.close();
        bf16.close();
    }

    /** A mixed step: a decode, a whole prompt with every row's logits, another decode (prefixes already cached). */
    private static ForwardBatch mixedStep(GemmaModel model, KvStorage kv) {
        int vocab = ckpt.spec().vocab();
        int[] a = ModelTestSupport.randomTokens(9, vocab, 1);
        int[] b = ModelTestSupport.randomTokens(6, vocab, 2);
        int[] c = ModelTestSupport.randomTokens(12, vocab, 3);
        SequenceCache ca = new SequenceCache(model.config(), 0, 20);
        SequenceCache cb = new SequenceCache(model.config(), 20, 20);
        SequenceCache cc = new SequenceCache(model.config(), 40, 20);
        model.forward(new ForwardBatch(List.of(ca.append(Arrays.copyOfRange(a, 0, 8), false),
                cb.append(Arrays.copyOfRange(b, 0, 5), false))), kv);
        return new ForwardBatch(List.of(ca.append(new int[] {a[8]}, false), cc.append(c, true),
                cb.append(new int[] {b[5]}, false)));
    }

    @Test
    void aMixedStepSamplesTheReferencesTokensFromEachSequencesLastRow() {
        for (GemmaModel model : List.of(f32, bf16)) {
            for (long seed = 0; seed < 8; seed++) {
                List<SampleRow> rows = List.of(
                        SampleRow.sampled(2, 1.0, 0, 1.0, seed, 6),
                        seed % 2 == 0 ? SampleRow.greedy(0) : SampleRow.sampled(0, 0.8, 40, 0.9, seed, 9),
                        SampleRow.sampled(1, 1.3, 64, 0.95, seed, 12));
                float[][] logits = new float[3][];
                try (KvStorage kv = model.allocateKv(60, 60)) {
                    ForwardResult r = model.forward(mixedStep(model, kv), kv);
                    for (int s = 0; s < 3; s++) {
                        logits[s] = r.lastLogits(s);
                    }
                }
                try (KvStorage kv = model.allocateKv(60, 60)) {
                    ForwardBatch step = mixedStep(model, kv);
                    long before = model.deviceToHostBytes();
                    SampledTokens got = model.forwardSample(step, kv, rows);
                    assertThat(model.deviceToHostBytes() - before).isEqualTo(3L * SampledTokens.DEVICE_BYTES_PER_ROW);
                    for (int i = 0; i < rows.size(); i++) {
                        assertThat(got.token(i)).as("%s seed %d row %d", model.matmulPath(), seed, i)
                                .isEqualTo(Sampler.sample(logits[rows.get(i).sequence()], rows.get(i)));
                    }
                }
            }
        }
    }

    @Test
    void aStepWithoutRowsCopiesNothingAndBadRowsAreRefused() {
        try (KvStorage kv = f32.allocateKv(60, 60)) {
            ForwardBatch step = mixedStep(f32, kv);
            long before = f32.deviceToHostBytes();
            assertThat(f32.forwardSample(step, kv, List.of()).size()).isZero();
            assertThat(f32.deviceToHostBytes()).isEqualTo(before);
            assertThatThrownBy(() -> f32.forwardSample(step, kv, List.of(SampleRow.greedy(3))))
                    .hasMessageContaining("sequence 3 of a batch of 3");
            assertThatThrownBy(() -> f32.forwardSample(step, kv, List.of(SampleRow.greedy(1), SampleRow.greedy(1))))
                    .hasMessageContaining("two sample rows for sequence 1");
            assertThatThrownBy(() -> f32.forwardSample(step, kv, List.of(SampleRow.greedy(0)
                    .withMask(TokenMask.of(7, 1))))).hasMessageContaining("mask over 7 tokens");
            // forward still hands out logits (tests, tools): 4 bytes per vocabulary entry per row.
            before = f32.deviceToHostBytes();
            ForwardResult r = f32.forward(step, kv);
            assertThat(f32.deviceToHostBytes() - before).isEqualTo(4L * ckpt.spec().vocab() * (1 + 12 + 1));
            assertThat(r.rows(1)).isEqualTo(12);
        }
    }
}
