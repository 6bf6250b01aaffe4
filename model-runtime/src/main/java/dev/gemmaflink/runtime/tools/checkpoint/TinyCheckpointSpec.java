package dev.gemmaflink.runtime.tools.checkpoint;

import dev.gemmaflink.runtime.config.GemmaConfig;
import dev.gemmaflink.runtime.config.LayerType;
import dev.gemmaflink.runtime.config.VisionConfig;
import dev.gemmaflink.runtime.weights.DType;
import dev.gemmaflink.runtime.weights.TensorNaming;
import java.util.List;
import java.util.Optional;

/**
 * What {@link TinyCheckpointWriter} writes: sizes, naming scheme, file dtype, seed, RoPE scaling, layer-type
 * style, sharding and tokenizer. Immutable; build with {@link #builder()}.
 *
 * <pre>{@code
 * TinyCheckpointSpec spec = TinyCheckpointSpec.builder()
 *     .layers(6).hidden(64).intermediate(128).heads(4).kvHeads(2).headDim(16)
 *     .window(8).vocab(512).scheme(TensorNaming.TEXT).dtype(DType.BF16)
 *     .ropeScaling(true).shards(2).seed(7).build();
 * }</pre>
 */
public final class TinyCheckpointSpec {
    /** Vocabulary of the real Gemma 3 tokenizer (ids 0..262143; 262144 is the image soft token). */
    public static final int REAL_VOCAB = 262_144;
    /** {@code <start_of_image>} in the real Gemma 3 tokenizer (and {@code boi_token_index} of the released configs). */
    public static final int REAL_BOI_TOKEN_ID = 255_999;
    /** {@code <end_of_image>} in the real Gemma 3 tokenizer (and {@code eoi_token_index}). */
    public static final int REAL_EOI_TOKEN_ID = 256_000;
    /** {@code <image_soft_token>}: the real tokenizer's one added token past its vocabulary (image_token_index). */
    public static final int REAL_IMAGE_TOKEN_ID = 262_144;
    /** Linear factor used by the released 4B+ checkpoints when scaling is on. */
    public static final double RELEASED_ROPE_FACTOR = 8.0;

    private final int layers;
    private final int hidden;
    private final int intermediate;
    private final int heads;
    private final int kvHeads;
    private final int headDim;
    private final int window;
    private final int vocab;
    private final int maxPositions;
    private final TensorNaming scheme;
    private final DType dtype;
    private final long seed;
    private final double ropeScaling;
    private final boolean explicitLayerTypes;
    private final int slidingWindowPattern;
    private final List<LayerType> layerTypes;
    private final int shards;
    private final boolean realTokenizer;
    private final VisionConfig vision;
    private final int mmTokensPerImage;
    private final int[] imageTokenIds; // boi, eoi, image soft token

    private TinyCheckpointSpec(Builder b, int vocab) {
        this.layers = b.layers;
        this.hidden = b.hidden;
        this.intermediate = b.intermediate;
        this.heads = b.heads;
        this.kvHeads = b.kvHeads;
        this.headDim = b.headDim;
        this.window = b.window;
        this.vocab = vocab;
        this.maxPositions = b.maxPositions;
        this.scheme = b.scheme;
        this.dtype = b.dtype;
        this.seed = b.seed;
        this.ropeScaling = b.ropeScaling;
        this.explicitLayerTypes = b.explicitLayerTypes;
        this.slidingWindowPattern = b.slidingWindowPattern;
        this.layerTypes = b.layerTypes;
        this.shards = b.shards;
        this.realTokenizer = b.realTokenizer;
        this.vision = b.vision;
        this.mmTokensPerImage = b.mmTokensPerImage;
        this.imageTokenIds = b.imageTokenIds.clone();
    }

    /** @return a builder with tiny defaults: 6 layers (5 local + 1 global), hidden 64, 4/2 heads of 16, vocab 512 */
    public static Builder builder() {
        return new Builder();
    }

    /** @return the configuration this spec describes (written as config.json) */
    public GemmaConfig toConfig() {
        GemmaConfig.Builder b = GemmaConfig.builder()
                .architecture(scheme == TensorNaming.TEXT ? GemmaConfig.CAUSAL_LM : GemmaConfig.CONDITIONAL_GENERATION)
                .hiddenSize(hidden).intermediateSize(intermediate).numHiddenLayers(layers)
                .numAttentionHeads(heads).numKeyValueHeads(kvHeads).headDim(headDim)
                .vocabSize(vocab).slidingWindow(window).maxPositionEmbeddings(maxPositions)
                .queryPreAttnScalar(headDim).ropeGlobalScaling(ropeScaling)
                .torchDtype(dtype == DType.BF16 ? "bfloat16" : dtype == DType.F16 ? "float16" : "float32")
                .vision(vision).mmTokensPerImage(mmTokensPerImage)
                .boiTokenId(imageTokenIds[0]).eoiTokenId(imageTokenIds[1]).imageTokenId(imageTokenIds[2]);
        if (layerTypes != null) {
            b.layerTypes(layerTypes);
        } else {
            b.slidingWindowPattern(slidingWindowPattern);
            if (explicitLayerTypes) {
                b.layerTypes(GemmaConfig.layerTypesFromPattern(layers, slidingWindowPattern));
            }
        }
        return b.build();
    }

