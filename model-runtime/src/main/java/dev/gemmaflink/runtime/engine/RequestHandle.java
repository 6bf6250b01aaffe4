package dev.gemmaflink.runtime.engine;

import java.util.concurrent.CompletableFuture;

/**
 * A submitted request: its id and the future of its result. The future always completes, and always normally, with
 * an {@link EngineResult} whatever the finish reason; a request the engine could not serve has finish reason
 * {@link EngineFinishReason#ERROR} and an {@link EngineError}. Dependent stages run on the engine's callback thread
 * (or the caller's, for a result known at submit): keep them short, or hand them to an executor.
 */
public final class RequestHandle {

    private final String requestId;
    private final CompletableFuture<EngineResult> result;
    private final GemmaEngine engine;

    RequestHandle(String requestId, CompletableFuture<EngineResult> result, GemmaEngine engine) {
        this.requestId = requestId;
        this.result = result;
        this.engine = engine;
    }

    public String requestId() {
        return requestId;
    }

    /**
     * The result. Completing or cancelling this future from outside does not stop the request; use
     * {@link #cancel()}.
     */
    public CompletableFuture<EngineResult> result() {
        return result;
    }

    /** Asks the engine to cancel this request; see {@link GemmaEngine#cancel(String)}. */
    public boolean cancel() {
        return engine.cancel(requestId);
    }
}
