package dev.gemmaflink.runtime.engine;

import dev.gemmaflink.runtime.config.GemmaConfig;
import dev.gemmaflink.runtime.config.LayerType;

/**
 * Device memory one full engine step takes besides the weights and the KV cache: what the KV budget leaves free so
 * that the largest step the scheduler may form never runs out of memory. A pure function of the model's shape and
 * the step limits.
 *
 * <p>The worst step has {@code T = maxTokensPerStep} new tokens in {@code R = min(maxBatchSize, T)} sequences, every
 * sequence at the longest context {@code C}. The sizes follow the step graph the model generates: activations in
 * float32 ({@code a = 4} bytes), weights and cache in the precision's {@code p} bytes, decode rows padded to the
 * longest context of the step, each prefill chunk its own attention group (so the padded queries add up to {@code T}),
 * logits for one row per sequence. With {@code H} hidden size, {@code I} intermediate size, {@code nH} query heads,
 * {@code nKV} key/value heads, {@code d} head size, {@code G = nH / nKV}, {@code V} vocabulary, window {@code W} and
 * {@code C_t} the context of layer type {@code t} ({@code C} for global layers, {@code min(C, W + T)} for sliding
 * ones):
 * <ul>
 *   <li>live through the whole step: the residual stream and the next one, {@code 2·T·H·a}; per layer type present,
 *       RoPE cosines and sines {@code 2·T·d·a} and the additive mask tiled for grouped queries {@code G·T·C_t·a};</li>
 *   <li>live within one layer, the largest of three phases: attention, {@code 3·T·(nH + 2·nKV)·d·a} (projections,
 *       their norms and rotations) plus {@code 2·R·C_max·nKV·d·(p + a)} (K and V gathered per sequence, in the cache
 *       dtype and widened) plus {@code 3·T·nH·d·a} (grouped queries, attention output, its reordering); the MLP,
 *       {@code T·I·(3a + p)} (gate, up, their product, the product's cast); the logits, {@code R·V·(p + a)}.</li>
 * </ul>
 * Attention scores are not counted: {@code scaled_dot_product_attention} with an additive mask runs a fused kernel
 * that never materialises them. The caching allocator's fragmentation is what the part of the free memory outside
 * {@code kvCacheFraction} is for.
 *
 * @param residualBytes the residual stream and its successor
 * @param ropeBytes RoPE tables of every layer type present
 * @param maskBytes attention masks of every layer type present
 * @param attentionBytes the attention phase of one layer
 * @param mlpBytes the MLP phase of one layer
 * @param logitsBytes the output head
 */
public record ActivationHeadroom(long residualBytes, long ropeBytes, long maskBytes, long attentionBytes,
        long mlpBytes, long logitsBytes) {

    /** Bytes of a float32 activation element. */
    static final int ACTIVATION_BYTES = Float.BYTES;

    /** Everything live at the step's peak: the step-long tensors plus the largest phase. */
    public long totalBytes() {
        return residualBytes + ropeBytes + maskBytes + Math.max(attentionBytes, Math.max(mlpBytes, logitsBytes));
    }

    /**
     * The headroom of one step.
     *
     * @param cfg the model's shape
     * @param elementBytes bytes of a weight or cache element (2 for bf16, 4 for float32)
     * @param maxTokensPerStep new tokens of one step, {@code T}
     * @param maxBatchSize sequences of one step
     * @param longestContext the longest context (prompt plus generated tokens) a sequence may reach, {@code C}
     * @throws IllegalArgumentException when a count is not positive
     */
    public static ActivationHeadroom of(GemmaConfig cfg, int elementBytes, int maxTokensPerStep, int maxBatchSize,
            int longestContext) {
        positive("elementBytes", elementBytes);
        positive("maxTokensPerStep", maxTokensPerStep);
        positive("maxBatchSize", maxBatchSize);
        positive("longestContext", longestContext);
        long a = ACTIVATION_BYTES;
        long p = elementBytes;
        long t = maxTokensPerStep;
        long rows = Math.min(maxBatchSize, maxTokensPerStep); // every sequence of a step brings a token
        long h = cfg.hiddenSize();
        long d = cfg.headDim();
        long heads = cfg.numAttentionHeads();
        long kvHeads = cfg.numKeyValueHeads();
        long g = heads / kvHeads;
        boolean global = cfg.layerTypes().contains(LayerType.FULL_ATTENTION);
        boolean sliding = cfg.layerTypes().contains(LayerType.SLIDING_ATTENTION);
        long globalContext = longestContext;
        long slidingContext = Math.min(longestContext, (long) cfg.slidingWindow() + t);
        long types = (global ? 1 : 0) + (sliding ? 1 : 0);

        long residual = 2 * t * h * a;
        long rope = types * 2 * t * d * a;
        long masks = (global ? g * t * globalContext * a : 0) + (sliding ? g * t * slidingContext * a : 0);
        long gathered = global ? globalContext : slidingContext;
        long attention = 3 * t * (heads + 2 * kvHeads) * d * a
                + 2 * rows * gathered * kvHeads * d * (p + a)
                + 3 * t * heads * d * a;
        long mlp = t * cfg.intermediateSize() * (3 * a + p);
        long logits = rows * cfg.vocabSize() * (p + a);
        return new ActivationHeadroom(residual, rope, masks, attention, mlp, logits);
    }

    private static void positive(String name, long value) {
        if (value <= 0) {
            throw new IllegalArgumentException(name + " must be > 0, got " + value);
        }
    }
}
