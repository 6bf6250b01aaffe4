package dev.gemmaflink.runtime.model;

import ai.djl.Device;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.jni.IValue;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.LongConsumer;

/**
 * Sampling on the device: the TorchScript methods that turn a step's logits into token ids where the logits are, and
 * the Java side that packs the per-row parameters and reads the ids back. Only token ids (and log-probabilities a
 * row asks for) cross to the host: {@link SampledTokens#DEVICE_BYTES_PER_ROW} bytes per sampled row instead of
 * {@code 4 * vocab} (1 MiB for Gemma 3).
 *
 * <p>The methods are appended to the text model's module ({@link GemmaScript#module}) and run right after
 * {@code forward} in the same engine step, on its logits (kept on the device as an {@code IValue}):
 * <pre>
 *   sample(logits: (N, V) f32, params: (R, 7) i64, kmax: int, logprobs: bool, allowed: (R, W) i32 or (0),
 *          whole: bool) -> (R, 2) i64
 *     params columns: logit row, greedy (1/0), effective top-k, stream key ({@link SamplingNoise#key}), position,
 *                     raw bits of 1/temperature (f64), raw bits of top-p (f64)
 *     kmax:     the largest effective top-k of the non-greedy rows; 0 when every row is greedy (argmax only)
 *     allowed:  per-row token bitsets ({@link TokenMask}), or an empty tensor when no row is constrained
 *     whole:    the rows are the logit rows 0..N-1 in order (no gather of logit rows needed)
 *     result:   per row, the token id and the raw bits of its f64 log-probability (NaN unless logprobs)
 *   noise(key: (R) i64, pos: (R) i64) -> (R) f64          the draws of {@link SamplingNoise}, with int64 ops
 * </pre>
 *
 * <p>Algorithm per row, the same as the Java reference ({@code generate.Sampler}) operation for operation:
 * disallowed tokens get {@code -inf}; greedy rows take the first maximum ({@code max(x, 1)}). Other rows take the
 * {@code k} largest logits ordered by (logit descending, id ascending), so ties break exactly as in Java whatever
 * {@code topk}'s own tie order (see {@code sample_candidates}), then in float64: {@code p_i = exp(l_i / T - l_0 / T)},
 * running sums for the top-p cut (keep the shortest prefix whose normalised mass reaches p), and inverse-CDF
 * sampling: the first kept {@code i} whose running mass exceeds {@code u * total}, with {@code u} the counter-based
 * draw of (seed, position); should {@code u * total} round up to {@code total}, the first {@code i} whose mass
 * reaches {@code total} (never a token of probability 0, so never a masked one). Rows are processed
 * {@value #ROWS_PER_CHUNK} at a time, which bounds the temporaries of a chunk.
 *
 * <p>Cost: a greedy-only step runs one {@code max} over its rows' logits; a sampled step adds one float
 * {@code topk(2 kmax + 1)} over the vocabulary and a few dozen small ops on (R, kmax); a tie at the top-k boundary
 * adds an int64 {@code topk(kmax)} over sort keys of the candidates, or of the whole rows when more than kmax + 1
 * candidates share the boundary value. A row without a top-k cut makes kmax the whole vocabulary: a full sort of each
 * row by that key, as the Java reference sorts everything too. The device synchronises once per chunk of a sampled
 * step (the tie check, twice on a tie), which the token copy would do anyway.
 */
final class DeviceSampler {

    /** Rows sampled per chunk of the device loop. */
    static final int ROWS_PER_CHUNK = 64;
    /** Columns of the packed per-row parameter tensor. */
    static final int PARAM_COLUMNS = 7;

    private DeviceSampler() {
    }

