package dev.gemmaflink.runtime.model;

/** How the generated TorchScript computes {@code x @ W^T}; chosen once at load (see {@link Precision}). */
public enum MatmulPath {
    /** float32 weights held transposed, {@code torch.mm} (no transpose view per call). */
    F32,
    /** bf16 weights pre-packed by {@code mkldnn._reorder_linear_weight}, {@code mkldnn._linear_pointwise} per call. */
    BF16_ONEDNN_PACKED,
    /**
     * bf16 weights in plain layout: {@code torch.linear} in bf16 for up to {@link GemmaScript#UPCAST_ROWS} rows,
     * weight widened to float32 for larger products (CPUs without native bf16).
     */
    BF16_PLAIN_CPU,
    /** bf16 weights held transposed, {@code torch.mm} in bf16 always (CUDA). */
    BF16_PLAIN
}