    /** @return decoder layers */
    public int layers() {
        return layers;
    }

    /** @return hidden size */
    public int hidden() {
        return hidden;
    }

    /** @return MLP width */
    public int intermediate() {
        return intermediate;
    }

    /** @return query heads */
    public int heads() {
        return heads;
    }

    /** @return key/value heads */
    public int kvHeads() {
        return kvHeads;
    }

    /** @return head width */
    public int headDim() {
        return headDim;
    }

    /** @return sliding window */
    public int window() {
        return window;
    }

    /** @return vocabulary size (262144 with the real tokenizer) */
    public int vocab() {
        return vocab;
    }

    /** @return tensor naming scheme (TEXT writes a text-only config, the others a multimodal-layout one) */
    public TensorNaming scheme() {
        return scheme;
    }

    /** @return element type of the files */
    public DType dtype() {
        return dtype;
    }

    /** @return random seed of the weights */
    public long seed() {
        return seed;
    }

    /** @return linear RoPE factor of global layers (1.0 = off) */
    public double ropeScaling() {
        return ropeScaling;
    }

    /** @return number of safetensors shards (1 = a single model.safetensors) */
    public int shards() {
        return shards;
    }

    /** @return whether the real Gemma 3 tokenizer.json is copied in */
    public boolean realTokenizer() {
        return realTokenizer;
    }

    /** @return the vision tower to write (step 4 of the roadmap; empty for text-only) */
    public Optional<VisionConfig> vision() {
        return Optional.ofNullable(vision);
    }

    /** @return soft tokens per image written as {@code mm_tokens_per_image} (256 unless set) */
    public int mmTokensPerImage() {
        return mmTokensPerImage;
    }

    /** Builder; {@link #build()} validates via {@link GemmaConfig.Builder#build()} plus tiny-specific checks. */
    public static final class Builder {
        private int layers = 6;
        private int hidden = 64;
        private int intermediate = 128;
        private int heads = 4;
        private int kvHeads = 2;
        private int headDim = 16;
        private int window = 8;
        private Integer vocab = null;
        private int maxPositions = 4096;
        private TensorNaming scheme = TensorNaming.TEXT;
        private DType dtype = DType.F32;
        private long seed = 42;
        private double ropeScaling = 1.0;
        private boolean explicitLayerTypes = true;
        private int slidingWindowPattern = 6;
        private List<LayerType> layerTypes = null;
        private int shards = 1;
        private boolean realTokenizer = false;
        private VisionConfig vision = null;
        private int mmTokensPerImage = 256;
        private int[] imageTokenIds = {REAL_BOI_TOKEN_ID, REAL_EOI_TOKEN_ID, REAL_IMAGE_TOKEN_ID};

        private Builder() {
        }

        /** Sets the number of decoder layers (default 6). */
        public Builder layers(int v) {
            layers = v;
            return this;
        }

        /** Sets the hidden size (default 64). */
        public Builder hidden(int v) {
            hidden = v;
            return this;
        }

        /** Sets the MLP width (default 128). */
        public Builder intermediate(int v) {
            intermediate = v;
            return this;
        }

        /** Sets query heads (default 4). */
        public Builder heads(int v) {
            heads = v;
            return this;
        }

        /** Sets key/value heads (default 2). */
        public Builder kvHeads(int v) {
            kvHeads = v;
            return this;
        }

        /** Sets the head width (default 16). */
        public Builder headDim(int v) {
            headDim = v;
            return this;
        }

        /** Sets the sliding window (default 8). */
        public Builder window(int v) {
            window = v;
            return this;
        }

        /** Sets the vocabulary (default 512, or 262144 with the real tokenizer). */
        public Builder vocab(int v) {
            vocab = v;
            return this;
        }

        /** Sets max_position_embeddings (default 4096). */
        public Builder maxPositions(int v) {
            maxPositions = v;
            return this;
        }

        /** Sets the naming scheme (default {@link TensorNaming#TEXT}). */
        public Builder scheme(TensorNaming v) {
            scheme = v;
            return this;
        }

        /** Sets the file dtype (default F32). */
        public Builder dtype(DType v) {
            dtype = v;
            return this;
        }

        /** Sets the weight seed (default 42). */
        public Builder seed(long v) {
            seed = v;
            return this;
        }

