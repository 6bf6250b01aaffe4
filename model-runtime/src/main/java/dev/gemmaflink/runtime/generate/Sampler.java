package dev.gemmaflink.runtime.generate;

import dev.gemmaflink.runtime.constrain.TokenMask;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from float32 logits: greedy (temperature 0: the first maximum) or, in the order of Hugging
 * Face's warpers, temperature, then top-k, then top-p (nucleus), then a draw from the request's seeded stream.
 * Stateless; the random stream belongs to the request.
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
     * @param logits one row of logits (not modified)
     * @param params temperature, top-k, top-p
     * @param rng    the request's random stream (unused when greedy)
     * @return the chosen token id
     */
    public static int sample(float[] logits, GenerationParams params, SplittableRandom rng) {
        if (logits.length == 0) {
            throw new IllegalArgumentException("cannot sample from an empty logit row");
        }
        if (params.greedy()) {
            return argmax(logits);
        }
        int[] order = candidates(logits, params.topK()); // descending by logit
        double inv = 1.0 / params.temperature();
        double max = logits[order[0]] * inv;
        double[] p = new double[order.length];
        double sum = 0;
        for (int i = 0; i < order.length; i++) {
            p[i] = Math.exp(logits[order[i]] * inv - max);
            sum += p[i];
        }
        int keep = order.length;
        if (params.topP() < 1.0) {
            double cum = 0;
            for (int i = 0; i < order.length; i++) {
                cum += p[i] / sum;
                if (cum >= params.topP()) {
                    keep = i + 1;
                    break;
                }
            }
        }
        double total = 0;
        for (int i = 0; i < keep; i++) {
            total += p[i];
        }
        double u = rng.nextDouble() * total;
        for (int i = 0; i < keep; i++) {
            u -= p[i];
            if (u < 0) {
                return order[i];
            }
        }
        return order[keep - 1];
    }

    /**
     * {@link #sample(float[], GenerationParams, SplittableRandom)} over the tokens a mask allows: the others are
     * treated as having logit minus infinity before temperature, top-k and top-p, so top-k picks among allowed
     * tokens only. Bit-identical to the unmasked call when the mask allows everything; ties go to the smaller id.
     *
     * @param mask the allowed tokens (ids at or above {@code logits.length} are ignored), null for none
     * @throws IllegalArgumentException when the mask allows no id of the row
     */
    public static int sample(float[] logits, GenerationParams params, SplittableRandom rng, TokenMask mask) {
        if (mask == null) {
            return sample(logits, params, rng);
        }
        int allowed = mask.cardinality();
        for (int id = mask.nextAllowed(logits.length); id >= 0; id = mask.nextAllowed(id + 1)) {
            allowed--; // ids past the row (a tokenizer longer than the model's head) do not count
        }
        if (allowed <= 0) {
            throw new IllegalArgumentException("the token mask allows no id of this " + logits.length + "-logit row");
        }
        if (allowed > logits.length / 2 && (params.greedy() || (params.topK() > 0 && params.topK() <= allowed))) {
            // Dense mask: the disallowed ids become -inf in a copy. Greedy and a top-k within the allowed ids never
            // reach them, so this draws exactly what the compact path below draws, for the cost of one copy.
            float[] masked = logits.clone();
            mask.fillDisallowed(masked, Float.NEGATIVE_INFINITY);
            return sample(masked, params, rng);
        }
        int[] ids = new int[allowed];
        int n = 0;
        for (int id = mask.nextAllowed(0); id >= 0 && id < logits.length && n < ids.length;
                id = mask.nextAllowed(id + 1)) {
            ids[n++] = id;
        }
        if (params.greedy()) {
            int best = ids[0];
            for (int i = 1; i < n; i++) {
                if (logits[ids[i]] > logits[best]) {
                    best = ids[i];
                }
            }
            return best;
        }
        float[] compact = new float[n];
        for (int i = 0; i < n; i++) {
            compact[i] = logits[ids[i]];
        }
        return ids[sample(compact, params, rng)]; // ids ascending: a tie still goes to the smaller id
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
