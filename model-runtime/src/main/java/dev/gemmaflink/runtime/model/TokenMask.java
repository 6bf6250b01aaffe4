package dev.gemmaflink.runtime.model;

import java.util.Arrays;

/**
 * The tokens one sampled row may produce (constrained decoding): a set of token ids over a vocabulary. Disallowed
 * tokens get logit {@code -inf} before greedy argmax, temperature, top-k and top-p, on the device
 * ({@link DeviceSampler}) and in the Java reference sampler alike. At least one token is allowed. Immutable, with
 * value equality (the constraint package caches masks per automaton state and stores equal ones once).
 *
 * <p>Held as a sorted id list when few ids are allowed (fewer than one in 32), else as a bitset, so that the many
 * narrow masks of a constraint cost little heap. Either way it crosses to the device as a bitset of
 * {@link #wordsFor}{@code (vocab)} int32 words per row, bit {@code t & 31} of word {@code t >>> 5} set when token
 * {@code t} is allowed (32 KiB for Gemma 3's 262,144 tokens).
 */
public final class TokenMask {

    private final int vocab;
    private final int cardinality;
    private final int[] ids; // ascending; null when dense
    private final long[] bits; // bit t & 63 of word t >>> 6; null when sparse
    private final int hash;

    private TokenMask(int vocab, int cardinality, int[] ids, long[] bits) {
        this.vocab = vocab;
        this.cardinality = cardinality;
        this.ids = ids;
        this.bits = bits;
        // the form is a function of the content, so equal masks have equal forms
        this.hash = 31 * vocab + (ids != null ? Arrays.hashCode(ids) : Arrays.hashCode(bits));
    }

    /** Int32 words of the device bitset over {@code vocab} tokens. */
    public static int wordsFor(int vocab) {
        return (vocab + 31) >>> 5;
    }

    /**
     * Only {@code allowed} (at least one id, each in {@code [0, vocab)}; duplicates ignored).
     *
     * @throws IllegalArgumentException when an id is outside the vocabulary or none is given
     */
    public static TokenMask of(int vocab, int... allowed) {
        checkVocab(vocab);
        long[] b = new long[longsFor(vocab)];
        for (int t : allowed) {
            if (t < 0 || t >= vocab) {
                throw new IllegalArgumentException("token id " + t + " is outside the vocabulary [0, " + vocab + ")");
            }
            b[t >>> 6] |= 1L << t;
        }
        return ofOwnedBits(vocab, b);
    }

    /**
     * A mask from its device words ({@link #wordsFor}{@code (vocab)} int32 words, bit {@code t & 31} of word
     * {@code t >>> 5}); bits at or above {@code vocab} are ignored.
     *
     * @throws IllegalArgumentException when the length is not {@link #wordsFor}{@code (vocab)} or nothing is allowed
     */
    public static TokenMask fromWords(int vocab, int[] words) {
        checkVocab(vocab);
        if (words.length != wordsFor(vocab)) {
            throw new IllegalArgumentException("a token mask over " + vocab + " tokens has " + wordsFor(vocab)
                    + " words, got " + words.length);
        }
        long[] b = new long[longsFor(vocab)];
        for (int i = 0; i < words.length; i++) {
            b[i >>> 1] |= (words[i] & 0xFFFFFFFFL) << ((i & 1) << 5);
        }
        return ofOwnedBits(vocab, b);
    }

    /**
     * A mask from a 64-bit bitset ({@code ceil(vocab / 64)} longs, bit {@code t & 63} of word {@code t >>> 6}), as
     * the constraint package computes it; bits at or above {@code vocab} are ignored, {@code bits} is not kept.
     *
     * @throws IllegalArgumentException when the length is not {@code ceil(vocab / 64)} or nothing is allowed
     */
    public static TokenMask fromBits(int vocab, long[] bits) {
        checkVocab(vocab);
        if (bits.length != longsFor(vocab)) {
            throw new IllegalArgumentException("a token mask over " + vocab + " tokens has " + longsFor(vocab)
                    + " 64-bit words, got " + bits.length);
        }
        return ofOwnedBits(vocab, bits.clone());
    }

    private static void checkVocab(int vocab) {
        if (vocab < 1) {
            throw new IllegalArgumentException("vocab must be >= 1, got " + vocab);
        }
    }

    private static int longsFor(int vocab) {
        return (vocab + 63) >>> 6;
    }