    /** The sampler's TorchScript methods for a module of class {@code className}. */
    static String methods(String className) {
        String self = "self: __torch__." + className;
        String dev = "layout=None, device=ops.prim.device(x), pin_memory=None";
        StringBuilder s = new StringBuilder();
        s.append("def sample(").append(self).append(", logits: Tensor, params: Tensor, kmax: int, logprobs: bool, "
                + "allowed: Tensor, whole: bool) -> Tensor:\n");
        s.append("  r = torch.size(params, 0)\n");
        s.append("  masked = torch.numel(allowed) > 0\n");
        s.append("  out = annotate(List[Tensor], [])\n");
        s.append("  for c0 in range(0, r, ").append(ROWS_PER_CHUNK).append("):\n");
        s.append("    c1 = min(c0 + ").append(ROWS_PER_CHUNK).append(", r)\n");
        s.append("    p = torch.slice(params, 0, c0, c1)\n");
        // whole: the rows are the logit rows 0..N-1 in order, so no copy is needed.
        s.append("    if whole:\n");
        s.append("      x = torch.slice(logits, 0, c0, c1)\n");
        s.append("    else:\n");
        s.append("      x = torch.index_select(logits, 0, torch.select(p, 1, 0))\n");
        s.append("    if masked:\n");
        s.append("      x = self.sample_mask(x, torch.slice(allowed, 0, c0, c1))\n");
        s.append("    out.append(self.sample_rows(x, p, kmax, logprobs))\n");
        s.append("  return torch.cat(out, 0)\n");
        // Disallowed tokens: -inf (exp gives exactly 0, as in the Java reference).
        // The bitsets are expanded a byte at a time through a 256 x 8 table (token t is bit t % 8 of byte t / 8 of
        // the little-endian int32 words): one lookup pass over the rows instead of a shift and a mask per token.
        s.append("def sample_mask(").append(self).append(", x: Tensor, words: Tensor) -> Tensor:\n");
        s.append("  bytes = torch.reshape(torch.to(torch.view_copy(torch.contiguous(words), 0), 3), [-1])\n");
        s.append("  bits = torch.arange(8, dtype=3, ").append(dev).append(")\n");
        s.append("  values = torch.unsqueeze(torch.arange(256, dtype=3, ").append(dev).append("), 1)\n");
        s.append("  blocked = torch.eq(torch.bitwise_and(torch.__rshift__(values, bits), 1), 0)\n");
        s.append("  blocked = torch.reshape(torch.index_select(blocked, 0, bytes), [torch.size(x, 0), -1])\n");
        s.append("  return torch.masked_fill(x, torch.slice(blocked, 1, 0, torch.size(x, 1)), float(\"-inf\"))\n");
        s.append("def sample_rows(").append(self).append(", x: Tensor, p: Tensor, kmax: int, logprobs: bool) -> Tensor:\n");
        // max(dim) returns the first maximum's index, like argmax, and is several times faster on the CPU.
        s.append("  _0, tok = torch.max(x, 1)\n");
        s.append("  if kmax > 0:\n");
        s.append("    vals, idx = self.sample_candidates(x, p, kmax)\n");
        s.append("    vals = torch.to(vals, 7)\n");
        s.append("    f = torch.view_copy(torch.contiguous(torch.slice(p, 1, 5, 7)), 7)\n");
        s.append("    inv = torch.slice(f, 1, 0, 1)\n");
        s.append("    topp = torch.slice(f, 1, 1, 2)\n");
        s.append("    kk = torch.slice(p, 1, 2, 3)\n");
        s.append("    cols = torch.unsqueeze(torch.arange(kmax, dtype=4, ").append(dev).append("), 0)\n");
        s.append("    e = torch.exp(torch.sub(torch.mul(vals, inv), torch.mul(torch.slice(vals, 1, 0, 1), inv)))\n");
        s.append("    e = torch.masked_fill(e, torch.ge(cols, kk), 0.0)\n");
        s.append("    c = torch.cumsum(e, 1)\n");
        s.append("    cum = torch.cumsum(torch.div(e, torch.slice(c, 1, kmax - 1, kmax)), 1)\n");
        // Running sums never decrease, so "the first index where a sum passes x" is "how many stay below x".
        s.append("    keep = torch.add(torch.sum(torch.lt(cum, topp), [1], True), 1)\n");
        s.append("    keep = torch.where(torch.lt(topp, 1.0), torch.minimum(keep, kk), kk)\n");
        s.append("    e = torch.masked_fill(e, torch.ge(cols, keep), 0.0)\n");
        s.append("    c = torch.cumsum(e, 1)\n");
        s.append("    total = torch.slice(c, 1, kmax - 1, kmax)\n");
        s.append("    u = self.noise(torch.select(p, 1, 3), torch.select(p, 1, 4))\n");
        s.append("    j = torch.sum(torch.le(c, torch.mul(torch.unsqueeze(u, 1), total)), [1], True)\n");
        // u * total rounded up to total: the first index whose sum reaches total (the last with mass).
        s.append("    j = torch.where(torch.lt(j, keep), j, torch.sum(torch.lt(c, total), [1], True))\n");
        s.append("    drawn = torch.squeeze(torch.gather(idx, 1, j), 1)\n");
        s.append("    tok = torch.where(torch.eq(torch.select(p, 1, 1), 1), tok, drawn)\n");
        s.append("  if logprobs:\n");
        s.append("    chosen = torch.squeeze(torch.gather(x, 1, torch.unsqueeze(tok, 1)), 1)\n");
        s.append("    lp = torch.to(torch.sub(chosen, torch.logsumexp(x, [1], False)), 7)\n");
        s.append("  else:\n");
        s.append("    lp = torch.full([torch.size(x, 0)], float(\"nan\"), dtype=7, ").append(dev).append(")\n");
        s.append("  return torch.stack([tok, torch.view_copy(lp, 4)], 1)\n");
        // The kmax candidates of each row ordered by (logit descending, id ascending), as Sampler.candidates orders
        // them. topk is exact up to its tie order: when no row's kmax-th value is tied with the next one, the kmax
        // returned are the kmax largest whatever the tie order, and two small sorts (by id, then a stable sort by
        // value) put ties in id order. A finite tie at the boundary (common with logits that came out of a bf16
        // product) is settled by Sampler's int64 sort key, (sortable float bits << 32) | (id ^ 0x7FFFFFFF), unique
        // per token, so its order is the reference's exactly: over the 2 kmax + 1 candidates when every token tied
        // with the boundary is among them (the last candidate is smaller), else over the whole rows. Ties at -inf
        // (masked tokens, probability 0) cannot change the choice.
        s.append("def sample_candidates(").append(self).append(", x: Tensor, p: Tensor, kmax: int) -> Tuple[Tensor, Tensor]:\n");
        s.append("  v = torch.size(x, 1)\n");
        s.append("  if kmax < v:\n");
        s.append("    n = min(v, 2 * kmax + 1)\n");
        s.append("    tv, ti = torch.topk(x, n, 1, True, True)\n");
        s.append("    a = torch.select(tv, 1, kmax - 1)\n");
        s.append("    tie = torch.logical_and(torch.eq(a, torch.select(tv, 1, kmax)), torch.gt(a, float(\"-inf\")))\n");
        s.append("    tie = torch.logical_and(tie, torch.eq(torch.select(p, 1, 1), 0))\n");
        s.append("    if not bool(torch.any(tie)):\n");
        s.append("      si, o = torch.sort(torch.slice(ti, 1, 0, kmax), 1)\n");
        s.append("      sv, o2 = torch.sort(torch.gather(torch.slice(tv, 1, 0, kmax), 1, o), stable=True, dim=1, "
                + "descending=True)\n");
        s.append("      return (sv, torch.gather(si, 1, o2))\n");
        s.append("    wider = torch.logical_and(tie, torch.eq(torch.select(tv, 1, n - 1), a))\n");
        s.append("    if n == v or not bool(torch.any(wider)):\n");
        s.append("      return self.top_by_key(tv, ti, kmax)\n");
        s.append("  ids = torch.unsqueeze(torch.arange(torch.size(x, 1), dtype=4, ").append(dev).append("), 0)\n");
        s.append("  return self.top_by_key(x, ids, kmax)\n");
        // The k largest of (values, ids) by the sort key: values of the chosen columns and their ids.
        s.append("def top_by_key(").append(self)
                .append(", vals: Tensor, ids: Tensor, k: int) -> Tuple[Tensor, Tensor]:\n");
        s.append("  b = torch.to(torch.view_copy(torch.contiguous(vals), 3), 4)\n");
        s.append("  b = torch.where(torch.ge(b, 0), b, torch.bitwise_xor(b, 2147483647))\n");
        s.append("  key = torch.add(torch.mul(b, 4294967296), torch.rsub(ids, 2147483647))\n");
        s.append("  kv, col = torch.topk(key, k, 1, True, True)\n");
        s.append("  return (torch.gather(vals, 1, col), torch.rsub(torch.bitwise_and(kv, 4294967295), 2147483647))\n");
        // SplitMix64 as a counter-based generator (see SamplingNoise): logical shifts are arithmetic shifts masked.
        s.append("def noise(").append(self).append(", key: Tensor, pos: Tensor) -> Tensor:\n");
        s.append("  z = torch.add(key, torch.mul(torch.add(pos, 1), ").append(SamplingNoise.GAMMA).append("))\n");
        s.append("  z = torch.mul(torch.bitwise_xor(z, ").append(ushr("z", 30)).append("), ")
                .append(SamplingNoise.MIX1).append(")\n");
        s.append("  z = torch.mul(torch.bitwise_xor(z, ").append(ushr("z", 27)).append("), ")
                .append(SamplingNoise.MIX2).append(")\n");
        s.append("  z = torch.bitwise_xor(z, ").append(ushr("z", 31)).append(")\n");
        s.append("  return torch.mul(torch.to(").append(ushr("z", 11)).append(", 7), ")
                .append(String.format(Locale.ROOT, "%.17g", SamplingNoise.UNIT)).append(")\n");
        return s.toString();
    }

