package dev.gemmaflink.runtime.vision;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemmaflink.runtime.ModelLoadException;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpoint;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointSpec;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointWriter;
import dev.gemmaflink.runtime.config.VisionConfig;
import dev.gemmaflink.runtime.model.ModelOptions;
import dev.gemmaflink.runtime.model.Precision;
import dev.gemmaflink.runtime.weights.DType;
import dev.gemmaflink.runtime.weights.GemmaWeights;
import dev.gemmaflink.runtime.weights.TensorNaming;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The generated SigLIP + projector TorchScript against {@link ReferenceSiglip} (double loops) on a tiny tower:
 * image 56, patch 14 (4 x 4 patches), hidden 32, MLP 64, 2 layers, 2 heads, 4 soft tokens (2 x 2 pooling), text
 * hidden 48. Error measure: max |runtime - reference| / max |reference| over all outputs. Tolerances: 1e-4 in
 * FLOAT32 mode; 3e-2 in BF16 mode (bf16 weights as stored in the checkpoint, products on bf16-rounded inputs).
 */
class ImageEncoderTest {
    static final VisionConfig TINY = new VisionConfig(32, 64, 2, 2, 3, 56, 14, 1e-6);

    @TempDir
    Path dir;

    static TinyCheckpoint write(Path dir, DType dtype, TensorNaming scheme) {
        return TinyCheckpointWriter.write(dir, TinyCheckpointSpec.builder().layers(2).hidden(48).intermediate(64)
                .heads(2).kvHeads(1).headDim(24).scheme(scheme).dtype(dtype).vision(TINY).mmTokensPerImage(4)
                .seed(11).build());
    }

    static List<PreprocessedImage> randomImages(int n, long seed) {
        Random rnd = new Random(seed);
        List<PreprocessedImage> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            float[] px = new float[3 * 56 * 56];
            for (int j = 0; j < px.length; j++) {
                px[j] = rnd.nextFloat() * 2 - 1;
            }
            out.add(new PreprocessedImage(56, px, "hash" + i, 0));
        }
        return out;
    }

    @ParameterizedTest
    @CsvSource({"F32, FLOAT32, LANGUAGE_MODEL, 1e-4", "BF16, BF16, MODEL_LANGUAGE_MODEL, 3e-2",
        "BF16, FLOAT32, LANGUAGE_MODEL, 1e-4"})
    void matchesTheReferenceForwardPass(DType dtype, Precision precision, TensorNaming scheme, double tol) {
        TinyCheckpoint ckpt = write(dir, dtype, scheme);
        ReferenceSiglip ref = new ReferenceSiglip(ckpt.values(), 32, 64, 2, 2, 56, 14, 1e-6, 4, 48);
        List<PreprocessedImage> images = randomImages(3, 5);
        try (GemmaWeights w = GemmaWeights.open(ckpt.directory(), ckpt.config());
             ImageEncoder enc = ImageEncoder.load(w, ModelOptions.builder().precision(precision).threads(1).build());
             ImageEmbeddings emb = enc.encode(images)) {
            assertThat(emb.count()).isEqualTo(3);
            assertThat(emb.tokensPerImage()).isEqualTo(4);
            assertThat(emb.hidden()).isEqualTo(48);
            assertThat(emb.contentHash(2)).isEqualTo("hash2");
            float[] got = emb.toFloatArray();
            assertThat(got).hasSize(3 * 4 * 48);
            double maxDiff = 0;
            double maxRef = 0;
            for (int i = 0; i < 3; i++) {
                double[][] r = ref.forward(images.get(i).pixels());
                for (int t = 0; t < 4; t++) {
                    for (int e = 0; e < 48; e++) {
                        maxDiff = Math.max(maxDiff, Math.abs(got[(i * 4 + t) * 48 + e] - r[t][e]));
                        maxRef = Math.max(maxRef, Math.abs(r[t][e]));
                    }
                }
            }
            assertThat(maxRef).isGreaterThan(0.1); // a meaningful signal, not all zeros
            assertThat(maxDiff / maxRef).as("relative error in " + precision).isLessThan(tol);
        }
    }

    @Test
    void batchEqualsSingleEncodesAndImagesDiffer() {
        TinyCheckpoint ckpt = write(dir, DType.F32, TensorNaming.LANGUAGE_MODEL);
        List<PreprocessedImage> images = randomImages(2, 9);
        try (GemmaWeights w = GemmaWeights.open(ckpt.directory(), ckpt.config());
             ImageEncoder enc = ImageEncoder.load(w, ModelOptions.builder().precision(Precision.FLOAT32).threads(1).build())) {
            float[] batch;
            try (ImageEmbeddings e = enc.encode(images)) {
                batch = e.toFloatArray();
            }
            for (int i = 0; i < 2; i++) {
                try (ImageEmbeddings e = enc.encode(List.of(images.get(i)))) {
                    float[] one = e.toFloatArray();
                    for (int j = 0; j < one.length; j++) {
                        assertThat(one[j]).isCloseTo(batch[i * one.length + j], org.assertj.core.data.Offset.offset(1e-5f));
                    }
                }
            }
            assertThat(batch[0]).isNotEqualTo(batch[4 * 48]);
            ImageEmbeddings closed = enc.encode(images.subList(0, 1));
            closed.close();
            assertThatThrownBy(closed::toFloatArray).hasMessageContaining("closed");
            assertThatThrownBy(() -> enc.encode(List.of())).hasMessageContaining("no images");
            PreprocessedImage wrong = new PreprocessedImage(28, new float[3 * 28 * 28], "h", 0);
            assertThatThrownBy(() -> enc.encode(List.of(wrong))).hasMessageContaining("takes 56x56");
        }
    }

    @Test
    void refusesTextOnlyCheckpointsAndBadPooling() {
        TinyCheckpoint text = TinyCheckpointWriter.write(dir.resolve("text"), TinyCheckpointSpec.builder().layers(1).build());
        try (GemmaWeights w = GemmaWeights.open(text.directory(), text.config())) {
            assertThatThrownBy(() -> ImageEncoder.load(w, ModelOptions.defaults()))
                    .isInstanceOf(ModelLoadException.class).hasMessageContaining("text-only");
        }
        TinyCheckpoint bad = TinyCheckpointWriter.write(dir.resolve("bad"), TinyCheckpointSpec.builder().layers(1)
                .scheme(TensorNaming.LANGUAGE_MODEL).vision(TINY).mmTokensPerImage(9).build());
        try (GemmaWeights w = GemmaWeights.open(bad.directory(), bad.config())) {
            assertThatThrownBy(() -> ImageEncoder.load(w, ModelOptions.defaults()))
                    .isInstanceOf(ModelLoadException.class).hasMessageContaining("not a multiple of sqrt(mm_tokens_per_image) 3");
        }
    }
}
