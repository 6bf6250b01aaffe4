package dev.gemmaflink.runtime.model;

/**
 * The sizes a step's shapes are padded to under {@link GraphMode#OPTIMIZED}, so that libtorch's profiling executor,
 * which specialises the graph for the tensor shapes it has seen, sees few of them.
 *
 * <p>A bucket is {@code unit * m} with {@code m} a power of two or three times a power of two:
 * {@code m = 1, 2, 3, 4, 6, 8, 12, 16, 24, ...} (two sizes per doubling). Padding then wastes at most half of a
 * dimension (a size just above {@code 2^k} goes to {@code 1.5 * 2^k}), against at most all of it for powers of two
 * alone, at twice the number of sizes: 2 * log2(n) buckets up to {@code n}. The waste matters where padded rows cost
 * compute (prefill on a GPU, any step on a CPU) and padded context costs memory reads (attention over a long
 * context); twice as many shapes is still a handful (22 token counts up to 2048, 26 context lengths up to 131,072).
 *
 * <ul>
 *   <li>Token rows of a step, sequences of the decode group and logit rows: unit 1.</li>
 *   <li>Context lengths: unit {@link GemmaScript#CONTEXT_ALIGN} (16), so a bucket is also a multiple of the
 *       alignment that the exact shapes use (16, 32, 48, 64, 96, 128, 192, 256, ...).</li>
 * </ul>
 */
final class ShapeBuckets {

    private ShapeBuckets() {
    }

    /** @return the smallest row bucket holding {@code n} (n >= 1) */
    static int rows(int n) {
        return up(n, 1);
    }

    /** @return the smallest context bucket holding {@code n} (n >= 1) */
    static int context(int n) {
        return up(n, GemmaScript.CONTEXT_ALIGN);
    }

    /** @return the smallest {@code unit * m}, m in {1, 2, 3, 4, 6, 8, ...}, that is at least {@code n} */
    static int up(int n, int unit) {
        if (n < 1 || unit < 1) {
            throw new IllegalArgumentException("bucket of " + n + " in units of " + unit);
        }
        long m = ((long) n + unit - 1) / unit;
        long p = Long.highestOneBit(m);
        long b = m == p ? p : (p > 1 && m <= p + p / 2 ? p + p / 2 : 2 * p);
        long v = b * unit;
        if (v > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("bucket of " + n + " exceeds the int range");
        }
        return (int) v;
    }

    /** @return whether {@code n} is a bucket of the given unit */
    static boolean isBucket(int n, int unit) {
        return n >= 1 && up(n, unit) == n;
    }
}
