package dev.gemmaflink.runtime.engine;

import dev.gemmaflink.runtime.generate.TokenListener;
import dev.gemmaflink.runtime.model.PromptImages;
import dev.gemmaflink.runtime.sched.ScheduledRequest;
import dev.gemmaflink.runtime.vision.PreparedImage;
import dev.gemmaflink.runtime.vision.PromptTokens;
import java.util.List;
import dev.gemmaflink.runtime.tokenizer.StreamingDetokenizer;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Per-request bookkeeping of the engine thread (the future is the only part other threads touch). */
final class RequestState {

    private static final Logger LOG = LoggerFactory.getLogger(RequestState.class);

    final EngineRequest request;
    final int[] promptIds;
    final CompletableFuture<EngineResult> future = new CompletableFuture<>();
    final long submitNanos;
    final long deadlineNanos;
    private final TokenListener listener;
    private final SplittableRandom rng;
    private final StreamingDetokenizer detokenizer; // null without a tokenizer
    private final StringBuilder text = new StringBuilder();
    private int[] generated = new int[16];
    private int numGenerated;
    ScheduledRequest sequence; // the scheduler's entry, set by the engine thread when it takes the request
    boolean started; // scheduled at least once
    long firstScheduledNanos = -1;
    long firstTokenNanos = -1;
    int cachedPromptTokens;
    /** Multimodal requests: the assembled prompt and its decoded images (set before the request is queued). */
    PromptTokens imagePrompt;
    List<PreparedImage> preparedImages;
    /** Soft tokens at their positions, set by the engine thread once the images are encoded. */
    PromptImages softTokens;

    RequestState(EngineRequest request, int[] promptIds, TokenListener listener, StreamingDetokenizer detokenizer,
            long submitNanos) {
        this.request = request;
        this.promptIds = promptIds;
        this.listener = listener;
        this.detokenizer = detokenizer;
        this.rng = new SplittableRandom(request.params().seed());
        this.submitNanos = submitNanos;
        this.deadlineNanos = request.timeout() == null ? Long.MAX_VALUE
                : submitNanos + Math.min(request.timeout().toNanos(), Long.MAX_VALUE / 4);
    }

    String id() {
        return request.requestId();
    }

    SplittableRandom rng() {
        return rng;
    }

    int numGenerated() {
        return numGenerated;
    }

    /** Records a generated (non-stop) token and streams it; a throwing listener is logged, never propagated. */
    void accept(int token, long nowNanos) {
        if (numGenerated == generated.length) {
            generated = Arrays.copyOf(generated, generated.length * 2);
        }
        generated[numGenerated++] = token;
        String delta = detokenizer == null ? "" : detokenizer.accept(token);
        text.append(delta);
        try {
            listener.onToken(token, delta);
        } catch (RuntimeException e) {
            LOG.warn("stream listener of request {} failed on token {}: {}", id(), token, e.toString());
        }
    }

    EngineResult result(EngineFinishReason reason, String error, long nowNanos) {
        if (detokenizer != null && detokenizer.hasPending()) {
            text.append(detokenizer.flush());
        }
        int preemptions = sequence == null ? 0 : sequence.numPreemptions();
        return new EngineResult(id(), Arrays.copyOf(generated, numGenerated), text.toString(), reason, error,
                promptIds.length, cachedPromptTokens, preemptions,
                firstScheduledNanos < 0 ? (nowNanos - submitNanos) / 1e6 : (firstScheduledNanos - submitNanos) / 1e6,
                firstTokenNanos < 0 ? -1 : (firstTokenNanos - submitNanos) / 1e6, (nowNanos - submitNanos) / 1e6);
    }
}
