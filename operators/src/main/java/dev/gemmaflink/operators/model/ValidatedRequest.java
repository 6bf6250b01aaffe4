package dev.gemmaflink.operators.model;

import java.util.Objects;

import dev.gemmaflink.schemas.EnrichmentRequest;

/**
 * A request that passed validation, with its origin (for a later dead letter) and its routing key.
 *
 * @param origin the Kafka record it was decoded from
 * @param request the decoded, valid request
 * @param routingKey the session key when present, else {@code tenant|task}; enrichment is keyed by it
 */
public record ValidatedRequest(SourceRecord origin, EnrichmentRequest request, String routingKey) {

    public ValidatedRequest {
        Objects.requireNonNull(origin, "origin");
        Objects.requireNonNull(request, "request");
        Objects.requireNonNull(routingKey, "routingKey");
    }

    /** Routing key of a request: its session key when it has a non-blank one, else tenant and task. */
    public static String routingKeyOf(EnrichmentRequest request) {
        String key = request.getKey();
        return key != null && !key.isBlank() ? key : request.getTenant() + "|" + request.getTask();
    }

    /** Wraps a valid request, deriving the routing key. */
    public static ValidatedRequest of(SourceRecord origin, EnrichmentRequest request) {
        return new ValidatedRequest(origin, request, routingKeyOf(request));
    }
}
