package dev.gemmaflink.runtime.engine;

import dev.gemmaflink.runtime.constrain.ConstraintCursor;
import dev.gemmaflink.runtime.generate.TokenListener;
import dev.gemmaflink.runtime.model.PromptImages;
import dev.gemmaflink.runtime.sched.ScheduledRequest;
import dev.gemmaflink.runtime.tokenizer.StreamingDetokenizer;
import dev.gemmaflink.runtime.vision.PreparedImage;
import dev.gemmaflink.runtime.vision.PromptTokens;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalDouble;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Per-request bookkeeping. The submitting thread creates it, a preparation thread fills in the prompt, then only the
 * engine thread touches it; other threads read the future and may raise {@link #cancelRequested}.
 */
final class RequestState {

    private static final Logger LOG = LoggerFactory.getLogger(RequestState.class);

    final EngineRequest request;
    final CompletableFuture<EngineResult> future = new CompletableFuture<>();
    final long submitNanos;
    final long deadlineNanos;
    private final TokenListener listener;
    private final StreamingDetokenizer detokenizer; // null without a tokenizer
    private final StringBuilder text = new StringBuilder();
    private int[] generated = new int[16];
    private int numGenerated;
    private double outputLogprob; // summed over sampled tokens when the request asked for it
    /** Set by {@link GemmaEngine#cancel}; read wherever the request waits (preparation, inbox). */
    volatile boolean cancelRequested;
    /** The prompt's token ids, set by preparation. */
    int[] promptIds;
    /** Multimodal requests: the assembled prompt and its decoded images, set by preparation. */
    PromptTokens imagePrompt;
    List<PreparedImage> preparedImages;
    /** The request's place in its constraint, set by preparation; null for free generation. */
    ConstraintCursor constraint;
    /** Soft tokens at their positions, set by the engine thread once the images are encoded. */
    PromptImages softTokens;
    ScheduledRequest scheduled; // the scheduler's entry, set by the engine thread when it takes the request
    boolean started; // scheduled at least once
    long firstScheduledNanos = -1;
    long firstTokenNanos = -1;
    int cachedPromptTokens;

    RequestState(EngineRequest request, TokenListener listener, StreamingDetokenizer detokenizer, long submitNanos) {
        this.request = request;
        this.listener = listener;
        this.detokenizer = detokenizer;
        this.submitNanos = submitNanos;
        this.deadlineNanos = deadlineNanos(request.deadline(), submitNanos);
    }

    /** The deadline on the {@link System#nanoTime()} clock; {@link Long#MAX_VALUE} for none. */
    private static long deadlineNanos(Instant deadline, long nowNanos) {
        if (deadline == null) {
            return Long.MAX_VALUE;
        }
        Duration left = Duration.between(Instant.now(), deadline);
        long bound = Long.MAX_VALUE / 4;
        long leftNanos = left.compareTo(Duration.ofNanos(bound)) > 0 ? bound : Math.max(-bound, left.toNanos());
        return nowNanos + leftNanos;
    }

    String id() {
        return request.requestId();
    }

    int numGenerated() {
        return numGenerated;
    }

    /**
     * Records a generated (non-stop) token, moving the constraint past it (which starts computing the next mask);
     * returns its text delta ("" without a tokenizer).
     */
    String accept(int token) {
        if (constraint != null) {
            constraint.advance(token);
        }
        if (numGenerated == generated.length) {
            generated = Arrays.copyOf(generated, generated.length * 2);
        }
        generated[numGenerated++] = token;
        String delta = detokenizer == null ? "" : detokenizer.accept(token);
        text.append(delta);
        return delta;
    }

    /** Adds a sampled token's log-probability (the stop id's too) to the output's, when the request asked. */
    void addLogprob(double logprob) {
        if (request.params().outputLogprob()) {
            outputLogprob += logprob;
        }
    }

    /** Streams one token to the listener; a throwing listener is logged, never propagated. */
    void notifyListener(int token, String delta) {
        try {
            listener.onToken(token, delta);
        } catch (RuntimeException e) {
            LOG.warn("stream listener of request {} failed on token {}: {}", id(), token, e.toString());
        }
    }

    EngineResult result(EngineFinishReason reason, EngineError error, long nowNanos) {
        if (detokenizer != null && detokenizer.hasPending()) {
            text.append(detokenizer.flush());
        }
        int preemptions = scheduled == null ? 0 : scheduled.numPreemptions();
        int promptLength = promptIds == null ? 0 : promptIds.length;
        boolean incomplete = constraint != null && reason != EngineFinishReason.STOP && !constraint.isAccepting();
        boolean finished = reason == EngineFinishReason.STOP || reason == EngineFinishReason.LENGTH;
        return new EngineResult(id(), Arrays.copyOf(generated, numGenerated), text.toString(), reason, error,
                promptLength, cachedPromptTokens, preemptions,
                firstScheduledNanos < 0 ? (nowNanos - submitNanos) / 1e6 : (firstScheduledNanos - submitNanos) / 1e6,
                firstTokenNanos < 0 ? -1 : (firstTokenNanos - submitNanos) / 1e6, (nowNanos - submitNanos) / 1e6,
                incomplete, finished && request.params().outputLogprob() ? OptionalDouble.of(outputLogprob)
                        : OptionalDouble.empty());
    }

    /** The result of a request that failed with {@code error}. */
    EngineResult failed(EngineError error, long nowNanos) {
        return result(EngineFinishReason.ERROR, error, nowNanos);
    }
}
