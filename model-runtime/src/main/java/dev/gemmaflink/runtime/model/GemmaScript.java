package dev.gemmaflink.runtime.model;

import dev.gemmaflink.runtime.config.GemmaConfig;
import dev.gemmaflink.runtime.config.LayerType;
import dev.gemmaflink.runtime.weights.FusedKind;
import dev.gemmaflink.runtime.weights.TensorTable;
import java.util.Locale;

/**
 * Generates the TorchScript source of the Gemma 3 text forward pass for one configuration.
 *
 * <p>The model's shape constants are written into the source, the weights are a {@code List[Tensor]} argument in
 * the order of {@link TensorTable#textModule()}, followed, for the {@linkplain MatmulPath#packed() oneDNN-packed}
 * paths, by the packed embedding used as the output head. Per layer: Q/K/V as one matrix and gate/up as one matrix,
 * each with its pre-norm weight {@code (1 + w) * sqrt(hidden)} folded into its columns; the {@code (heads + kvHeads,
 * headDim)} q/k norm table (query rows also carry the attention scale {@code query_pre_attn_scalar^-0.5}); the output
 * and down projections; the post-attention and post-MLP norms as {@code (1 + w) * sqrt(hidden)} in float32. Then the
 * embedding and the final norm. The weight-loading methods come from {@link TorchScriptModule}; one {@code
 * prep_<kind>} method per {@link FusedKind} builds each entry from its uploaded parts ({@link #prepMethod}), holding
 * matrices transposed for {@code torch.mm} on {@link MatmulPath#F32} and {@link MatmulPath#BF16_PLAIN}.
 *
 * <p>RMSNorm is {@code x * sqrt(n) / hypot(|x|, sqrt(n * eps))} = {@code x * rsqrt(mean(x^2) + eps)}: one reduction,
 * one {@code hypot} and one product, against about eight kernels for {@code aten::rms_norm} on the CPU.
 *
 * <p>The KV cache is one tensor per layer, {@code (slots, 2 * kvHeads, headDim)}: a slot's K heads, then its V heads,
 * so one index copy writes both; attention gathers from the same memory viewed as one row per head
 * ({@code rows_view}), so the gathered context is already {@code (B, 2 * kvHeads, L, headDim)}.
 *
 * <p>{@code forward(w, kv, kvRows, buf, sizes, dims, soft) -> Tensor} runs one flat batch of new tokens from several
 * sequences. Every integer input lives in one int64 tensor {@code buf}, cut by {@code split_with_sizes(buf, sizes)}
 * into (T new tokens, N logit rows, S image soft tokens; per attention group: B sequences of Q new tokens each,
 * contexts of LL (sliding) and LG (full) slots, padded to multiples of {@value #CONTEXT_ALIGN}):
 * <pre>
 *   ids, pos            (T)        token ids and absolute positions, in flat order: the decode group's tokens first,
 *                                  then each multi-token group's, so every group is one contiguous run of rows
 *   wslotL, wslotG      (T)        cache slot each new token's K/V is written to, per layer type
 *   rows                (N)        flat indices of the tokens whose logits are returned, in sequence order
 *   softIdx             (S)        flat indices of image soft tokens, whose scaled embeddings are replaced by soft
 *   per group and layer type, either ctx, kpos (B*L)   context slots of each sequence and their absolute
 *                                  positions (padding: slot 0 at position {@value #PAD_POSITION}, which no query sees)
 *                       or, paged: blocks (B*K), first (B), length (B)   the blocks holding each sequence's context,
 *                                  its first position and length; slots are computed on the device
 *                                  ({@code block[(j + first % bs) / bs] * bs + (j + first % bs) % bs})
 *   per group with images: qgrp (B*Q), kgrpL (B*LL), kgrpG (B*LG)   image span of each query / key (-1: text or
 *                                  padding); same span = visible both ways. Text-only groups carry none.
 * </pre>
 * {@code dims} is {@code [T, N, S, groups]} followed per group by {@code [start, B, Q, LL, LG, images, bsL, bsG]}
 * (bs: block size of a paged context, 0 when slots are shipped); {@code soft}
 * is the float32 {@code (S, hidden)} soft-token embeddings (vision encoder output, not scaled). The attention mask
 * comes from positions (causal; sliding layers also {@code key > query - window}), so prefill, chunked prefill and
 * decode of mixed sequences run the same code. It returns float32 logits {@code (N, vocab)}. Under
 * {@link GraphMode#OPTIMIZED} the inputs also hold padding ({@code BatchTensors}): padding sequences and queries whose
 * write slot is the storage's scratch slot and whose keys are all at the padding position, and logit rows that repeat
 * row 0; the module computes them like any other and the caller drops them.
 *
 * <p>Few operations per layer, because on a GPU each costs a kernel launch and on a CPU an interpreter dispatch
 * (held at 40 or fewer per decode layer by {@code DecodeOpCountTest}): one product each for Q/K/V, the output,
 * gate/up and down; q/k norm and RoPE on the one Q/K tensor, RoPE written back into the product's output so that K
 * and V sit side by side for the cache write; products take and give the compute dtype (normed inputs are written
 * into a per-step buffer of that dtype); attention on the cache's dtype (bf16 on bf16 runs); masks, gather indices
 * and RoPE tables built once per step.
 */
