package dev.gemmaflink.runtime.weights;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemmaflink.runtime.ModelLoadException;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpoint;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointSpec;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointWriter;
import dev.gemmaflink.runtime.config.GemmaConfig;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class GemmaWeightsTest {
    @TempDir
    Path tmp;

    static java.util.stream.Stream<Arguments> schemesDtypesShards() {
        return java.util.stream.Stream.of(
                Arguments.of(TensorNaming.TEXT, DType.F32, 1),
                Arguments.of(TensorNaming.TEXT, DType.BF16, 3),
                Arguments.of(TensorNaming.LANGUAGE_MODEL, DType.BF16, 1),
                Arguments.of(TensorNaming.LANGUAGE_MODEL, DType.F16, 2),
                Arguments.of(TensorNaming.MODEL_LANGUAGE_MODEL, DType.F32, 2),
                Arguments.of(TensorNaming.MODEL_LANGUAGE_MODEL, DType.BF16, 1));
    }

    private TinyCheckpoint tiny(TensorNaming scheme, DType dtype, int shards) {
        return TinyCheckpointWriter.write(tmp.resolve("ckpt"), TinyCheckpointSpec.builder().layers(3).hidden(32)
                .intermediate(48).heads(4).kvHeads(2).headDim(8).vocab(300).scheme(scheme).dtype(dtype).shards(shards)
                .seed(11).build());
    }

    @ParameterizedTest(name = "{0} {1} shards={2}")
    @MethodSource("schemesDtypesShards")
    void writtenCheckpointsLoadBackIdentically(TensorNaming scheme, DType dtype, int shards) {
        TinyCheckpoint ckpt = tiny(scheme, dtype, shards);
        GemmaConfig cfg = GemmaConfig.load(ckpt.directory());
        assertThat(cfg).isEqualTo(ckpt.config());
        try (GemmaWeights w = GemmaWeights.open(ckpt.directory(), cfg)) {
            assertThat(w.scheme()).isEqualTo(scheme);
            assertThat(w.files()).hasSize(shards);
            assertThat(w.storedKeys()).hasSize(ckpt.values().size());
            for (Map.Entry<String, float[]> e : ckpt.values().entrySet()) {
                TensorData t = w.tensor(e.getKey());
                assertThat(t.dtype()).isEqualTo(dtype);
                assertThat(t.shape()).as(e.getKey()).containsExactly(ckpt.shapes().get(e.getKey()));
                assertThat(t.toFloatArray()).as(e.getKey()).containsExactly(e.getValue());
            }
            assertThat(w.embedTokens().shape()).containsExactly(300, 32);
            assertThat(w.finalNorm().shape()).containsExactly(32);
            assertThat(w.tensor(TensorKind.ATTN_Q, 2).shape()).containsExactly(32, 32);
            assertThat(w.tensor(TensorKind.ATTN_K, 2).shape()).containsExactly(16, 32);
            assertThat(w.tensor(TensorKind.ATTN_V, 2).shape()).containsExactly(16, 32);
            assertThat(w.tensor(TensorKind.ATTN_OUTPUT, 2).shape()).containsExactly(32, 32);
            assertThat(w.tensor(TensorKind.ATTN_Q_NORM, 2).shape()).containsExactly(8);
            assertThat(w.tensor(TensorKind.ATTN_K_NORM, 2).shape()).containsExactly(8);
            assertThat(w.tensor(TensorKind.FFN_GATE, 2).shape()).containsExactly(48, 32);
            assertThat(w.tensor(TensorKind.FFN_UP, 2).shape()).containsExactly(48, 32);
            assertThat(w.tensor(TensorKind.FFN_DOWN, 2).shape()).containsExactly(32, 48);
            for (TensorKind norm : new TensorKind[] {TensorKind.ATTN_NORM, TensorKind.ATTN_POST_NORM,
                    TensorKind.FFN_NORM, TensorKind.FFN_POST_NORM}) {
                assertThat(w.tensor(norm, 2).shape()).containsExactly(32);
            }
            TensorData up = w.tensor(TensorKind.FFN_UP, 2);
            assertThat(up.name()).isEqualTo(scheme.textPrefix() + "layers.2.mlp.up_proj.weight");
            assertThat(up.toFloatArray()).containsExactly(ckpt.value("layers.2.mlp.up_proj.weight"));
        }
    }

    @Test
    void missingConfigIsReported() {
        TinyCheckpoint ckpt = tiny(TensorNaming.TEXT, DType.F32, 1);
        Path cfg = ckpt.directory().resolve("config.json");
        assertThat(cfg.toFile().delete()).isTrue();
        assertThatThrownBy(() -> GemmaConfig.load(ckpt.directory())).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("config.json not found: " + cfg);
    }

    @Test
    void missingShardIsNamed() throws IOException {
        TinyCheckpoint ckpt = tiny(TensorNaming.TEXT, DType.BF16, 3);
        Files.delete(ckpt.files().get(1));
        assertThatThrownBy(() -> GemmaWeights.open(ckpt.directory(), ckpt.config())).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("names shard model-00002-of-00003.safetensors")
                .hasMessageContaining("which does not exist");
    }

    @Test
    void indexPointingOutsideTheDirectoryIsRefused() throws IOException {
        TinyCheckpoint ckpt = tiny(TensorNaming.TEXT, DType.F32, 2);
        Path index = ckpt.directory().resolve(GemmaWeights.INDEX_FILE);
        Files.writeString(index, Files.readString(index).replace("\"model-00001-of-00002.safetensors\"",
                "\"../model-00001-of-00002.safetensors\""));
        assertThatThrownBy(() -> GemmaWeights.open(ckpt.directory(), ckpt.config())).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("not a plain file name");
    }

    @Test
    void wrongShapeNamesTensorFileAndShapes() throws IOException {
        TinyCheckpoint ckpt = tiny(TensorNaming.TEXT, DType.F32, 1);
        Path cfgFile = ckpt.directory().resolve("config.json");
        Files.writeString(cfgFile, Files.readString(cfgFile).replace("\"intermediate_size\" : 48", "\"intermediate_size\" : 40"));
        GemmaConfig cfg = GemmaConfig.load(ckpt.directory());
        assertThatThrownBy(() -> GemmaWeights.open(ckpt.directory(), cfg)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("tensor model.layers.0.mlp.down_proj.weight")
                .hasMessageContaining("model.safetensors")
                .hasMessageContaining("has shape [32, 48] but the config expects [32, 40]")
                .hasMessageContaining("has 9 tensor(s) of another shape than the config expects")
                .hasMessageContaining("(FFN_DOWN of layer 0)")
                .hasMessageContaining("... 4 more]");
    }

    @Test
    void missingAndMisshapedTensorsOfTheFileAreReportedTogether() {
        dev.gemmaflink.runtime.config.VisionConfig v = new dev.gemmaflink.runtime.config.VisionConfig(16, 32, 2, 2, 3, 28,
                14, 1e-6);
        TinyCheckpoint ckpt = TinyCheckpointWriter.write(tmp.resolve("v"), TinyCheckpointSpec.builder().layers(2).hidden(32)
                .intermediate(48).heads(4).kvHeads(2).headDim(8).scheme(TensorNaming.LANGUAGE_MODEL).vision(v).build());
        String missing = "layers.0.self_attn.q_norm.weight";
        String misshaped = "vision_tower.vision_model.encoder.layers.1.mlp.fc1.bias";
        SafetensorsWriter w = new SafetensorsWriter();
        ckpt.values().forEach((name, values) -> {
            if (name.equals(misshaped)) {
                w.add(name, DType.F32, new long[] {values.length - 1}, Arrays.copyOf(values, values.length - 1));
            } else if (!name.equals(missing)) {
                w.add(TensorNaming.LANGUAGE_MODEL.fileName(name), DType.F32, ckpt.shapes().get(name), values);
            }
        });
        Path file = ckpt.directory().resolve("model.safetensors");
        w.write(file);
        assertThatThrownBy(() -> GemmaWeights.open(ckpt.directory(), ckpt.config())).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("checkpoint in " + ckpt.directory())
                .hasMessageContaining("lacks 1 tensor(s) the config needs: [language_model.model." + missing + "]")
                .hasMessageContaining("has 1 tensor(s) of another shape than the config expects: [tensor " + misshaped
                        + " (VISION_FFN_UP_BIAS of layer 1) in " + file + " has shape [31] but the config expects [32]]");
    }

    @Test
    void missingTensorIsNamed() {
        TinyCheckpoint ckpt = tiny(TensorNaming.MODEL_LANGUAGE_MODEL, DType.F32, 1);
        SafetensorsWriter w = new SafetensorsWriter();
        ckpt.values().forEach((name, v) -> {
            if (!name.equals("layers.1.self_attn.k_norm.weight")) {
                w.add(TensorNaming.MODEL_LANGUAGE_MODEL.fileName(name), DType.F32, ckpt.shapes().get(name), v);
            }
        });
        w.write(ckpt.directory().resolve("model.safetensors"));
        assertThatThrownBy(() -> GemmaWeights.open(ckpt.directory(), ckpt.config())).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("lacks 1 tensor(s)")
                .hasMessageContaining("model.language_model.layers.1.self_attn.k_norm.weight");
    }

    @Test
    void truncatedFileIsNamed() throws IOException {
        TinyCheckpoint ckpt = tiny(TensorNaming.TEXT, DType.BF16, 1);
        Path f = ckpt.files().get(0);
        byte[] all = Files.readAllBytes(f);
        Files.write(f, Arrays.copyOf(all, all.length - 100));
        assertThatThrownBy(() -> GemmaWeights.open(ckpt.directory(), ckpt.config())).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining(f.toString()).hasMessageContaining("truncated");
    }

    @Test
    void corruptHeaderIsNamed() throws IOException {
        TinyCheckpoint ckpt = tiny(TensorNaming.TEXT, DType.BF16, 2);
        Path f = ckpt.files().get(1);
        byte[] all = Files.readAllBytes(f);
        byte[] junk = "#garbage#".getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(junk, 0, all, 8, junk.length);
        Files.write(f, all);
        assertThatThrownBy(() -> GemmaWeights.open(ckpt.directory(), ckpt.config())).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining(f.toString()).hasMessageContaining("corrupt header");
        ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN).putLong(0, Long.MAX_VALUE);
        Files.write(f, all);
        assertThatThrownBy(() -> GemmaWeights.open(ckpt.directory(), ckpt.config())).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining(f.toString()).hasMessageContaining("corrupt header length");
    }

    @Test
    void nonGemmaConfigIsRejectedBeforeWeights() throws IOException {
        TinyCheckpoint ckpt = tiny(TensorNaming.TEXT, DType.F32, 1);
        Path cfgFile = ckpt.directory().resolve("config.json");
        Files.writeString(cfgFile, "{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\", \"hidden_size\": 32}");
        assertThatThrownBy(() -> GemmaConfig.load(ckpt.directory())).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining(cfgFile.toString()).hasMessageContaining("not a Gemma 3 config");
    }

    @Test
    void noWeightsAndUnknownNamingAreReported() throws IOException {
        TinyCheckpoint ckpt = tiny(TensorNaming.TEXT, DType.F32, 1);
        Files.delete(ckpt.files().get(0));
        assertThatThrownBy(() -> GemmaWeights.open(ckpt.directory(), ckpt.config())).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("no model.safetensors or model.safetensors.index.json");
        new SafetensorsWriter().add("transformer.wte.weight", DType.F32, new long[] {2}, new float[2])
                .write(ckpt.directory().resolve("model.safetensors"));
        assertThatThrownBy(() -> GemmaWeights.open(ckpt.directory(), ckpt.config())).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("cannot find the token embedding").hasMessageContaining("transformer.wte.weight");
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(value = TensorNaming.class, names = {"LANGUAGE_MODEL", "MODEL_LANGUAGE_MODEL"})
    void visionTowerTensorsAreWrittenAndCheckedUnderEachMultimodalScheme(TensorNaming scheme) {
        dev.gemmaflink.runtime.config.VisionConfig v = new dev.gemmaflink.runtime.config.VisionConfig(16, 32, 2, 2, 3, 28, 14,
                1e-6);
        TinyCheckpoint ckpt = TinyCheckpointWriter.write(tmp.resolve("v"), TinyCheckpointSpec.builder().layers(1).hidden(32)
                .intermediate(48).heads(4).kvHeads(2).headDim(8).scheme(scheme).vision(v).build());
        GemmaConfig cfg = GemmaConfig.load(ckpt.directory());
        assertThat(cfg.vision()).contains(v);
        try (GemmaWeights w = GemmaWeights.open(ckpt.directory(), cfg)) {
            String root = scheme == TensorNaming.LANGUAGE_MODEL ? "" : "model.";
            TensorData patch = w.tensor("vision_tower.vision_model.embeddings.patch_embedding.weight");
            assertThat(patch.name()).isEqualTo(root + "vision_tower.vision_model.embeddings.patch_embedding.weight");
            assertThat(patch.shape()).containsExactly(16, 3, 14, 14);
            assertThat(w.tensor("vision_tower.vision_model.embeddings.position_embedding.weight").shape()).containsExactly(4, 16);
            assertThat(w.tensor("multi_modal_projector.mm_input_projection_weight").shape()).containsExactly(16, 32);
            assertThat(w.tensor("vision_tower.vision_model.encoder.layers.1.mlp.fc1.weight").toFloatArray())
                    .containsExactly(ckpt.value("vision_tower.vision_model.encoder.layers.1.mlp.fc1.weight"));
        }
        // A multimodal config whose checkpoint lacks the tower fails on the first vision tensor.
        TinyCheckpoint textOnly = TinyCheckpointWriter.write(tmp.resolve("t"), TinyCheckpointSpec.builder().layers(1).hidden(32)
                .intermediate(48).heads(4).kvHeads(2).headDim(8).scheme(scheme).build());
        assertThatThrownBy(() -> GemmaWeights.open(textOnly.directory(), cfg.toBuilder().numHiddenLayers(1).build()))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("vision_tower.vision_model.embeddings");
    }
}
