package dev.gemmaflink.runtime.kvcache;

import dev.gemmaflink.runtime.config.LayerType;
import java.util.List;

/**
 * One KV cache group: the decoder layers that share an attention kind and therefore one block table per sequence.
 *
 * <p>Gemma 3 has two groups: its global layers ({@link LayerType#FULL_ATTENTION}) and its local layers
 * ({@link LayerType#SLIDING_ATTENTION} with a window of {@code slidingWindow} positions, each query seeing itself and
 * the {@code slidingWindow - 1} positions before it).
 *
 * @param type attention kind of every layer in the group
 * @param layerIndices indices of the decoder layers of the group, ascending (the tensor side allocates one KV tensor
 *     per layer, each addressed by the group's block ids)
 * @param slidingWindow window in tokens for sliding groups; 0 for full attention
 */
public record KvGroupSpec(LayerType type, List<Integer> layerIndices, int slidingWindow) {

    /** Validates and copies the layer list. */
    public KvGroupSpec {
        if (type == null) {
            throw new IllegalArgumentException("KV group type must not be null");
        }
        if (layerIndices == null || layerIndices.isEmpty()) {
            throw new IllegalArgumentException("KV group " + type + " needs at least one layer index");
        }
        layerIndices = List.copyOf(layerIndices);
        if (type == LayerType.SLIDING_ATTENTION && slidingWindow < 1) {
            throw new IllegalArgumentException(
                    "sliding-attention KV group needs slidingWindow >= 1, got " + slidingWindow);
        }
        if (type == LayerType.FULL_ATTENTION && slidingWindow != 0) {
            throw new IllegalArgumentException(
                    "full-attention KV group must have slidingWindow 0, got " + slidingWindow);
        }
    }

    /** Number of decoder layers in the group. */
    public int numLayers() {
        return layerIndices.size();
    }
}
