package dev.gemmaflink.runtime.engine;

import java.util.concurrent.CompletableFuture;

/**
 * A submitted request: its id and the future of its result. The future always completes: normally with an
 * {@link EngineResult} (whatever the finish reason, errors of the forward step included), or exceptionally with
 * {@link EngineClosedException} when the engine closed before the request finished.
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
