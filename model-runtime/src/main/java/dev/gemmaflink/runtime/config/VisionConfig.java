package dev.gemmaflink.runtime.config;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemmaflink.runtime.ModelLoadException;

/**
 * The SigLIP vision tower of a multimodal Gemma 3 checkpoint ({@code vision_config}).
 *
 * <p>Missing keys take {@code SiglipVisionConfig} defaults, as in transformers; the released 4B/12B/27B
 * files set hidden 1152, intermediate 4304, 27 layers, 16 heads, image 896, patch 14.
 *
 * @param hiddenSize embedding width of the tower (1152)
 * @param intermediateSize MLP width (4304)
 * @param numHiddenLayers encoder blocks (27)
 * @param numAttentionHeads attention heads (16)
 * @param numChannels image channels (3)
 * @param imageSize square input size in pixels (896)
 * @param patchSize square patch size (14)
 * @param layerNormEps LayerNorm epsilon (1e-6)
 */
public record VisionConfig(int hiddenSize, int intermediateSize, int numHiddenLayers, int numAttentionHeads,
        int numChannels, int imageSize, int patchSize, double layerNormEps) {

    /** Validates sizes: positive, heads divide hidden, patch divides image. */
    public VisionConfig {
        requirePositive("vision_config.hidden_size", hiddenSize);
        requirePositive("vision_config.intermediate_size", intermediateSize);
        requirePositive("vision_config.num_hidden_layers", numHiddenLayers);
        requirePositive("vision_config.num_attention_heads", numAttentionHeads);
        requirePositive("vision_config.num_channels", numChannels);
        requirePositive("vision_config.image_size", imageSize);
        requirePositive("vision_config.patch_size", patchSize);
        if (hiddenSize % numAttentionHeads != 0) {
            throw new ModelLoadException("vision_config.hidden_size " + hiddenSize + " is not a multiple of num_attention_heads "
                    + numAttentionHeads);
        }
        if (imageSize % patchSize != 0) {
            throw new ModelLoadException("vision_config.image_size " + imageSize + " is not a multiple of patch_size " + patchSize);
        }
        if (!(layerNormEps > 0)) {
            throw new ModelLoadException("vision_config.layer_norm_eps must be positive, got " + layerNormEps);
        }
    }

    /** @return the released Gemma 3 SigLIP so400m tower */
    public static VisionConfig gemma3Siglip() {
        return new VisionConfig(1152, 4304, 27, 16, 3, 896, 14, 1e-6);
    }

    /** @return patches per image side (64 for 896/14) */
    public int patchesPerSide() {
        return imageSize / patchSize;
    }

    /** @return patches per image (4096), the length of the position embedding */
    public int numPatches() {
        return patchesPerSide() * patchesPerSide();
    }

    /** @return per-head width (72) */
    public int headDim() {
        return hiddenSize / numAttentionHeads;
    }

    /** @return the {@code vision_config} object in Hugging Face layout */
    public ObjectNode toJsonNode() {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        n.put("hidden_size", hiddenSize);
        n.put("image_size", imageSize);
        n.put("intermediate_size", intermediateSize);
        n.put("layer_norm_eps", layerNormEps);
        n.put("model_type", "siglip_vision_model");
        n.put("num_attention_heads", numAttentionHeads);
        n.put("num_channels", numChannels);
        n.put("num_hidden_layers", numHiddenLayers);
        n.put("patch_size", patchSize);
        n.put("vision_use_head", false);
        return n;
    }

    private static void requirePositive(String key, int v) {
        if (v <= 0) {
            throw new ModelLoadException(key + " must be positive, got " + v);
        }
    }
}
