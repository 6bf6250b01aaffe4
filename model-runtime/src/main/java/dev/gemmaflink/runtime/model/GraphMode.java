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
    OPTIMIZED
}
