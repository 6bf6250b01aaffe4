package dev.gemmaflink.runtime.weights;

import dev.gemmaflink.runtime.config.GemmaConfig;
import dev.gemmaflink.runtime.config.VisionConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * Every kind of tensor a Gemma 3 checkpoint holds, as llama.cpp's tensor table lists them per architecture: the
 * canonical name (a template taking the layer index for per-layer kinds), what the values are used as
 * ({@link Form}) and the shape the configuration implies. {@link TensorTable} expands the kinds for one
 * configuration; loading, checking, the tiny checkpoint writer and the weight upload of the TorchScript modules all
 * read that table.
 *
 * <p>Canonical names are the module paths of transformers' Gemma 3 and SigLIP models without the checkpoint's own
 * prefixes ({@link TensorNaming} adds those). Shapes are as stored ({@code [out, in]} for projections). Within a
 * {@link Group}, the kinds are declared in checkpoint-table order: the image encoder's weight-list order for vision
 * kinds; the text model joins its kinds into {@link FusedKind} entries.
 */
public enum TensorKind {
    // ---- one set per decoder layer ----
    /** RMSNorm before attention. */
    ATTN_NORM(Group.TEXT_LAYER, "layers.%d.input_layernorm.weight", Form.GEMMA_NORM, c -> dims(c.hiddenSize())),
    /** Query projection. */
    ATTN_Q(Group.TEXT_LAYER, "layers.%d.self_attn.q_proj.weight", Form.MATRIX,
            c -> dims(queryWidth(c), c.hiddenSize())),
    /** Key projection. */
    ATTN_K(Group.TEXT_LAYER, "layers.%d.self_attn.k_proj.weight", Form.MATRIX,
            c -> dims(keyValueWidth(c), c.hiddenSize())),
    /** Value projection. */
    ATTN_V(Group.TEXT_LAYER, "layers.%d.self_attn.v_proj.weight", Form.MATRIX,
            c -> dims(keyValueWidth(c), c.hiddenSize())),
    /** Attention output projection. */
    ATTN_OUTPUT(Group.TEXT_LAYER, "layers.%d.self_attn.o_proj.weight", Form.MATRIX,
            c -> dims(c.hiddenSize(), queryWidth(c))),
    /** Per-head RMSNorm of the queries, over head_dim. */
    ATTN_Q_NORM(Group.TEXT_LAYER, "layers.%d.self_attn.q_norm.weight", Form.GEMMA_NORM, c -> dims(c.headDim())),
    /** Per-head RMSNorm of the keys, over head_dim. */
    ATTN_K_NORM(Group.TEXT_LAYER, "layers.%d.self_attn.k_norm.weight", Form.GEMMA_NORM, c -> dims(c.headDim())),
    /** RMSNorm of the attention output, before the residual add. */
    ATTN_POST_NORM(Group.TEXT_LAYER, "layers.%d.post_attention_layernorm.weight", Form.GEMMA_NORM,
            c -> dims(c.hiddenSize())),
    /** RMSNorm before the MLP. */
    FFN_NORM(Group.TEXT_LAYER, "layers.%d.pre_feedforward_layernorm.weight", Form.GEMMA_NORM,
            c -> dims(c.hiddenSize())),
    /** MLP gate projection (through gelu_tanh). */
    FFN_GATE(Group.TEXT_LAYER, "layers.%d.mlp.gate_proj.weight", Form.MATRIX,
            c -> dims(c.intermediateSize(), c.hiddenSize())),
    /** MLP up projection. */
    FFN_UP(Group.TEXT_LAYER, "layers.%d.mlp.up_proj.weight", Form.MATRIX,
            c -> dims(c.intermediateSize(), c.hiddenSize())),
    /** MLP down projection. */
    FFN_DOWN(Group.TEXT_LAYER, "layers.%d.mlp.down_proj.weight", Form.MATRIX,
            c -> dims(c.hiddenSize(), c.intermediateSize())),
    /** RMSNorm of the MLP output, before the residual add. */
    FFN_POST_NORM(Group.TEXT_LAYER, "layers.%d.post_feedforward_layernorm.weight", Form.GEMMA_NORM,
            c -> dims(c.hiddenSize())),

