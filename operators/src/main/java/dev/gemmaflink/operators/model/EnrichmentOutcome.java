package dev.gemmaflink.operators.model;

import dev.gemmaflink.schemas.DeadLetter;
import dev.gemmaflink.schemas.EnrichmentResult;

/**
 * What the enrichment step emits for one request: exactly one of a result or a dead letter.
 *
 * @param result the result, or null when the request failed
 * @param deadLetter the dead letter, or null when the request succeeded
 */
public record EnrichmentOutcome(EnrichmentResult result, DeadLetter deadLetter) {

    public EnrichmentOutcome {
        if ((result == null) == (deadLetter == null)) {
            throw new IllegalArgumentException("an outcome holds exactly one of result and dead letter");
        }
    }

    public static EnrichmentOutcome success(EnrichmentResult result) {
        return new EnrichmentOutcome(result, null);
    }

    public static EnrichmentOutcome failure(DeadLetter deadLetter) {
        return new EnrichmentOutcome(null, deadLetter);
    }

    public boolean isSuccess() {
        return result != null;
    }
}
