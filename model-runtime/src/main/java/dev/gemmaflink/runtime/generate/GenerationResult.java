package dev.gemmaflink.runtime.generate;

import java.util.Arrays;
import java.util.Objects;
import java.util.OptionalDouble;

/**
 * What one generation produced.
 *
 * @param tokens         generated ids, stop id excluded
 * @param text           their text ("" without a tokenizer)
 * @param finishReason   why it ended
 * @param promptTokens   prompt length in tokens
 * @param timeToFirstTokenNanos from the call to the first sampled token (prefill included)
 * @param totalNanos     from the call to its end
 * @param incomplete     the generation had a constraint and ended before its output was a complete match
 * @param outputLogprob  the output's natural log-probability when the generation asked for it
 *                       ({@link GenerationParams#outputLogprob()}, which defines it); empty otherwise
 */
public record GenerationResult(int[] tokens, String text, FinishReason finishReason, int promptTokens,
        long timeToFirstTokenNanos, long totalNanos, boolean incomplete, OptionalDouble outputLogprob) {

    public GenerationResult {
        tokens = tokens.clone();
        Objects.requireNonNull(text, "text");
        Objects.requireNonNull(finishReason, "finishReason");
        Objects.requireNonNull(outputLogprob, "outputLogprob");
    }

    /** A result without the output's log-probability. */
    public GenerationResult(int[] tokens, String text, FinishReason finishReason, int promptTokens,
            long timeToFirstTokenNanos, long totalNanos, boolean incomplete) {
        this(tokens, text, finishReason, promptTokens, timeToFirstTokenNanos, totalNanos, incomplete,
                OptionalDouble.empty());
    }

    /** A result of a generation without constraint. */
    public GenerationResult(int[] tokens, String text, FinishReason finishReason, int promptTokens,
            long timeToFirstTokenNanos, long totalNanos) {
        this(tokens, text, finishReason, promptTokens, timeToFirstTokenNanos, totalNanos, false);
    }

    @Override
    public int[] tokens() {
        return tokens.clone();
    }

    /** {@code exp(outputLogprob)}: the output's probability, empty when not asked for. */
    public OptionalDouble outputProbability() {
        return outputLogprob.isPresent() ? OptionalDouble.of(Math.exp(outputLogprob.getAsDouble()))
                : OptionalDouble.empty();
    }

    /** Generated tokens per second after the first token (0 when fewer than two were generated). */
    public double decodeTokensPerSecond() {
        long decodeNanos = totalNanos - timeToFirstTokenNanos;
        return tokens.length < 2 || decodeNanos <= 0 ? 0 : (tokens.length - 1) * 1e9 / decodeNanos;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GenerationResult r && Arrays.equals(tokens, r.tokens) && text.equals(r.text)
                && finishReason == r.finishReason && promptTokens == r.promptTokens
                && timeToFirstTokenNanos == r.timeToFirstTokenNanos && totalNanos == r.totalNanos
                && incomplete == r.incomplete && outputLogprob.equals(r.outputLogprob);
    }

    @Override
    public int hashCode() {
        return Objects.hash(Arrays.hashCode(tokens), text, finishReason, promptTokens);
    }

    @Override
    public String toString() {
        return "GenerationResult[tokens=" + tokens.length + ", finish=" + finishReason
                + (incomplete ? " (incomplete)" : "") + ", prompt=" + promptTokens
                + "]";
    }
}
