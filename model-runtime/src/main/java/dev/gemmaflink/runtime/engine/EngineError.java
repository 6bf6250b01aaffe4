package dev.gemmaflink.runtime.engine;

import java.util.Objects;

/**
 * Why the engine could not serve a request: a stable reason for callers to act on, and a message that says what was
 * wrong with this request. It comes in the request's {@link EngineResult} (finish reason
 * {@link EngineFinishReason#ERROR}); the engine throws only for programming errors.
 *
 * @param reason what went wrong
 * @param message the details, naming the request, the limit or the input at fault
 */
public record EngineError(Reason reason, String message) {

    /** What went wrong. */
    public enum Reason {
        /** {@code queueCapacity} requests were already waiting: the same request may succeed later. */
        QUEUE_FULL,
        /** Prompt plus {@code maxNewTokens} exceed the longest sequence the engine holds (context or KV capacity). */
        PROMPT_TOO_LONG,
        /**
         * The prompt cannot run here: a token id outside the vocabulary, or text for an engine without tokenizer; or
         * its constraint cannot ({@code constrain.ConstraintException}: an automaton over the size limit, an engine
         * without tokenizer to map it onto tokens).
         */
        INVALID_PROMPT,
        /** The request has images but the engine reads text only. */
        IMAGES_UNSUPPORTED,
        /** An image has more bytes than the decoder accepts. */
        IMAGE_TOO_LARGE,
        /** An image could not be decoded: not an image, an unsupported format, corrupt, or too many pixels. */
        IMAGE_UNREADABLE,
        /** The model failed on the step or image encoding that computed this request. */
        ENGINE_FAILURE,
        /** The engine closed, or its thread stopped, before the request finished. */
        ENGINE_CLOSED
    }

    public EngineError {
        Objects.requireNonNull(reason, "reason");
        Objects.requireNonNull(message, "message");
    }

    /** True when submitting the same request again later may succeed. */
    public boolean retryable() {
        return reason == Reason.QUEUE_FULL;
    }

    @Override
    public String toString() {
        return reason + ": " + message;
    }
}
