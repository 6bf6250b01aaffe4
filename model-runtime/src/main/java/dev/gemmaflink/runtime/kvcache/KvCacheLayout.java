package dev.gemmaflink.runtime.kvcache;

import dev.gemmaflink.runtime.config.GemmaConfig;
import dev.gemmaflink.runtime.config.LayerType;
import java.util.ArrayList;
import java.util.List;

/**
 * The memory shape of the KV cache: block size, per-token K/V shape and the layer groups.
 *
 * <p>One block of group {@code g} stores, for each of the group's layers, K and V for {@code blockSize} consecutive
 * token positions: (layers_g, 2, blockSize, numKvHeads, headDim) elements of {@code bytesPerElement} bytes. The tensor
 * side will allocate, per layer, a tensor (numBlocks_g, 2, blockSize, numKvHeads, headDim) and address it by block id;
 * this class only does the arithmetic.
 *
 * <pre>{@code
 * KvCacheLayout layout = KvCacheLayout.fromLayerTypes(types, 1024, 4, 256, 2, 16); // Gemma 3 4B, bf16
 * long perBlock = layout.bytesPerBlock(0);
 * }</pre>
 */
public final class KvCacheLayout {

    private final int blockSize;
    private final int numKvHeads;
    private final int headDim;
    private final int bytesPerElement;
    private final List<KvGroupSpec> groups;

    private KvCacheLayout(int blockSize, int numKvHeads, int headDim, int bytesPerElement, List<KvGroupSpec> groups) {
        this.blockSize = blockSize;
        this.numKvHeads = numKvHeads;
        this.headDim = headDim;
        this.bytesPerElement = bytesPerElement;
        this.groups = groups;
    }

    /**
     * Builds a layout from explicit groups.
     *
     * @param blockSize tokens per block (>= 1)
     * @param numKvHeads key/value heads per layer
     * @param headDim elements per head
     * @param bytesPerElement 2 for bf16/f16, 4 for f32
     * @param groups the layer groups; every layer index must appear exactly once over all groups
     */
    public static KvCacheLayout of(int blockSize, int numKvHeads, int headDim, int bytesPerElement,
            List<KvGroupSpec> groups) {
        requirePositive("blockSize", blockSize);
        requirePositive("numKvHeads", numKvHeads);
        requirePositive("headDim", headDim);
        requirePositive("bytesPerElement", bytesPerElement);
        if (groups == null || groups.isEmpty()) {
            throw new IllegalArgumentException("KV cache layout needs at least one group");
        }
        int totalLayers = groups.stream().mapToInt(KvGroupSpec::numLayers).sum();
        boolean[] seen = new boolean[totalLayers];
        for (KvGroupSpec group : groups) {
            for (int layer : group.layerIndices()) {
                if (layer < 0 || layer >= totalLayers || seen[layer]) {
                    throw new IllegalArgumentException("layer index " + layer
                            + " is out of range or appears twice; groups must partition layers 0.." + (totalLayers - 1));
                }
                seen[layer] = true;
            }
        }
        return new KvCacheLayout(blockSize, numKvHeads, headDim, bytesPerElement, List.copyOf(groups));
    }

    /**
     * Groups layers by attention kind: one full-attention group and one sliding group (whichever are present, full
     * first), the natural grouping for Gemma 3.
     *
     * @param layerTypes attention kind per decoder layer, index = layer
     * @param slidingWindow window in tokens of the sliding layers
     */
    public static KvCacheLayout fromLayerTypes(List<LayerType> layerTypes, int slidingWindow, int numKvHeads,
            int headDim, int bytesPerElement, int blockSize) {
        if (layerTypes == null || layerTypes.isEmpty()) {
            throw new IllegalArgumentException("layerTypes must list at least one layer");
        }
        List<Integer> full = new ArrayList<>();
        List<Integer> sliding = new ArrayList<>();
        for (int i = 0; i < layerTypes.size(); i++) {
            LayerType type = layerTypes.get(i);
            if (type == null) {
                throw new IllegalArgumentException("layerTypes[" + i + "] is null");
            }
            (type == LayerType.FULL_ATTENTION ? full : sliding).add(i);
        }
        List<KvGroupSpec> groups = new ArrayList<>();
        if (!full.isEmpty()) {
            groups.add(new KvGroupSpec(LayerType.FULL_ATTENTION, full, 0));
        }
        if (!sliding.isEmpty()) {
            groups.add(new KvGroupSpec(LayerType.SLIDING_ATTENTION, sliding, slidingWindow));
        }
        return of(blockSize, numKvHeads, headDim, bytesPerElement, groups);
    }