    // ---- once in the text model ----
    /** Token embedding; also the output head (tied, the checkpoint has no lm_head). */
    TOKEN_EMBEDDING(Group.TEXT, "embed_tokens.weight", Form.MATRIX, c -> dims(c.vocabSize(), c.hiddenSize())),
    /** Final RMSNorm before the output head. */
    OUTPUT_NORM(Group.TEXT, "norm.weight", Form.GEMMA_NORM, c -> dims(c.hiddenSize())),

    // ---- once in the vision tower, before its layers ----
    /** Patch embedding: a convolution with kernel and stride patch_size. */
    VISION_PATCH_EMBEDDING(Group.VISION_EMBEDDINGS, "vision_tower.vision_model.embeddings.patch_embedding.weight",
            Form.MATRIX, c -> dims(vision(c).hiddenSize(), vision(c).numChannels(), vision(c).patchSize(),
                    vision(c).patchSize())),
    /** Bias of the patch embedding. */
    VISION_PATCH_BIAS(Group.VISION_EMBEDDINGS, "vision_tower.vision_model.embeddings.patch_embedding.bias",
            Form.BIAS, c -> dims(vision(c).hiddenSize())),
    /** Learned position embedding, one row per patch. */
    VISION_POSITION_EMBEDDING(Group.VISION_EMBEDDINGS,
            "vision_tower.vision_model.embeddings.position_embedding.weight", Form.POSITION_EMBEDDING,
            c -> dims(vision(c).numPatches(), vision(c).hiddenSize())),

    // ---- one set per vision encoder layer ----
    /** LayerNorm before attention. */
    VISION_ATTN_NORM(Group.VISION_LAYER, "vision_tower.vision_model.encoder.layers.%d.layer_norm1.weight",
            Form.LAYER_NORM, c -> dims(vision(c).hiddenSize())),
    /** Bias of the LayerNorm before attention. */
    VISION_ATTN_NORM_BIAS(Group.VISION_LAYER, "vision_tower.vision_model.encoder.layers.%d.layer_norm1.bias",
            Form.BIAS, c -> dims(vision(c).hiddenSize())),
    /** Query projection. */
    VISION_ATTN_Q(Group.VISION_LAYER, "vision_tower.vision_model.encoder.layers.%d.self_attn.q_proj.weight",
            Form.MATRIX, c -> dims(vision(c).hiddenSize(), vision(c).hiddenSize())),
    /** Query bias. */
    VISION_ATTN_Q_BIAS(Group.VISION_LAYER, "vision_tower.vision_model.encoder.layers.%d.self_attn.q_proj.bias",
            Form.BIAS, c -> dims(vision(c).hiddenSize())),
    /** Key projection. */
    VISION_ATTN_K(Group.VISION_LAYER, "vision_tower.vision_model.encoder.layers.%d.self_attn.k_proj.weight",
            Form.MATRIX, c -> dims(vision(c).hiddenSize(), vision(c).hiddenSize())),
    /** Key bias. */
    VISION_ATTN_K_BIAS(Group.VISION_LAYER, "vision_tower.vision_model.encoder.layers.%d.self_attn.k_proj.bias",
            Form.BIAS, c -> dims(vision(c).hiddenSize())),
    /** Value projection. */
    VISION_ATTN_V(Group.VISION_LAYER, "vision_tower.vision_model.encoder.layers.%d.self_attn.v_proj.weight",
            Form.MATRIX, c -> dims(vision(c).hiddenSize(), vision(c).hiddenSize())),
    /** Value bias. */
    VISION_ATTN_V_BIAS(Group.VISION_LAYER, "vision_tower.vision_model.encoder.layers.%d.self_attn.v_proj.bias",
            Form.BIAS, c -> dims(vision(c).hiddenSize())),
    /** Attention output projection. */
    VISION_ATTN_OUTPUT(Group.VISION_LAYER, "vision_tower.vision_model.encoder.layers.%d.self_attn.out_proj.weight",
            Form.MATRIX, c -> dims(vision(c).hiddenSize(), vision(c).hiddenSize())),
    /** Attention output bias. */
    VISION_ATTN_OUTPUT_BIAS(Group.VISION_LAYER,
            "vision_tower.vision_model.encoder.layers.%d.self_attn.out_proj.bias", Form.BIAS,
            c -> dims(vision(c).hiddenSize())),
    /** LayerNorm before the MLP. */
    VISION_FFN_NORM(Group.VISION_LAYER, "vision_tower.vision_model.encoder.layers.%d.layer_norm2.weight",
            Form.LAYER_NORM, c -> dims(vision(c).hiddenSize())),
    /** Bias of the LayerNorm before the MLP. */
    VISION_FFN_NORM_BIAS(Group.VISION_LAYER, "vision_tower.vision_model.encoder.layers.%d.layer_norm2.bias",
            Form.BIAS, c -> dims(vision(c).hiddenSize())),
    /** MLP up projection ({@code fc1}, through gelu_tanh). */
    VISION_FFN_UP(Group.VISION_LAYER, "vision_tower.vision_model.encoder.layers.%d.mlp.fc1.weight", Form.MATRIX,
            c -> dims(vision(c).intermediateSize(), vision(c).hiddenSize())),
    /** MLP up bias. */
    VISION_FFN_UP_BIAS(Group.VISION_LAYER, "vision_tower.vision_model.encoder.layers.%d.mlp.fc1.bias", Form.BIAS,
            c -> dims(vision(c).intermediateSize())),
    /** MLP down projection ({@code fc2}). */
    VISION_FFN_DOWN(Group.VISION_LAYER, "vision_tower.vision_model.encoder.layers.%d.mlp.fc2.weight", Form.MATRIX,
            c -> dims(vision(c).hiddenSize(), vision(c).intermediateSize())),
    /** MLP down bias. */
    VISION_FFN_DOWN_BIAS(Group.VISION_LAYER, "vision_tower.vision_model.encoder.layers.%d.mlp.fc2.bias", Form.BIAS,
            c -> dims(vision(c).hiddenSize())),

