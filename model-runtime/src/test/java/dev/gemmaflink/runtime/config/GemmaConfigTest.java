package dev.gemmaflink.runtime.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemmaflink.runtime.ModelLoadException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class GemmaConfigTest {
    @TempDir
    Path tmp;

    static String resource(String name) {
        try (InputStream in = GemmaConfigTest.class.getResourceAsStream("/configs/" + name)) {
            assertThat(in).as("test resource %s", name).isNotNull();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    static GemmaConfig released(String size) {
        return GemmaConfig.parse(resource("gemma-3-" + size + "-it.json"), size);
    }

    /** Indices i with (i + 1) % 6 == 0: the global layers of the released checkpoints. */
    static List<Integer> globalsEverySixth(int layers) {
        List<Integer> out = new ArrayList<>();
        for (int i = 5; i < layers; i += 6) {
            out.add(i);
        }
        return out;
    }

    static List<Integer> globalLayers(GemmaConfig c) {
        return IntStream.range(0, c.numHiddenLayers()).filter(i -> c.layerType(i) == LayerType.FULL_ATTENTION).boxed()
                .toList();
    }

    @Test
    void released1bTextOnlyConfig() {
        GemmaConfig c = released("1b");
        assertThat(c.architecture()).isEqualTo("Gemma3ForCausalLM");
        assertThat(c.multimodal()).isFalse();
        assertThat(c.vision()).isEmpty();
        assertThat(c.hiddenSize()).isEqualTo(1152);
        assertThat(c.intermediateSize()).isEqualTo(6912);
        assertThat(c.numHiddenLayers()).isEqualTo(26);
        assertThat(c.numAttentionHeads()).isEqualTo(4);
        assertThat(c.numKeyValueHeads()).isEqualTo(1);
        assertThat(c.headDim()).isEqualTo(256);
        assertThat(c.queriesPerKeyValue()).isEqualTo(4);
        assertThat(c.vocabSize()).isEqualTo(262_144);
        assertThat(c.slidingWindow()).isEqualTo(512);
        assertThat(c.maxPositionEmbeddings()).isEqualTo(32_768);
        assertThat(c.rmsNormEps()).isEqualTo(1e-6);
        assertThat(c.queryPreAttnScalar()).isEqualTo(256.0);
        assertThat(c.ropeLocalTheta()).isEqualTo(10_000.0);
        assertThat(c.ropeGlobalTheta()).isEqualTo(1_000_000.0);
        assertThat(c.ropeGlobalScaling()).isEqualTo(1.0);
        assertThat(c.slidingWindowPattern()).contains(6);
        assertThat(c.layerTypes()).hasSize(26);
        assertThat(globalLayers(c)).containsExactly(5, 11, 17, 23);
        assertThat(c.bosTokenId()).isEqualTo(2);
        assertThat(c.padTokenId()).isEqualTo(0);
        assertThat(c.eosTokenIds()).containsExactly(1, 106);
        assertThat(c.torchDtype()).isEqualTo("bfloat16");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        // size, hidden, inter, layers, heads, kv, headDim, qScalar
        "4b, 2560, 10240, 34, 8, 4, 256, 256",
        "12b, 3840, 15360, 48, 16, 8, 256, 256",
        "27b, 5376, 21504, 62, 32, 16, 128, 168",
    })
    void releasedMultimodalConfigsGetTransformersDefaults(String size, int hidden, int inter, int layers, int heads, int kv,
            int headDim, double qScalar) {
        GemmaConfig c = released(size);
        assertThat(c.architecture()).isEqualTo("Gemma3ForConditionalGeneration");
        assertThat(c.multimodal()).isTrue();
        assertThat(c.hiddenSize()).isEqualTo(hidden);
        assertThat(c.intermediateSize()).isEqualTo(inter);
        assertThat(c.numHiddenLayers()).isEqualTo(layers);
        assertThat(c.numAttentionHeads()).isEqualTo(heads);
        assertThat(c.numKeyValueHeads()).isEqualTo(kv);
        assertThat(c.headDim()).isEqualTo(headDim);
        assertThat(c.queryPreAttnScalar()).isEqualTo(qScalar);
        // Absent from the files: Gemma3TextConfig defaults.
        assertThat(c.vocabSize()).isEqualTo(262_208);
        assertThat(c.maxPositionEmbeddings()).isEqualTo(131_072);
        assertThat(c.rmsNormEps()).isEqualTo(1e-6);
        assertThat(c.ropeLocalTheta()).isEqualTo(10_000.0);
        assertThat(c.ropeGlobalTheta()).isEqualTo(1_000_000.0);
        assertThat(c.slidingWindowPattern()).contains(6);
        // Present in the files.
        assertThat(c.slidingWindow()).isEqualTo(1024);
        assertThat(c.ropeGlobalScaling()).isEqualTo(8.0);
        assertThat(c.ropeScaling(LayerType.FULL_ATTENTION)).isEqualTo(8.0);
        assertThat(c.ropeScaling(LayerType.SLIDING_ATTENTION)).isEqualTo(1.0);
        assertThat(c.ropeTheta(LayerType.SLIDING_ATTENTION)).isEqualTo(10_000.0);
        assertThat(globalLayers(c)).isEqualTo(globalsEverySixth(layers));
        assertThat(c.imageTokenId()).isEqualTo(262_144);
        assertThat(c.boiTokenId()).isEqualTo(255_999);
        assertThat(c.eoiTokenId()).isEqualTo(256_000);
        assertThat(c.mmTokensPerImage()).isEqualTo(256);
        assertThat(c.eosTokenIds()).containsExactly(1, 106);
        VisionConfig v = c.vision().orElseThrow();
        assertThat(v).isEqualTo(VisionConfig.gemma3Siglip());
        assertThat(v.numPatches()).isEqualTo(4096);
        assertThat(v.headDim()).isEqualTo(72);
    }

    @Test
    void loadsFromDirectoryOrFile() throws IOException {
        Files.writeString(tmp.resolve("config.json"), resource("gemma-3-1b-it.json"));
        assertThat(GemmaConfig.load(tmp)).isEqualTo(GemmaConfig.load(tmp.resolve("config.json")));
        assertThat(GemmaConfig.load(tmp).hiddenSize()).isEqualTo(1152);
    }

    @Test
    void missingConfigIsReportedWithItsPath() {
        assertThatThrownBy(() -> GemmaConfig.load(tmp))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("config.json not found")
                .hasMessageContaining(tmp.toString());
    }

    @Test
    void explicitLayerTypesWinOverThePattern() {
        String json = resource("gemma-3-1b-it.json").replace("\"num_hidden_layers\": 26", "\"num_hidden_layers\": 3")
                .replace("\"sliding_window_pattern\": 6,",
                        "\"layer_types\": [\"full_attention\", \"sliding_attention\", \"full_attention\"],");
        GemmaConfig c = GemmaConfig.parse(json, "t");
        assertThat(c.layerTypes()).containsExactly(LayerType.FULL_ATTENTION, LayerType.SLIDING_ATTENTION,
                LayerType.FULL_ATTENTION);
        assertThat(c.slidingWindowPattern()).isEmpty();
    }

    @Test
    void perLayerTypeRopeParametersOfNewerFiles() {
        String json = resource("gemma-3-1b-it.json").replace("\"rope_scaling\": null,",
                "\"rope_parameters\": {\"full_attention\": {\"rope_type\": \"linear\", \"factor\": 4.0, \"rope_theta\": 500000.0},"
                        + " \"sliding_attention\": {\"rope_type\": \"default\", \"rope_theta\": 20000.0}},");
        GemmaConfig c = GemmaConfig.parse(json, "t");
        assertThat(c.ropeGlobalTheta()).isEqualTo(500_000.0);
        assertThat(c.ropeGlobalScaling()).isEqualTo(4.0);
        assertThat(c.ropeLocalTheta()).isEqualTo(20_000.0);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "llama model type|\"model_type\": \"gemma3_text\"|\"model_type\": \"llama\"|not a Gemma 3 config: model_type is 'llama'",
        "other architecture|\"Gemma3ForCausalLM\"|\"LlamaForCausalLM\"|unsupported architecture 'LlamaForCausalLM'",
        "attention softcap|\"attn_logit_softcapping\": null|\"attn_logit_softcapping\": 50.0|attn_logit_softcapping is 50.0",
        "final softcap|\"final_logit_softcapping\": null|\"final_logit_softcapping\": 30.0|final_logit_softcapping is 30.0",
        "unknown rope type|\"rope_scaling\": null|\"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 2.0}|unsupported rope_type 'yarn'",
        "activation|\"gelu_pytorch_tanh\"|\"gelu\"|hidden_activation 'gelu' is not supported",
        "layer types length|\"sliding_window_pattern\": 6|\"layer_types\": [\"full_attention\"]|layer_types has 1 entries but num_hidden_layers is 26",
        "unknown layer type|\"sliding_window_pattern\": 6|\"layer_types\": [\"chunked_attention\"]|unknown layer type 'chunked_attention'",
        "gqa mismatch|\"num_key_value_heads\": 1|\"num_key_value_heads\": 3|num_attention_heads 4 is not a multiple of num_key_value_heads 3",
        "attention bias|\"attention_bias\": false|\"attention_bias\": true|attention_bias true is not supported",
        "string for int|\"hidden_size\": 1152|\"hidden_size\": \"big\"|hidden_size must be an integer",
        "negative size|\"hidden_size\": 1152|\"hidden_size\": -1|hidden_size must be positive",
    })
    void unsupportedValuesAreRejectedByName(String name, String from, String to, String message) {
        String json = resource("gemma-3-1b-it.json");
        assertThat(json).contains(from);
        String bad = json.replace(from, to);
        assertThatThrownBy(() -> GemmaConfig.parse(bad, "bad.json"))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("bad.json")
                .hasMessageContaining(message);
    }

    @Test
    void multimodalRejectsBadNesting() {
        String json = resource("gemma-3-4b-it.json");
        assertThatThrownBy(() -> GemmaConfig.parse(json.replace("\"text_config\"", "\"txt_config\""), "m"))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("no text_config");
        assertThatThrownBy(() -> GemmaConfig.parse(json.replace("\"rope_type\": \"linear\"", "\"rope_type\": \"dynamic\""), "m"))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("text_config.rope_scaling")
                .hasMessageContaining("'dynamic'");
        assertThatThrownBy(() -> GemmaConfig.parse(json.replace("\"siglip_vision_model\"", "\"clip_vision_model\""), "m"))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("vision_config.model_type 'clip_vision_model'");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "{", "[1, 2]", "{\"model_type\": \"gemma3_text\", \"model_type\": \"gemma3\"}", "null"})
    void malformedJsonIsAModelLoadException(String text) {
        assertThatThrownBy(() -> GemmaConfig.parse(text, "x.json"))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("x.json");
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"1b", "4b", "12b", "27b"})
    void toJsonRoundTripsReleasedConfigs(String size) {
        GemmaConfig c = released(size);
        GemmaConfig again = GemmaConfig.parse(c.toJson(), "roundtrip");
        assertThat(again).isEqualTo(c);
        // Written as an integer like Google's files: transformers 5 refuses a float here (seen: 24.0 rejected).
        assertThat(c.toJson()).containsPattern("\"query_pre_attn_scalar\" : \\d+,");
    }

    @Test
    void fractionalQueryScalarStaysFractional() {
        GemmaConfig c = GemmaConfig.builder().hiddenSize(64).intermediateSize(128).numHiddenLayers(2)
                .numAttentionHeads(4).numKeyValueHeads(2).headDim(16).vocabSize(512).slidingWindow(8)
                .queryPreAttnScalar(12.5).build();
        assertThat(c.toJson()).contains("\"query_pre_attn_scalar\" : 12.5");
        assertThat(GemmaConfig.parse(c.toJson(), "q")).isEqualTo(c);
    }

    @Test
    void builderRoundTripsBothLayerTypeStyles() {
        GemmaConfig pattern = GemmaConfig.builder().hiddenSize(64).intermediateSize(128).numHiddenLayers(4)
                .numAttentionHeads(4).numKeyValueHeads(2).headDim(16).vocabSize(512).slidingWindow(8)
                .slidingWindowPattern(2).ropeGlobalScaling(8.0).build();
        assertThat(pattern.layerTypes()).containsExactly(LayerType.SLIDING_ATTENTION, LayerType.FULL_ATTENTION,
                LayerType.SLIDING_ATTENTION, LayerType.FULL_ATTENTION);
        assertThat(pattern.toJson()).contains("\"sliding_window_pattern\" : 2").doesNotContain("layer_types");
        assertThat(GemmaConfig.parse(pattern.toJson(), "p")).isEqualTo(pattern);

        GemmaConfig listed = pattern.toBuilder().layerTypes(List.of(LayerType.FULL_ATTENTION, LayerType.FULL_ATTENTION,
                LayerType.SLIDING_ATTENTION, LayerType.SLIDING_ATTENTION)).architecture(GemmaConfig.CONDITIONAL_GENERATION)
                .build();
        assertThat(listed.toJson()).contains("\"layer_types\"").contains("\"text_config\"");
        assertThat(GemmaConfig.parse(listed.toJson(), "l")).isEqualTo(listed);
        assertThat(listed.multimodal()).isTrue();
        assertThat(listed.vision()).isEmpty();
    }

    @Test
    void stopIdsAreEosAndEndOfTurnOfTheGemmaVocabulary() {
        assertThat(GemmaConfig.EOS).isEqualTo(1);
        assertThat(GemmaConfig.END_OF_TURN).isEqualTo(106);
        GemmaConfig c = GemmaConfig.builder().hiddenSize(8).intermediateSize(8).numHiddenLayers(1).numAttentionHeads(1)
                .numKeyValueHeads(1).headDim(8).vocabSize(512).slidingWindow(4).build();
        assertThat(c.eosTokenIds()).containsExactly(GemmaConfig.EOS, GemmaConfig.END_OF_TURN);
    }

    @Test
    void tinyVocabularyDropsStopIdsItCannotHold() {
        GemmaConfig c = GemmaConfig.builder().hiddenSize(8).intermediateSize(8).numHiddenLayers(1).numAttentionHeads(1)
                .numKeyValueHeads(1).headDim(8).vocabSize(64).slidingWindow(4).build();
        assertThat(c.eosTokenIds()).containsExactly(GemmaConfig.EOS);
        assertThatThrownBy(() -> c.toBuilder().bosTokenId(64).build())
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("bos_token_id 64 is outside the vocabulary of 64");
    }
}
