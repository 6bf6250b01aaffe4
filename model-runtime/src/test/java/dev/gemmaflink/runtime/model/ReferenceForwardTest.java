package dev.gemmaflink.runtime.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpoint;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointSpec;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointWriter;
import dev.gemmaflink.runtime.weights.DType;
import dev.gemmaflink.runtime.weights.TensorNaming;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The runtime's logits against the independent double-precision {@link ReferenceGemma}, for every position of a
 * prompt longer than the sliding window, on tiny checkpoints that vary one structural feature at a time.
 */
class ReferenceForwardTest {

    static final double F32_TOLERANCE = 1e-4;
    static final double BF16_TOLERANCE = 3e-2;

    @TempDir
    Path tmp;

    static Stream<Arguments> checkpoints() {
        return Stream.of(
                Arguments.of("gqa 4/2 heads, head_dim = hidden/heads, F32, text naming, no global scaling",
                        TinyCheckpointSpec.builder().layers(6).hidden(64).heads(4).kvHeads(2).headDim(16).window(8)
                                .dtype(DType.F32).scheme(TensorNaming.TEXT).seed(1), 21),
                Arguments.of("one kv head, head_dim 32 != hidden/heads, BF16 file, language_model naming, scaling 8",
                        TinyCheckpointSpec.builder().layers(7).hidden(64).intermediate(96).heads(4).kvHeads(1)
                                .headDim(32).window(6).dtype(DType.BF16).scheme(TensorNaming.LANGUAGE_MODEL)
                                .ropeScaling(true).seed(2), 19),
                Arguments.of("MHA 2/2 heads of 24, sliding_window_pattern config, model.language_model naming, sharded",
                        TinyCheckpointSpec.builder().layers(6).hidden(48).intermediate(80).heads(2).kvHeads(2)
                                .headDim(24).window(5).dtype(DType.F32).scheme(TensorNaming.MODEL_LANGUAGE_MODEL)
                                .layerTypesInConfig(false).ropeScaling(true).shards(3).seed(3), 14),
                Arguments.of("BF16 file, text naming, 8 heads over 2 kv heads, window 4",
                        TinyCheckpointSpec.builder().layers(6).hidden(32).intermediate(64).heads(8).kvHeads(2)
                                .headDim(8).window(4).dtype(DType.BF16).scheme(TensorNaming.TEXT).seed(4), 12),
                Arguments.of("F16 file, 3 heads over 1 kv head, head_dim 16, hidden 40",
                        TinyCheckpointSpec.builder().layers(6).hidden(40).intermediate(72).heads(3).kvHeads(1)
                                .headDim(16).window(7).dtype(DType.F16).scheme(TensorNaming.TEXT).seed(5), 16));
    }

    /**
     * Every matmul path this CPU runs: both float32 paths and the three bf16 ones (BF16_PLAIN is the CUDA path), the
     * oneDNN-packed ones where oneDNN takes them.
     */
    static List<MatmulPath> cpuPaths() {
        List<MatmulPath> paths = new ArrayList<>(List.of(MatmulPath.F32, MatmulPath.BF16_PLAIN,
                MatmulPath.BF16_PLAIN_CPU));
        TorchThreads.initialize(1);
        if (OneDnnProbe.packedF32Works()) {
            paths.add(MatmulPath.F32_ONEDNN_PACKED);
        }
        if (OneDnnProbe.packedBf16Works()) {
            paths.add(MatmulPath.BF16_ONEDNN_PACKED);
        }
        return paths;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("checkpoints")
    void logitsMatchTheReferenceOnEveryMatmulPath(String name, TinyCheckpointSpec.Builder spec, int length) {
        TinyCheckpoint ckpt = TinyCheckpointWriter.write(tmp.resolve("ckpt"), spec.build());
        assertThat(length).isGreaterThan(ckpt.spec().window());
        int[] ids = ModelTestSupport.randomTokens(length, ckpt.spec().vocab(), 7);
        for (MatmulPath path : cpuPaths()) {
            Precision precision = path.float32() ? Precision.FLOAT32 : Precision.BF16;
            double[][] ref = ModelTestSupport.reference(ckpt, precision).forward(ids);
            try (GemmaModel model = GemmaModel.load(ckpt.directory(), ModelOptions.builder().threads(1)
                    .precision(precision).forcedPath(path).build(), LoadProgress.NONE)) {
                assertThat(model.matmulPath()).isEqualTo(path);
                float[][] got = ModelTestSupport.prefillAll(model, ids);
                double tol = path.float32() ? F32_TOLERANCE : BF16_TOLERANCE;
                for (int i = 0; i < length; i++) {
                    assertThat(ModelTestSupport.relError(got[i], ref[i]))
                            .as("%s, %s, position %d", name, path, i).isLessThan(tol);
                }
            }
        }
    }
}
