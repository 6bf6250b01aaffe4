package dev.gemmaflink.runtime.vision;

import dev.gemmaflink.runtime.ModelLoadException;
import dev.gemmaflink.runtime.config.GemmaConfig;
import dev.gemmaflink.runtime.config.VisionConfig;
import dev.gemmaflink.runtime.model.Precision;
import dev.gemmaflink.runtime.model.TorchScriptModule;
import dev.gemmaflink.runtime.weights.TensorKind;
import dev.gemmaflink.runtime.weights.TensorKind.Group;
import dev.gemmaflink.runtime.weights.TensorTable;
import java.util.Locale;

/**
 * Generates the TorchScript source of the SigLIP vision tower plus the Gemma 3 multimodal projector for one
 * configuration (shape constants written into the source, weights passed as a {@code List[Tensor]}).
 *
 * <p>Shape letters: B images, S image side, P patch side, G = S / P patches per side, N = G * G patches, C vision
 * hidden, H heads of D, K pooling kernel, M = (G / K)^2 soft tokens, E text hidden.
 * <pre>
 *   pixels (B, 3, S, S) float32
 *   conv P/P + bias -> (B, C, G, G) -> (B, N, C) + position embedding (N, C)
 *   L x [ h += out(attn(LN1(h))) ; h += fc2(gelu_tanh(fc1(LN2(h)))) ]   attention: biased q/k/v, scale D^-0.5
 *   post LayerNorm -> (B, C, G, G) -> avg pool K/K -> (B, M, C) -> RMSNorm (1 + w) -> @ W (C, E) -> (B, M, E) float32
 * </pre>
 * Weight list order: {@link TensorTable#vision()} (patch weight, patch bias, position embedding, then every block's
 * {@link Group#VISION_LAYER} kinds, then post-LayerNorm weight and bias, the soft-embedding norm and the projection,
 * held transposed, (E, C), so every product is a {@code linear}). The weight-loading methods come from
 * {@link TorchScriptModule}.
 */
final class SiglipScript {

    /** Archive and TorchScript class name of the image encoder. */
    static final String ARCHIVE = "siglip";
    static final String CLASS_NAME = "Siglip";

    /** How products run; chosen at load from precision and device. */
    enum Path {
        /** float32 weights and products (reference mode). */
        F32,
        /**
         * bf16 weights; each product rounds its input to bf16 and widens the weight to float32 for the product
         * (CPUs without native bf16: libtorch's bf16 GEMM fallback is several times slower than float32 there).
         */
        BF16_WIDEN,
        /** bf16 weights and bf16 products (CUDA, or CPUs with native bf16). */
        BF16;

        /** @return the precision the weights are held in on this path */
        Precision precision() {
            return this == F32 ? Precision.FLOAT32 : Precision.BF16;
        }
    }

    private SiglipScript() {
    }

    /** @return the encoder's module for {@code cfg}: its own methods plus the weight-loading ones */
    static TorchScriptModule.Source module(GemmaConfig cfg, Path path) {
        return new TorchScriptModule.Source(ARCHIVE, CLASS_NAME, path.precision(), source(cfg, path));
    }

    /** @return the pooling kernel (patches per side / soft tokens per side), validated */
    static int poolKernel(GemmaConfig cfg) {
        VisionConfig v = cfg.vision().orElseThrow(() -> new ModelLoadException("config has no vision_config"));
        int mm = cfg.mmTokensPerImage();
        int side = (int) Math.round(Math.sqrt(mm));
        if (side * side != mm) {
            throw new ModelLoadException("mm_tokens_per_image " + mm + " is not a square number");
        }
        if (v.patchesPerSide() % side != 0) {
            throw new ModelLoadException("patches per side " + v.patchesPerSide() + " (image_size " + v.imageSize()
                    + " / patch_size " + v.patchSize() + ") is not a multiple of sqrt(mm_tokens_per_image) " + side);
        }
        return v.patchesPerSide() / side;
    }

