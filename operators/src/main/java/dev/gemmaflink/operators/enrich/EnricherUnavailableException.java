package dev.gemmaflink.operators.enrich;

/**
 * The enricher can serve no request at all (its model or engine is gone), so no request is to blame: the task fails
 * and restarts from the last checkpoint, which replays the request, instead of turning every request into a dead
 * letter.
 */
public class EnricherUnavailableException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public EnricherUnavailableException(String message) {
        super(message);
    }
}
