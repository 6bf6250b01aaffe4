package dev.gemmaflink.operators.model;

import java.nio.ByteBuffer;
import java.util.Objects;

import dev.gemmaflink.schemas.EnrichmentRequest;
import dev.gemmaflink.schemas.ImageData;

/**
 * A request that passed validation, with its origin (for a later dead letter) and its routing key.
 *
 * <p><b>The image is kept once.</b> From the keyBy on, a request in flight is this record: serialized field by
 * field by Flink's record serializer on the network and in every checkpoint (the async enrich operator snapshots its
 * queue). {@code origin} keeps the raw Kafka value, because a dead letter at the enrich stage must carry the original
 * record byte for byte (or the sink's cut of it, with size and SHA-256 of the whole), and re-encoding the decoded
 * request would not give those bytes back (Avro JSON input, producers on an older schema). So the decoded request
 * gives up its copy instead: the stored {@code request} has {@code image.data} empty when those bytes are in
 * {@code origin.value()}, and {@link #request()} puts them back:
 * <ul>
 *   <li>binary wire format: the image bytes are one run of the value; when stored they are checked to be exactly
 *       that run, and {@link #request()} hands out a read-only view of it (no copy, no decoding);</li>
 *   <li>Avro JSON: the bytes are escaped text in the value, so {@link #request()} decodes the value again (the slow
 *       path, for JSON input only);</li>
 *   <li>anything else (a request not decoded from {@code origin}, as tests build them): the image stays in the
 *       request.</li>
 * </ul>
 * An 8 MiB caption therefore costs about 8 MiB of state, not 16, and everyone reading {@link #request()} (the
 * enrichers, dead letters) sees the whole request as before. The canonical constructor does the stripping, so every
 * instance is in this form whoever builds it (the decode stage, Flink's deserializer and copier, tests). The
 * components and their types are unchanged, so Flink's serializer snapshot is too: a checkpoint taken before the
 * image was kept once restores, its requests lose their second copy on the way in.
 *
 * <p>A record so that Flink serializes it as a POJO (not Kryo).
 *
 * @param origin the Kafka record it was decoded from
 * @param request the decoded, valid request; stored without its image bytes when {@code origin} holds them
 * @param routingKey the session key when present, else {@code tenant|task}; enrichment is keyed by it
 */
public record ValidatedRequest(SourceRecord origin, EnrichmentRequest request, String routingKey) {

    public ValidatedRequest {
        Objects.requireNonNull(origin, "origin");
        Objects.requireNonNull(request, "request");
        Objects.requireNonNull(routingKey, "routingKey");
        request = OriginImage.strip(origin.value(), request);
    }

    /**
     * The whole decoded request, image bytes included. When they are kept in {@code origin}, a new shallow copy per
     * call whose {@code image.data} is a read-only view of them (for JSON input: decoded again).
     */
    @Override
    public EnrichmentRequest request() {
        ImageData image = request.getImage();
        if (image == null || image.getData() == null || image.getData().hasRemaining() || origin.value() == null) {
            return request;
        }
        ByteBuffer data = OriginImage.imageData(origin.value(), request);
        return data.hasRemaining() ? OriginImage.withImageData(request, data) : request;
    }

    /** The image bytes, read-only and not copied (for JSON input: decoded again); null when it has no image. */
    public ByteBuffer imageData() {
        return OriginImage.imageData(origin.value(), request);
    }

    /** Whether the image bytes are kept in {@code origin} only (else in the request, or there is no image). */
    public boolean imageKeptInOrigin() {
        return OriginImage.inValue(origin.value(), request);
    }

    /** Routing key of a request: its session key when it has a non-blank one, else tenant and task. */
    public static String routingKeyOf(EnrichmentRequest request) {
        String key = request.getKey();
        return key != null && !key.isBlank() ? key : request.getTenant() + "|" + request.getTask();
    }

    /** Wraps a valid request decoded from {@code origin}, deriving the routing key. */
    public static ValidatedRequest of(SourceRecord origin, EnrichmentRequest request) {
        return new ValidatedRequest(origin, request, routingKeyOf(request));
    }
}