    static String source(GemmaConfig cfg, Path path) {
        VisionConfig v = cfg.vision().orElseThrow(() -> new ModelLoadException("config has no vision_config"));
        int c = v.hiddenSize();
        int heads = v.numAttentionHeads();
        int d = v.headDim();
        int g = v.patchesPerSide();
        int p = v.patchSize();
        int k = poolKernel(cfg);
        String eps = lit(v.layerNormEps());
        String self = "self: __torch__." + CLASS_NAME;
        TensorTable table = TensorTable.of(cfg);
        StringBuilder s = new StringBuilder();
        // ---- building blocks ----
        s.append("def lin(").append(self).append(", x: Tensor, w: Tensor, b: Optional[Tensor]) -> Tensor:\n");
        switch (path) {
            case F32:
                s.append("  return torch.linear(x, w, b)\n");
                break;
            case BF16_WIDEN:
                s.append("  return torch.linear(torch.to(torch.to(x, 15), 6), torch.to(w, 6), b)\n");
                break;
            case BF16:
                s.append("  y = torch.to(torch.linear(torch.to(x, 15), w, None), 6)\n");
                s.append("  if b is None:\n");
                s.append("    return y\n");
                s.append("  return torch.add(y, b)\n");
                break;
            default:
                throw new IllegalStateException("unknown path " + path);
        }
        // One encoder block; its weights start at index i of the list.
        s.append("def block(").append(self).append(", h: Tensor, w: List[Tensor], i: int) -> Tensor:\n");
        s.append("  nb = torch.size(h, 0)\n");
        s.append("  n = torch.size(h, 1)\n");
        s.append("  x = torch.layer_norm(h, [").append(c).append("], ").append(inBlock(TensorKind.VISION_ATTN_NORM))
                .append(", ").append(inBlock(TensorKind.VISION_ATTN_NORM_BIAS)).append(", ").append(eps)
                .append(", True)\n");
        TensorKind[][] qkv = {
            {TensorKind.VISION_ATTN_Q, TensorKind.VISION_ATTN_Q_BIAS},
            {TensorKind.VISION_ATTN_K, TensorKind.VISION_ATTN_K_BIAS},
            {TensorKind.VISION_ATTN_V, TensorKind.VISION_ATTN_V_BIAS}};
        String[] names = {"q", "k", "v"};
        for (int j = 0; j < names.length; j++) {
            s.append("  ").append(names[j]).append(" = torch.transpose(torch.view(self.lin(x, ")
                    .append(inBlock(qkv[j][0])).append(", ").append(inBlock(qkv[j][1])).append("), [nb, n, ")
                    .append(heads).append(", ").append(d).append("]), 1, 2)\n");
        }
        s.append("  a = torch.scaled_dot_product_attention(q, k, v, None, 0., False, scale=")
                .append(lit(Math.pow(d, -0.5))).append(")\n");
        s.append("  a = torch.reshape(torch.transpose(a, 1, 2), [nb, n, ").append(c).append("])\n");
        s.append("  h = torch.add(h, self.lin(a, ").append(inBlock(TensorKind.VISION_ATTN_OUTPUT)).append(", ")
                .append(inBlock(TensorKind.VISION_ATTN_OUTPUT_BIAS)).append("))\n");
        s.append("  x = torch.layer_norm(h, [").append(c).append("], ").append(inBlock(TensorKind.VISION_FFN_NORM))
                .append(", ").append(inBlock(TensorKind.VISION_FFN_NORM_BIAS)).append(", ").append(eps)
                .append(", True)\n");
        s.append("  x = torch.gelu(self.lin(x, ").append(inBlock(TensorKind.VISION_FFN_UP)).append(", ")
                .append(inBlock(TensorKind.VISION_FFN_UP_BIAS)).append("), approximate=\"tanh\")\n");
        s.append("  return torch.add(h, self.lin(x, ").append(inBlock(TensorKind.VISION_FFN_DOWN)).append(", ")
                .append(inBlock(TensorKind.VISION_FFN_DOWN_BIAS)).append("))\n");
        // ---- the whole tower ----
        String patch = at(table, TensorKind.VISION_PATCH_EMBEDDING);
        String patchBias = at(table, TensorKind.VISION_PATCH_BIAS);
        s.append("def forward(").append(self).append(", w: List[Tensor], px: Tensor) -> Tensor:\n");
        s.append("  nb = torch.size(px, 0)\n");
        if (path == Path.F32) {
            s.append("  e = torch.conv2d(px, ").append(patch).append(", ").append(patchBias).append(", [").append(p)
                    .append(", ").append(p).append("], [0, 0], [1, 1], 1)\n");
        } else if (path == Path.BF16_WIDEN) {
            s.append("  e = torch.conv2d(torch.to(torch.to(px, 15), 6), torch.to(").append(patch).append(", 6), ")
                    .append(patchBias).append(", [").append(p).append(", ").append(p).append("], [0, 0], [1, 1], 1)\n");
        } else {
            s.append("  e = torch.add(torch.to(torch.conv2d(torch.to(px, 15), ").append(patch).append(", None, [")
                    .append(p).append(", ").append(p).append("], [0, 0], [1, 1], 1), 6), torch.view(").append(patchBias)
                    .append(", [1, ").append(c).append(", 1, 1]))\n");
        }
        s.append("  h = torch.add(torch.transpose(torch.flatten(e, 2, -1), 1, 2), ")
                .append(at(table, TensorKind.VISION_POSITION_EMBEDDING)).append(")\n"); // (B, N, C)
        for (int i = 0; i < v.numHiddenLayers(); i++) {
            s.append("  h = self.block(h, w, ").append(table.layerStart(Group.VISION_LAYER, i)).append(")\n");
        }
        s.append("  h = torch.layer_norm(h, [").append(c).append("], ").append(at(table, TensorKind.VISION_POST_NORM))
                .append(", ").append(at(table, TensorKind.VISION_POST_NORM_BIAS)).append(", ").append(eps)
                .append(", True)\n");
        s.append("  g = torch.reshape(torch.transpose(h, 1, 2), [nb, ").append(c).append(", ").append(g).append(", ")
                .append(g).append("])\n");
        s.append("  g = torch.avg_pool2d(g, [").append(k).append(", ").append(k).append("], [").append(k).append(", ")
                .append(k).append("], [0, 0], False, True, None)\n");
        s.append("  t = torch.transpose(torch.flatten(g, 2, -1), 1, 2)\n"); // (B, M, C)
        // Gemma RMSNorm in float32 with the vision tower's epsilon, as Gemma3MultiModalProjector builds it.
        s.append("  ms = torch.mean(torch.mul(t, t), [-1], True)\n");
        s.append("  t = torch.mul(torch.mul(t, torch.rsqrt(torch.add(ms, ").append(eps).append("))), ")
                .append(at(table, TensorKind.PROJECTOR_SOFT_EMB_NORM)).append(")\n");
        s.append("  return self.lin(t, ").append(at(table, TensorKind.PROJECTOR_INPUT_PROJECTION)).append(", None)\n");
        return s.toString();
    }

    /** The weight of {@code kind} inside {@code block}, whose layer's weights start at index {@code i}. */
    private static String inBlock(TensorKind kind) {
        return "w[i + " + kind.indexInGroup() + "]";
    }

    /** The weight of a kind that exists once, by its index in the list. */
    private static String at(TensorTable table, TensorKind kind) {
        return "w[" + table.get(kind).index() + "]";
    }

    private static String lit(double x) {
        if (!Double.isFinite(x)) {
            throw new IllegalArgumentException("non-finite constant " + x);
        }
        return String.format(Locale.ROOT, "%.17g", x);
    }
}