        /** Turns linear RoPE scaling of global layers on (factor 8, as released 4B+) or off. */
        public Builder ropeScaling(boolean on) {
            ropeScaling = on ? RELEASED_ROPE_FACTOR : 1.0;
            return this;
        }

        /** Sets a specific linear RoPE factor (1.0 = off). */
        public Builder ropeScalingFactor(double factor) {
            ropeScaling = factor;
            return this;
        }

        /**
         * Chooses how config.json states the layer types: {@code true} writes {@code layer_types} (newer files),
         * {@code false} writes {@code sliding_window_pattern} (released files). Default true.
         */
        public Builder layerTypesInConfig(boolean v) {
            explicitLayerTypes = v;
            return this;
        }

        /** Sets the period of global layers (default 6: five local, then one global). */
        public Builder slidingWindowPattern(int v) {
            slidingWindowPattern = v;
            return this;
        }

        /** Lists every layer's type explicitly (implies {@code layer_types} in config.json). */
        public Builder layerTypes(List<LayerType> v) {
            layerTypes = v == null ? null : List.copyOf(v);
            return this;
        }

        /** Sets the number of shards (default 1: a single model.safetensors). */
        public Builder shards(int v) {
            shards = v;
            return this;
        }

        /** Copies the fetched real tokenizer.json (vocab 262144) instead of generating a small one. */
        public Builder realTokenizer(boolean v) {
            realTokenizer = v;
            return this;
        }

        /**
         * Adds a vision tower (its tensors are sized from {@code TensorTable.vision()}); needs a multimodal naming
         * scheme.
         */
        public Builder vision(VisionConfig v) {
            vision = v;
            return this;
        }

        /**
         * Sets {@code mm_tokens_per_image} (default 256): a square number whose root divides the tower's patches per
         * side (a tiny tower of image 56 and patch 14 has 4 x 4 patches: 4 soft tokens pool 2 x 2 patches each).
         */
        public Builder mmTokensPerImage(int v) {
            mmTokensPerImage = v;
            return this;
        }

        /**
         * Sets {@code boi_token_index}, {@code eoi_token_index} and {@code image_token_index} (defaults: the real ids
         * 255999, 256000, 262144). A tiny vocabulary needs {@code <start_of_image>}/{@code <end_of_image>} inside it
         * (they are embedded like text); the soft-token id may stay outside (its embedding is replaced). With the real
         * tokenizer and a vision tower they must be the real ids, which that tokenizer's added tokens carry.
         */
        public Builder imageTokenIds(int boi, int eoi, int image) {
            imageTokenIds = new int[] {boi, eoi, image};
            return this;
        }

        /**
         * @return the spec
         * @throws IllegalArgumentException naming the conflicting or invalid settings
         */
        public TinyCheckpointSpec build() {
            int v;
            if (realTokenizer) {
                if (vocab != null && vocab < REAL_VOCAB) {
                    throw new IllegalArgumentException("realTokenizer needs vocab >= " + REAL_VOCAB + ", but vocab was set to "
                            + vocab);
                }
                v = vocab == null ? REAL_VOCAB : vocab;
            } else {
                v = vocab == null ? 512 : vocab;
                if (v < TinyTokenizerJson.MIN_VOCAB) {
                    throw new IllegalArgumentException("vocab must be at least " + TinyTokenizerJson.MIN_VOCAB + ", got " + v);
                }
            }
            if (shards < 1) {
                throw new IllegalArgumentException("shards must be at least 1, got " + shards);
            }
            if (vision != null && !scheme.supportsVision()) {
                throw new IllegalArgumentException("a vision tower needs a multimodal naming scheme, not " + scheme);
            }
            if (realTokenizer && vision != null && (imageTokenIds[0] != REAL_BOI_TOKEN_ID
                    || imageTokenIds[1] != REAL_EOI_TOKEN_ID || imageTokenIds[2] != REAL_IMAGE_TOKEN_ID)) {
                // The prompt builder inserts these ids; the real tokenizer decodes them by its own table.
                throw new IllegalArgumentException(String.format("with the real tokenizer the image token ids must be "
                        + "its <start_of_image> %d, <end_of_image> %d and <image_soft_token> %d, got %d, %d, %d",
                        REAL_BOI_TOKEN_ID, REAL_EOI_TOKEN_ID, REAL_IMAGE_TOKEN_ID, imageTokenIds[0], imageTokenIds[1],
                        imageTokenIds[2]));
            }
            if (scheme == null || dtype == null) {
                throw new IllegalArgumentException("scheme and dtype must be set");
            }
            TinyCheckpointSpec spec = new TinyCheckpointSpec(this, v);
            int tensors = 2 + 13 * layers;
            if (shards > tensors) {
                throw new IllegalArgumentException("shards " + shards + " exceed the " + tensors + " tensors to distribute");
            }
            spec.toConfig(); // validates sizes with config-key messages
            return spec;
        }
    }
}
