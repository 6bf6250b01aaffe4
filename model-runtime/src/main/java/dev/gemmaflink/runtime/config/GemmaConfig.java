package dev.gemmaflink.runtime.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemmaflink.runtime.ModelLoadException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The Gemma 3 model configuration, as read from a Hugging Face {@code config.json} or built for tiny test
 * checkpoints. Immutable; every value is resolved (defaults of transformers' {@code Gemma3TextConfig}
 * applied), validated and derived once.
 *
 * <p>Two file layouts exist: text-only ({@code Gemma3ForCausalLM}, {@code model_type gemma3_text}, keys at
 * the top level, e.g. gemma-3-1b-it) and multimodal ({@code Gemma3ForConditionalGeneration},
 * {@code model_type gemma3}, text keys nested under {@code text_config}, SigLIP under {@code vision_config},
 * e.g. gemma-3-4b-it). The released 4B+ files omit most text keys and rely on the defaults.
 *
 * <pre>{@code
 * GemmaConfig cfg = GemmaConfig.load(Path.of("/models/gemma-3-1b-it"));      // dir or config.json
 * GemmaConfig tiny = GemmaConfig.builder().hiddenSize(64).intermediateSize(128)
 *     .numHiddenLayers(6).numAttentionHeads(4).numKeyValueHeads(2).headDim(16)
 *     .vocabSize(512).slidingWindow(8).build();
 * }</pre>
 */
public final class GemmaConfig {
    /** Text-only architecture name. */
    public static final String CAUSAL_LM = "Gemma3ForCausalLM";
    /** Multimodal architecture name. */
    public static final String CONDITIONAL_GENERATION = "Gemma3ForConditionalGeneration";
    /** The only supported activation. */
    public static final String GELU_TANH = "gelu_pytorch_tanh";
    /** Id of {@code <eos>}, where pre-trained models end: a stop id whenever the vocabulary holds it. */
    public static final int EOS = 1;
    /** Id of {@code <end_of_turn>}, where instruction-tuned models end: a stop id whenever the vocabulary holds it. */
    public static final int END_OF_TURN = 106;

    private final String architecture;
    private final int hiddenSize;
    private final int intermediateSize;
    private final int numHiddenLayers;
    private final int numAttentionHeads;
    private final int numKeyValueHeads;
    private final int headDim;
    private final int vocabSize;
    private final int slidingWindow;
    private final int maxPositionEmbeddings;
    private final double rmsNormEps;
    private final double queryPreAttnScalar;
    private final double ropeLocalTheta;
    private final double ropeGlobalTheta;
    private final double ropeGlobalScaling;
    private final List<LayerType> layerTypes;
    private final Integer slidingWindowPattern; // null when the layer types were given explicitly
    private final VisionConfig vision;
    private final int imageTokenId;
    private final int boiTokenId;
    private final int eoiTokenId;
    private final int mmTokensPerImage;
    private final int padTokenId;
    private final int bosTokenId;
    private final List<Integer> eosTokenIds;
    private final String torchDtype;

    private GemmaConfig(Builder b, List<LayerType> types, List<Integer> eos) {
        this.architecture = b.architecture;
        this.hiddenSize = b.hiddenSize;
        this.intermediateSize = b.intermediateSize;
        this.numHiddenLayers = b.numHiddenLayers;
        this.numAttentionHeads = b.numAttentionHeads;
        this.numKeyValueHeads = b.numKeyValueHeads;
        this.headDim = b.headDim;
        this.vocabSize = b.vocabSize;
        this.slidingWindow = b.slidingWindow;
        this.maxPositionEmbeddings = b.maxPositionEmbeddings;
        this.rmsNormEps = b.rmsNormEps;
        this.queryPreAttnScalar = b.queryPreAttnScalar;
        this.ropeLocalTheta = b.ropeLocalTheta;
        this.ropeGlobalTheta = b.ropeGlobalTheta;
        this.ropeGlobalScaling = b.ropeGlobalScaling;
        this.layerTypes = types;
        this.slidingWindowPattern = b.layerTypes == null ? b.slidingWindowPattern : null;
        this.vision = b.vision;
        this.imageTokenId = b.imageTokenId;
        this.boiTokenId = b.boiTokenId;
        this.eoiTokenId = b.eoiTokenId;
        this.mmTokensPerImage = b.mmTokensPerImage;
        this.padTokenId = b.padTokenId;
        this.bosTokenId = b.bosTokenId;
        this.eosTokenIds = eos;
        this.torchDtype = b.torchDtype;
    }

