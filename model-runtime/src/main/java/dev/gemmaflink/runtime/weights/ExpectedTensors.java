package dev.gemmaflink.runtime.weights;

import dev.gemmaflink.runtime.config.GemmaConfig;
import dev.gemmaflink.runtime.config.VisionConfig;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Every tensor a Gemma 3 checkpoint must hold for a configuration, by canonical name, with its exact
 * Hugging Face shape. The single source of truth for both the loader's checks and the tiny checkpoint writer.
 */
public final class ExpectedTensors {
    private ExpectedTensors() {
    }

    /** @return canonical name to shape of every text tensor (embedding, layers, final norm) */
    public static Map<String, long[]> text(GemmaConfig c) {
        Map<String, long[]> m = new LinkedHashMap<>();
        long h = c.hiddenSize();
        long q = (long) c.numAttentionHeads() * c.headDim();
        long kv = (long) c.numKeyValueHeads() * c.headDim();
        long inter = c.intermediateSize();
        m.put(TensorNaming.EMBED_TOKENS, new long[] {c.vocabSize(), h});
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            m.put(TensorNaming.layerTensor(i, "input_layernorm.weight"), new long[] {h});
            m.put(TensorNaming.layerTensor(i, "mlp.down_proj.weight"), new long[] {h, inter});
            m.put(TensorNaming.layerTensor(i, "mlp.gate_proj.weight"), new long[] {inter, h});
            m.put(TensorNaming.layerTensor(i, "mlp.up_proj.weight"), new long[] {inter, h});
            m.put(TensorNaming.layerTensor(i, "post_attention_layernorm.weight"), new long[] {h});
            m.put(TensorNaming.layerTensor(i, "post_feedforward_layernorm.weight"), new long[] {h});
            m.put(TensorNaming.layerTensor(i, "pre_feedforward_layernorm.weight"), new long[] {h});
            m.put(TensorNaming.layerTensor(i, "self_attn.k_norm.weight"), new long[] {c.headDim()});
            m.put(TensorNaming.layerTensor(i, "self_attn.k_proj.weight"), new long[] {kv, h});
            m.put(TensorNaming.layerTensor(i, "self_attn.o_proj.weight"), new long[] {h, q});
            m.put(TensorNaming.layerTensor(i, "self_attn.q_norm.weight"), new long[] {c.headDim()});
            m.put(TensorNaming.layerTensor(i, "self_attn.q_proj.weight"), new long[] {q, h});
            m.put(TensorNaming.layerTensor(i, "self_attn.v_proj.weight"), new long[] {kv, h});
        }
        m.put(TensorNaming.FINAL_NORM, new long[] {h});
        return m;
    }

    /**
     * @return canonical name to shape of the SigLIP tower and projector tensors (empty without vision); names
     *     as in transformers' SiglipVisionModel and Gemma3MultiModalProjector
     */
    public static Map<String, long[]> vision(GemmaConfig c) {
        Map<String, long[]> m = new LinkedHashMap<>();
        if (c.vision().isEmpty()) {
            return m;
        }
        VisionConfig v = c.vision().get();
        long vh = v.hiddenSize();
        long vi = v.intermediateSize();
        String emb = TensorNaming.VISION_TOWER + "vision_model.embeddings.";
        m.put(emb + "patch_embedding.weight", new long[] {vh, v.numChannels(), v.patchSize(), v.patchSize()});
        m.put(emb + "patch_embedding.bias", new long[] {vh});
        m.put(emb + "position_embedding.weight", new long[] {v.numPatches(), vh});
        for (int i = 0; i < v.numHiddenLayers(); i++) {
            String p = TensorNaming.VISION_TOWER + "vision_model.encoder.layers." + i + ".";
            for (String ln : new String[] {"layer_norm1", "layer_norm2"}) {
                m.put(p + ln + ".weight", new long[] {vh});
                m.put(p + ln + ".bias", new long[] {vh});
            }
            m.put(p + "mlp.fc1.weight", new long[] {vi, vh});
            m.put(p + "mlp.fc1.bias", new long[] {vi});
            m.put(p + "mlp.fc2.weight", new long[] {vh, vi});
            m.put(p + "mlp.fc2.bias", new long[] {vh});
            for (String proj : new String[] {"q_proj", "k_proj", "v_proj", "out_proj"}) {
                m.put(p + "self_attn." + proj + ".weight", new long[] {vh, vh});
                m.put(p + "self_attn." + proj + ".bias", new long[] {vh});
            }
        }
        m.put(TensorNaming.VISION_TOWER + "vision_model.post_layernorm.weight", new long[] {vh});
        m.put(TensorNaming.VISION_TOWER + "vision_model.post_layernorm.bias", new long[] {vh});
        m.put(TensorNaming.PROJECTOR + "mm_input_projection_weight", new long[] {vh, c.hiddenSize()});
        m.put(TensorNaming.PROJECTOR + "mm_soft_emb_norm.weight", new long[] {vh});
        return m;
    }

    /** @return text and vision tensors together */
    public static Map<String, long[]> all(GemmaConfig c) {
        Map<String, long[]> m = text(c);
        m.putAll(vision(c));
        return m;
    }
}
