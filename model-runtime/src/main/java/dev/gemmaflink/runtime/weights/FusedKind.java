package dev.gemmaflink.runtime.weights;

import java.util.ArrayList;
import java.util.List;

/**
 * The entries of the text model's weight list: checkpoint tensors ({@link TensorKind}s) joined at upload so that one
 * step runs few, large operations. Checking and loading stay per checkpoint tensor ({@link TensorTable#text()});
 * {@link TensorTable#textModule()} lists the joined entries. How the parts are joined (stacked rows, a norm folded
 * into a matrix's columns, per-head tables) is the business of the module that holds them.
 *
 * <p>Within a group the kinds are declared in the order of the text module's weight list.
 */
public enum FusedKind {
    // ---- one set per decoder layer ----
    /** Q, K and V projections stacked by rows, with the pre-attention norm folded into their columns. */
    ATTN_QKV(true, TensorKind.ATTN_Q, TensorKind.ATTN_K, TensorKind.ATTN_V, TensorKind.ATTN_NORM),
    /** The query norm repeated per query head, then the key norm per kv head: one table for both norms. */
    ATTN_QK_NORM(true, TensorKind.ATTN_Q_NORM, TensorKind.ATTN_K_NORM),
    /** {@link TensorKind#ATTN_OUTPUT}. */
    ATTN_OUTPUT(true, TensorKind.ATTN_OUTPUT),
    /** {@link TensorKind#ATTN_POST_NORM}. */
    ATTN_POST_NORM(true, TensorKind.ATTN_POST_NORM),
    /** Gate and up projections stacked by rows, with the pre-MLP norm folded into their columns. */
    FFN_GATE_UP(true, TensorKind.FFN_GATE, TensorKind.FFN_UP, TensorKind.FFN_NORM),
    /** {@link TensorKind#FFN_DOWN}. */
    FFN_DOWN(true, TensorKind.FFN_DOWN),
    /** {@link TensorKind#FFN_POST_NORM}. */
    FFN_POST_NORM(true, TensorKind.FFN_POST_NORM),

    // ---- once ----
    /** {@link TensorKind#TOKEN_EMBEDDING}: the lookup table and the tied output head. */
    TOKEN_EMBEDDING(false, TensorKind.TOKEN_EMBEDDING),
    /** {@link TensorKind#OUTPUT_NORM}. */
    OUTPUT_NORM(false, TensorKind.OUTPUT_NORM);

    private final boolean perLayer;
    private final List<TensorKind> parts;

    FusedKind(boolean perLayer, TensorKind... parts) {
        this.perLayer = perLayer;
        this.parts = List.of(parts);
    }

    /** @return whether there is one entry per decoder layer */
    public boolean isPerLayer() {
        return perLayer;
    }

    /** @return the checkpoint kinds joined into this entry, in join order */
    public List<TensorKind> parts() {
        return parts;
    }

    /** @return what the joined values are used as: the form of the first part */
    public TensorKind.Form form() {
        return parts.get(0).form();
    }

    /** @return the position among the per-layer kinds (the offset within one layer's entries), or among the others */
    public int indexInGroup() {
        return kinds(perLayer).indexOf(this);
    }

    /** @return the per-layer kinds ({@code true}) or the once-only kinds, in weight-list order */
    public static List<FusedKind> kinds(boolean perLayer) {
        List<FusedKind> out = new ArrayList<>();
        for (FusedKind k : values()) {
            if (k.perLayer == perLayer) {
                out.add(k);
            }
        }
        return out;
    }
}
