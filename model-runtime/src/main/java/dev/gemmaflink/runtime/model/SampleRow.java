package dev.gemmaflink.runtime.model;

import java.util.Objects;

/**
 * What to sample for one sequence of a {@link ForwardBatch}, on the device ({@link GemmaModel#forwardSample}): the
 * next token from the logits of the sequence's last new token.
 *
 * @param sequence    index of the sequence in the batch
 * @param temperature 0 for greedy (exact argmax, first maximum on ties); otherwise finite and positive
 * @param topK        0 for no top-k cut; otherwise keep the k largest logits
 * @param topP        in (0, 1]; 1 for no nucleus cut
 * @param seed        the request's seed; the draw is {@link SamplingNoise#uniform}{@code (seed, position)}
 * @param position    absolute position the sampled token takes in its sequence (tokens before it)
 * @param logprob     whether to return the chosen token's log-probability ({@link SampledTokens#logprob})
 * @param mask        tokens allowed in this row (constrained decoding), or null for all
 */
public record SampleRow(int sequence, double temperature, int topK, double topP, long seed, int position,
        boolean logprob, TokenMask mask) {

    public SampleRow {
        if (sequence < 0) {
            throw new IllegalArgumentException("sample row: negative sequence index " + sequence);
        }
        if (!Double.isFinite(temperature) || temperature < 0) {
            throw new IllegalArgumentException("sample row: temperature must be finite and >= 0, got " + temperature);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("sample row: topK must be >= 0, got " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("sample row: topP must be in (0, 1], got " + topP);
        }
        if (position < 0) {
            throw new IllegalArgumentException("sample row: negative position " + position);
        }
    }

    /** Greedy (argmax) for sequence {@code sequence}. */
    public static SampleRow greedy(int sequence) {
        return new SampleRow(sequence, 0, 0, 1, 0, 0, false, null);
    }

    /** Sampled from the temperature/top-k/top-p distribution with the draw of {@code (seed, position)}. */
    public static SampleRow sampled(int sequence, double temperature, int topK, double topP, long seed, int position) {
        return new SampleRow(sequence, temperature, topK, topP, seed, position, false, null);
    }

    public boolean greedy() {
        return temperature == 0.0;
    }

    /** This row, also returning the chosen token's log-probability. */
    public SampleRow withLogprob() {
        return new SampleRow(sequence, temperature, topK, topP, seed, position, true, mask);
    }

    /** This row, constrained to the tokens {@code mask} allows. */
    public SampleRow withMask(TokenMask mask) {
        return new SampleRow(sequence, temperature, topK, topP, seed, position, logprob,
                Objects.requireNonNull(mask, "mask"));
    }

    /** Top-k as a candidate count over {@code vocab} tokens: k, or the whole vocabulary when off or larger. */
    public int effectiveTopK(int vocab) {
        return topK == 0 || topK >= vocab ? vocab : topK;
    }
}
