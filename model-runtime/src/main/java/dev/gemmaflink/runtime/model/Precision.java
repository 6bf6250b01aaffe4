package dev.gemmaflink.runtime.model;

/**
 * Numeric precision of the forward pass.
 *
 * <p>Dtype policy (both modes keep RMSNorm statistics, RoPE, softmax accumulation, the residual stream and the logits
 * in float32, as the reference does for norms and softmax):
 * <ul>
 *   <li>{@link #BF16} (default): weights and the KV cache are held in bfloat16. Matrix products take and give bf16
 *       (normed inputs are written as bf16, so products chain without casts); Q, K and V enter attention in bf16
 *       and the MLP's {@code gelu(gate) * up} is bf16.
 *       On a CPU with native bf16 (avx512_bf16 / AMX, detected at load by a probe) weights are pre-packed for oneDNN
 *       and every product runs there. On a CPU without it (e.g. AVX2-only), products with few rows (decode) use
 *       libtorch's bf16 matrix-vector kernels, which read the bf16 weights directly, and products with many rows
 *       (prefill) widen the weight to float32 for that product, because libtorch's bf16 GEMM fallback is several
 *       times slower than its float32 GEMM there. On CUDA every product is a plain bf16 {@code mm}.</li>
 *   <li>{@link #FLOAT32}: weights, cache and every product in float32; the reference mode the correctness tests
 *       compare against a double-precision implementation.</li>
 * </ul>
 */
public enum Precision {
    /** bfloat16 weights, KV cache and matrix products; float32 norms, RoPE, softmax, residual and logits. */
    BF16(15, 2),
    /** float32 everywhere. */
    FLOAT32(6, 4);

    private final int torchScalarType;
    private final int bytesPerElement;

    Precision(int torchScalarType, int bytesPerElement) {
        this.torchScalarType = torchScalarType;
        this.bytesPerElement = bytesPerElement;
    }

    /** The c10::ScalarType code used in generated TorchScript (6 float32, 15 bfloat16). */
    int torchScalarType() {
        return torchScalarType;
    }

    /** Bytes per weight or cache element. */
    public int bytesPerElement() {
        return bytesPerElement;
    }

    /**
     * Parses a command-line spelling: {@code bf16}/{@code bfloat16} or {@code f32}/{@code fp32}/{@code float32}.
     *
     * @throws IllegalArgumentException naming the accepted values
     */
    public static Precision parse(String s) {
        if (s != null) {
            switch (s.trim().toLowerCase(java.util.Locale.ROOT)) {
                case "bf16":
                case "bfloat16":
                    return BF16;
                case "f32":
                case "fp32":
                case "float32":
                    return FLOAT32;
                default:
                    break;
            }
        }
        throw new IllegalArgumentException("unknown precision '" + s + "': use bf16 or f32");
    }
}
