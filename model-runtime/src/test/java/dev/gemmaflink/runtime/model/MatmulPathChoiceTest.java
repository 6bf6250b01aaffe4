package dev.gemmaflink.runtime.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointSpec;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointWriter;
import dev.gemmaflink.runtime.weights.DType;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The path a CPU load takes when none is forced: by precision, oneDNN's probe and, for float32, the width. */
class MatmulPathChoiceTest {

    @TempDir
    Path tmp;

    private MatmulPath chosen(int hidden, Precision precision) {
        Path dir = tmp.resolve("h" + hidden);
        if (!dir.toFile().exists()) {
            TinyCheckpointWriter.write(dir, TinyCheckpointSpec.builder().layers(1).hidden(hidden).intermediate(64)
                    .heads(2).kvHeads(1).headDim(16).vocab(512).dtype(DType.F32).seed(1).build());
        }
        try (GemmaModel model = GemmaModel.load(dir, ModelOptions.builder().threads(1).precision(precision).build(),
                LoadProgress.NONE)) {
            return model.matmulPath();
        }
    }

    @Test
    void float32TakesOneDnnAtGemmaWidthsAndTorchMmAtTestWidths() {
        TorchThreads.initialize(1);
        assertThat(chosen(64, Precision.FLOAT32)).isEqualTo(MatmulPath.F32);
        assertThat(chosen(GemmaModel.F32_ONEDNN_MIN_HIDDEN - 16, Precision.FLOAT32)).isEqualTo(MatmulPath.F32);
        assertThat(chosen(GemmaModel.F32_ONEDNN_MIN_HIDDEN, Precision.FLOAT32)).isEqualTo(
                OneDnnProbe.packedF32Works() ? MatmulPath.F32_ONEDNN_PACKED : MatmulPath.F32);
    }

    @Test
    void bf16TakesOneDnnWhereTheProbeSaysItWorksAtAnyWidth() {
        TorchThreads.initialize(1);
        MatmulPath expected = OneDnnProbe.packedBf16Works() ? MatmulPath.BF16_ONEDNN_PACKED : MatmulPath.BF16_PLAIN_CPU;
        assertThat(chosen(64, Precision.BF16)).isEqualTo(expected);
        assertThat(chosen(GemmaModel.F32_ONEDNN_MIN_HIDDEN, Precision.BF16)).isEqualTo(expected);
    }
}
