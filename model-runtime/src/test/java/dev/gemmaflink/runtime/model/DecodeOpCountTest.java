package dev.gemmaflink.runtime.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gemmaflink.runtime.config.GemmaConfig;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpoint;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointSpec;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointWriter;
import dev.gemmaflink.runtime.weights.DType;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The decode step of the Gemma 3 1B layer structure (26 layers, 5 sliding : 1 global, 4 heads over 1 kv head of 256,
 * window 512) runs at most {@value #MAX_GRAPH_OPS_PER_LAYER} graph operations per layer on every matmul path, counted
 * by libtorch's profiler ({@link OpProfile}). Widths are tiny: the count depends on the graph, not on the sizes.
 *
 * <p>Before Q/K/V, gate/up and the norms were fused, the same step ran 89 graph operations per layer on
 * {@link MatmulPath#F32} and 103 on {@link MatmulPath#BF16_ONEDNN_PACKED} (285 and 304 dispatched operations,
 * nested ones included).
 */
class DecodeOpCountTest {

    static final int MAX_GRAPH_OPS_PER_LAYER = 40;

    @TempDir
    static Path tmp;
    static TinyCheckpoint ckpt;

    @BeforeAll
    static void write() throws IOException {
        GemmaConfig released;
        try (InputStream in = DecodeOpCountTest.class.getResourceAsStream("/configs/gemma-3-1b-it.json")) {
            released = GemmaConfig.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), "1b");
        }
        ckpt = TinyCheckpointWriter.write(tmp.resolve("ckpt"), TinyCheckpointSpec.builder()
                .layers(released.numHiddenLayers()).heads(released.numAttentionHeads())
                .kvHeads(released.numKeyValueHeads()).headDim(released.headDim()).window(released.slidingWindow())
                .layerTypes(released.layerTypes()).hidden(64).intermediate(128).vocab(512).dtype(DType.BF16)
                .seed(5).build());
        assertThat(ckpt.config().layerTypes()).isEqualTo(released.layerTypes());
    }

    static Stream<MatmulPath> paths() {
        List<MatmulPath> paths = new ArrayList<>(List.of(MatmulPath.F32, MatmulPath.BF16_PLAIN,
                MatmulPath.BF16_PLAIN_CPU));
        TorchThreads.initialize(1);
        if (OneDnnProbe.packedBf16Works()) {
            paths.add(MatmulPath.BF16_ONEDNN_PACKED);
        }
        if (OneDnnProbe.packedF32Works()) {
            paths.add(MatmulPath.F32_ONEDNN_PACKED);
        }
        return paths.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("paths")
    void decodeStepRunsAtMostFortyGraphOperationsPerLayer(MatmulPath path) {
        Precision precision = path.float32() ? Precision.FLOAT32 : Precision.BF16;
        try (GemmaModel model = GemmaModel.load(ckpt.directory(),
                ModelOptions.builder().threads(1).precision(precision).forcedPath(path).build(), LoadProgress.NONE);
             KvStorage kv = model.allocateKv(64, 64)) {
            assertThat(model.matmulPath()).isEqualTo(path);
            // Two sequences of different lengths decoding together: one attention group, padded contexts.
            SequenceCache a = new SequenceCache(model.config(), 0, 32);
            SequenceCache b = new SequenceCache(model.config(), 32, 32);
            model.forward(new ForwardBatch(List.of(a.append(new int[] {2, 5, 6, 7, 8}, false),
                    b.append(new int[] {2, 9, 10}, false))), kv);
            model.forward(new ForwardBatch(List.of(a.append(new int[] {11}, false), b.append(new int[] {12}, false))), kv);
            ForwardBatch decode = new ForwardBatch(List.of(a.append(new int[] {13}, false), b.append(new int[] {14}, false)));
            OpProfile.Counts c = OpProfile.of(() -> model.forward(decode, kv));
            System.out.printf("%s decode step, batch 2: %d graph operations (%.1f per layer, %d outside layers), "
                    + "%d dispatched (%.1f per layer)%n", path, c.graphOps(), c.graphOpsPerLayer(),
                    c.graphOps() - c.graphOpsInLayers(), c.dispatchedOps(), c.dispatchedOpsPerLayer());
            assertThat(c.layers()).isEqualTo(model.config().numHiddenLayers());
            assertThat(c.graphOpsInLayers() % c.layers()).as("every layer runs the same graph").isZero();
            assertThat(c.graphOpsPerLayer()).as("%s graph operations per decode layer", path)
                    .isLessThanOrEqualTo(MAX_GRAPH_OPS_PER_LAYER);
            // The step's own work (embedding, masks, RoPE tables, head) stays a small share.
            assertThat(c.graphOps() - c.graphOpsInLayers()).isLessThan(100);
        }
    }
}
