package dev.gemmaflink.runtime.tools.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gemmaflink.runtime.config.GemmaConfig;
import dev.gemmaflink.runtime.config.LayerType;
import dev.gemmaflink.runtime.config.VisionConfig;
import dev.gemmaflink.runtime.weights.DType;
import dev.gemmaflink.runtime.weights.HalfFloats;
import dev.gemmaflink.runtime.weights.TensorNaming;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TinyCheckpointWriterTest {
    /** A tower of 56 x 56 images in 4 x 4 patches of 14. */
    private static final VisionConfig TINY_TOWER = new VisionConfig(32, 64, 2, 2, 3, 56, 14, 1e-6);

    @TempDir
    Path tmp;

    @Test
    void configJsonDescribesTheSpec() throws IOException {
        TinyCheckpointSpec spec = TinyCheckpointSpec.builder().layers(4).hidden(48).intermediate(96).heads(6).kvHeads(3)
                .headDim(8).window(5).vocab(400).ropeScaling(true).layerTypesInConfig(false).slidingWindowPattern(2)
                .build();
        TinyCheckpoint ckpt = TinyCheckpointWriter.write(tmp, spec);
        GemmaConfig c = GemmaConfig.load(tmp);
        assertThat(c).isEqualTo(ckpt.config());
        assertThat(c.architecture()).isEqualTo(GemmaConfig.CAUSAL_LM);
        assertThat(c.hiddenSize()).isEqualTo(48);
        assertThat(c.intermediateSize()).isEqualTo(96);
        assertThat(c.numAttentionHeads()).isEqualTo(6);
        assertThat(c.numKeyValueHeads()).isEqualTo(3);
        assertThat(c.headDim()).isEqualTo(8);
        assertThat(c.slidingWindow()).isEqualTo(5);
        assertThat(c.vocabSize()).isEqualTo(400);
        assertThat(c.queryPreAttnScalar()).isEqualTo(8.0);
        assertThat(c.ropeGlobalScaling()).isEqualTo(8.0);
        assertThat(c.layerTypes()).containsExactly(LayerType.SLIDING_ATTENTION, LayerType.FULL_ATTENTION,
                LayerType.SLIDING_ATTENTION, LayerType.FULL_ATTENTION);
        String json = Files.readString(tmp.resolve("config.json"));
        assertThat(json).contains("\"sliding_window_pattern\" : 2").doesNotContain("layer_types")
                .contains("\"rope_type\" : \"linear\"");
        assertThat(Files.exists(tmp.resolve("tokenizer.json"))).isTrue();
        assertThat(Files.exists(tmp.resolve("generation_config.json"))).isTrue();
    }

    @Test
    void defaultsGiveFiveLocalLayersThenOneGlobalListedExplicitly() throws IOException {
        TinyCheckpoint ckpt = TinyCheckpointWriter.write(tmp, TinyCheckpointSpec.builder().build());
        assertThat(ckpt.config().layerTypes()).containsExactly(LayerType.SLIDING_ATTENTION, LayerType.SLIDING_ATTENTION,
                LayerType.SLIDING_ATTENTION, LayerType.SLIDING_ATTENTION, LayerType.SLIDING_ATTENTION,
                LayerType.FULL_ATTENTION);
        assertThat(ckpt.config().ropeGlobalScaling()).isEqualTo(1.0);
        assertThat(ckpt.config().vocabSize()).isEqualTo(512);
        String json = Files.readString(tmp.resolve("config.json"));
        assertThat(json).contains("\"layer_types\"").contains("\"rope_scaling\" : null");
        assertThat(ckpt.files()).containsExactly(tmp.resolve("model.safetensors"));
    }

    @Test
    void multimodalSchemesWriteTheNestedLayout() throws IOException {
        TinyCheckpoint ckpt = TinyCheckpointWriter.write(tmp,
                TinyCheckpointSpec.builder().scheme(TensorNaming.LANGUAGE_MODEL).layers(1).build());
        assertThat(Files.readString(tmp.resolve("config.json"))).contains("\"text_config\"")
                .contains("Gemma3ForConditionalGeneration");
        assertThat(ckpt.config().multimodal()).isTrue();
        assertThat(ckpt.config().vision()).isEmpty();
    }

    @Test
    void sameSeedSameWeightsOtherSeedOtherWeights() {
        TinyCheckpoint a = TinyCheckpointWriter.write(tmp.resolve("a"), TinyCheckpointSpec.builder().seed(5).build());
        TinyCheckpoint b = TinyCheckpointWriter.write(tmp.resolve("b"), TinyCheckpointSpec.builder().seed(5).build());
        TinyCheckpoint c = TinyCheckpointWriter.write(tmp.resolve("c"), TinyCheckpointSpec.builder().seed(6).build());
        String name = "layers.3.self_attn.o_proj.weight";
        assertThat(a.value(name)).containsExactly(b.value(name));
        assertThat(a.value(name)).isNotEqualTo(c.value(name));
    }

    @Test
    void scalesAreSaneAndBf16ValuesAreRepresentable() {
        TinyCheckpoint ckpt = TinyCheckpointWriter.write(tmp,
                TinyCheckpointSpec.builder().hidden(64).intermediate(256).dtype(DType.BF16).build());
        float[] down = ckpt.value("layers.0.mlp.down_proj.weight"); // fan-in 256
        assertThat(std(down)).isBetween(0.8 / 16, 1.2 / 16);
        float[] norm = ckpt.value("layers.0.input_layernorm.weight");
        assertThat(Math.abs(mean(norm))).isLessThan(0.05);
        assertThat(std(norm)).isBetween(0.05, 0.15);
        float[] emb = ckpt.value("embed_tokens.weight");
        assertThat(std(emb)).isBetween(0.9 / 8, 1.1 / 8);
        for (float v : down) {
            assertThat(HalfFloats.roundToBf16(v)).isEqualTo(v);
        }
    }

    @Test
    void shardsSplitTheTensorsWithAnIndex() throws IOException {
        TinyCheckpoint ckpt = TinyCheckpointWriter.write(tmp, TinyCheckpointSpec.builder().layers(2).shards(4).build());
        assertThat(ckpt.files()).hasSize(4);
        for (Path f : ckpt.files()) {
            assertThat(Files.size(f)).isGreaterThan(8);
        }
        String index = Files.readString(tmp.resolve("model.safetensors.index.json"));
        assertThat(index).contains("\"weight_map\"").contains("model-00004-of-00004.safetensors")
                .contains("\"model.embed_tokens.weight\"");
    }

    @Test
    void invalidSpecsAreRefusedWithReasons() {
        assertThatThrownBy(() -> TinyCheckpointSpec.builder().heads(4).kvHeads(3).build())
                .hasMessageContaining("num_attention_heads 4 is not a multiple of num_key_value_heads 3");
        assertThatThrownBy(() -> TinyCheckpointSpec.builder().vocab(4).build()).hasMessageContaining("vocab must be at least");
        assertThatThrownBy(() -> TinyCheckpointSpec.builder().realTokenizer(true).vocab(512).build())
                .hasMessageContaining("realTokenizer needs vocab >= 262144");
        assertThatThrownBy(() -> TinyCheckpointSpec.builder().layers(1).shards(100).build())
                .hasMessageContaining("shards 100 exceed");
        assertThatThrownBy(() -> TinyCheckpointSpec.builder().layerTypes(List.of(LayerType.FULL_ATTENTION)).build())
                .hasMessageContaining("layer_types has 1 entries but num_hidden_layers is 6");
        assertThat(TinyCheckpointSpec.builder().realTokenizer(true).build().vocab()).isEqualTo(262_144);
        assertThatThrownBy(() -> TinyCheckpointSpec.builder().realTokenizer(true).scheme(TensorNaming.LANGUAGE_MODEL)
                .vision(TINY_TOWER).imageTokenIds(6, 7, 262_144).build())
                .hasMessageContaining("image token ids must be its <start_of_image> 255999, <end_of_image> 256000 and "
                        + "<image_soft_token> 262144, got 6, 7, 262144");
    }

    @Test
    void aMultimodalCheckpointWithTheRealTokenizerNamesThatTokenizersImageTokens() throws IOException {
        TinyCheckpoint ckpt = TinyCheckpointWriter.write(tmp, TinyCheckpointSpec.builder().realTokenizer(true).layers(1)
                .hidden(16).intermediate(32).heads(2).kvHeads(1).headDim(8).scheme(TensorNaming.LANGUAGE_MODEL)
                .vision(TINY_TOWER).mmTokensPerImage(4).build());
        GemmaConfig c = GemmaConfig.load(tmp);
        assertThat(c).isEqualTo(ckpt.config());
        assertThat(c.architecture()).isEqualTo(GemmaConfig.CONDITIONAL_GENERATION);
        assertThat(c.vision()).contains(TINY_TOWER);
        assertThat(c.vocabSize()).isEqualTo(TinyCheckpointSpec.REAL_VOCAB);
        // The ids the prompt builder inserts are the ones the copied tokenizer gives those names.
        Map<String, Integer> added = new HashMap<>();
        for (JsonNode t : addedTokens(ckpt.tokenizerJson())) {
            added.put(t.get("content").asText(), t.get("id").asInt());
        }
        assertThat(added).containsEntry("<start_of_image>", c.boiTokenId())
                .containsEntry("<end_of_image>", c.eoiTokenId()).containsEntry("<image_soft_token>", c.imageTokenId());
    }

    /** The {@code added_tokens} array, read without parsing the 33 MB of vocabulary and merges after it. */
    private static JsonNode addedTokens(Path tokenizerJson) throws IOException {
        ObjectMapper mapper = new ObjectMapper();
        try (JsonParser p = mapper.getFactory().createParser(tokenizerJson.toFile())) {
            assertThat(p.nextToken()).isEqualTo(JsonToken.START_OBJECT);
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.getCurrentName();
                p.nextToken();
                if (field.equals("added_tokens")) {
                    return mapper.readTree(p);
                }
                p.skipChildren();
            }
        }
        throw new AssertionError(tokenizerJson + " has no added_tokens");
    }

    private static double mean(float[] v) {
        double s = 0;
        for (float x : v) {
            s += x;
        }
        return s / v.length;
    }

    private static double std(float[] v) {
        double m = mean(v);
        double s = 0;
        for (float x : v) {
            s += (x - m) * (x - m);
        }
        return Math.sqrt(s / v.length);
    }
}