    // ---- once after the vision layers: final LayerNorm and the multimodal projector ----
    /** LayerNorm after the last vision layer. */
    VISION_POST_NORM(Group.VISION_OUTPUT, "vision_tower.vision_model.post_layernorm.weight", Form.LAYER_NORM,
            c -> dims(vision(c).hiddenSize())),
    /** Bias of the LayerNorm after the last vision layer. */
    VISION_POST_NORM_BIAS(Group.VISION_OUTPUT, "vision_tower.vision_model.post_layernorm.bias", Form.BIAS,
            c -> dims(vision(c).hiddenSize())),
    /** Gemma RMSNorm of the pooled soft tokens. */
    PROJECTOR_SOFT_EMB_NORM(Group.VISION_OUTPUT, "multi_modal_projector.mm_soft_emb_norm.weight", Form.GEMMA_NORM,
            c -> dims(vision(c).hiddenSize())),
    /** Projection of the soft tokens into the text model's hidden size, stored {@code [vision hidden, hidden]}. */
    PROJECTOR_INPUT_PROJECTION(Group.VISION_OUTPUT, "multi_modal_projector.mm_input_projection_weight",
            Form.MATRIX_IN_OUT, c -> dims(vision(c).hiddenSize(), c.hiddenSize()));

    /** Where a kind sits: which model, and whether there is one per layer or one in all. */
    public enum Group {
        /** One per text decoder layer. */
        TEXT_LAYER(false, true),
        /** Once in the text model. */
        TEXT(false, false),
        /** Once in the vision tower, before its layers. */
        VISION_EMBEDDINGS(true, false),
        /** One per vision encoder layer. */
        VISION_LAYER(true, true),
        /** Once after the vision layers (final LayerNorm and multimodal projector). */
        VISION_OUTPUT(true, false);