final class GemmaScript {

    /** Rows above which a bf16 product on a CPU without native bf16 widens the weight to float32. */
    static final int UPCAST_ROWS = 16;
    /** Context lengths are padded to a multiple of this (stable shapes for the attention kernels). */
    static final int CONTEXT_ALIGN = 16;
    /** Position of a padding key: above every query position, so the causal test masks it. */
    static final long PAD_POSITION = 1L << 60;

    /** Archive and TorchScript class name of the text model. */
    static final String ARCHIVE = "gemma";
    static final String CLASS_NAME = "Gemma";

    private GemmaScript() {
    }

    /**
     * @return the module method that turns an entry's uploaded parts into the held weight
     *     ({@code prep_<kind>(parts: List[Tensor]) -> Tensor}: joins, folds norms, scales, transposes or packs)
     */
    static String prepMethod(FusedKind kind) {
        return "prep_" + kind.name().toLowerCase(Locale.ROOT);
    }

    /** @return the text model's module for {@code cfg}: its own methods plus the weight-loading ones */
    static TorchScriptModule.Source module(GemmaConfig cfg, Precision precision, MatmulPath path) {
        return new TorchScriptModule.Source(ARCHIVE, CLASS_NAME, precision,
                source(cfg, precision, path) + DeviceSampler.methods(CLASS_NAME)); // + sampling on the device
    }

    /** Source of the probe archive: packs one weight for oneDNN and runs one product with it. */
    /** A probe of oneDNN's packed linear in {@code dtype} (a torch scalar type) against {@code torch.linear}. */
    static String probeSource(int dtype) {
        return String.join("\n",
                "def run(self: __torch__.Probe, x: Tensor, w: Tensor) -> Tensor:",
                "  xs = torch.to(x, " + dtype + ")",
                "  wd = torch.to(w, " + dtype + ")",
                "  p = ops.mkldnn._reorder_linear_weight(wd)",
                "  a = torch.to(ops.mkldnn._linear_pointwise(xs, p, None, \"none\", annotate(List[Optional[number]], []), \"\"), 6)",
                "  b = torch.to(torch.linear(xs, wd), 6)",
                "  return torch.max(torch.abs(torch.sub(a, b)))",
                "");
    }

