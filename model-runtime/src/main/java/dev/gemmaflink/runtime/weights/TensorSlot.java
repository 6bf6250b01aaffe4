package dev.gemmaflink.runtime.weights;

import java.util.Arrays;

/**
 * One row of a {@link TensorTable}: which tensor (kind and layer), its canonical name, the shape the configuration
 * expects, and its position in the table's list of its model ({@link TensorTable#text()} or
 * {@link TensorTable#vision()}). The vision list is the image encoder's weight list; the text model's weight list
 * joins text tensors ({@link TensorTable#textModule()}).
 */
public final class TensorSlot {
    /** The {@link #layer()} of a kind that exists once. */
    public static final int NO_LAYER = -1;

    private final TensorKind kind;
    private final int layer;
    private final String name;
    private final long[] shape;
    private final int index;

    TensorSlot(TensorKind kind, int layer, String name, long[] shape, int index) {
        this.kind = kind;
        this.layer = layer;
        this.name = name;
        this.shape = shape.clone();
        this.index = index;
    }

    /** @return what the tensor is */
    public TensorKind kind() {
        return kind;
    }

    /** @return the text or vision layer index, or {@link #NO_LAYER} for a kind that exists once */
    public int layer() {
        return layer;
    }

    /** @return the canonical name, e.g. {@code layers.5.self_attn.q_norm.weight} (see {@link TensorNaming}) */
    public String name() {
        return name;
    }

    /** @return the key this tensor is stored under in a checkpoint of the given naming scheme */
    public String storedName(TensorNaming scheme) {
        return scheme.fileName(name);
    }

    /** @return the expected shape, as stored in the checkpoint */
    public long[] shape() {
        return shape.clone();
    }

    /** @return the position in {@link TensorTable#text()} or {@link TensorTable#vision()} */
    public int index() {
        return index;
    }

    /** @return the kind and, for per-layer kinds, the layer, e.g. {@code FFN_DOWN of layer 3} */
    public String describe() {
        return layer == NO_LAYER ? kind.name() : kind + " of layer " + layer;
    }

    @Override
    public String toString() {
        return name + " (" + describe() + ") " + Arrays.toString(shape);
    }
}
