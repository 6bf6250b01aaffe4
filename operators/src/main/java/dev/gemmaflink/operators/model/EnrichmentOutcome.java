package dev.gemmaflink.operators.model;

import dev.gemmaflink.schemas.DeadLetter;
import dev.gemmaflink.schemas.EnrichmentResult;

/**
 * What the enrichment step emits for one request: exactly one of a result or a dead letter.
 *
 * @param result the result, or null when the request failed
 * @param deadLetter the dead letter, or null when the request succeeded
 * @param retryable true for a failure that Flink's async retry tries again (the enricher was busy); the dead letter
 *     is the request's outcome if the retries run out
 */
public record EnrichmentOutcome(EnrichmentResult result, DeadLetter deadLetter, boolean retryable) {

    public EnrichmentOutcome {
        if ((result == null) == (deadLetter == null)) {
            throw new IllegalArgumentException("an outcome holds exactly one of result and dead letter");
        }
        if (retryable && result != null) {
            throw new IllegalArgumentException("only a failure is retried");
        }
    }

    /** The outcome of a request the enricher answered. */
    public static EnrichmentOutcome success(EnrichmentResult result) {
        return new EnrichmentOutcome(result, null, false);
    }

    /** The outcome of a request that failed, timed out or was refused by the enricher. */
    public static EnrichmentOutcome failure(DeadLetter deadLetter) {
        return new EnrichmentOutcome(null, deadLetter, false);
    }

    /** A failure worth trying again; {@code ifRetriesRunOut} is the outcome when they do. */
    public static EnrichmentOutcome retry(DeadLetter ifRetriesRunOut) {
        return new EnrichmentOutcome(null, ifRetriesRunOut, true);
    }

    /** Whether this outcome holds a result (else a dead letter). */
    public boolean isSuccess() {
        return result != null;
    }
}
