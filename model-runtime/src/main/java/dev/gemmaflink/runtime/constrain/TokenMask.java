package dev.gemmaflink.runtime.constrain;

import java.util.Arrays;

/**
 * The token ids allowed at one step of a constrained generation. Immutable and shared (masks are cached per
 * automaton state). Stored as a sorted id list when few ids are allowed, else as a bitset; either way
 * {@link #copyWordsTo} writes the bitset form ({@code ceil(vocabSize / 64)} longs, bit {@code id % 64} of word
 * {@code id / 64}), which is what a device sampler uploads as a per-row mask.
 */
public final class TokenMask {

    private final int vocabSize;
    private final int cardinality;
    private final int[] ids; // ascending; null when dense
    private final long[] words; // null when sparse
    private final int hash;

    private TokenMask(int vocabSize, int cardinality, int[] ids, long[] words) {
        this.vocabSize = vocabSize;
        this.cardinality = cardinality;
        this.ids = ids;
        this.words = words;
        // the form is a function of the content, so equal masks have equal forms
        this.hash = ids != null ? Arrays.hashCode(ids) : Arrays.hashCode(words);
    }

    /** A mask allowing exactly {@code allowed} (duplicates ignored) out of {@code vocabSize} ids. */
    public static TokenMask allowing(int vocabSize, int... allowed) {
        return of(vocabSize, allowed.clone(), allowed.length);
    }

    /** Takes ownership of {@code buf}; {@code buf[0..count)} are the ids, unordered, possibly repeated. */
    static TokenMask of(int vocabSize, int[] buf, int count) {
        long[] bits = new long[(vocabSize + 63) >>> 6];
        for (int i = 0; i < count; i++) {
            int id = buf[i];
            if (id < 0 || id >= vocabSize) {
                throw new IllegalArgumentException("token id " + id + " outside the vocabulary of " + vocabSize);
            }
            bits[id >>> 6] |= 1L << id;
        }
        return ofBits(vocabSize, bits);
    }

    /** Takes ownership of {@code bits}, a bitset of {@code ceil(vocabSize / 64)} longs with no bit at or past it. */
    static TokenMask ofBits(int vocabSize, long[] bits) {
        int card = 0;
        for (long w : bits) {
            card += Long.bitCount(w);
        }
        if ((long) card * 32 < vocabSize) { // the id list is smaller than the bitset
            int[] sorted = new int[card];
            int k = 0;
            for (int w = 0; w < bits.length; w++) {
                long word = bits[w];
                while (word != 0) {
                    sorted[k++] = (w << 6) + Long.numberOfTrailingZeros(word);
                    word &= word - 1;
                }
            }
            return new TokenMask(vocabSize, card, sorted, null);
        }
        return new TokenMask(vocabSize, card, null, bits);
    }

    /** Ids in the vocabulary this mask is over. */
    public int vocabSize() {
        return vocabSize;
    }

    /** Number of allowed ids. */
    public int cardinality() {
        return cardinality;
    }

    public boolean isEmpty() {
        return cardinality == 0;
    }

    public boolean allows(int id) {
        if (id < 0 || id >= vocabSize) {
            return false;
        }
        return ids != null ? Arrays.binarySearch(ids, id) >= 0 : (words[id >>> 6] & (1L << id)) != 0;
    }

    /** The smallest allowed id at or above {@code from}, or -1. */
    public int nextAllowed(int from) {
        if (from < 0) {
            from = 0;
        }
        if (from >= vocabSize) {
            return -1;
        }
        if (ids != null) {
            int i = Arrays.binarySearch(ids, from);
            if (i < 0) {
                i = -i - 1;
            }
            return i < ids.length ? ids[i] : -1;
        }
        int w = from >>> 6;
        long word = words[w] & (-1L << from);
        while (true) {
            if (word != 0) {
                return (w << 6) + Long.numberOfTrailingZeros(word);
            }
            if (++w == words.length) {
                return -1;
            }
            word = words[w];
        }
    }

    /** The allowed ids, ascending (a new array). */
    public int[] toIds() {
        if (ids != null) {
            return ids.clone();
        }
        int[] out = new int[cardinality];
        int k = 0;
        for (int w = 0; w < words.length; w++) {
            long word = words[w];
            while (word != 0) {
                out[k++] = (w << 6) + Long.numberOfTrailingZeros(word);
                word &= word - 1;
            }
        }
        return out;
    }

    /** Length of the bitset form in longs: {@code ceil(vocabSize / 64)}. */
    public int wordCount() {
        return (vocabSize + 63) >>> 6;
    }

    /**
     * Writes the bitset form into {@code dst[offset .. offset + wordCount())} (a row of a batch mask), overwriting
     * what was there.
     */
    public void copyWordsTo(long[] dst, int offset) {
        if (words != null) {
            System.arraycopy(words, 0, dst, offset, words.length);
            return;
        }
        Arrays.fill(dst, offset, offset + wordCount(), 0L);
        for (int id : ids) {
            dst[offset + (id >>> 6)] |= 1L << id;
        }
    }

    /**
     * Sets {@code row[id] = value} for every id of the row the mask does not allow (a dense mask touches only the
     * disallowed ids; ids at or past {@code vocabSize} are all disallowed).
     */
    public void fillDisallowed(float[] row, float value) {
        int n = row.length;
        if (ids != null) {
            int next = 0;
            for (int id : ids) {
                if (id >= n) {
                    break;
                }
                java.util.Arrays.fill(row, next, id, value);
                next = id + 1;
            }
            java.util.Arrays.fill(row, Math.min(next, n), n, value);
            return;
        }
        for (int w = 0; w < words.length && (w << 6) < n; w++) {
            long off = ~words[w];
            while (off != 0) {
                int id = (w << 6) + Long.numberOfTrailingZeros(off);
                if (id >= n) {
                    break;
                }
                row[id] = value;
                off &= off - 1;
            }
        }
        if (n > vocabSize) {
            java.util.Arrays.fill(row, vocabSize, n, value);
        }
    }

    /** Approximate heap bytes. */
    public long bytes() {
        return 32 + (ids != null ? 4L * ids.length : 8L * words.length);
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof TokenMask m) || m.vocabSize != vocabSize || m.cardinality != cardinality
                || m.hash != hash) {
            return false;
        }
        return ids != null ? Arrays.equals(ids, m.ids) : Arrays.equals(words, m.words);
    }

    @Override
    public int hashCode() {
        return hash;
    }

    @Override
    public String toString() {
        int[] head = ids != null ? Arrays.copyOf(ids, Math.min(8, ids.length)) : null;
        return "TokenMask[" + cardinality + " of " + vocabSize + " ids" + (head != null ? ", " + Arrays.toString(head)
                : "") + "]";
    }
}