    /** {@code v >>> n} on int64 tensors: the arithmetic shift with the sign bits masked off. */
    private static String ushr(String v, int n) {
        return "torch.bitwise_and(torch.__rshift__(" + v + ", " + n + "), " + ((1L << (64 - n)) - 1) + ")";
    }

    /**
     * Samples {@code rows} from logits held on the device.
     *
     * @param logits    the (N, vocab) float32 logits, as {@code forward} returned them (not closed here)
     * @param n         N, the number of logit rows
     * @param logitRow  per row, the index of its logit row in {@code logits}
     * @param copied    receives the bytes copied from the device
     */
    static SampledTokens sample(TorchScriptModule module, PtNDManager sub, IValue logits, int n, int[] logitRow,
            List<SampleRow> rows, int vocab, LongConsumer copied) {
        return sample(module, sub, logits, n, logitRow, rows, vocab, copied, null);
    }

    /**
     * {@link #sample(TorchScriptModule, PtNDManager, IValue, int, int[], List, int, LongConsumer)}, handing the
     * call's inputs and sampled tokens to {@code recorded} (null: none) when rows were sampled.
     */
    static SampledTokens sample(TorchScriptModule module, PtNDManager sub, IValue logits, int n, int[] logitRow,
            List<SampleRow> rows, int vocab, LongConsumer copied,
            java.util.function.Consumer<RecordedStep.Sample> recorded) {
        int r = rows.size();
        if (r == 0) {
            return SampledTokens.none();
        }
        boolean whole = r == n;
        for (int i = 0; i < r && whole; i++) {
            whole = logitRow[i] == i;
        }
        long[] params = new long[r * PARAM_COLUMNS];
        int kmax = 0;
        boolean logprobs = false;
        boolean masked = false;
        for (int i = 0; i < r; i++) {
            SampleRow row = rows.get(i);
            boolean greedy = row.greedy();
            int k = greedy ? 1 : row.effectiveTopK(vocab);
            if (!greedy) {
                kmax = Math.max(kmax, k);
            }
            int o = i * PARAM_COLUMNS;
            params[o] = logitRow[i];
            params[o + 1] = greedy ? 1 : 0;
            params[o + 2] = k;
            params[o + 3] = greedy ? 0 : SamplingNoise.key(row.seed());
            params[o + 4] = greedy ? 0 : row.position();
            params[o + 5] = Double.doubleToRawLongBits(greedy ? 1.0 : 1.0 / row.temperature());
            params[o + 6] = Double.doubleToRawLongBits(greedy ? 1.0 : row.topP());
            logprobs |= row.logprob();
            if (row.mask() != null) {
                if (row.mask().vocabSize() != vocab) {
                    throw new IllegalArgumentException("sample row " + i + ": mask over " + row.mask().vocabSize()
                            + " tokens but the model's vocabulary has " + vocab);
                }
                masked = true;
            }
        }
        int words = TokenMask.wordsFor(vocab);
        int[] allowed = new int[masked ? r * words : 0];
        if (masked) {
            for (int i = 0; i < r; i++) {
                TokenMask m = rows.get(i).mask();
                if (m == null) {
                    Arrays.fill(allowed, i * words, (i + 1) * words, -1);
                } else {
                    m.copyWordsTo(allowed, i * words);
                }
            }
        }
        long[] out = call(module, sub, logits, params, kmax, logprobs, allowed, whole);
        copied.accept((long) out.length * Long.BYTES);
        int[] tokens = new int[r];
        double[] lps = new double[r];
        for (int i = 0; i < r; i++) {
            tokens[i] = Math.toIntExact(out[2 * i]);
            lps[i] = rows.get(i).logprob() ? Double.longBitsToDouble(out[2 * i + 1]) : Double.NaN;
        }
        if (recorded != null) {
            long[] ids = Arrays.stream(tokens).asLongStream().toArray();
            recorded.accept(new RecordedStep.Sample(params, r, kmax, logprobs, allowed, whole, ids));
        }
        return new SampledTokens(tokens, lps);
    }

