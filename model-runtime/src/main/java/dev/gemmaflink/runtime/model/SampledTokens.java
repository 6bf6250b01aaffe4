package dev.gemmaflink.runtime.model;

/**
 * The device sampler's answer for one step: per {@link SampleRow}, in the order the rows were given, the chosen
 * token id and, where the row asked, its log-probability. This is all that crosses from the device for a sampled
 * step ({@link #DEVICE_BYTES_PER_ROW} bytes per row), never a logit row.
 */
public final class SampledTokens {

    /** Bytes copied from the device per sampled row: token id and log-probability, 8 bytes each. */
    public static final int DEVICE_BYTES_PER_ROW = 16;

    private static final SampledTokens NONE = new SampledTokens(new int[0], new double[0]);

    private final int[] tokens;
    private final double[] logprobs;

    SampledTokens(int[] tokens, double[] logprobs) {
        this.tokens = tokens;
        this.logprobs = logprobs;
    }

    static SampledTokens none() {
        return NONE;
    }

    /** Number of rows. */
    public int size() {
        return tokens.length;
    }

    /** Token id chosen for row {@code i}. */
    public int token(int i) {
        return tokens[i];
    }

    /** All chosen token ids (a copy). */
    public int[] tokens() {
        return tokens.clone();
    }

    /**
     * Natural log-probability of row {@code i}'s token under the softmax of its logits at temperature 1 over the
     * tokens its mask allows (all tokens without a mask), before top-k and top-p; NaN when the row did not ask
     * ({@link SampleRow#logprob()}).
     */
    public double logprob(int i) {
        return logprobs[i];
    }
}
