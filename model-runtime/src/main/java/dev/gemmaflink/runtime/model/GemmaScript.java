package dev.gemmaflink.runtime.model;

import dev.gemmaflink.runtime.config.GemmaConfig;
import dev.gemmaflink.runtime.config.LayerType;
import dev.gemmaflink.runtime.weights.TensorKind;
import dev.gemmaflink.runtime.weights.TensorTable;
import java.util.Locale;

/**
 * Generates the TorchScript source of the Gemma 3 text forward pass for one configuration.
 *
 * <p>The model's shape constants are written into the source, the weights are a {@code List[Tensor]} argument in
 * the order of {@link TensorTable#text()} (every layer's {@link TensorKind.Group#TEXT_LAYER} kinds, then the
 * embedding and the final norm) followed, for {@link MatmulPath#BF16_ONEDNN_PACKED}, by the packed embedding used as
 * the output head. The weight-loading methods come from {@link TorchScriptModule}.
 *
 * <p>{@code forward} takes one flat batch of new tokens from several sequences (shape letters: T new tokens,
 * B sequences, Q the longest query run, L the longest context of a layer type, N logit rows):
 * <pre>
 *   ids, pos            (T)      token ids and absolute positions, sequences concatenated in batch order
 *   qidx, qpos          (B, Q)   per sequence, the flat index and position of each query (padding: 0 and -1)
 *   valid               (T)      flat indices into B*Q of the real queries, in flat order
 *   wslotL, wslotG      (T)      cache slot each new token's K/V is written to, per layer type
 *   ctxL, ctxG          (B, L)   cache slots of each sequence's context (new tokens included), per layer type
 *   kposL, kposG        (B, L)   absolute positions of those slots (padding -1: masked out)
 *   softIdx             (S)      flat indices of image soft tokens, whose scaled embeddings are replaced by soft
 *   qgrp                (B, Q)   per group, the image span of each query (-1: text or padding)
 *   kgrpL, kgrpG        (B, L)   the image span of each key (-1: text or padding); same span = visible both ways
 *   soft                (S, E)   float32 soft-token embeddings (vision encoder output; not scaled)
 *   rows                (N)      flat indices of the tokens whose logits are returned
 * </pre>
 * The attention mask comes from positions (causal; sliding layers also {@code key > query - window}), so prefill,
 * chunked prefill and decode of mixed sequences run the same code.
 */
final class GemmaScript {

    /** Rows above which a bf16 product on a CPU without native bf16 widens the weight to float32. */
    static final int UPCAST_ROWS = 16;

    /** Archive and TorchScript class name of the text model. */
    static final String ARCHIVE = "gemma";
    static final String CLASS_NAME = "Gemma";

    private GemmaScript() {
    }

    /** @return the text model's module for {@code cfg}: its own methods plus the weight-loading ones */
    static TorchScriptModule.Source module(GemmaConfig cfg, Precision precision, MatmulPath path) {
        return new TorchScriptModule.Source(ARCHIVE, CLASS_NAME, precision,
                source(cfg, precision, path) + DeviceSampler.methods(CLASS_NAME)); // + sampling on the device
    }

    /** Source of the probe archive: packs one weight for oneDNN and runs one product with it. */
    static String probeSource() {
        return String.join("\n",
                "def pack(self: __torch__.Probe, w: Tensor) -> Tensor:",
                "  return ops.mkldnn._reorder_linear_weight(w)",
                "def run(self: __torch__.Probe, x: Tensor, w: Tensor) -> Tensor:",
                "  xs = torch.to(x, 15)",
                "  wb = torch.to(w, 15)",
                "  p = ops.mkldnn._reorder_linear_weight(wb)",
                "  a = torch.to(ops.mkldnn._linear_pointwise(xs, p, None, \"none\", annotate(List[Optional[number]], []), \"\"), 6)",
                "  b = torch.to(torch.linear(xs, wb), 6)",
                "  return torch.max(torch.abs(torch.sub(a, b)))",
                "");
    }