    /**
     * The module's {@code sample} call on packed inputs: {@code params} (rows x {@value #PARAM_COLUMNS}),
     * {@code allowed} (rows x words bitsets, or empty when no row is constrained).
     *
     * @return per row, the token id and the raw bits of its log-probability
     */
    static long[] call(TorchScriptModule module, PtNDManager sub, IValue logits, long[] params, int kmax,
            boolean logprobs, int[] allowed, boolean whole) {
        int r = params.length / PARAM_COLUMNS;
        try (IValue p = IValue.from((PtNDArray) sub.create(params, new Shape(r, PARAM_COLUMNS)));
             IValue k = IValue.from((long) kmax);
             IValue lp = IValue.from(logprobs);
             IValue a = IValue.from((PtNDArray) (allowed.length > 0 ? sub.create(allowed,
                     new Shape(r, allowed.length / r)) : sub.create(new int[0], new Shape(0))));
             IValue w = IValue.from(whole);
             IValue result = module.call("sample", logits, p, k, lp, a, w)) {
            return result.toTensor(sub).toLongArray();
        }
    }

    /**
     * The sampler alone, in a module of its own, on float32 logits given from Java: for tests that compare it with
     * the Java reference on chosen logit vectors, and for tools. Not for serving (the logits come from the host).
     */
    static final class Standalone implements AutoCloseable {