    static String source(GemmaConfig cfg, Precision precision, MatmulPath path) {
        int h = cfg.numAttentionHeads();
        int kv = cfg.numKeyValueHeads();
        int d = cfg.headDim();
        int g = h / kv;
        int e = cfg.hiddenSize();
        int cdt = precision.torchScalarType();
        boolean f32 = path.float32();
        String self = "self: __torch__." + CLASS_NAME;
        // The embedding scale is cast to the weight dtype first (bf16: sqrt(1152) -> 34.0).
        float scale = (float) Math.sqrt(e);
        if (precision == Precision.BF16) {
            scale = Bf16.round(scale);
        }
        TensorTable table = TensorTable.of(cfg);
        int embedding = table.textModuleIndex(FusedKind.TOKEN_EMBEDDING);
        int finalNorm = table.textModuleIndex(FusedKind.OUTPUT_NORM);
        // The packed output head, when there is one, follows the table's entries.
        int head = path.packed() ? table.textModule().size() : embedding;
        StringBuilder s = new StringBuilder();
        // ---- weight preparation (once per entry at load, after TorchScriptModule's load of each part) ----
        // Products: oneDNN-packed, or transposed for torch.mm (no transpose view per call), or as stored.
        String prep;
        switch (path) {
            case F32_ONEDNN_PACKED:
            case BF16_ONEDNN_PACKED:
                prep = "ops.mkldnn._reorder_linear_weight(%s)";
                s.append("def pack(").append(self).append(", w: Tensor) -> Tensor:\n");
                s.append("  return ops.mkldnn._reorder_linear_weight(w)\n");
                break;
            case F32:
            case BF16_PLAIN:
                prep = "torch.contiguous(torch.t(%s))";
                break;
            default:
                prep = "%s";
        }
        // Matrices stacked by rows, the last part (a norm, 1 + w in float32) folded into their columns.
        String fold = "torch.to(torch.mul(torch.to(torch.cat(parts[0:-1], 0), 6), torch.mul(parts[-1], "
                + lit(Math.sqrt(e)) + ")), " + cdt + ")";
        String scaled = "torch.mul(parts[0], " + lit(Math.sqrt(e)) + ")";
        for (FusedKind k : FusedKind.values()) {
            s.append("def ").append(prepMethod(k)).append("(").append(self).append(", parts: List[Tensor]) -> Tensor:\n");
            switch (k) {
                case ATTN_QKV:
                case FFN_GATE_UP:
                    s.append("  return ").append(String.format(Locale.ROOT, prep, fold)).append("\n"); // fold is contiguous
                    break;
                case ATTN_QK_NORM:
                    // Query rows carry sqrt(d) and the attention scale, key rows sqrt(d).
                    s.append("  q = torch.mul(parts[0], ").append(lit(Math.sqrt(d) * Math.pow(cfg.queryPreAttnScalar(), -0.5))).append(")\n");
                    s.append("  k = torch.mul(parts[1], ").append(lit(Math.sqrt(d))).append(")\n");
                    s.append("  return torch.cat([torch.expand(torch.unsqueeze(q, 0), [").append(h).append(", ").append(d)
                            .append("]), torch.expand(torch.unsqueeze(k, 0), [").append(kv).append(", ").append(d).append("])], 0)\n");
                    break;
                case ATTN_OUTPUT:
                case FFN_DOWN:
                    s.append("  return ").append(String.format(Locale.ROOT, prep, "parts[0]")).append("\n");
                    break;
                case ATTN_POST_NORM:
                case FFN_POST_NORM:
                case OUTPUT_NORM:
                    s.append("  return ").append(scaled).append("\n");
                    break;
                case TOKEN_EMBEDDING:
                    s.append("  return parts[0]\n");
                    break;
                default:
                    throw new IllegalStateException("no preparation for " + k);
            }
        }
        s.append("def alloc_cache(").append(self).append(", slots: List[int], like: Tensor) -> List[Tensor]:\n");
        s.append("  out = annotate(List[Tensor], [])\n");
        s.append("  for n in slots:\n");
        s.append("    out.append(torch.zeros([n, ").append(2 * kv).append(", ").append(d).append("], dtype=").append(cdt)
                .append(", layout=None, device=ops.prim.device(like), pin_memory=None))\n");
        s.append("  return out\n");
        s.append("def rows_view(").append(self).append(", caches: List[Tensor]) -> List[Tensor]:\n");
        s.append("  out = annotate(List[Tensor], [])\n");
        s.append("  for c in caches:\n");
        s.append("    out.append(torch.view(c, [-1, ").append(d).append("]))\n");
        s.append("  return out\n");
        // ---- RoPE tables of one step: cos, and sin with the rotate-half sign folded in (first half negated), so
        // that rope(x) = x * c + roll(x, d/2) * s ----
        s.append("def rope_cs(").append(self).append(", pos: Tensor, theta: float, factor: float) -> Tuple[Tensor, Tensor]:\n");
        s.append("  idx = torch.arange(0, ").append(d).append(", 2, dtype=6, layout=None, device=ops.prim.device(pos), pin_memory=None)\n");
        s.append("  inv = torch.div(torch.reciprocal(torch.pow(theta, torch.div(idx, ").append(d).append("))), factor)\n");
        s.append("  f = torch.mul(torch.unsqueeze(torch.to(pos, 6), 1), torch.unsqueeze(inv, 0))\n");
        s.append("  c = torch.cos(f)\n");
        s.append("  sn = torch.sin(f)\n");
        s.append("  return (torch.unsqueeze(torch.cat([c, c], 1), 1), torch.unsqueeze(torch.cat([torch.neg(sn), sn], 1), 1))\n");
        // ---- context slots and positions of one group and layer type, (B*L) each, once per step: as shipped, or
        // from the blocks of a paged context (entry j of sequence b is position first_b + j) ----
        s.append("def context(").append(self).append(", p: List[Tensor], at: int, nb: int, width: int, bs: int) -> Tuple[Tensor, Tensor, int]:\n");
        s.append("  if bs == 0:\n");
        s.append("    return (p[at], p[at + 1], at + 2)\n");
        s.append("  tbl = torch.view(p[at], [nb, -1])\n");
        s.append("  first = torch.view(p[at + 1], [nb, 1])\n");
        s.append("  j = torch.unsqueeze(torch.arange(width, dtype=4, layout=None, device=ops.prim.device(tbl), pin_memory=None), 0)\n");
        s.append("  k = torch.add(j, torch.remainder(first, bs))\n");
        s.append("  blk = torch.gather(tbl, 1, torch.clamp_max(torch.floor_divide(k, bs), torch.size(tbl, 1) - 1))\n");
        s.append("  ok = torch.lt(j, torch.view(p[at + 2], [nb, 1]))\n");
        s.append("  ctx = torch.where(ok, torch.add(torch.mul(blk, bs), torch.remainder(k, bs)), 0)\n");
        s.append("  kp = torch.where(ok, torch.add(first, j), ").append(PAD_POSITION).append(")\n");
        s.append("  return (torch.view(ctx, [-1]), torch.view(kp, [-1]), at + 3)\n");
        // ---- additive mask of one group, once per step: (B, 1, G*Q, L) rows ordered (query head in group, query) ----
        s.append("def mask(").append(self).append(", qp: Tensor, kpos: Tensor, window: int, img: bool, qg: Tensor, kgrp: Tensor) -> Tensor:\n");
        s.append("  nb = torch.size(qp, 0)\n");
        s.append("  nq = torch.size(qp, 1)\n");
        s.append("  kp = torch.view(kpos, [nb, 1, -1])\n");
        s.append("  ok = torch.le(kp, qp)\n");
        s.append("  if window > 0:\n");
        s.append("    ok = torch.logical_and(ok, torch.gt(kp, torch.sub(qp, window)))\n");
        // Gemma 3 images: bidirectional among the tokens of one image (same span id, not -1), on every layer type.
        s.append("  if img:\n");
        s.append("    same = torch.logical_and(torch.eq(qg, torch.view(kgrp, [nb, 1, -1])), torch.ge(qg, 0))\n");
        s.append("    ok = torch.logical_or(ok, same)\n");
        // Finite: every real query sees itself, and a large negative keeps exp() at exactly 0 without -inf arithmetic.
        s.append("  m = torch.unsqueeze(torch.where(ok, 0.0, -1.0e30), 1)\n");
        if (cdt != 6) {
            s.append("  m = torch.to(m, ").append(cdt).append(")\n");
        }
        s.append("  if nq > 1:\n");
        s.append("    m = torch.repeat(m, [1, 1, ").append(g).append(", 1])\n");
        s.append("  return m\n");
        // ---- one decoder layer ----
        s.append("def layer(").append(self).append(", h: Tensor, w: List[Tensor], b: int, cache: Tensor, rows: Tensor, "
                + "c: Tensor, sn: Tensor, wslot: Tensor, gidx: List[Tensor], mask: List[Tensor], dims: List[int], "
                + "xb: Tensor, cE: Tensor, cD: Tensor, rp: Tensor) -> Tensor:\n");
        // Pre-attention norm (its weight lives in the Q/K/V columns), written straight in the compute dtype.
        s.append("  torch.div(h, ").append(hyp("h", "cE", false)).append(", out=xb)\n");
        s.append(lin("y", "xb", inLayer(FusedKind.ATTN_QKV), path));
        s.append("  y = torch.view(y, [-1, ").append(h + 2 * kv).append(", ").append(d).append("])\n");
        // q/k norm and RoPE over the Q and K heads at once, written back into y (V stays as produced).
        s.append("  qk = torch.narrow(y, 1, 0, ").append(h + kv).append(")\n");
        s.append("  n = torch.mul(torch.div(qk, ").append(hyp("qk", "cD", true)).append("), ")
                .append(inLayer(FusedKind.ATTN_QK_NORM)).append(")\n");
        s.append("  torch.addcmul(torch.mul(n, c), torch.matmul(n, rp), sn, value=1, out=qk)\n");
        s.append("  qkv = torch.split_with_sizes(y, [").append(h).append(", ").append(2 * kv).append("], 1)\n");
        s.append("  torch.index_copy_(cache, 0, wslot, qkv[1])\n");
        s.append("  ng = dims[3]\n");
        s.append("  parts = annotate(List[Tensor], [])\n");
        s.append("  for gi in range(ng):\n");
        s.append("    o = 4 + 8 * gi\n");
        s.append("    nb = dims[o + 1]\n");
        s.append("    nq = dims[o + 2]\n");
        s.append("    qg = qkv[0]\n");
        s.append("    if ng > 1:\n");
        s.append("      qg = torch.narrow(qg, 0, dims[o], nb * nq)\n");
        // The group's context in the cache's dtype, K heads then V heads: (B, KV, L, D) each.
        s.append("    kvg = torch.chunk(torch.view(torch.index_select(rows, 0, gidx[gi]), [nb, ").append(2 * kv)
                .append(", -1, ").append(d).append("]), 2, 1)\n");
        // Grouped-query attention without copying K/V per query head: the G query heads of one kv head are
        // stacked along the query axis, (B, KV, G*Q, D); the mask is tiled to match. The scale is in the q norm.
        String sdpa = "torch.scaled_dot_product_attention(%s, kvg[0], kvg[1], mask[gi], 0., False, scale=1.0)";
        s.append("    if nq == 1:\n");
        s.append("      a = ").append(String.format(Locale.ROOT, sdpa, "torch.view(qg, [nb, " + kv + ", " + g + ", " + d + "])")).append("\n");
        s.append("      parts.append(torch.reshape(a, [nb, ").append(h * d).append("]))\n");
        s.append("    else:\n");
        s.append("      qq = torch.reshape(torch.permute(torch.view(qg, [nq, ").append(kv).append(", ").append(g).append(", ")
                .append(d).append("]), [1, 2, 0, 3]), [1, ").append(kv).append(", ").append(g).append(" * nq, ").append(d).append("])\n");
        s.append("      a = ").append(String.format(Locale.ROOT, sdpa, "qq")).append("\n");
        s.append("      parts.append(torch.reshape(torch.permute(torch.view(a, [").append(kv).append(", ").append(g)
                .append(", nq, ").append(d).append("]), [2, 0, 1, 3]), [nq, ").append(h * d).append("]))\n");
        s.append("  a = parts[0]\n");
        s.append("  if ng > 1:\n");
        s.append("    a = torch.cat(parts, 0)\n");
        // Attention output is already in the compute dtype: no cast before the product.
        s.append(lin("o", "a", inLayer(FusedKind.ATTN_OUTPUT), path));
        // Post-norm and residual add in one: h + o * (w / rms(o)), in float32.
        s.append("  h = torch.addcmul(h, o, torch.div(").append(inLayer(FusedKind.ATTN_POST_NORM)).append(", ")
                .append(hyp("o", "cE", true)).append("))\n");
        s.append("  torch.div(h, ").append(hyp("h", "cE", false)).append(", out=xb)\n");
        s.append(lin("gu", "xb", inLayer(FusedKind.FFN_GATE_UP), path));
        s.append("  gu2 = torch.chunk(gu, 2, -1)\n");
        s.append("  m = torch.mul(torch.gelu(gu2[0], approximate=\"tanh\"), gu2[1])\n");
        s.append(lin("y2", "m", inLayer(FusedKind.FFN_DOWN), path));
        s.append("  return torch.addcmul(h, y2, torch.div(").append(inLayer(FusedKind.FFN_POST_NORM)).append(", ")
                .append(hyp("y2", "cE", true)).append("))\n");
        // ---- the step ----
        s.append("def forward(").append(self).append(", w: List[Tensor], kv: List[Tensor], kvRows: List[Tensor], "
                + "buf: Tensor, sizes: List[int], dims: List[int], soft: Tensor) -> Tensor:\n");
        s.append("  p = torch.split_with_sizes(buf, sizes)\n");
        s.append("  pos = p[1]\n");
        s.append("  dev = ops.prim.device(buf)\n");
        s.append("  h = torch.mul(").append(f32 ? "torch.embedding(w[" + embedding + "], p[0])"
                : "torch.to(torch.embedding(w[" + embedding + "], p[0]), 6)").append(", ").append(lit(scale)).append(")\n");
        // Image soft tokens replace the scaled embeddings and are not scaled themselves.
        s.append("  if dims[2] > 0:\n");
        s.append("    h = torch.index_copy(h, 0, p[5], soft)\n");
        // Norm constants sqrt(n * eps) (hypot's second operand), the compute-dtype buffer of normed product
        // inputs, and the offsets of a slot's 2 * kvHeads rows in the row view of the cache.
        s.append("  cE = torch.full([], ").append(lit(Math.sqrt(e * cfg.rmsNormEps()))).append(", dtype=6, layout=None, device=dev, pin_memory=None)\n");
        s.append("  cD = torch.full([], ").append(lit(Math.sqrt(d * cfg.rmsNormEps()))).append(", dtype=6, layout=None, device=dev, pin_memory=None)\n");
        s.append("  xb = torch.empty([dims[0], ").append(e).append("], dtype=").append(cdt).append(", layout=None, device=dev, pin_memory=None, memory_format=None)\n");
        // Rotate-half as a product with a permutation matrix, x @ rp = roll(x, d/2): one kernel, exact in float32
        // (libtorch keeps TF32 off by default).
        s.append("  rp = torch.roll(torch.eye(").append(d).append(", dtype=6, layout=None, device=dev, pin_memory=None), [")
                .append(d / 2).append("], [1])\n");
        s.append("  hoff = torch.view(torch.arange(0, ").append(2 * kv).append(", dtype=4, layout=None, device=dev, pin_memory=None), [1, ")
                .append(2 * kv).append(", 1])\n");
        boolean anyLocal = cfg.layerTypes().contains(LayerType.SLIDING_ATTENTION);
        boolean anyGlobal = cfg.layerTypes().contains(LayerType.FULL_ATTENTION);
        if (anyLocal) {
            s.append("  cL, sL = self.rope_cs(pos, ").append(lit(cfg.ropeLocalTheta())).append(", 1.0)\n");
        }
        if (anyGlobal) {
            s.append("  cG, sG = self.rope_cs(pos, ").append(lit(cfg.ropeGlobalTheta())).append(", ")
                    .append(lit(cfg.ropeGlobalScaling())).append(")\n");
        }
        s.append("  gL = annotate(List[Tensor], [])\n");
        s.append("  gG = annotate(List[Tensor], [])\n");
        s.append("  mL = annotate(List[Tensor], [])\n");
        s.append("  mG = annotate(List[Tensor], [])\n");
        s.append("  at = 6\n");
        s.append("  for gi in range(dims[3]):\n");
        s.append("    o = 4 + 8 * gi\n");
        s.append("    nb = dims[o + 1]\n");
        s.append("    nq = dims[o + 2]\n");
        s.append("    img = dims[o + 5] > 0\n");
        s.append("    qp = torch.view(torch.narrow(pos, 0, dims[o], nb * nq), [nb, nq, 1])\n");
        s.append("    ctxL, kpL, at = self.context(p, at, nb, dims[o + 3], dims[o + 6])\n");
        s.append("    ctxG, kpG, at = self.context(p, at, nb, dims[o + 4], dims[o + 7])\n");
        s.append("    qg = qp\n");
        s.append("    kgL = qp\n");
        s.append("    kgG = qp\n");
        s.append("    if img:\n");
        s.append("      qg = torch.view(p[at], [nb, nq, 1])\n");
        s.append("      kgL = p[at + 1]\n");
        s.append("      kgG = p[at + 2]\n");
        s.append("      at = at + 3\n");
        // Row of (sequence b, head j, context entry l) in the row view: slot * 2 * kvHeads + j.
        if (anyLocal) {
            s.append("    gL.append(torch.view(torch.add(torch.mul(torch.view(ctxL, [nb, 1, -1]), ").append(2 * kv)
                    .append("), hoff), [-1]))\n");
            s.append("    mL.append(self.mask(qp, kpL, ").append(cfg.slidingWindow()).append(", img, qg, kgL))\n");
        }
        if (anyGlobal) {
            s.append("    gG.append(torch.view(torch.add(torch.mul(torch.view(ctxG, [nb, 1, -1]), ").append(2 * kv)
                    .append("), hoff), [-1]))\n");
            s.append("    mG.append(self.mask(qp, kpG, 0, img, qg, kgG))\n");
        }
        for (int i = 0; i < cfg.numHiddenLayers(); i++) {
            String t = cfg.layerType(i) == LayerType.SLIDING_ATTENTION ? "L" : "G";
            s.append("  h = self.layer(h, w, ").append(table.textModuleLayerStart(i)).append(", kv[").append(i)
                    .append("], kvRows[").append(i).append("], c").append(t).append(", s").append(t).append(", p[")
                    .append(t.equals("L") ? 2 : 3).append("], g").append(t).append(", m").append(t)
                    .append(", dims, xb, cE, cD, rp)\n");
        }
        s.append("  r = torch.index_select(h, 0, p[4])\n");
        s.append("  x = torch.mul(torch.div(r, ").append(hyp("r", "cE", false)).append("), w[").append(finalNorm).append("])\n");
        if (f32 && path.packed()) {
            s.append(lin("lg", "x", "w[" + head + "]", path)).append("  return lg\n");
        } else if (f32) {
            s.append("  return torch.linear(x, w[").append(head).append("])\n");
        } else {
            s.append("  x = torch.to(x, 15)\n");
            s.append(path.packed() ? lin("lg", "x", "w[" + head + "]", path)
                    : "  lg = torch.linear(x, w[" + head + "])\n"); // the tied embedding, as stored
            s.append("  return torch.to(lg, 6)\n");
        }
        return s.toString();
    }