    /**
     * The layout of a Gemma 3 config: its layer types, window, K/V heads and head dim.
     *
     * @param bytesPerElement 2 for bf16/f16, 4 for f32
     * @param blockSize tokens per block (16 is a good default: 1.6% over the window at W = 1024)
     */
    public static KvCacheLayout fromConfig(GemmaConfig config, int bytesPerElement, int blockSize) {
        return fromLayerTypes(config.layerTypes(), config.slidingWindow(), config.numKeyValueHeads(),
                config.headDim(), bytesPerElement, blockSize);
    }

    /** Tokens per block. */
    public int blockSize() {
        return blockSize;
    }

    public int numKvHeads() {
        return numKvHeads;
    }

    public int headDim() {
        return headDim;
    }

    public int bytesPerElement() {
        return bytesPerElement;
    }

    /** The groups, in group-index order. */
    public List<KvGroupSpec> groups() {
        return groups;
    }

    public int numGroups() {
        return groups.size();
    }

    public KvGroupSpec group(int groupIndex) {
        return groups.get(groupIndex);
    }

    /** Bytes of K plus V for one token in one layer: 2 * numKvHeads * headDim * bytesPerElement. */
    public long bytesPerTokenPerLayer() {
        return 2L * numKvHeads * headDim * bytesPerElement;
    }

    /** Bytes one block of group {@code groupIndex} occupies over all of the group's layers. */
    public long bytesPerBlock(int groupIndex) {
        return (long) group(groupIndex).numLayers() * blockSize * bytesPerTokenPerLayer();
    }

    /** Total number of decoder layers over all groups. */
    public int numLayers() {
        return groups.stream().mapToInt(KvGroupSpec::numLayers).sum();
    }

    /** The group index holding decoder layer {@code layer}. */
    public int groupOfLayer(int layer) {
        for (int g = 0; g < groups.size(); g++) {
            if (groups.get(g).layerIndices().contains(layer)) {
                return g;
            }
        }
        throw new IllegalArgumentException("layer " + layer + " is in no KV group (layers: " + numLayers() + ")");
    }

    /**
     * Blocks of group {@code groupIndex} a sequence holds while the step that computes its token {@code seqLen - 1}
     * runs, that is with slots for {@code seqLen} tokens and every block that slid out of the window freed: full
     * attention {@code ceil(L / bs)}; sliding {@code ceil(L / bs) - floor(max(0, L - W) / bs)}, which never exceeds
     * {@code ceil(W / bs) + 1}.
     */
    public int blocksHeld(int groupIndex, int seqLen) {
        if (seqLen < 0) {
            throw new IllegalArgumentException("seqLen must be >= 0, got " + seqLen);
        }
        KvGroupSpec group = group(groupIndex);
        int total = ceilDiv(seqLen, blockSize);
        if (group.type() == LayerType.FULL_ATTENTION) {
            return total;
        }
        return total - Math.max(0, seqLen - group.slidingWindow()) / blockSize;
    }

    /** {@link #blocksHeld(int, int)} for every group, index = group index. */
    public int[] blocksHeld(int seqLen) {
        int[] held = new int[groups.size()];
        for (int g = 0; g < held.length; g++) {
            held[g] = blocksHeld(g, seqLen);
        }
        return held;
    }

    /**
     * The least KV memory any cache can use for one sequence of {@code seqLen} tokens: every full layer at seqLen
     * tokens, every sliding layer at min(seqLen, W) tokens. Bytes.
     */
    public long analyticMinimumBytes(int seqLen) {
        long bytes = 0;
        for (KvGroupSpec group : groups) {
            int tokens = group.type() == LayerType.FULL_ATTENTION ? seqLen : Math.min(seqLen, group.slidingWindow());
            bytes += (long) group.numLayers() * tokens * bytesPerTokenPerLayer();
        }
        return bytes;
    }

    /** KV bytes of one sequence of {@code seqLen} tokens if every layer were global. */
    public long allGlobalBytes(int seqLen) {
        return (long) numLayers() * seqLen * bytesPerTokenPerLayer();
    }

    static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    private static void requirePositive(String name, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(name + " must be >= 1, got " + value);
        }
    }

    @Override
    public String toString() {
        return "KvCacheLayout{blockSize=" + blockSize + ", numKvHeads=" + numKvHeads + ", headDim=" + headDim
                + ", bytesPerElement=" + bytesPerElement + ", groups=" + groups + "}";
    }
}