        private final TorchScriptModule module;

        Standalone(Device device) {
            this.module = TorchScriptModule.load(new TorchScriptModule.Source("sampler", "Sampler",
                    Precision.FLOAT32, methods("Sampler")), device, 1);
        }

        /** Samples {@code rows}; {@link SampleRow#sequence()} indexes {@code logits}. */
        SampledTokens sample(float[][] logits, List<SampleRow> rows) {
            int v = logits[0].length;
            float[] flat = new float[logits.length * v];
            for (int i = 0; i < logits.length; i++) {
                System.arraycopy(logits[i], 0, flat, i * v, v);
            }
            int[] logitRow = rows.stream().mapToInt(SampleRow::sequence).toArray();
            try (PtNDManager sub = module.newSubManager();
                 IValue l = IValue.from((PtNDArray) sub.create(flat, new Shape(logits.length, v)))) {
                return DeviceSampler.sample(module, sub, l, logits.length, logitRow, rows, v, n -> { });
            }
        }

        /** The device's draws for stream keys and positions. */
        double[] noise(long[] keys, long[] positions) {
            try (PtNDManager sub = module.newSubManager();
                 IValue k = IValue.from((PtNDArray) sub.create(keys, new Shape(keys.length)));
                 IValue p = IValue.from((PtNDArray) sub.create(positions, new Shape(positions.length)));
                 IValue out = module.call("noise", k, p)) {
                return out.toTensor(sub).toDoubleArray();
            }
        }

        @Override
        public void close() {
            module.close();
        }
    }
}
