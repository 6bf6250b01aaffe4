package dev.gemmaflink.runtime.engine;

/**
 * Completes the future of a request that was still pending when {@link GemmaEngine#close()} gave up waiting (drain
 * timeout), or when the engine thread stopped after an unexpected failure.
 */
public final class EngineClosedException extends IllegalStateException {

    private static final long serialVersionUID = 1L;

    EngineClosedException(String message) {
        super(message);
    }
}
