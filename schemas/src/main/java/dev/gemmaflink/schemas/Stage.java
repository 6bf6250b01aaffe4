package dev.gemmaflink.schemas;

/** Pipeline stage that rejected a record, carried in {@link DeadLetter#getStage()}. */
public enum Stage {
    /** Turning the Kafka record value into an {@link EnrichmentRequest}. */
    DECODE,
    /** Checking a decoded request against the task registry and the configured limits. */
    VALIDATE,
    /** Running the enricher (model) on a valid request. */
    ENRICH
}
