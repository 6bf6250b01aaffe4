package dev.gemmaflink.runtime.engine;

import java.util.Arrays;
import java.util.Objects;
import java.util.OptionalDouble;

/**
 * What one engine request produced.
 *
 * @param requestId          the request's id
 * @param tokens             generated ids, stop id excluded (partial for cancelled, expired and failed requests)
 * @param text               their text ("" when the engine has no tokenizer)
 * @param finishReason       why it ended
 * @param error              why the engine could not serve it, for {@link EngineFinishReason#ERROR}; otherwise null
 * @param promptTokens       prompt length in tokens
 * @param cachedPromptTokens prompt tokens served by the prefix cache at the request's (last) admission
 * @param preemptions        times the request lost its KV blocks and recomputed
 * @param queueMillis        from submit to its first scheduled step
 * @param timeToFirstTokenMillis from submit to its first sampled token (-1 when none was sampled)
 * @param totalMillis        from submit to completion
 * @param incomplete         the request carried a constraint and its output is not a complete match: it ended
 *                           before the structure closed (always so for a constrained {@link EngineFinishReason#LENGTH}
 *                           that did not close; also for a constrained request cancelled, expired or failed midway).
 *                           Never set for {@link EngineFinishReason#STOP}, nor without a constraint.
 * @param outputLogprob      the natural log-probability of the output, for a request that asked
 *                           ({@code GenerationParams.outputLogprob()}, which defines it: log softmax at temperature 1
 *                           over the tokens the constraint allowed, summed over the sampled tokens, the stop id
 *                           included) and ended with {@link EngineFinishReason#STOP} or
 *                           {@link EngineFinishReason#LENGTH}; empty otherwise
 */
public record EngineResult(String requestId, int[] tokens, String text, EngineFinishReason finishReason, EngineError error,
        int promptTokens, int cachedPromptTokens, int preemptions, double queueMillis, double timeToFirstTokenMillis,
        double totalMillis, boolean incomplete, OptionalDouble outputLogprob) {

    public EngineResult {
        Objects.requireNonNull(requestId, "requestId");
        tokens = tokens.clone();
        Objects.requireNonNull(text, "text");
        Objects.requireNonNull(finishReason, "finishReason");
        if ((finishReason == EngineFinishReason.ERROR) != (error != null)) {
            throw new IllegalArgumentException("an error goes with finish reason ERROR and only with it: "
                    + finishReason + ", " + error);
        }
        if (incomplete && finishReason == EngineFinishReason.STOP) {
            throw new IllegalArgumentException("a STOP result is a complete match, it cannot be incomplete");
        }
        Objects.requireNonNull(outputLogprob, "outputLogprob");
    }

    /** A result without the output's log-probability. */
    public EngineResult(String requestId, int[] tokens, String text, EngineFinishReason finishReason, EngineError error,
            int promptTokens, int cachedPromptTokens, int preemptions, double queueMillis, double timeToFirstTokenMillis,
            double totalMillis, boolean incomplete) {
        this(requestId, tokens, text, finishReason, error, promptTokens, cachedPromptTokens, preemptions, queueMillis,
                timeToFirstTokenMillis, totalMillis, incomplete, OptionalDouble.empty());
    }

    /** A result of a request without constraint (never incomplete). */
    public EngineResult(String requestId, int[] tokens, String text, EngineFinishReason finishReason, EngineError error,
            int promptTokens, int cachedPromptTokens, int preemptions, double queueMillis, double timeToFirstTokenMillis,
            double totalMillis) {
        this(requestId, tokens, text, finishReason, error, promptTokens, cachedPromptTokens, preemptions, queueMillis,
                timeToFirstTokenMillis, totalMillis, false);
    }

    /**
     * The result of a request that never started: no tokens, no timings beyond the time it took to refuse it.
     *
     * @param promptTokens the prompt length, 0 when it was not known
     */
    static EngineResult refused(String requestId, EngineError error, int promptTokens, double totalMillis) {
        return new EngineResult(requestId, new int[0], "", EngineFinishReason.ERROR, error, promptTokens, 0, 0,
                totalMillis, -1, totalMillis);
    }

    @Override
    public int[] tokens() {
        return tokens.clone();
    }

    /** Number of generated tokens. */
    public int numTokens() {
        return tokens.length;
    }

    /** {@code exp(outputLogprob)}: the probability of the output, in [0, 1]; empty when {@link #outputLogprob()} is. */
    public OptionalDouble outputProbability() {
        return outputLogprob.isPresent() ? OptionalDouble.of(Math.exp(outputLogprob.getAsDouble()))
                : OptionalDouble.empty();
    }

    /** Mean time per output token after the first, ms (0 when fewer than two tokens). */
    public double timePerOutputTokenMillis() {
        return tokens.length < 2 || timeToFirstTokenMillis < 0 ? 0
                : (totalMillis - timeToFirstTokenMillis) / (tokens.length - 1);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof EngineResult r && requestId.equals(r.requestId) && Arrays.equals(tokens, r.tokens)
                && text.equals(r.text) && finishReason == r.finishReason && Objects.equals(error, r.error)
                && promptTokens == r.promptTokens && cachedPromptTokens == r.cachedPromptTokens
                && preemptions == r.preemptions && queueMillis == r.queueMillis
                && timeToFirstTokenMillis == r.timeToFirstTokenMillis && totalMillis == r.totalMillis
                && incomplete == r.incomplete && outputLogprob.equals(r.outputLogprob);
    }

    @Override
    public int hashCode() {
        return Objects.hash(requestId, Arrays.hashCode(tokens), text, finishReason, promptTokens);
    }

    @Override
    public String toString() {
        return "EngineResult[" + requestId + ", tokens=" + tokens.length + ", finish=" + finishReason
                + (incomplete ? " (incomplete)" : "") + (error == null ? "" : ", error=" + error) + ", prompt=" + promptTokens + ", cached="
                + cachedPromptTokens + "]";
    }
}