        private final boolean vision;
        private final boolean perLayer;

        Group(boolean vision, boolean perLayer) {
            this.vision = vision;
            this.perLayer = perLayer;
        }

        /** @return whether the kinds belong to the vision tower or projector (present only with a vision_config) */
        public boolean isVision() {
            return vision;
        }

        /** @return whether there is one tensor of each kind per layer */
        public boolean isPerLayer() {
            return perLayer;
        }

        /** @return the kinds of this group, in weight-list order */
        public List<TensorKind> kinds() {
            List<TensorKind> out = new ArrayList<>();
            for (TensorKind k : TensorKind.values()) {
                if (k.group == this) {
                    out.add(k);
                }
            }
            return out;
        }
    }

    /** What a tensor's values are used as; decides how a module holds them and how a random one is drawn. */
    public enum Form {
        /**
         * Multiplied with activations, stored output-major ({@code [out, in]}, or {@code [out, channels, kh, kw]} for
         * the patch kernel); the token embedding too, whose rows are looked up and which is the output head.
         */
        MATRIX,
        /** Multiplied with activations, stored input-major {@code [in, out]} (applied as {@code x @ W}). */
        MATRIX_IN_OUT,
        /** Gemma RMSNorm weight, stored as an offset from 1 (applied as {@code 1 + w}). */
        GEMMA_NORM,
        /** LayerNorm weight, applied as is. */
        LAYER_NORM,
        /** A bias, added. */
        BIAS,
        /** Learned position embedding, added to the patch embeddings. */
        POSITION_EMBEDDING
    }

    private final Group group;
    private final String nameTemplate;
    private final Form form;
    private final Function<GemmaConfig, long[]> shape;

    TensorKind(Group group, String nameTemplate, Form form, Function<GemmaConfig, long[]> shape) {
        this.group = group;
        this.nameTemplate = nameTemplate;
        this.form = form;
        this.shape = shape;
    }

    /** @return where the kind sits */
    public Group group() {
        return group;
    }

    /** @return what the values are used as */
    public Form form() {
        return form;
    }

    /** @return whether there is one tensor of this kind per layer */
    public boolean isPerLayer() {
        return group.isPerLayer();
    }

    /** @return position among the kinds of its group: the offset within one layer's (or the group's) weights */
    public int indexInGroup() {
        return group.kinds().indexOf(this);
    }

    /**
     * @return the canonical name of the tensor of this kind that exists once
     * @throws IllegalArgumentException for a per-layer kind
     */
    public String canonicalName() {
        if (isPerLayer()) {
            throw new IllegalArgumentException(this + " exists once per layer: name the layer");
        }
        return nameTemplate;
    }

    /**
     * @param layer the layer index (text or vision layer, after the kind's group)
     * @return the canonical name of this kind's tensor in that layer, e.g. {@code layers.5.self_attn.q_norm.weight}
     * @throws IllegalArgumentException for a kind that exists once, or a negative layer
     */
    public String canonicalName(int layer) {
        if (!isPerLayer()) {
            throw new IllegalArgumentException(this + " exists once, not per layer");
        }
        if (layer < 0) {
            throw new IllegalArgumentException("negative layer " + layer + " for " + this);
        }
        return String.format(Locale.ROOT, nameTemplate, layer);
    }

    /**
     * @return the shape the configuration implies (the same for every layer)
     * @throws IllegalArgumentException for a vision kind when the configuration has no vision tower
     */
    public long[] shape(GemmaConfig config) {
        return shape.apply(config);
    }

    private static long[] dims(long... dims) {
        return dims;
    }

    private static long queryWidth(GemmaConfig c) {
        return (long) c.numAttentionHeads() * c.headDim();
    }

    private static long keyValueWidth(GemmaConfig c) {
        return (long) c.numKeyValueHeads() * c.headDim();
    }

    private static VisionConfig vision(GemmaConfig c) {
        return c.vision().orElseThrow(() -> new IllegalArgumentException("the configuration has no vision_config"));
    }
}