    static String source(GemmaConfig cfg, Precision precision, MatmulPath path) {
        int h = cfg.numAttentionHeads();
        int kv = cfg.numKeyValueHeads();
        int d = cfg.headDim();
        int cdt = precision.torchScalarType();
        String self = "self: __torch__." + CLASS_NAME;
        // The embedding scale is cast to the weight dtype first (bf16: sqrt(1152) -> 34.0).
        float scale = (float) Math.sqrt(cfg.hiddenSize());
        if (precision == Precision.BF16) {
            scale = Bf16.round(scale);
        }
        TensorTable table = TensorTable.of(cfg);
        int embedding = table.get(TensorKind.TOKEN_EMBEDDING).index();
        int finalNorm = table.get(TensorKind.OUTPUT_NORM).index();
        // The packed output head, when there is one, follows the table's tensors.
        int head = path == MatmulPath.BF16_ONEDNN_PACKED ? table.text().size() : embedding;
        StringBuilder s = new StringBuilder();
        // ---- weight preparation (once per matrix at load, after TorchScriptModule's load) ----
        if (path == MatmulPath.BF16_ONEDNN_PACKED) {
            s.append("def pack(").append(self).append(", w: Tensor) -> Tensor:\n");
            s.append("  return ops.mkldnn._reorder_linear_weight(w)\n");
        }
        s.append("def alloc_cache(").append(self).append(", slots: List[int], like: Tensor) -> List[Tensor]:\n");
        s.append("  out = annotate(List[Tensor], [])\n");
        s.append("  for n in slots:\n");
        s.append("    out.append(torch.zeros([n, ").append(kv).append(", ").append(d).append("], dtype=").append(cdt)
                .append(", layout=None, device=ops.prim.device(like), pin_memory=None))\n");
        s.append("  return out\n");
        // ---- building blocks ----
        s.append("def lin(").append(self).append(", x: Tensor, w: Tensor) -> Tensor:\n");
        switch (path) {
            case F32:
                s.append("  return torch.linear(x, w)\n");
                break;
            case BF16_PLAIN:
                s.append("  return torch.to(torch.linear(torch.to(x, 15), w), 6)\n");
                break;
            case BF16_PLAIN_CPU:
                s.append("  if torch.size(x, 0) > ").append(UPCAST_ROWS).append(":\n");
                s.append("    return torch.linear(x, torch.to(w, 6))\n");
                s.append("  return torch.to(torch.linear(torch.to(x, 15), w), 6)\n");
                break;
            case BF16_ONEDNN_PACKED:
                s.append("  return torch.to(ops.mkldnn._linear_pointwise(torch.to(x, 15), w, None, \"none\", "
                        + "annotate(List[Optional[number]], []), \"\"), 6)\n");
                break;
            default:
                throw new IllegalStateException("unknown path " + path);
        }
        s.append("def rms(").append(self).append(", x: Tensor, w: Tensor) -> Tensor:\n");
        s.append("  v = torch.mean(torch.mul(x, x), [-1], True)\n");
        s.append("  return torch.mul(torch.mul(x, torch.rsqrt(torch.add(v, ").append(lit(cfg.rmsNormEps()))
                .append("))), w)\n");
        s.append("def rope_cs(").append(self).append(", pos: Tensor, theta: float, factor: float) -> Tuple[Tensor, Tensor]:\n");
        s.append("  idx = torch.arange(0, ").append(d).append(", 2, dtype=6, layout=None, device=ops.prim.device(pos), pin_memory=None)\n");
        s.append("  inv = torch.div(torch.reciprocal(torch.pow(theta, torch.div(idx, ").append(d).append("))), factor)\n");
        s.append("  f = torch.mul(torch.unsqueeze(torch.to(pos, 6), 1), torch.unsqueeze(inv, 0))\n");
        s.append("  e = torch.cat([f, f], 1)\n");
        s.append("  return (torch.unsqueeze(torch.cos(e), 1), torch.unsqueeze(torch.sin(e), 1))\n");
        s.append("def rope(").append(self).append(", x: Tensor, c: Tensor, s: Tensor) -> Tensor:\n");
        s.append("  x1 = torch.slice(x, 2, 0, ").append(d / 2).append(")\n");
        s.append("  x2 = torch.slice(x, 2, ").append(d / 2).append(", ").append(d).append(")\n");
        s.append("  r = torch.cat([torch.neg(x2), x1], 2)\n");
        s.append("  return torch.add(torch.mul(x, c), torch.mul(r, s))\n");
        s.append("def mask(").append(self).append(", qpos: Tensor, kpos: Tensor, window: int, qgrp: Tensor, kgrp: Tensor) -> Tensor:\n");
        s.append("  qp = torch.unsqueeze(qpos, 2)\n");
        s.append("  kp = torch.unsqueeze(kpos, 1)\n");
        s.append("  ok = torch.logical_and(torch.le(kp, qp), torch.ge(kp, 0))\n");
        s.append("  if window > 0:\n");
        s.append("    ok = torch.logical_and(ok, torch.gt(kp, torch.sub(qp, window)))\n");
        // Gemma 3 images: bidirectional among the tokens of one image (same span id, not -1), on every layer type.
        s.append("  qg = torch.unsqueeze(qgrp, 2)\n");
        s.append("  same = torch.logical_and(torch.eq(qg, torch.unsqueeze(kgrp, 1)), torch.ge(qg, 0))\n");
        s.append("  ok = torch.logical_or(ok, same)\n");
        // A finite large negative rather than -inf: padded query rows may see no key, and must not produce NaN.
        s.append("  m = torch.mul(torch.to(torch.logical_not(ok), 6), -1.0e30)\n");
        s.append("  return torch.repeat(torch.unsqueeze(m, 1), [1, 1, ").append(h / kv).append(", 1])\n");
        // ---- one decoder layer ----
        s.append("def layer(").append(self).append(", h: Tensor, w: List[Tensor], b: int, kc: Tensor, vc: Tensor, "
                + "c: Tensor, sn: Tensor, wslot: Tensor, ctx: List[Tensor], mask: List[Tensor], qidx: List[Tensor], "
                + "valid: List[Tensor], perm: Tensor) -> Tensor:\n");
        s.append("  t = torch.size(h, 0)\n");
        s.append("  x = self.rms(h, ").append(inLayer(TensorKind.ATTN_NORM)).append(")\n");
        s.append("  q = torch.view(self.lin(x, ").append(inLayer(TensorKind.ATTN_Q)).append("), [t, ").append(h).append(", ").append(d).append("])\n");
        s.append("  k = torch.view(self.lin(x, ").append(inLayer(TensorKind.ATTN_K)).append("), [t, ").append(kv).append(", ").append(d).append("])\n");
        s.append("  v = torch.view(self.lin(x, ").append(inLayer(TensorKind.ATTN_V)).append("), [t, ").append(kv).append(", ").append(d).append("])\n");
        s.append("  q = self.rope(self.rms(q, ").append(inLayer(TensorKind.ATTN_Q_NORM)).append("), c, sn)\n");
        s.append("  k = self.rope(self.rms(k, ").append(inLayer(TensorKind.ATTN_K_NORM)).append("), c, sn)\n");
        s.append("  kc0 = torch.index_copy_(kc, 0, wslot, torch.to(k, ").append(cdt).append("))\n");
        s.append("  vc0 = torch.index_copy_(vc, 0, wslot, torch.to(v, ").append(cdt).append("))\n");
        s.append("  parts = annotate(List[Tensor], [])\n");
        s.append("  for gi in range(len(qidx)):\n");
        s.append("    qg = qidx[gi]\n");
        s.append("    cg = ctx[gi]\n");
        s.append("    nb = torch.size(qg, 0)\n");
        s.append("    nq = torch.size(qg, 1)\n");
        s.append("    nl = torch.size(cg, 1)\n");
        s.append("    cf = torch.reshape(cg, [-1])\n");
        s.append("    kk = torch.transpose(torch.view(torch.to(torch.index_select(kc, 0, cf), 6), [nb, nl, ").append(kv).append(", ").append(d).append("]), 1, 2)\n");
        s.append("    vv = torch.transpose(torch.view(torch.to(torch.index_select(vc, 0, cf), 6), [nb, nl, ").append(kv).append(", ").append(d).append("]), 1, 2)\n");
        // Grouped-query attention without copying K/V per query head: the G query heads of one kv head are
        // stacked along the query axis, (B, H, Q, D) -> (B, KV, G*Q, D); the mask is tiled to match.
        s.append("    qq = torch.reshape(torch.transpose(torch.view(torch.index_select(q, 0, torch.reshape(qg, [-1])), [nb, nq, ").append(h).append(", ").append(d).append("]), 1, 2), [nb, ").append(kv).append(", ").append(h / kv).append(" * nq, ").append(d).append("])\n");
        s.append("    a = torch.scaled_dot_product_attention(qq, kk, vv, mask[gi], 0., False, scale=").append(lit(Math.pow(cfg.queryPreAttnScalar(), -0.5))).append(")\n");
        s.append("    a = torch.reshape(torch.transpose(torch.reshape(a, [nb, ").append(h).append(", nq, ").append(d).append("]), 1, 2), [nb * nq, ").append(h * d).append("])\n");
        s.append("    parts.append(torch.index_select(a, 0, valid[gi]))\n");
        s.append("  a = torch.index_select(torch.cat(parts, 0), 0, perm)\n");
        s.append("  h = torch.add(h, self.rms(self.lin(a, ").append(inLayer(TensorKind.ATTN_OUTPUT)).append("), ").append(inLayer(TensorKind.ATTN_POST_NORM)).append("))\n");
        s.append("  x = self.rms(h, ").append(inLayer(TensorKind.FFN_NORM)).append(")\n");
        s.append("  g = torch.gelu(self.lin(x, ").append(inLayer(TensorKind.FFN_GATE)).append("), approximate=\"tanh\")\n");
        s.append("  u = self.lin(x, ").append(inLayer(TensorKind.FFN_UP)).append(")\n");
        s.append("  y = self.lin(torch.mul(g, u), ").append(inLayer(TensorKind.FFN_DOWN)).append(")\n");
        s.append("  return torch.add(h, self.rms(y, ").append(inLayer(TensorKind.FFN_POST_NORM)).append("))\n");
        // ---- the step ----
        s.append("def forward(").append(self).append(", w: List[Tensor], kc: List[Tensor], vc: List[Tensor], "
                + "ids: Tensor, pos: Tensor, qidx: List[Tensor], qpos: List[Tensor], valid: List[Tensor], perm: Tensor, "
                + "wslotL: Tensor, ctxL: List[Tensor], kposL: List[Tensor], "
                + "wslotG: Tensor, ctxG: List[Tensor], kposG: List[Tensor], rows: Tensor, "
                + "softIdx: Tensor, qgrp: List[Tensor], kgrpL: List[Tensor], kgrpG: List[Tensor], soft: Tensor) -> Tensor:\n");
        s.append("  h = torch.mul(torch.to(torch.embedding(w[").append(embedding).append("], ids), 6), ").append(lit(scale)).append(")\n");
        // Image soft tokens replace the scaled embeddings and are not scaled themselves.
        s.append("  if torch.numel(softIdx) > 0:\n");
        s.append("    h = torch.index_copy(h, 0, softIdx, soft)\n");
        boolean anyLocal = cfg.layerTypes().contains(LayerType.SLIDING_ATTENTION);
        boolean anyGlobal = cfg.layerTypes().contains(LayerType.FULL_ATTENTION);
        if (anyLocal) {
            s.append("  cL, sL = self.rope_cs(pos, ").append(lit(cfg.ropeLocalTheta())).append(", 1.0)\n");
            s.append("  mL = annotate(List[Tensor], [])\n");
            s.append("  for gi in range(len(qpos)):\n");
            s.append("    mL.append(self.mask(qpos[gi], kposL[gi], ").append(cfg.slidingWindow()).append(", qgrp[gi], kgrpL[gi]))\n");
        }
        if (anyGlobal) {
            s.append("  cG, sG = self.rope_cs(pos, ").append(lit(cfg.ropeGlobalTheta())).append(", ")
                    .append(lit(cfg.ropeGlobalScaling())).append(")\n");
            s.append("  mG = annotate(List[Tensor], [])\n");
            s.append("  for gi in range(len(qpos)):\n");
            s.append("    mG.append(self.mask(qpos[gi], kposG[gi], 0, qgrp[gi], kgrpG[gi]))\n");
        }
        for (int i = 0; i < cfg.numHiddenLayers(); i++) {
            String t = cfg.layerType(i) == LayerType.SLIDING_ATTENTION ? "L" : "G";
            s.append("  h = self.layer(h, w, ").append(table.layerStart(TensorKind.Group.TEXT_LAYER, i)).append(", kc[").append(i).append("], vc[")
                    .append(i).append("], c").append(t).append(", s").append(t).append(", wslot").append(t)
                    .append(", ctx").append(t).append(", m").append(t).append(", qidx, valid, perm)\n");
        }
        s.append("  x = self.rms(torch.index_select(h, 0, rows), w[").append(finalNorm).append("])\n");
        s.append("  return self.lin(x, w[").append(head).append("])\n");
        return s.toString();
    }

    /** The weight of {@code kind} inside the {@code layer} method, whose weights start at index {@code b}. */
    private static String inLayer(TensorKind kind) {
        return "w[b + " + kind.indexInGroup() + "]";
    }

    private static String lit(double v) {
        if (!Double.isFinite(v)) {
            throw new IllegalArgumentException("non-finite constant " + v);
        }
        return String.format(Locale.ROOT, "%.17g", v);
    }
}
