package dev.gemmaflink.operators;

import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.Locale;
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

    /** A CAPTION request whose image is {@link #imageBytes} of the media type: no picture, but the right magic. */
    public static EnrichmentRequest.Builder caption(String id, int imageBytes, String mediaType) {
        return summarize(id, null).setTask("CAPTION")
                .setImage(ImageData.newBuilder().setData(ByteBuffer.wrap(imageBytes(imageBytes, mediaType)))
                        .setMediaType(mediaType).build());
    }

    /**
     * {@code n} bytes that start with the magic of the media type's format (as much of it as fits; none for a type
     * without one), zeros after it.
     */
    public static byte[] imageBytes(int n, String mediaType) {
        byte[] magic = switch (mediaType.toLowerCase(Locale.ROOT)) {
            case "image/jpeg" -> new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF};
            case "image/png" -> new byte[] {(byte) 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
            case "image/gif" -> new byte[] {'G', 'I', 'F', '8', '9', 'a'};
            case "image/webp" -> new byte[] {'R', 'I', 'F', 'F', 0, 0, 0, 0, 'W', 'E', 'B', 'P'};
            case "image/bmp" -> new byte[] {'B', 'M'};
            default -> new byte[0];
        };
        byte[] bytes = new byte[n];
        System.arraycopy(magic, 0, bytes, 0, Math.min(n, magic.length));
        return bytes;
    }

    public static SourceRecord origin(byte[] value) {
        return new SourceRecord("requests", 3, 42L, 7L, null, value);
    }
}
