package dev.gemmaflink.runtime.model;

/** How the generated TorchScript computes {@code x @ W^T}; chosen once at load (see {@link Precision}). */
public enum MatmulPath {
    /** float32 weights held transposed, {@code torch.mm} (no transpose view per call). */
    F32(false),
    /** bf16 weights pre-packed by {@code mkldnn._reorder_linear_weight}, {@code mkldnn._linear_pointwise} per call. */
    BF16_ONEDNN_PACKED(true),
    /**
     * bf16 weights in plain layout: {@code torch.linear} in bf16 for up to {@link GemmaScript#UPCAST_ROWS} rows,
     * weight widened to float32 for larger products (CPUs without native bf16).
     */
    BF16_PLAIN_CPU(true),
    /** bf16 weights held transposed, {@code torch.mm} in bf16 always (CUDA). */
    BF16_PLAIN(false);

    private final boolean cpuOnly;

    MatmulPath(boolean cpuOnly) {
        this.cpuOnly = cpuOnly;
    }

    /**
     * Whether the path exists for CPUs only: oneDNN's packed weights are CPU tensors, and widening weights to
     * float32 per product only pays off on CPUs without native bf16 (on a GPU it would double the traffic).
     */
    public boolean cpuOnly() {
        return cpuOnly;
    }
}
