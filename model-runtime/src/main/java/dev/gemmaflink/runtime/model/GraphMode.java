package dev.gemmaflink.runtime.model;

/**
 * How a {@link GemmaModel} step runs its TorchScript graph.
 *
 * <p>libtorch's graph-executor optimisation is a per-thread flag: it is set on the calling thread for the step's
 * forward call only and turned off again after it, so that other callers on the same thread (the image encoder, the
 * device sampler, another engine's model) keep running unoptimised.
 */
public enum GraphMode {

    /**
     * Graph-executor optimisation off (the interpreter runs the graph as written); shapes as the step has them,
     * contexts padded to a multiple of 16. The default: every shape change is free.
     */
    PLAIN,

    /**
     * Graph-executor optimisation on (the profiling executor, and its fusers where libtorch enables them: the
     * TensorExpr fuser on CUDA; on the CPU libtorch leaves fusion off), and the step's shapes padded to
     * {@link ShapeBuckets} so that the executor sees a bounded number of shapes: token rows, the decode group's
     * sequences, logit rows and context lengths. Padded tokens write their K/V to a scratch slot of the
     * {@link KvStorage} that no context reads, padded context entries are masked, and padded outputs are dropped,
     * so tokens are those of {@link #PLAIN}.
     */
    OPTIMIZED;

    /**
     * The most token rows a step of at most {@code tokens} new tokens runs with in this mode: {@code tokens} for
     * {@link #PLAIN}; for {@link #OPTIMIZED} the bucket of {@code tokens + tokens / 2}, since padding the decode
     * group's sequences to their bucket adds fewer than half of them before the step's rows go to theirs (what the
     * engine reserves activation memory for).
     *
     * @throws IllegalArgumentException when {@code tokens < 1}
     */
    public int paddedTokens(int tokens) {
        if (tokens < 1) {
            throw new IllegalArgumentException("tokens must be >= 1, got " + tokens);
        }
        return this == PLAIN ? tokens : ShapeBuckets.rows(tokens + tokens / 2);
    }

    /**
     * The context length a step runs a context of {@code length} entries with in this mode: a multiple of 16 for
     * {@link #PLAIN}, its {@link ShapeBuckets#context} bucket for {@link #OPTIMIZED}.
     *
     * @throws IllegalArgumentException when {@code length < 1}
     */
    public int paddedContext(int length) {
        if (length < 1) {
            throw new IllegalArgumentException("length must be >= 1, got " + length);
        }
        int a = GemmaScript.CONTEXT_ALIGN;
        return this == PLAIN ? (int) (((long) length + a - 1) / a * a) : ShapeBuckets.context(length);
    }
}
