package dev.gemmaflink.runtime.engine;

import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * A lock-free histogram of non-negative durations in microseconds, log-linear buckets (values below 16 exact, then
 * 8 buckets per power of two: about 6% relative error in a percentile). Writers from any thread, readers see a
 * consistent-enough view for monitoring.
 */
public final class LatencyHistogram {

    private static final int LINEAR = 16;
    private static final int SUB = 8; // buckets per power of two
    private static final int SUB_BITS = 3;
    private static final int BUCKETS = LINEAR + (64 - 4) * SUB;

    private final AtomicLongArray counts = new AtomicLongArray(BUCKETS);
    private final LongAdder total = new LongAdder();

    /** Records one value in microseconds (negative values count as 0). */
    public void record(long micros) {
        counts.incrementAndGet(bucket(Math.max(0, micros)));
        total.increment();
    }

    /** Records one value in milliseconds. */
    public void recordMillis(double millis) {
        record(Math.round(millis * 1000));
    }

    public long count() {
        return total.sum();
    }

    /**
     * The value at quantile q in (0, 1], in milliseconds (the middle of its bucket); 0 when empty.
     */
    public double quantileMillis(double q) {
        if (!(q > 0 && q <= 1)) {
            throw new IllegalArgumentException("quantile must be in (0, 1], got " + q);
        }
        long n = 0;
        long[] snapshot = new long[BUCKETS];
        for (int i = 0; i < BUCKETS; i++) {
            snapshot[i] = counts.get(i);
            n += snapshot[i];
        }
        if (n == 0) {
            return 0;
        }
        long rank = (long) Math.ceil(q * n);
        long seen = 0;
        for (int i = 0; i < BUCKETS; i++) {
            seen += snapshot[i];
            if (seen >= rank) {
                return (lowerBound(i) + upperBound(i)) / 2.0 / 1000.0;
            }
        }
        return upperBound(BUCKETS - 1) / 1000.0;
    }

    static int bucket(long v) {
        if (v < LINEAR) {
            return (int) v;
        }
        int exponent = 63 - Long.numberOfLeadingZeros(v); // >= 4
        int sub = (int) ((v >>> (exponent - SUB_BITS)) & (SUB - 1));
        return LINEAR + (exponent - 4) * SUB + sub;
    }

    static long lowerBound(int bucket) {
        if (bucket < LINEAR) {
            return bucket;
        }
        int exponent = (bucket - LINEAR) / SUB + 4;
        int sub = (bucket - LINEAR) % SUB;
        return (1L << exponent) + ((long) sub << (exponent - SUB_BITS));
    }

    static long upperBound(int bucket) {
        if (bucket < LINEAR) {
            return bucket;
        }
        int exponent = (bucket - LINEAR) / SUB + 4;
        return lowerBound(bucket) + (1L << (exponent - SUB_BITS)) - 1;
    }
}
