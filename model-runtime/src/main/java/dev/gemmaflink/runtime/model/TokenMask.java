package dev.gemmaflink.runtime.model;

import java.util.Arrays;

/**
 * The tokens one sampled row may produce (constrained decoding): a bitset over the vocabulary, bit {@code t & 31} of
 * word {@code t >>> 5} set when token {@code t} is allowed. Disallowed tokens get logit {@code -inf} before greedy
 * argmax, temperature, top-k and top-p, on the device ({@link DeviceSampler}) and in the Java reference sampler alike;
 * the bitset crosses to the device as it is ({@code ceil(vocab / 32)} int32 words per row, 32 KiB for Gemma 3's
 * 262,144 tokens). At least one token must be allowed. Immutable.
 */
public final class TokenMask {

    private final int vocab;
    private final int[] words;

    private TokenMask(int vocab, int[] words) {
        this.vocab = vocab;
        this.words = words;
    }

    /** Words of a bitset over {@code vocab} tokens. */
    public static int wordsFor(int vocab) {
        return (vocab + 31) >>> 5;
    }

    /** Only {@code allowed} (at least one id, each in {@code [0, vocab)}). */
    public static TokenMask of(int vocab, int... allowed) {
        if (vocab < 1) {
            throw new IllegalArgumentException("vocab must be >= 1, got " + vocab);
        }
        int[] w = new int[wordsFor(vocab)];
        for (int t : allowed) {
            if (t < 0 || t >= vocab) {
                throw new IllegalArgumentException("token id " + t + " is outside the vocabulary [0, " + vocab + ")");
            }
            w[t >>> 5] |= 1 << (t & 31);
        }
        return fromWords(vocab, w);
    }

    /**
     * A mask from its words (copied); bits at or above {@code vocab} are ignored.
     *
     * @throws IllegalArgumentException when the length is not {@link #wordsFor}{@code (vocab)} or nothing is allowed
     */
    public static TokenMask fromWords(int vocab, int[] words) {
        if (words.length != wordsFor(vocab)) {
            throw new IllegalArgumentException("a token mask over " + vocab + " tokens has " + wordsFor(vocab)
                    + " words, got " + words.length);
        }
        int[] w = words.clone();
        if ((vocab & 31) != 0) {
            w[w.length - 1] &= (1 << (vocab & 31)) - 1;
        }
        if (Arrays.stream(w).allMatch(x -> x == 0)) {
            throw new IllegalArgumentException("a token mask must allow at least one token");
        }
        return new TokenMask(vocab, w);
    }

    public int vocabSize() {
        return vocab;
    }

    public boolean allows(int token) {
        return token >= 0 && token < vocab && (words[token >>> 5] >>> (token & 31) & 1) != 0;
    }

    /** The bitset (a copy). */
    public int[] words() {
        return words.clone();
    }

    void copyWordsTo(int[] dst, int offset) {
        System.arraycopy(words, 0, dst, offset, words.length);
    }

    /** {@code logits} with every disallowed entry set to {@code -inf} (a copy). */
    public float[] apply(float[] logits) {
        if (logits.length != vocab) {
            throw new IllegalArgumentException("mask over " + vocab + " tokens applied to " + logits.length + " logits");
        }
        float[] out = logits.clone();
        for (int t = 0; t < out.length; t++) {
            if (!allows(t)) {
                out[t] = Float.NEGATIVE_INFINITY;
            }
        }
        return out;
    }
}
