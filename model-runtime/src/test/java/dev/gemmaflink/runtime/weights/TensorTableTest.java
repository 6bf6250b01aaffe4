package dev.gemmaflink.runtime.weights;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemmaflink.runtime.config.GemmaConfig;
import dev.gemmaflink.runtime.config.LayerType;
import dev.gemmaflink.runtime.config.VisionConfig;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointSpec;
import dev.gemmaflink.runtime.weights.TensorKind.Group;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class TensorTableTest {

    private static GemmaConfig released(String size) {
        String name = "/configs/gemma-3-" + size + "-it.json";
        try (InputStream in = TensorTableTest.class.getResourceAsStream(name)) {
            assertThat(in).as("test resource %s", name).isNotNull();
            return GemmaConfig.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), size);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static GemmaConfig tiny(VisionConfig vision) {
        TinyCheckpointSpec.Builder b = TinyCheckpointSpec.builder().layers(3).hidden(32).intermediate(48).heads(4)
                .kvHeads(2).headDim(8).vocab(300);
        if (vision != null) {
            b.scheme(TensorNaming.LANGUAGE_MODEL).vision(vision);
        }
        return b.build().toConfig();
    }

    @Test
    void gemma3OneBillionTextOnly() {
        GemmaConfig c = released("1b");
        TensorTable t = TensorTable.of(c);
        assertThat(t.vision()).isEmpty();
        assertThat(t.text()).hasSize(26 * 13 + 2);

        TensorSlot emb = t.get(TensorKind.TOKEN_EMBEDDING);
        assertThat(emb.name()).isEqualTo("embed_tokens.weight");
        assertThat(emb.storedName(TensorNaming.TEXT)).isEqualTo("model.embed_tokens.weight");
        assertThat(emb.shape()).containsExactly(262_144, 1152);
        assertThat(t.get(TensorKind.OUTPUT_NORM).storedName(TensorNaming.TEXT)).isEqualTo("model.norm.weight");
        assertThat(t.get(TensorKind.OUTPUT_NORM).shape()).containsExactly(1152);

        // Layer 0 is a sliding-window layer, layer 5 a global one: same tensors, same shapes.
        assertThat(c.layerType(0)).isEqualTo(LayerType.SLIDING_ATTENTION);
        assertThat(c.layerType(5)).isEqualTo(LayerType.FULL_ATTENTION);
        for (int layer : new int[] {0, 5}) {
            String p = "model.layers." + layer + ".";
            assertSlot(t.get(TensorKind.ATTN_Q, layer), TensorNaming.TEXT, p + "self_attn.q_proj.weight", 1024, 1152);
            assertSlot(t.get(TensorKind.ATTN_K, layer), TensorNaming.TEXT, p + "self_attn.k_proj.weight", 256, 1152);
            assertSlot(t.get(TensorKind.ATTN_V, layer), TensorNaming.TEXT, p + "self_attn.v_proj.weight", 256, 1152);
            assertSlot(t.get(TensorKind.ATTN_OUTPUT, layer), TensorNaming.TEXT, p + "self_attn.o_proj.weight", 1152, 1024);
            assertSlot(t.get(TensorKind.ATTN_Q_NORM, layer), TensorNaming.TEXT, p + "self_attn.q_norm.weight", 256);
            assertSlot(t.get(TensorKind.ATTN_K_NORM, layer), TensorNaming.TEXT, p + "self_attn.k_norm.weight", 256);
            assertSlot(t.get(TensorKind.FFN_GATE, layer), TensorNaming.TEXT, p + "mlp.gate_proj.weight", 6912, 1152);
            assertSlot(t.get(TensorKind.FFN_UP, layer), TensorNaming.TEXT, p + "mlp.up_proj.weight", 6912, 1152);
            assertSlot(t.get(TensorKind.FFN_DOWN, layer), TensorNaming.TEXT, p + "mlp.down_proj.weight", 1152, 6912);
            assertSlot(t.get(TensorKind.ATTN_NORM, layer), TensorNaming.TEXT, p + "input_layernorm.weight", 1152);
            assertSlot(t.get(TensorKind.ATTN_POST_NORM, layer), TensorNaming.TEXT,
                    p + "post_attention_layernorm.weight", 1152);
            assertSlot(t.get(TensorKind.FFN_NORM, layer), TensorNaming.TEXT, p + "pre_feedforward_layernorm.weight", 1152);
            assertSlot(t.get(TensorKind.FFN_POST_NORM, layer), TensorNaming.TEXT,
                    p + "post_feedforward_layernorm.weight", 1152);
        }
        assertThat(t.get(TensorKind.ATTN_Q_NORM, 5).describe()).isEqualTo("ATTN_Q_NORM of layer 5");
    }

    @Test
    void gemma3FourBillionWithVision() {
        TensorTable t = TensorTable.of(released("4b"));
        assertThat(t.text()).hasSize(34 * 13 + 2);
        assertThat(t.vision()).hasSize(3 + 27 * 16 + 4);

        assertSlot(t.get(TensorKind.TOKEN_EMBEDDING), TensorNaming.LANGUAGE_MODEL,
                "language_model.model.embed_tokens.weight", 262_208, 2560);
        assertSlot(t.get(TensorKind.ATTN_Q, 0), TensorNaming.LANGUAGE_MODEL,
                "language_model.model.layers.0.self_attn.q_proj.weight", 2048, 2560);
        assertSlot(t.get(TensorKind.ATTN_K, 0), TensorNaming.LANGUAGE_MODEL,
                "language_model.model.layers.0.self_attn.k_proj.weight", 1024, 2560);
        assertSlot(t.get(TensorKind.ATTN_OUTPUT, 5), TensorNaming.MODEL_LANGUAGE_MODEL,
                "model.language_model.layers.5.self_attn.o_proj.weight", 2560, 2048);
        assertSlot(t.get(TensorKind.ATTN_Q_NORM, 5), TensorNaming.LANGUAGE_MODEL,
                "language_model.model.layers.5.self_attn.q_norm.weight", 256);
        assertSlot(t.get(TensorKind.ATTN_K_NORM, 33), TensorNaming.MODEL_LANGUAGE_MODEL,
                "model.language_model.layers.33.self_attn.k_norm.weight", 256);
        assertSlot(t.get(TensorKind.FFN_DOWN, 11), TensorNaming.LANGUAGE_MODEL,
                "language_model.model.layers.11.mlp.down_proj.weight", 2560, 10240);

        assertSlot(t.get(TensorKind.VISION_PATCH_EMBEDDING), TensorNaming.LANGUAGE_MODEL,
                "vision_tower.vision_model.embeddings.patch_embedding.weight", 1152, 3, 14, 14);
        assertSlot(t.get(TensorKind.VISION_PATCH_EMBEDDING), TensorNaming.MODEL_LANGUAGE_MODEL,
                "model.vision_tower.vision_model.embeddings.patch_embedding.weight", 1152, 3, 14, 14);
        assertSlot(t.get(TensorKind.VISION_POSITION_EMBEDDING), TensorNaming.LANGUAGE_MODEL,
                "vision_tower.vision_model.embeddings.position_embedding.weight", 4096, 1152);
        assertSlot(t.get(TensorKind.VISION_ATTN_Q, 26), TensorNaming.LANGUAGE_MODEL,
                "vision_tower.vision_model.encoder.layers.26.self_attn.q_proj.weight", 1152, 1152);
        assertSlot(t.get(TensorKind.VISION_ATTN_OUTPUT_BIAS, 0), TensorNaming.LANGUAGE_MODEL,
                "vision_tower.vision_model.encoder.layers.0.self_attn.out_proj.bias", 1152);
        assertSlot(t.get(TensorKind.VISION_FFN_UP, 3), TensorNaming.LANGUAGE_MODEL,
                "vision_tower.vision_model.encoder.layers.3.mlp.fc1.weight", 4304, 1152);
        assertSlot(t.get(TensorKind.VISION_FFN_DOWN, 3), TensorNaming.LANGUAGE_MODEL,
                "vision_tower.vision_model.encoder.layers.3.mlp.fc2.weight", 1152, 4304);
        assertSlot(t.get(TensorKind.VISION_POST_NORM), TensorNaming.LANGUAGE_MODEL,
                "vision_tower.vision_model.post_layernorm.weight", 1152);
        assertSlot(t.get(TensorKind.PROJECTOR_SOFT_EMB_NORM), TensorNaming.MODEL_LANGUAGE_MODEL,
                "model.multi_modal_projector.mm_soft_emb_norm.weight", 1152);
        assertSlot(t.get(TensorKind.PROJECTOR_INPUT_PROJECTION), TensorNaming.LANGUAGE_MODEL,
                "multi_modal_projector.mm_input_projection_weight", 1152, 2560);
    }

    @Test
    void tinyConfigsListEveryKindOnceOrOncePerLayer() {
        VisionConfig v = new VisionConfig(16, 32, 2, 2, 3, 28, 14, 1e-6);
        TensorTable t = TensorTable.of(tiny(v));
        assertThat(t.text()).hasSize(3 * 13 + 2);
        assertThat(t.vision()).hasSize(3 + 2 * 16 + 4);
        assertThat(t.all()).hasSize(t.text().size() + t.vision().size());
        assertSlot(t.get(TensorKind.ATTN_K, 2), TensorNaming.TEXT, "model.layers.2.self_attn.k_proj.weight", 16, 32);
        assertSlot(t.get(TensorKind.VISION_PATCH_EMBEDDING), TensorNaming.LANGUAGE_MODEL,
                "vision_tower.vision_model.embeddings.patch_embedding.weight", 16, 3, 14, 14);
        assertSlot(t.get(TensorKind.VISION_POSITION_EMBEDDING), TensorNaming.LANGUAGE_MODEL,
                "vision_tower.vision_model.embeddings.position_embedding.weight", 4, 16);
        assertSlot(t.get(TensorKind.PROJECTOR_INPUT_PROJECTION), TensorNaming.LANGUAGE_MODEL,
                "multi_modal_projector.mm_input_projection_weight", 16, 32);

        Set<String> names = new HashSet<>();
        for (TensorSlot s : t.all()) {
            assertThat(names.add(s.name())).as("unique name %s", s.name()).isTrue();
            // Vision tensors are exactly those the naming schemes place under the vision root.
            boolean visionName = s.name().startsWith(TensorNaming.VISION_TOWER)
                    || s.name().startsWith(TensorNaming.PROJECTOR);
            assertThat(visionName).as(s.name()).isEqualTo(s.kind().group().isVision());
        }
        for (TensorKind k : TensorKind.values()) {
            int layers = k.group().isVision() ? v.numHiddenLayers() : 3;
            long count = t.all().stream().filter(s -> s.kind() == k).count();
            assertThat(count).as(k.name()).isEqualTo(k.isPerLayer() ? layers : 1);
        }
        assertThat(TensorTable.of(tiny(null)).vision()).isEmpty();
    }

    @Test
    void indicesAreTheModulesWeightListOrder() {
        TensorTable t = TensorTable.of(tiny(new VisionConfig(16, 32, 2, 2, 3, 28, 14, 1e-6)));
        for (List<TensorSlot> list : List.of(t.text(), t.vision())) {
            for (int i = 0; i < list.size(); i++) {
                TensorSlot s = list.get(i);
                assertThat(s.index()).as(s.toString()).isEqualTo(i);
                if (s.kind().isPerLayer()) {
                    assertThat(s.index()).isEqualTo(t.layerStart(s.kind().group(), s.layer()) + s.kind().indexInGroup());
                } else {
                    assertThat(s.layer()).isEqualTo(TensorSlot.NO_LAYER);
                }
            }
        }
        // tools/hf_parity.py mirrors these orders when it builds the modules' weight lists.
        assertThat(Group.TEXT_LAYER.kinds()).containsExactly(TensorKind.ATTN_NORM, TensorKind.ATTN_Q,
                TensorKind.ATTN_K, TensorKind.ATTN_V, TensorKind.ATTN_OUTPUT, TensorKind.ATTN_Q_NORM,
                TensorKind.ATTN_K_NORM, TensorKind.ATTN_POST_NORM, TensorKind.FFN_NORM, TensorKind.FFN_GATE,
                TensorKind.FFN_UP, TensorKind.FFN_DOWN, TensorKind.FFN_POST_NORM);
        assertThat(t.text().subList(t.text().size() - 2, t.text().size())).extracting(TensorSlot::kind)
                .containsExactly(TensorKind.TOKEN_EMBEDDING, TensorKind.OUTPUT_NORM);
        assertThat(t.vision()).extracting(TensorSlot::name).startsWith(
                "vision_tower.vision_model.embeddings.patch_embedding.weight",
                "vision_tower.vision_model.embeddings.patch_embedding.bias",
                "vision_tower.vision_model.embeddings.position_embedding.weight",
                "vision_tower.vision_model.encoder.layers.0.layer_norm1.weight",
                "vision_tower.vision_model.encoder.layers.0.layer_norm1.bias",
                "vision_tower.vision_model.encoder.layers.0.self_attn.q_proj.weight",
                "vision_tower.vision_model.encoder.layers.0.self_attn.q_proj.bias",
                "vision_tower.vision_model.encoder.layers.0.self_attn.k_proj.weight",
                "vision_tower.vision_model.encoder.layers.0.self_attn.k_proj.bias",
                "vision_tower.vision_model.encoder.layers.0.self_attn.v_proj.weight",
                "vision_tower.vision_model.encoder.layers.0.self_attn.v_proj.bias",
                "vision_tower.vision_model.encoder.layers.0.self_attn.out_proj.weight",
                "vision_tower.vision_model.encoder.layers.0.self_attn.out_proj.bias",
                "vision_tower.vision_model.encoder.layers.0.layer_norm2.weight",
                "vision_tower.vision_model.encoder.layers.0.layer_norm2.bias",
                "vision_tower.vision_model.encoder.layers.0.mlp.fc1.weight",
                "vision_tower.vision_model.encoder.layers.0.mlp.fc1.bias",
                "vision_tower.vision_model.encoder.layers.0.mlp.fc2.weight",
                "vision_tower.vision_model.encoder.layers.0.mlp.fc2.bias");
        assertThat(t.vision().subList(t.vision().size() - 4, t.vision().size())).extracting(TensorSlot::kind)
                .containsExactly(TensorKind.VISION_POST_NORM, TensorKind.VISION_POST_NORM_BIAS,
                        TensorKind.PROJECTOR_SOFT_EMB_NORM, TensorKind.PROJECTOR_INPUT_PROJECTION);
    }

    @Test
    void textModuleJoinsCheckpointTensorsIntoFewerEntries() {
        TensorTable t = TensorTable.of(released("1b"));
        List<FusedSlot> m = t.textModule();
        assertThat(m).hasSize(26 * 7 + 2);
        for (int i = 0; i < m.size(); i++) {
            assertThat(m.get(i).index()).isEqualTo(i);
        }
        // Every checkpoint tensor of the text model lands in exactly one entry.
        assertThat(m.stream().flatMap(f -> f.parts().stream()).map(TensorSlot::name).sorted().toList())
                .isEqualTo(t.text().stream().map(TensorSlot::name).sorted().toList());
        FusedSlot qkv = m.get(t.textModuleLayerStart(5) + FusedKind.ATTN_QKV.indexInGroup());
        assertThat(qkv.kind()).isEqualTo(FusedKind.ATTN_QKV);
        assertThat(qkv.layer()).isEqualTo(5);
        assertThat(qkv.parts()).extracting(TensorSlot::name).containsExactly("layers.5.self_attn.q_proj.weight",
                "layers.5.self_attn.k_proj.weight", "layers.5.self_attn.v_proj.weight",
                "layers.5.input_layernorm.weight");
        assertThat(m.get(t.textModuleIndex(FusedKind.TOKEN_EMBEDDING)).parts()).containsExactly(
                t.get(TensorKind.TOKEN_EMBEDDING));
        assertThat(t.textModuleIndex(FusedKind.OUTPUT_NORM)).isEqualTo(m.size() - 1);
        assertThatThrownBy(() -> t.textModuleIndex(FusedKind.FFN_DOWN)).isInstanceOf(IllegalArgumentException.class);
        // tools/hf_parity.py mirrors this order (LAYER_ENTRIES, MODEL_ENTRIES) when it builds the weight list.
        assertThat(FusedKind.kinds(true)).containsExactly(FusedKind.ATTN_QKV, FusedKind.ATTN_QK_NORM,
                FusedKind.ATTN_OUTPUT, FusedKind.ATTN_POST_NORM, FusedKind.FFN_GATE_UP, FusedKind.FFN_DOWN,
                FusedKind.FFN_POST_NORM);
        assertThat(FusedKind.FFN_GATE_UP.parts()).containsExactly(TensorKind.FFN_GATE, TensorKind.FFN_UP,
                TensorKind.FFN_NORM);
        assertThat(FusedKind.ATTN_QK_NORM.parts()).containsExactly(TensorKind.ATTN_Q_NORM, TensorKind.ATTN_K_NORM);
        assertThat(FusedKind.kinds(false)).containsExactly(FusedKind.TOKEN_EMBEDDING, FusedKind.OUTPUT_NORM);
    }

    @Test
    void lookupsNameWhatIsWrong() {
        TensorTable t = TensorTable.of(released("1b"));
        assertThatThrownBy(() -> t.get(TensorKind.ATTN_Q)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("ATTN_Q exists once per layer");
        assertThatThrownBy(() -> t.get(TensorKind.TOKEN_EMBEDDING, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("TOKEN_EMBEDDING exists once");
        assertThatThrownBy(() -> t.get(TensorKind.ATTN_Q, 26)).isInstanceOf(IndexOutOfBoundsException.class)
                .hasMessageContaining("layer 26 of 26");
        assertThatThrownBy(() -> t.get(TensorKind.VISION_PATCH_EMBEDDING)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("no vision_config");
        assertThatThrownBy(() -> t.layerStart(Group.TEXT, 0)).isInstanceOf(IllegalArgumentException.class);
    }

    private static void assertSlot(TensorSlot slot, TensorNaming scheme, String stored, long... shape) {
        assertThat(slot.storedName(scheme)).isEqualTo(stored);
        assertThat(slot.shape()).as(stored).containsExactly(shape);
    }
}
