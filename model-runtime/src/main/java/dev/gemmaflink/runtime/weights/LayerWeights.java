package dev.gemmaflink.runtime.weights;

/**
 * The tensors of one decoder layer, shapes as in the checkpoint ({@code [out, in]} for projections).
 * Obtained from {@link GemmaWeights#layer(int)}; shapes were checked when the checkpoint was opened.
 */
public final class LayerWeights {
    private final int index;
    private final TensorData qProj;
    private final TensorData kProj;
    private final TensorData vProj;
    private final TensorData oProj;
    private final TensorData qNorm;
    private final TensorData kNorm;
    private final TensorData gateProj;
    private final TensorData upProj;
    private final TensorData downProj;
    private final TensorData inputLayernorm;
    private final TensorData postAttentionLayernorm;
    private final TensorData preFeedforwardLayernorm;
    private final TensorData postFeedforwardLayernorm;

    LayerWeights(int index, TensorResolver r) {
        this.index = index;
        this.qProj = r.get(index, "self_attn.q_proj.weight");
        this.kProj = r.get(index, "self_attn.k_proj.weight");
        this.vProj = r.get(index, "self_attn.v_proj.weight");
        this.oProj = r.get(index, "self_attn.o_proj.weight");
        this.qNorm = r.get(index, "self_attn.q_norm.weight");
        this.kNorm = r.get(index, "self_attn.k_norm.weight");
        this.gateProj = r.get(index, "mlp.gate_proj.weight");
        this.upProj = r.get(index, "mlp.up_proj.weight");
        this.downProj = r.get(index, "mlp.down_proj.weight");
        this.inputLayernorm = r.get(index, "input_layernorm.weight");
        this.postAttentionLayernorm = r.get(index, "post_attention_layernorm.weight");
        this.preFeedforwardLayernorm = r.get(index, "pre_feedforward_layernorm.weight");
        this.postFeedforwardLayernorm = r.get(index, "post_feedforward_layernorm.weight");
    }

    /** Looks up a layer tensor by its suffix; implemented by {@link GemmaWeights}. */
    interface TensorResolver {
        TensorData get(int layer, String suffix);
    }

    /** @return the layer index */
    public int index() {
        return index;
    }

    /** @return (heads * headDim, hidden) */
    public TensorData qProj() {
        return qProj;
    }

    /** @return (kvHeads * headDim, hidden) */
    public TensorData kProj() {
        return kProj;
    }

    /** @return (kvHeads * headDim, hidden) */
    public TensorData vProj() {
        return vProj;
    }

    /** @return (hidden, heads * headDim) */
    public TensorData oProj() {
        return oProj;
    }

    /** @return (headDim), offset-from-1 RMSNorm weight applied per query head */
    public TensorData qNorm() {
        return qNorm;
    }

    /** @return (headDim), offset-from-1 RMSNorm weight applied per key head */
    public TensorData kNorm() {
        return kNorm;
    }

    /** @return (intermediate, hidden) */
    public TensorData gateProj() {
        return gateProj;
    }

    /** @return (intermediate, hidden) */
    public TensorData upProj() {
        return upProj;
    }

    /** @return (hidden, intermediate) */
    public TensorData downProj() {
        return downProj;
    }

    /** @return (hidden) */
    public TensorData inputLayernorm() {
        return inputLayernorm;
    }

    /** @return (hidden) */
    public TensorData postAttentionLayernorm() {
        return postAttentionLayernorm;
    }

    /** @return (hidden) */
    public TensorData preFeedforwardLayernorm() {
        return preFeedforwardLayernorm;
    }

    /** @return (hidden) */
    public TensorData postFeedforwardLayernorm() {
        return postFeedforwardLayernorm;
    }
}