    /**
     * {@code sqrt(sum(x^2) + n * eps)} over the last axis, in float32: RMSNorm's divisor times {@code sqrt(n)}.
     *
     * @param widen reduce a compute-dtype input in float32
     */
    private static String hyp(String x, String c, boolean widen) {
        return "torch.hypot(torch.linalg_vector_norm(" + x + ", 2.0, [-1], True" + (widen ? ", dtype=6" : "") + "), "
                + c + ")";
    }

    /**
     * One product {@code out = x @ w^T} as a statement, {@code x} in the compute dtype, {@code out} in the compute
     * dtype too, so that products chain without casts.
     */
    private static String lin(String out, String x, String w, MatmulPath path) {
        switch (path) {
            case F32:
            case BF16_PLAIN:
                return "  " + out + " = torch.mm(" + x + ", " + w + ")\n"; // w held transposed
            case BF16_PLAIN_CPU:
                // libtorch's bf16 GEMM fallback is slow on CPUs without native bf16: many rows widen the weight.
                return "  " + out + " = torch.linear(" + x + ", " + w + ") if torch.size(" + x + ", 0) <= "
                        + UPCAST_ROWS + " else torch.to(torch.linear(torch.to(" + x + ", 6), torch.to(" + w
                        + ", 6)), 15)\n";
            case F32_ONEDNN_PACKED:
            case BF16_ONEDNN_PACKED:
                return "  " + out + " = ops.mkldnn._linear_pointwise(" + x + ", " + w + ", None, \"none\", "
                        + "annotate(List[Optional[number]], []), \"\")\n";
            default:
                throw new IllegalStateException("unknown path " + path);
        }
    }

    /** The weight of {@code kind} inside the {@code layer} method, whose weights start at index {@code b}. */
    private static String inLayer(FusedKind kind) {
        return "w[b + " + kind.indexInGroup() + "]";
    }

    private static String lit(double v) {
        if (!Double.isFinite(v)) {
            throw new IllegalArgumentException("non-finite constant " + v);
        }
        return String.format(Locale.ROOT, "%.17g", v);
    }
}
