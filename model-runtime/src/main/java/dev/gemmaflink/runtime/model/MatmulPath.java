package dev.gemmaflink.runtime.model;

/** How the generated TorchScript computes {@code x @ W^T}; chosen once at load (see {@link Precision}). */
public enum MatmulPath {
    /** float32 weights held transposed, {@code torch.mm} (no transpose view per call). */
    F32(false, true, false),
    /**
     * float32 weights pre-packed by {@code mkldnn._reorder_linear_weight}, {@code mkldnn._linear_pointwise} per call:
     * oneDNN's blocked kernels reach about twice MKL's throughput with many rows on one core, for about 8% more time
     * on a one-row product (docs/benchmarks.md).
     */
    F32_ONEDNN_PACKED(true, true, true),
    /** bf16 weights pre-packed by {@code mkldnn._reorder_linear_weight}, {@code mkldnn._linear_pointwise} per call. */
    BF16_ONEDNN_PACKED(true, false, true),
    /**
     * bf16 weights in plain layout: {@code torch.linear} in bf16 for up to {@link GemmaScript#UPCAST_ROWS} rows,
     * weight widened to float32 for larger products (CPUs without native bf16).
     */
    BF16_PLAIN_CPU(true, false, false),
    /** bf16 weights held transposed, {@code torch.mm} in bf16 always (CUDA). */
    BF16_PLAIN(false, false, false);

    private final boolean cpuOnly;
    private final boolean float32;
    private final boolean packed;

    MatmulPath(boolean cpuOnly, boolean float32, boolean packed) {
        this.cpuOnly = cpuOnly;
        this.float32 = float32;
        this.packed = packed;
    }

    /** Whether the path computes in float32 (for {@link Precision#FLOAT32}); else in bf16. */
    public boolean float32() {
        return float32;
    }

    /**
     * Whether products take oneDNN-packed weights: the output head then needs a packed copy of the embedding, which
     * the token lookup reads in plain layout.
     */
    public boolean packed() {
        return packed;
    }

    /**
     * Whether the path exists for CPUs only: oneDNN's packed weights are CPU tensors, and widening weights to
     * float32 per product only pays off on CPUs without native bf16 (on a GPU it would double the traffic).
     */
    public boolean cpuOnly() {
        return cpuOnly;
    }
}
