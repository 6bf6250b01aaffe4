package dev.gemmaflink.runtime.generate;

import dev.gemmaflink.runtime.model.SampleRow;
import dev.gemmaflink.runtime.model.SamplingNoise;
import dev.gemmaflink.runtime.model.TokenMask;
import java.util.Arrays;

/**
 * Picks the next token from float32 logits: greedy (temperature 0: the first maximum) or, in the order of Hugging
 * Face's warpers, temperature, then top-k, then top-p (nucleus), then one draw by inverse CDF. Stateless.
 *
 * <p><b>The reference of the device sampler.</b> Serving samples on the device ({@code GemmaModel.forwardSample});
 * this class is the Java statement of the same algorithm and is kept as the exact reference for it, rather than
 * being only distributionally equal. So the draw is not taken from a random stream held by the request but is the
 * counter-based {@link SamplingNoise#uniform}{@code (seed, position)} — the same number the device computes from the
 * same seed and position with integer tensor ops — and every float64 step (scaling by {@code 1 / T}, {@code exp},
 * running sums for top-p and the inverse CDF, strict {@code >} against {@code u * total}) is the one the device
 * performs. Consequences: greedy choices are identical; seeded choices are identical except when {@code u * total}
 * falls within float64 rounding (about 1e-16 relative) of a bucket boundary, because libtorch's {@code exp} and
 * accumulation order may differ from Java's in the last bit; a replayed request (same seed, same prompt) gets the
 * same tokens whatever it is batched, chunked or preempted with, since no random state lives anywhere. The
 * distributional guarantee (tokens follow {@code softmax(logits / T)} restricted to top-k, then top-p, renormalised)
 * holds for both and is tested.
 */
public final class Sampler {

    /** Above this k, candidates are found by sorting everything rather than with a bounded heap. */
    private static final int HEAP_LIMIT = 4096;

    private Sampler() {
    }

    /** Index of the largest logit (the first one on ties). */
    public static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    /**
     * @param logits   one row of logits (not modified)
     * @param params   temperature, top-k, top-p and the seed
     * @param position absolute position the sampled token takes in its sequence (prompt length plus tokens
     *                 generated before it): with the seed, it selects the draw
     * @return the chosen token id
     */
    public static int sample(float[] logits, GenerationParams params, int position) {
        return sample(logits, row(0, params, position));
    }

    /** The device sampler's row for a request's params at {@code position} (see {@link #sample(float[], SampleRow)}). */
    public static SampleRow row(int sequence, GenerationParams params, int position) {
        SampleRow row = params.greedy() ? SampleRow.greedy(sequence)
                : SampleRow.sampled(sequence, params.temperature(), params.topK(), params.topP(), params.seed(),
                        position);
        return params.outputLogprob() ? row.withLogprob() : row;
    }

    /**
     * {@link #row(int, GenerationParams, int)} constrained to the tokens {@code mask} allows (constrained decoding:
     * the mask of a {@code constrain.ConstraintCursor}), or unconstrained when {@code mask} is null.
     */
    public static SampleRow row(int sequence, GenerationParams params, int position, TokenMask mask) {
        SampleRow row = row(sequence, params, position);
        return mask == null ? row : row.withMask(mask);
    }

    /**
     * {@link #sample(float[], GenerationParams, int)} over the tokens {@code mask} allows (null: all): the others
     * have logit minus infinity before temperature, top-k and top-p, exactly as on the device.
     */
    public static int sample(float[] logits, GenerationParams params, int position, TokenMask mask) {
        return sample(logits, row(0, params, position, mask));
    }

    /**
     * The reference for one device sample row ({@link SampleRow#sequence()} is ignored): its mask, then greedy or
     * temperature, top-k, top-p and the draw of {@code (seed, position)}.
     */
    public static int sample(float[] logits, SampleRow row) {
        if (logits.length == 0) {
            throw new IllegalArgumentException("cannot sample from an empty logit row");
        }
        float[] l = row.mask() == null ? logits : row.mask().apply(logits);
        if (row.greedy()) {
            return argmax(l);
        }
        return draw(l, 1.0 / row.temperature(), row.effectiveTopK(l.length), row.topP(),
                SamplingNoise.uniform(row.seed(), row.position()));
    }

