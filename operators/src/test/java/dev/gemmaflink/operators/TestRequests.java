package dev.gemmaflink.operators;

import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.Map;

import dev.gemmaflink.operators.model.SourceRecord;
import dev.gemmaflink.schemas.EnrichmentRequest;
import dev.gemmaflink.schemas.ImageData;

/** Valid requests of each task, to be modified by tests. */
public final class TestRequests {
    private TestRequests() {
    }

    public static EnrichmentRequest.Builder summarize(String id, String text) {
        return EnrichmentRequest.newBuilder().setRequestId(id).setTenant("acme").setKey(null).setTask("SUMMARIZE")
                .setText(text).setImage(null).setTargetLanguage(null).setGeneration(null)
                .setEventTime(Instant.ofEpochMilli(1_000)).setAttributes(Map.of());
    }

    public static EnrichmentRequest.Builder translate(String id, String text, String language) {
        return summarize(id, text).setTask("TRANSLATE").setTargetLanguage(language);
    }

    public static EnrichmentRequest.Builder caption(String id, int imageBytes, String mediaType) {
        return summarize(id, null).setTask("CAPTION")
                .setImage(ImageData.newBuilder().setData(ByteBuffer.wrap(new byte[imageBytes]))
                        .setMediaType(mediaType).build());
    }

    public static SourceRecord origin(byte[] value) {
        return new SourceRecord("requests", 3, 42L, 7L, null, value);
    }
}