    /**
     * Reads and validates a Hugging Face {@code config.json}.
     *
     * @param configJson the file, or a model directory containing {@code config.json}
     * @return the resolved configuration
     * @throws ModelLoadException when the file is missing, malformed, not Gemma 3, or uses unsupported features
     */
    public static GemmaConfig load(Path configJson) {
        return ConfigParser.parse(configJson);
    }

    /**
     * Parses config.json text.
     *
     * @param json the file content
     * @param source where it came from, for messages
     * @return the resolved configuration
     */
    public static GemmaConfig parse(String json, String source) {
        return ConfigParser.parseText(json, source);
    }

    /** @return a builder preset to transformers' {@code Gemma3TextConfig} defaults, text-only architecture */
    public static Builder builder() {
        return new Builder();
    }

    /** @return a builder holding this configuration's values */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.architecture = architecture;
        b.hiddenSize = hiddenSize;
        b.intermediateSize = intermediateSize;
        b.numHiddenLayers = numHiddenLayers;
        b.numAttentionHeads = numAttentionHeads;
        b.numKeyValueHeads = numKeyValueHeads;
        b.headDim = headDim;
        b.vocabSize = vocabSize;
        b.slidingWindow = slidingWindow;
        b.maxPositionEmbeddings = maxPositionEmbeddings;
        b.rmsNormEps = rmsNormEps;
        b.queryPreAttnScalar = queryPreAttnScalar;
        b.ropeLocalTheta = ropeLocalTheta;
        b.ropeGlobalTheta = ropeGlobalTheta;
        b.ropeGlobalScaling = ropeGlobalScaling;
        if (slidingWindowPattern != null) {
            b.slidingWindowPattern = slidingWindowPattern;
            b.layerTypes = null;
        } else {
            b.layerTypes = layerTypes;
        }
        b.vision = vision;
        b.imageTokenId = imageTokenId;
        b.boiTokenId = boiTokenId;
        b.eoiTokenId = eoiTokenId;
        b.mmTokensPerImage = mmTokensPerImage;
        b.padTokenId = padTokenId;
        b.bosTokenId = bosTokenId;
        b.eosTokenIds = eosTokenIds;
        b.torchDtype = torchDtype;
        return b;
    }

    /** @return {@code Gemma3ForCausalLM} or {@code Gemma3ForConditionalGeneration} */
    public String architecture() {
        return architecture;
    }

    /** @return model width */
    public int hiddenSize() {
        return hiddenSize;
    }

    /** @return MLP width */
    public int intermediateSize() {
        return intermediateSize;
    }

    /** @return decoder layers */
    public int numHiddenLayers() {
        return numHiddenLayers;
    }

    /** @return query heads */
    public int numAttentionHeads() {
        return numAttentionHeads;
    }

    /** @return key/value heads (grouped-query attention; divides the query heads) */
    public int numKeyValueHeads() {
        return numKeyValueHeads;
    }

    /** @return per-head width */
    public int headDim() {
        return headDim;
    }

    /** @return rows of the (tied) embedding */
    public int vocabSize() {
        return vocabSize;
    }

    /** @return positions a local layer sees, the query's own included */
    public int slidingWindow() {
        return slidingWindow;
    }

    /** @return longest supported context */
    public int maxPositionEmbeddings() {
        return maxPositionEmbeddings;
    }

    /** @return RMSNorm epsilon */
    public double rmsNormEps() {
        return rmsNormEps;
    }

    /** @return attention scores are multiplied by {@code queryPreAttnScalar^-0.5} */
    public double queryPreAttnScalar() {
        return queryPreAttnScalar;
    }

    /** @return RoPE base of sliding layers ({@code rope_local_base_freq}, 1e4), never scaled */
    public double ropeLocalTheta() {
        return ropeLocalTheta;
    }

    /** @return RoPE base of full-attention layers ({@code rope_theta}, 1e6) */
    public double ropeGlobalTheta() {
        return ropeGlobalTheta;
    }

    /** @return linear RoPE factor of full-attention layers (positions divided by it); 1.0 when none */
    public double ropeGlobalScaling() {
        return ropeGlobalScaling;
    }

    /** @return RoPE base for a layer type */
    public double ropeTheta(LayerType type) {
        return type == LayerType.FULL_ATTENTION ? ropeGlobalTheta : ropeLocalTheta;
    }

    /** @return linear RoPE factor for a layer type (1.0 for sliding layers) */
    public double ropeScaling(LayerType type) {
        return type == LayerType.FULL_ATTENTION ? ropeGlobalScaling : 1.0;
    }

    /** @return the attention type of every layer, in order (unmodifiable) */
    public List<LayerType> layerTypes() {
        return layerTypes;
    }

    /** @return the attention type of layer {@code layer} */
    public LayerType layerType(int layer) {
        if (layer < 0 || layer >= numHiddenLayers) {
            throw new IndexOutOfBoundsException("layer " + layer + " of " + numHiddenLayers);
        }
        return layerTypes.get(layer);
    }

    /** @return the {@code sliding_window_pattern} the layer types came from, empty when they were listed */
    public Optional<Integer> slidingWindowPattern() {
        return Optional.ofNullable(slidingWindowPattern);
    }

    /** @return whether the file uses the multimodal layout ({@code Gemma3ForConditionalGeneration}) */
    public boolean multimodal() {
        return CONDITIONAL_GENERATION.equals(architecture);
    }

    /**
     * @return the vision tower, present when the config carries {@code vision_config} (a multimodal-layout
     *     config without one describes text weights only)
     */
    public Optional<VisionConfig> vision() {
        return Optional.ofNullable(vision);
    }

    /** @return {@code <image_soft_token>} id (262144) */
    public int imageTokenId() {
        return imageTokenId;
    }

    /** @return {@code <start_of_image>} id (255999) */
    public int boiTokenId() {
        return boiTokenId;
    }

    /** @return {@code <end_of_image>} id (256000) */
    public int eoiTokenId() {
        return eoiTokenId;
    }

    /** @return soft tokens per image (256) */
    public int mmTokensPerImage() {
        return mmTokensPerImage;
    }

    /** @return {@code <pad>} id (0) */
    public int padTokenId() {
        return padTokenId;
    }

    /** @return {@code <bos>} id (2) */
    public int bosTokenId() {
        return bosTokenId;
    }

    /**
     * @return stop ids: the file's {@code eos_token_id} values plus {@link #EOS} and {@link #END_OF_TURN} where
     *     the vocabulary holds them (pre-trained and instruction-tuned models end differently)
     */
    public List<Integer> eosTokenIds() {
        return eosTokenIds;
    }

    /** @return {@code torch_dtype} of the file ("bfloat16" for released weights) */
    public String torchDtype() {
        return torchDtype;
    }

    /** @return query heads served by each key/value head */
    public int queriesPerKeyValue() {
        return numAttentionHeads / numKeyValueHeads;
    }

    /** @return config.json text in Hugging Face layout (flat for text-only, nested for multimodal) */
    public String toJson() {
        ObjectMapper m = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = m.createObjectNode();
        root.putArray("architectures").add(architecture);
        if (multimodal()) {
            root.put("boi_token_index", boiTokenId);
            root.put("eoi_token_index", eoiTokenId);
            putEos(root);
            root.put("image_token_index", imageTokenId);
            root.put("initializer_range", 0.02);
            root.put("mm_tokens_per_image", mmTokensPerImage);
            root.put("model_type", "gemma3");
            ObjectNode text = root.putObject("text_config");
            putText(text);
            root.put("torch_dtype", torchDtype);
            if (vision != null) {
                root.set("vision_config", vision.toJsonNode());
            }
        } else {
            putText(root);
            putEos(root);
            root.put("torch_dtype", torchDtype);
        }
        try {
            return m.writeValueAsString(root) + "\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private void putEos(ObjectNode n) {
        ArrayNode eos = n.putArray("eos_token_id");
        eosTokenIds.forEach(eos::add);
    }

    private void putText(ObjectNode n) {
        n.put("attention_bias", false);
        n.put("attention_dropout", 0.0);
        n.putNull("attn_logit_softcapping");
        n.put("bos_token_id", bosTokenId);
        n.putNull("final_logit_softcapping");
        n.put("head_dim", headDim);
        n.put("hidden_activation", GELU_TANH);
        n.put("hidden_size", hiddenSize);
        n.put("initializer_range", 0.02);
        n.put("intermediate_size", intermediateSize);
        if (slidingWindowPattern == null) {
            ArrayNode lt = n.putArray("layer_types");
            layerTypes.forEach(t -> lt.add(t.jsonName()));
        }
        n.put("max_position_embeddings", maxPositionEmbeddings);
        n.put("model_type", "gemma3_text");
        n.put("num_attention_heads", numAttentionHeads);
        n.put("num_hidden_layers", numHiddenLayers);
        n.put("num_key_value_heads", numKeyValueHeads);
        n.put("pad_token_id", padTokenId);
        // An integer, as in Google's configs: transformers 5 validates this field as int and refuses 256.0.
        if (queryPreAttnScalar == Math.rint(queryPreAttnScalar) && Math.abs(queryPreAttnScalar) < 1e15) {
            n.put("query_pre_attn_scalar", (long) queryPreAttnScalar);
        } else {
            n.put("query_pre_attn_scalar", queryPreAttnScalar);
        }
        n.put("rms_norm_eps", rmsNormEps);
        n.put("rope_local_base_freq", ropeLocalTheta);
        if (ropeGlobalScaling == 1.0) {
            n.putNull("rope_scaling");
        } else {
            ObjectNode rs = n.putObject("rope_scaling");
            rs.put("factor", ropeGlobalScaling);
            rs.put("rope_type", "linear");
        }
        n.put("rope_theta", ropeGlobalTheta);
        n.put("sliding_window", slidingWindow);
        if (slidingWindowPattern != null) {
            n.put("sliding_window_pattern", slidingWindowPattern);
        }
        n.put("tie_word_embeddings", true);
        n.put("use_cache", true);
        n.put("vocab_size", vocabSize);
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof GemmaConfig)) {
            return false;
        }
        GemmaConfig c = (GemmaConfig) o;
        return architecture.equals(c.architecture) && hiddenSize == c.hiddenSize && intermediateSize == c.intermediateSize
                && numHiddenLayers == c.numHiddenLayers && numAttentionHeads == c.numAttentionHeads
                && numKeyValueHeads == c.numKeyValueHeads && headDim == c.headDim && vocabSize == c.vocabSize
                && slidingWindow == c.slidingWindow && maxPositionEmbeddings == c.maxPositionEmbeddings
                && rmsNormEps == c.rmsNormEps && queryPreAttnScalar == c.queryPreAttnScalar
                && ropeLocalTheta == c.ropeLocalTheta && ropeGlobalTheta == c.ropeGlobalTheta
                && ropeGlobalScaling == c.ropeGlobalScaling && layerTypes.equals(c.layerTypes)
                && Objects.equals(slidingWindowPattern, c.slidingWindowPattern) && Objects.equals(vision, c.vision)
                && imageTokenId == c.imageTokenId && boiTokenId == c.boiTokenId && eoiTokenId == c.eoiTokenId
                && mmTokensPerImage == c.mmTokensPerImage && padTokenId == c.padTokenId && bosTokenId == c.bosTokenId
                && eosTokenIds.equals(c.eosTokenIds) && torchDtype.equals(c.torchDtype);
    }

    @Override
    public int hashCode() {
        return Objects.hash(architecture, hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads,
                numKeyValueHeads, headDim, vocabSize, slidingWindow, layerTypes, vision);
    }

    @Override
    public String toString() {
        return architecture + "{hidden=" + hiddenSize + ", inter=" + intermediateSize + ", layers=" + numHiddenLayers
                + ", heads=" + numAttentionHeads + "/" + numKeyValueHeads + "x" + headDim + ", vocab=" + vocabSize
                + ", window=" + slidingWindow + ", ropeScaling=" + ropeGlobalScaling + ", vision=" + (vision != null) + "}";
    }

    /**
     * Layer types from {@code sliding_window_pattern}: layer i is global when {@code (i + 1) % pattern == 0}.
     *
     * @param layers number of layers
     * @param pattern period (6 for Gemma 3); 1 makes every layer global
     * @return the types
     */
    public static List<LayerType> layerTypesFromPattern(int layers, int pattern) {
        if (pattern <= 0) {
            throw new ModelLoadException("sliding_window_pattern must be positive, got " + pattern);
        }
        List<LayerType> out = new ArrayList<>(layers);
        for (int i = 0; i < layers; i++) {
            out.add((i + 1) % pattern == 0 ? LayerType.FULL_ATTENTION : LayerType.SLIDING_ATTENTION);
        }
        return out;
    }

    /**
     * Builder preset to transformers' {@code Gemma3TextConfig} defaults (hidden 2304, 26 layers, 8/4 heads of
     * 256, vocab 262208, window 4096, rope 1e4/1e6, pattern 6, context 131072) and the Gemma 3 token ids.
     * Setters do not validate; {@link #build()} does, with messages naming the config key.
     */
    public static final class Builder {
        private String architecture = CAUSAL_LM;
        private int hiddenSize = 2304;
        private int intermediateSize = 9216;
        private int numHiddenLayers = 26;
        private int numAttentionHeads = 8;
        private int numKeyValueHeads = 4;
        private int headDim = 256;
        private int vocabSize = 262_208;
        private int slidingWindow = 4096;
        private int maxPositionEmbeddings = 131_072;
        private double rmsNormEps = 1e-6;
        private double queryPreAttnScalar = 256;
        private double ropeLocalTheta = 10_000.0;
        private double ropeGlobalTheta = 1_000_000.0;
        private double ropeGlobalScaling = 1.0;
        private List<LayerType> layerTypes = null;
        private int slidingWindowPattern = 6;
        private VisionConfig vision = null;
        private int imageTokenId = 262_144;
        private int boiTokenId = 255_999;
        private int eoiTokenId = 256_000;
        private int mmTokensPerImage = 256;
        private int padTokenId = 0;
        private int bosTokenId = 2;
        private List<Integer> eosTokenIds = List.of(EOS);
        private String torchDtype = "bfloat16";

        private Builder() {
        }

        /** Sets the architecture: {@link #CAUSAL_LM} (flat file) or {@link #CONDITIONAL_GENERATION} (nested). */
        public Builder architecture(String v) {
            architecture = v;
            return this;
        }

        /** Sets {@code hidden_size}. */
        public Builder hiddenSize(int v) {
            hiddenSize = v;
            return this;
        }

        /** Sets {@code intermediate_size}. */
        public Builder intermediateSize(int v) {
            intermediateSize = v;
            return this;
        }

        /** Sets {@code num_hidden_layers}. */
        public Builder numHiddenLayers(int v) {
            numHiddenLayers = v;
            return this;
        }

        /** Sets {@code num_attention_heads}. */
        public Builder numAttentionHeads(int v) {
            numAttentionHeads = v;
            return this;
        }

        /** Sets {@code num_key_value_heads}. */
        public Builder numKeyValueHeads(int v) {
            numKeyValueHeads = v;
            return this;
        }

        /** Sets {@code head_dim}. */
        public Builder headDim(int v) {
            headDim = v;
            return this;
        }

        /** Sets {@code vocab_size}. */
        public Builder vocabSize(int v) {
            vocabSize = v;
            return this;
        }

        /** Sets {@code sliding_window}. */
        public Builder slidingWindow(int v) {
            slidingWindow = v;
            return this;
        }

        /** Sets {@code max_position_embeddings}. */
        public Builder maxPositionEmbeddings(int v) {
            maxPositionEmbeddings = v;
            return this;
        }

        /** Sets {@code rms_norm_eps}. */
        public Builder rmsNormEps(double v) {
            rmsNormEps = v;
            return this;
        }

        /** Sets {@code query_pre_attn_scalar} (defaults to 256 like transformers). */
        public Builder queryPreAttnScalar(double v) {
            queryPreAttnScalar = v;
            return this;
        }

        /** Sets {@code rope_local_base_freq}. */
        public Builder ropeLocalTheta(double v) {
            ropeLocalTheta = v;
            return this;
        }

        /** Sets {@code rope_theta}. */
        public Builder ropeGlobalTheta(double v) {
            ropeGlobalTheta = v;
            return this;
        }

        /** Sets the linear RoPE factor of global layers; 1.0 means no {@code rope_scaling}. */
        public Builder ropeGlobalScaling(double v) {
            ropeGlobalScaling = v;
            return this;
        }

        /** Lists every layer's type ({@code layer_types}); wins over {@link #slidingWindowPattern(int)}. */
        public Builder layerTypes(List<LayerType> v) {
            layerTypes = v == null ? null : List.copyOf(v);
            return this;
        }

        /** Sets {@code sliding_window_pattern} and clears explicit layer types. */
        public Builder slidingWindowPattern(int v) {
            slidingWindowPattern = v;
            layerTypes = null;
            return this;
        }

        /** Sets the vision tower (multimodal architecture only); null for none. */
        public Builder vision(VisionConfig v) {
            vision = v;
            return this;
        }

        /** Sets {@code image_token_index}. */
        public Builder imageTokenId(int v) {
            imageTokenId = v;
            return this;
        }

        /** Sets {@code boi_token_index}. */
        public Builder boiTokenId(int v) {
            boiTokenId = v;
            return this;
        }

        /** Sets {@code eoi_token_index}. */
        public Builder eoiTokenId(int v) {
            eoiTokenId = v;
            return this;
        }

        /** Sets {@code mm_tokens_per_image}. */
        public Builder mmTokensPerImage(int v) {
            mmTokensPerImage = v;
            return this;
        }

        /** Sets {@code pad_token_id}. */
        public Builder padTokenId(int v) {
            padTokenId = v;
            return this;
        }

        /** Sets {@code bos_token_id}. */
        public Builder bosTokenId(int v) {
            bosTokenId = v;
            return this;
        }

        /**
         * Sets {@code eos_token_id} ({@link GemmaConfig#EOS} and {@link GemmaConfig#END_OF_TURN} are added where the
         * vocabulary holds them).
         */
        public Builder eosTokenIds(List<Integer> v) {
            eosTokenIds = List.copyOf(v);
            return this;
        }

        /** Sets {@code torch_dtype} ("bfloat16", "float32", "float16"). */
        public Builder torchDtype(String v) {
            torchDtype = v;
            return this;
        }

        /**
         * @return the validated configuration
         * @throws ModelLoadException naming the offending key
         */
        public GemmaConfig build() {
            if (!CAUSAL_LM.equals(architecture) && !CONDITIONAL_GENERATION.equals(architecture)) {
                throw new ModelLoadException("unsupported architecture '" + architecture + "' (supported: " + CAUSAL_LM
                        + ", " + CONDITIONAL_GENERATION + ")");
            }
            positive("hidden_size", hiddenSize);
            positive("intermediate_size", intermediateSize);
            positive("num_hidden_layers", numHiddenLayers);
            positive("num_attention_heads", numAttentionHeads);
            positive("num_key_value_heads", numKeyValueHeads);
            positive("head_dim", headDim);
            positive("vocab_size", vocabSize);
            positive("sliding_window", slidingWindow);
            positive("max_position_embeddings", maxPositionEmbeddings);
            positive("mm_tokens_per_image", mmTokensPerImage);
            if (numAttentionHeads % numKeyValueHeads != 0) {
                throw new ModelLoadException("num_attention_heads " + numAttentionHeads
                        + " is not a multiple of num_key_value_heads " + numKeyValueHeads);
            }
            if (headDim % 2 != 0) {
                throw new ModelLoadException("head_dim must be even for rotary embeddings, got " + headDim);
            }
            positiveReal("rms_norm_eps", rmsNormEps);
            positiveReal("query_pre_attn_scalar", queryPreAttnScalar);
            positiveReal("rope_local_base_freq", ropeLocalTheta);
            positiveReal("rope_theta", ropeGlobalTheta);
            positiveReal("rope_scaling.factor", ropeGlobalScaling);
            if (vision != null && !CONDITIONAL_GENERATION.equals(architecture)) {
                throw new ModelLoadException("vision_config requires architecture " + CONDITIONAL_GENERATION
                        + ", not " + architecture);
            }
            List<LayerType> types;
            if (layerTypes != null) {
                if (layerTypes.size() != numHiddenLayers) {
                    throw new ModelLoadException("layer_types has " + layerTypes.size() + " entries but num_hidden_layers is "
                            + numHiddenLayers);
                }
                types = layerTypes;
            } else {
                types = layerTypesFromPattern(numHiddenLayers, slidingWindowPattern);
            }
            tokenId("bos_token_id", bosTokenId);
            tokenId("pad_token_id", padTokenId);
            Set<Integer> eos = new LinkedHashSet<>();
            for (Integer id : eosTokenIds) {
                tokenId("eos_token_id", Objects.requireNonNull(id, "eos_token_id entry"));
                eos.add(id);
            }
            // Stop on both <eos> and <end_of_turn> (reference: pre-trained vs instruction-tuned endings).
            if (vocabSize > EOS) {
                eos.add(EOS);
            }
            if (vocabSize > END_OF_TURN) {
                eos.add(END_OF_TURN);
            }
            if (torchDtype == null || torchDtype.isBlank()) {
                throw new ModelLoadException("torch_dtype must not be empty");
            }
            return new GemmaConfig(this, Collections.unmodifiableList(new ArrayList<>(types)), List.copyOf(eos));
        }

        private void tokenId(String key, int id) {
            if (id < 0 || id >= vocabSize) {
                throw new ModelLoadException(key + " " + id + " is outside the vocabulary of " + vocabSize);
            }
        }

        private static void positive(String key, int v) {
            if (v <= 0) {
                throw new ModelLoadException(key + " must be positive, got " + v);
            }
        }

        private static void positiveReal(String key, double v) {
            if (!(v > 0) || Double.isInfinite(v)) {
                throw new ModelLoadException(key + " must be a positive finite number, got " + v);
            }
        }
    }
}
