package dev.gemmaflink.e2e.support;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.Map;

import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;

import dev.gemmaflink.schemas.EnrichmentRequest;
import dev.gemmaflink.schemas.GenerationParameters;
import dev.gemmaflink.schemas.ImageData;
import dev.gemmaflink.schemas.wire.SchemaHistory;
import dev.gemmaflink.schemas.wire.WireCodec;

/** Builders of request records, valid and broken in each way the pipeline must catch. */
public final class Requests {

    public static final WireCodec<EnrichmentRequest> CODEC = WireCodec.requests();

    private Requests() {
    }

    public static EnrichmentRequest.Builder request(String id, String task) {
        return EnrichmentRequest.newBuilder().setRequestId(id).setTenant("tenant-" + (id.hashCode() & 3))
                .setKey(null).setTask(task).setText(null).setImage(null).setTargetLanguage(null).setGeneration(null)
                .setEventTime(Instant.ofEpochMilli(1_700_000_000_000L)).setAttributes(Map.of("test", "e2e"));
    }

    public static EnrichmentRequest summarize(String id, String text) {
        return request(id, "SUMMARIZE").setText(text).build();
    }

    /**
     * An image of {@code bytes} bytes that starts with the signature of its media type (PNG, JPEG, GIF; others get
     * none) and is filler after it: it passes validation's format check, and only a decoder finds it unreadable.
     */
    public static ImageData image(int bytes, String mediaType) {
        byte[] data = new byte[bytes];
        Arrays.fill(data, (byte) 7);
        byte[] signature = switch (mediaType) {
            case "image/png" -> new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
            case "image/jpeg" -> new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF};
            case "image/gif" -> "GIF89a".getBytes(StandardCharsets.US_ASCII);
            default -> new byte[0];
        };
        System.arraycopy(signature, 0, data, 0, Math.min(signature.length, bytes));
        return ImageData.newBuilder().setData(ByteBuffer.wrap(data)).setMediaType(mediaType).build();
    }

    /** An image of exactly these bytes, declared as {@code mediaType}. */
    public static ImageData imageBytes(ByteBuffer data, String mediaType) {
        return ImageData.newBuilder().setData(data).setMediaType(mediaType).build();
    }

    public static GenerationParameters maxNewTokens(int n) {
        return GenerationParameters.newBuilder().setMaxNewTokens(n).build();
    }

    public static byte[] binary(EnrichmentRequest request) {
        return CODEC.encode(request);
    }

    public static byte[] json(EnrichmentRequest request) {
        return CODEC.encodeJson(request);
    }

    public static byte[] garbage() {
        return "definitely not a request".getBytes(StandardCharsets.UTF_8);
    }

    public static byte[] truncated(EnrichmentRequest request) {
        byte[] bytes = binary(request);
        return Arrays.copyOf(bytes, 14);
    }

    public static byte[] unknownFingerprint(EnrichmentRequest request) {
        byte[] bytes = binary(request);
        bytes[4] ^= 0x11;
        return bytes;
    }

    /** A SUMMARIZE request as a producer still on schema version 1 writes it (single-object encoding). */
    public static byte[] v1Summarize(String id, String text) {
        GenericRecord record = v1SummarizeRecord(id, text);
        Schema v1 = record.getSchema();
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            out.write(new byte[] {(byte) 0xC3, 0x01});
            out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN)
                    .putLong(SchemaNormalization.parsingFingerprint64(v1)).array());
            BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
            new GenericDatumWriter<GenericRecord>(v1).write(record, encoder);
            encoder.flush();
            return out.toByteArray();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A SUMMARIZE request as a generic record of schema version 1 (tenant {@code legacy}). */
    public static GenericRecord v1SummarizeRecord(String id, String text) {
        GenericRecord record = new GenericData.Record(SchemaHistory.schemasOf("EnrichmentRequest").get(0));
        record.put("requestId", id);
        record.put("tenant", "legacy");
        record.put("key", null);
        record.put("task", "SUMMARIZE");
        record.put("text", text);
        record.put("image", null);
        record.put("targetLanguage", null);
        record.put("generation", null);
        record.put("eventTime", 1_600_000_000_000L);
        record.put("attributes", Map.of());
        return record;
    }
}
