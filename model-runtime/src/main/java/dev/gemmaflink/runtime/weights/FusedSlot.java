package dev.gemmaflink.runtime.weights;

import java.util.List;

/**
 * One entry of the text module's weight list ({@link TensorTable#textModule()}): what it is, its layer, the checkpoint
 * tensors joined into it and its position in the list.
 *
 * @param kind  the entry
 * @param layer the decoder layer, or {@link TensorSlot#NO_LAYER}
 * @param parts the checkpoint tensors, in {@link FusedKind#parts()} order
 * @param index position in the text module's weight list
 */
public record FusedSlot(FusedKind kind, int layer, List<TensorSlot> parts, int index) {
    public FusedSlot {
        parts = List.copyOf(parts);
    }
}
