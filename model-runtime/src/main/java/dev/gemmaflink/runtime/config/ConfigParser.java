package dev.gemmaflink.runtime.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.gemmaflink.runtime.ModelLoadException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Reads config.json into a {@link GemmaConfig}: picks the layout, applies transformers' defaults for absent
 * keys, and refuses values this runtime does not implement (so a wrong checkpoint fails at load, not with
 * silently wrong output).
 */
final class ConfigParser {
    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
    private static final Set<String> SUPPORTED_ROPE = Set.of("default", "linear");

    private ConfigParser() {
    }

    static GemmaConfig parse(Path path) {
        Path file = Files.isDirectory(path) ? path.resolve("config.json") : path;
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new ModelLoadException("config.json not found: " + file, e);
        } catch (IOException | RuntimeException e) {
            throw new ModelLoadException("cannot read config " + file + ": " + e, e);
        }
        return parseText(text, file.toString());
    }

    static GemmaConfig parseText(String text, String source) {
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new ModelLoadException("config " + source + " is not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new ModelLoadException("config " + source + " is not a JSON object");
        }
        try {
            return resolve(root, source);
        } catch (ModelLoadException e) {
            if (e.getMessage().startsWith("config " + source)) {
                throw e;
            }
            throw new ModelLoadException("config " + source + ": " + e.getMessage(), e);
        }
    }

    private static GemmaConfig resolve(JsonNode root, String source) {
        String modelType = text(root, "model_type", null);
        String architecture = architecture(root);
        JsonNode textNode;
        GemmaConfig.Builder b = GemmaConfig.builder();
        if ("gemma3".equals(modelType)) {
            if (architecture != null && !GemmaConfig.CONDITIONAL_GENERATION.equals(architecture)) {
                throw new ModelLoadException("model_type gemma3 (multimodal layout) needs architecture "
                        + GemmaConfig.CONDITIONAL_GENERATION + ", found " + architecture);
            }
            b.architecture(GemmaConfig.CONDITIONAL_GENERATION);
            textNode = root.get("text_config");
            if (textNode == null || !textNode.isObject()) {
                throw new ModelLoadException("multimodal config has no text_config object");
            }
            String textType = text(textNode, "model_type", "gemma3_text");
            if (!"gemma3_text".equals(textType)) {
                throw new ModelLoadException("text_config.model_type must be gemma3_text, found " + textType);
            }
            b.imageTokenId(integer(root, "image_token_index", 262_144));
            b.boiTokenId(integer(root, "boi_token_index", 255_999));
            b.eoiTokenId(integer(root, "eoi_token_index", 256_000));
            b.mmTokensPerImage(integer(root, "mm_tokens_per_image", 256));
            JsonNode vision = root.get("vision_config");
            if (vision != null && !vision.isNull()) {
                b.vision(vision(vision));
            }
        } else if ("gemma3_text".equals(modelType)) {
            if (architecture != null && !GemmaConfig.CAUSAL_LM.equals(architecture)) {
                throw new ModelLoadException("model_type gemma3_text (text-only layout) needs architecture "
                        + GemmaConfig.CAUSAL_LM + ", found " + architecture);
            }
            b.architecture(GemmaConfig.CAUSAL_LM);
            textNode = root;
        } else {
            throw new ModelLoadException("not a Gemma 3 config: model_type is " + (modelType == null ? "missing" : "'" + modelType + "'")
                    + (architecture == null ? "" : " (architecture " + architecture + ")")
                    + "; supported: gemma3_text (" + GemmaConfig.CAUSAL_LM + "), gemma3 ("
                    + GemmaConfig.CONDITIONAL_GENERATION + ")");
        }
        String prefix = textNode == root ? "" : "text_config.";
        Keys k = new Keys(textNode, prefix);
        rejectUnsupported(k);

        int layers = k.integer("num_hidden_layers", 26);
        b.hiddenSize(k.integer("hidden_size", 2304))
                .intermediateSize(k.integer("intermediate_size", 9216))
                .numHiddenLayers(layers)
                .numAttentionHeads(k.integer("num_attention_heads", 8))
                .numKeyValueHeads(k.integer("num_key_value_heads", 4))
                .headDim(k.integer("head_dim", 256))
                .vocabSize(k.integer("vocab_size", 262_208))
                .slidingWindow(k.integer("sliding_window", 4096))
                .maxPositionEmbeddings(k.integer("max_position_embeddings", 131_072))
                .rmsNormEps(k.number("rms_norm_eps", 1e-6))
                .queryPreAttnScalar(k.number("query_pre_attn_scalar", 256))
                .padTokenId(k.integer("pad_token_id", 0))
                .bosTokenId(k.integer("bos_token_id", 2));
        rope(k, b);
        JsonNode layerTypes = textNode.get("layer_types");
        if (layerTypes != null && !layerTypes.isNull()) {
            if (!layerTypes.isArray()) {
                throw new ModelLoadException(prefix + "layer_types must be a list");
            }
            List<LayerType> types = new ArrayList<>();
            for (JsonNode t : layerTypes) {
                if (!t.isTextual()) {
                    throw new ModelLoadException(prefix + "layer_types entry " + t + " is not a string");
                }
                types.add(LayerType.fromJson(t.asText()));
            }
            if (types.size() != layers) {
                throw new ModelLoadException(prefix + "layer_types has " + types.size() + " entries but num_hidden_layers is "
                        + layers);
            }
            b.layerTypes(types);
        } else {
            b.slidingWindowPattern(k.integer("sliding_window_pattern", 6));
        }
        // eos_token_id: the multimodal files carry it at the top level, the text-only ones in the text keys.
        JsonNode eos = root.has("eos_token_id") ? root.get("eos_token_id") : textNode.get("eos_token_id");
        b.eosTokenIds(eosIds(eos));
        String dtype = text(root, "torch_dtype", null);
        if (dtype == null) {
            dtype = text(root, "dtype", null); // newer transformers renamed the key
        }
        if (dtype == null && textNode != root) {
            dtype = text(textNode, "torch_dtype", null);
        }
        b.torchDtype(dtype == null ? "bfloat16" : dtype);
        return b.build();
    }

    private static void rejectUnsupported(Keys k) {
        if (!k.isNull("attn_logit_softcapping")) {
            throw new ModelLoadException(k.prefix + "attn_logit_softcapping is " + k.node.get("attn_logit_softcapping")
                    + "; Gemma 3 has no attention soft-capping and this runtime does not implement it (must be null)");
        }
        if (!k.isNull("final_logit_softcapping")) {
            throw new ModelLoadException(k.prefix + "final_logit_softcapping is " + k.node.get("final_logit_softcapping")
                    + "; this runtime does not implement logit soft-capping (must be null)");
        }
        String act = k.text("hidden_activation", GemmaConfig.GELU_TANH);
        if (!GemmaConfig.GELU_TANH.equals(act)) {
            throw new ModelLoadException(k.prefix + "hidden_activation '" + act + "' is not supported (only "
                    + GemmaConfig.GELU_TANH + ")");
        }
        if (k.bool("attention_bias", false)) {
            throw new ModelLoadException(k.prefix + "attention_bias true is not supported (Gemma 3 has no attention biases)");
        }
        if (!k.bool("tie_word_embeddings", true)) {
            throw new ModelLoadException(k.prefix + "tie_word_embeddings false is not supported (Gemma 3 ties the output "
                    + "projection to embed_tokens)");
        }
        if (k.bool("use_bidirectional_attention", false)) {
            throw new ModelLoadException(k.prefix + "use_bidirectional_attention true (EmbeddingGemma) is not supported");
        }
    }

    /**
     * RoPE: {@code rope_theta} + {@code rope_local_base_freq} + optional global {@code rope_scaling}; or the
     * newer per-layer-type {@code rope_parameters} ({@code {"full_attention": {...}, "sliding_attention": {...}}}).
     */
    private static void rope(Keys k, GemmaConfig.Builder b) {
        double global = k.number("rope_theta", 1_000_000.0);
        double local = k.number("rope_local_base_freq", 10_000.0);
        double factor = scalingFactor(k.node.get("rope_scaling"), k.prefix + "rope_scaling");
        JsonNode params = k.node.get("rope_parameters");
        if (params != null && !params.isNull()) {
            if (!params.isObject()) {
                throw new ModelLoadException(k.prefix + "rope_parameters must be an object");
            }
            if (params.has("full_attention") || params.has("sliding_attention")) {
                JsonNode full = params.get("full_attention");
                if (full != null) {
                    global = new Keys(full, k.prefix + "rope_parameters.full_attention.").number("rope_theta", global);
                    factor = scalingFactor(full, k.prefix + "rope_parameters.full_attention");
                }
                JsonNode sliding = params.get("sliding_attention");
                if (sliding != null) {
                    local = new Keys(sliding, k.prefix + "rope_parameters.sliding_attention.").number("rope_theta", local);
                    if (scalingFactor(sliding, k.prefix + "rope_parameters.sliding_attention") != 1.0) {
                        throw new ModelLoadException(k.prefix + "rope_parameters.sliding_attention: RoPE scaling on sliding "
                                + "layers is not supported");
                    }
                }
            } else {
                global = new Keys(params, k.prefix + "rope_parameters.").number("rope_theta", global);
                factor = scalingFactor(params, k.prefix + "rope_parameters");
            }
        }
        b.ropeGlobalTheta(global).ropeLocalTheta(local).ropeGlobalScaling(factor);
    }

    private static double scalingFactor(JsonNode scaling, String key) {
        if (scaling == null || scaling.isNull()) {
            return 1.0;
        }
        if (!scaling.isObject()) {
            throw new ModelLoadException(key + " must be null or an object, found " + scaling);
        }
        JsonNode typeNode = scaling.has("rope_type") ? scaling.get("rope_type") : scaling.get("type");
        String type = typeNode == null || typeNode.isNull() ? "default" : typeNode.asText();
        if (!SUPPORTED_ROPE.contains(type)) {
            throw new ModelLoadException(key + ": unsupported rope_type '" + type + "' (supported: default, linear)");
        }
        if ("default".equals(type)) {
            return 1.0;
        }
        JsonNode f = scaling.get("factor");
        if (f == null || !f.isNumber()) {
            throw new ModelLoadException(key + ": linear rope_type needs a numeric factor");
        }
        double v = f.asDouble();
        if (!(v > 0) || Double.isInfinite(v)) {
            throw new ModelLoadException(key + ".factor must be positive, got " + f);
        }
        return v;
    }

    private static VisionConfig vision(JsonNode v) {
        if (!v.isObject()) {
            throw new ModelLoadException("vision_config must be an object");
        }
        Keys k = new Keys(v, "vision_config.");
        String type = k.text("model_type", "siglip_vision_model");
        if (!"siglip_vision_model".equals(type)) {
            throw new ModelLoadException("vision_config.model_type '" + type + "' is not supported (siglip_vision_model)");
        }
        String act = k.text("hidden_act", GemmaConfig.GELU_TANH);
        if (!GemmaConfig.GELU_TANH.equals(act)) {
            throw new ModelLoadException("vision_config.hidden_act '" + act + "' is not supported (only "
                    + GemmaConfig.GELU_TANH + ")");
        }
        // SiglipVisionConfig defaults for absent keys, as transformers applies them.
        return new VisionConfig(k.integer("hidden_size", 768), k.integer("intermediate_size", 3072),
                k.integer("num_hidden_layers", 12), k.integer("num_attention_heads", 12), k.integer("num_channels", 3),
                k.integer("image_size", 224), k.integer("patch_size", 16), k.number("layer_norm_eps", 1e-6));
    }

    private static String architecture(JsonNode root) {
        JsonNode a = root.get("architectures");
        if (a == null || a.isNull()) {
            return null;
        }
        if (!a.isArray() || a.size() != 1 || !a.get(0).isTextual()) {
            throw new ModelLoadException("architectures must be a list of one name, found " + a);
        }
        String name = a.get(0).asText();
        if (!GemmaConfig.CAUSAL_LM.equals(name) && !GemmaConfig.CONDITIONAL_GENERATION.equals(name)) {
            throw new ModelLoadException("not a Gemma 3 config: unsupported architecture '" + name + "' (supported: "
                    + GemmaConfig.CAUSAL_LM + ", " + GemmaConfig.CONDITIONAL_GENERATION + ")");
        }
        return name;
    }

    private static List<Integer> eosIds(JsonNode eos) {
        List<Integer> ids = new ArrayList<>();
        if (eos == null || eos.isNull()) {
            ids.add(1);
        } else if (eos.isIntegralNumber() && eos.canConvertToInt()) {
            ids.add(eos.asInt());
        } else if (eos.isArray()) {
            for (JsonNode e : eos) {
                if (!e.isIntegralNumber() || !e.canConvertToInt()) {
                    throw new ModelLoadException("eos_token_id entry " + e + " is not an integer");
                }
                ids.add(e.asInt());
            }
        } else {
            throw new ModelLoadException("eos_token_id must be an integer or a list, found " + eos);
        }
        return ids;
    }

    private static String text(JsonNode n, String key, String dflt) {
        return new Keys(n, "").text(key, dflt);
    }

    private static int integer(JsonNode n, String key, int dflt) {
        return new Keys(n, "").integer(key, dflt);
    }

    /** Typed access to one JSON object's keys with defaults and key-naming errors. */
    private static final class Keys {
        final JsonNode node;
        final String prefix;

        Keys(JsonNode node, String prefix) {
            this.node = node;
            this.prefix = prefix;
        }

        boolean isNull(String key) {
            JsonNode v = node.get(key);
            return v == null || v.isNull();
        }

        int integer(String key, int dflt) {
            JsonNode v = node.get(key);
            if (v == null || v.isNull()) {
                return dflt;
            }
            // Some exporters write whole numbers as 256.0.
            if (v.isNumber() && v.asDouble() == Math.rint(v.asDouble()) && Math.abs(v.asDouble()) <= Integer.MAX_VALUE) {
                return (int) v.asDouble();
            }
            throw new ModelLoadException(prefix + key + " must be an integer, found " + v);
        }

        double number(String key, double dflt) {
            JsonNode v = node.get(key);
            if (v == null || v.isNull()) {
                return dflt;
            }
            if (!v.isNumber()) {
                throw new ModelLoadException(prefix + key + " must be a number, found " + v);
            }
            return v.asDouble();
        }

        boolean bool(String key, boolean dflt) {
            JsonNode v = node.get(key);
            if (v == null || v.isNull()) {
                return dflt;
            }
            if (!v.isBoolean()) {
                throw new ModelLoadException(prefix + key + " must be true or false, found " + v);
            }
            return v.asBoolean();
        }

        String text(String key, String dflt) {
            JsonNode v = node.get(key);
            if (v == null || v.isNull()) {
                return dflt;
            }
            if (!v.isTextual()) {
                throw new ModelLoadException(prefix + key + " must be a string, found " + v);
            }
            return v.asText();
        }
    }
}