    /**
     * The reference for a row's log-probability ({@code SampledTokens.logprob}): the natural log of {@code token}'s
     * softmax probability at temperature 1 over the tokens the row's mask allows (all without a mask), before top-k
     * and top-p, computed in float64 (the device computes it in float32).
     */
    public static double logprob(float[] logits, SampleRow row, int token) {
        float[] l = row.mask() == null ? logits : row.mask().apply(logits);
        double max = Double.NEGATIVE_INFINITY;
        for (float v : l) {
            max = Math.max(max, v);
        }
        double sum = 0;
        for (float v : l) {
            sum += Math.exp(v - max);
        }
        return l[token] - max - Math.log(sum);
    }

    /** Inverse-CDF draw {@code u} from the top-k, then top-p, candidates at inverse temperature {@code inv}. */
    private static int draw(float[] logits, double inv, int topK, double topP, double u) {
        int[] order = candidates(logits, topK); // descending by logit, then ascending id
        double max = logits[order[0]] * inv;
        double[] p = new double[order.length];
        double sum = 0;
        for (int i = 0; i < order.length; i++) {
            p[i] = Math.exp(logits[order[i]] * inv - max);
            sum += p[i];
        }
        int keep = order.length;
        if (topP < 1.0) {
            double cum = 0;
            for (int i = 0; i < order.length; i++) {
                cum += p[i] / sum;
                if (cum >= topP) {
                    keep = i + 1;
                    break;
                }
            }
        }
        double total = 0;
        for (int i = 0; i < keep; i++) {
            total += p[i];
        }
        double target = u * total;
        double cum = 0;
        int reach = keep - 1;
        for (int i = 0; i < keep; i++) {
            cum += p[i];
            if (cum > target) {
                return order[i];
            }
            if (cum >= total && reach == keep - 1) {
                reach = i; // the first index whose mass reaches the total: the last with a probability above 0
            }
        }
        // u * total rounded up to total (u < 1): never a token of probability 0, such as a masked one.
        return order[reach];
    }

    /** Token ids of the k largest logits (all when k is 0 or at least the vocabulary), largest first. */
    static int[] candidates(float[] logits, int topK) {
        int n = logits.length;
        int k = topK <= 0 || topK >= n ? n : topK;
        if (k <= HEAP_LIMIT) {
            return heapTopK(logits, k);
        }
        long[] keys = new long[n];
        for (int i = 0; i < n; i++) {
            keys[i] = key(logits[i], i);
        }
        Arrays.sort(keys);
        int[] out = new int[k];
        for (int i = 0; i < k; i++) {
            out[i] = (int) (keys[n - 1 - i] & 0xFFFFFFFFL) ^ 0x7FFFFFFF;
        }
        return out;
    }

    /**
     * Sort key: ascending order = ascending logit, then descending index (so that on ties the smaller id ranks
     * first when read from the top).
     */
    private static long key(float logit, int index) {
        int bits = Float.floatToIntBits(logit);
        int sortable = bits >= 0 ? bits : bits ^ 0x7FFFFFFF; // monotone in the float value
        return ((long) sortable << 32) | ((index ^ 0x7FFFFFFF) & 0xFFFFFFFFL);
    }

    private static int[] heapTopK(float[] logits, int k) {
        // Min-heap of keys holding the k largest seen so far.
        long[] heap = new long[k];
        int size = 0;
        for (int i = 0; i < logits.length; i++) {
            long key = key(logits[i], i);
            if (size < k) {
                heap[size] = key;
                siftUp(heap, size++);
            } else if (key > heap[0]) {
                heap[0] = key;
                siftDown(heap, size);
            }
        }
        Arrays.sort(heap, 0, size);
        int[] out = new int[size];
        for (int i = 0; i < size; i++) {
            out[i] = (int) (heap[size - 1 - i] & 0xFFFFFFFFL) ^ 0x7FFFFFFF;
        }
        return out;
    }

    private static void siftUp(long[] h, int i) {
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (h[parent] <= h[i]) {
                return;
            }
            long t = h[parent];
            h[parent] = h[i];
            h[i] = t;
            i = parent;
        }
    }

    private static void siftDown(long[] h, int size) {
        int i = 0;
        while (true) {
            int l = 2 * i + 1;
            int r = l + 1;
            int m = i;
            if (l < size && h[l] < h[m]) {
                m = l;
            }
            if (r < size && h[r] < h[m]) {
                m = r;
            }
            if (m == i) {
                return;
            }
            long t = h[m];
            h[m] = h[i];
            h[i] = t;
            i = m;
        }
    }
}