    /** Takes ownership of {@code b}: clears the bits past {@code vocab} and picks the form. */
    private static TokenMask ofOwnedBits(int vocab, long[] b) {
        if ((vocab & 63) != 0) {
            b[b.length - 1] &= (1L << vocab) - 1;
        }
        int card = 0;
        for (long w : b) {
            card += Long.bitCount(w);
        }
        if (card == 0) {
            throw new IllegalArgumentException("a token mask must allow at least one token");
        }
        if ((long) card * 32 < vocab) { // the id list is smaller than the bitset
            return new TokenMask(vocab, card, idsOf(b, card), null);
        }
        return new TokenMask(vocab, card, null, b);
    }

    private static int[] idsOf(long[] b, int card) {
        int[] out = new int[card];
        int k = 0;
        for (int w = 0; w < b.length; w++) {
            long word = b[w];
            while (word != 0) {
                out[k++] = (w << 6) + Long.numberOfTrailingZeros(word);
                word &= word - 1;
            }
        }
        return out;
    }

    /** Tokens in the vocabulary this mask is over. */
    public int vocabSize() {
        return vocab;
    }

    /** Number of allowed ids (at least 1). */
    public int cardinality() {
        return cardinality;
    }

    public boolean allows(int token) {
        if (token < 0 || token >= vocab) {
            return false;
        }
        return ids != null ? Arrays.binarySearch(ids, token) >= 0 : (bits[token >>> 6] & (1L << token)) != 0;
    }

    /** The smallest allowed id at or above {@code from}, or -1. */
    public int nextAllowed(int from) {
        if (from < 0) {
            from = 0;
        }
        if (from >= vocab) {
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
        long word = bits[w] & (-1L << from);
        while (true) {
            if (word != 0) {
                return (w << 6) + Long.numberOfTrailingZeros(word);
            }
            if (++w == bits.length) {
                return -1;
            }
            word = bits[w];
        }
    }

    /** The allowed ids, ascending (a new array). */
    public int[] toIds() {
        return ids != null ? ids.clone() : idsOf(bits, cardinality);
    }

    /** The device bitset, {@link #wordsFor}{@code (vocabSize())} int32 words (a new array). */
    public int[] words() {
        int[] out = new int[wordsFor(vocab)];
        copyWordsTo(out, 0);
        return out;
    }

    /** Writes the device bitset into {@code dst[offset .. offset + wordsFor(vocabSize()))}, overwriting it. */
    void copyWordsTo(int[] dst, int offset) {
        int n = wordsFor(vocab);
        if (ids != null) {
            Arrays.fill(dst, offset, offset + n, 0);
            for (int t : ids) {
                dst[offset + (t >>> 5)] |= 1 << (t & 31);
            }
            return;
        }
        for (int i = 0; i < n; i++) {
            dst[offset + i] = (int) (bits[i >>> 1] >>> ((i & 1) << 5));
        }
    }

    /** {@code logits} with every disallowed entry set to {@code -inf} (a copy). */
    public float[] apply(float[] logits) {
        if (logits.length != vocab) {
            throw new IllegalArgumentException("mask over " + vocab + " tokens applied to " + logits.length + " logits");
        }
        if (ids != null) {
            float[] out = new float[vocab];
            Arrays.fill(out, Float.NEGATIVE_INFINITY);
            for (int t : ids) {
                out[t] = logits[t];
            }
            return out;
        }
        float[] out = logits.clone();
        for (int w = 0; w < bits.length; w++) {
            long off = ~bits[w];
            while (off != 0) {
                int t = (w << 6) + Long.numberOfTrailingZeros(off);
                if (t >= vocab) {
                    break;
                }
                out[t] = Float.NEGATIVE_INFINITY;
                off &= off - 1;
            }
        }
        return out;
    }

    /** Approximate heap bytes. */
    public long bytes() {
        return 32 + (ids != null ? 4L * ids.length : 8L * bits.length);
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof TokenMask m) || m.vocab != vocab || m.cardinality != cardinality || m.hash != hash) {
            return false;
        }
        return ids != null ? Arrays.equals(ids, m.ids) : Arrays.equals(bits, m.bits);
    }

    @Override
    public int hashCode() {
        return hash;
    }

    @Override
    public String toString() {
        int[] head = ids != null ? Arrays.copyOf(ids, Math.min(8, ids.length)) : null;
        return "TokenMask[" + cardinality + " of " + vocab + " ids" + (head != null ? ", " + Arrays.toString(head)
                : "") + "]";
    }
}
