package dev.gemmaflink.schemas.wire;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

import org.apache.avro.AvroRuntimeException;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.io.JsonEncoder;
import org.apache.avro.message.BadHeaderException;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.message.MissingSchemaException;
import org.apache.avro.message.SchemaStore;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecordBase;

import dev.gemmaflink.schemas.DeadLetter;
import dev.gemmaflink.schemas.EnrichmentRequest;
import dev.gemmaflink.schemas.EnrichmentResult;
import dev.gemmaflink.schemas.ErrorCode;

/**
 * The wire format of one record type: Avro binary with the single-object encoding header
 * ({@code C3 01} + 8-byte CRC-64-AVRO fingerprint of the writer schema), or, on input only, the Avro JSON encoding.
 *
 * <p>Binary input written with any historical schema ({@link SchemaHistory}) is resolved to the current schema;
 * an unknown fingerprint is {@link ErrorCode#UNKNOWN_SCHEMA}. JSON carries no fingerprint, so it is tried against
 * the current schema first, then against each historical one, newest first.
 *
 * <p>Thread-safe; not serializable: build one per task in {@code open()}.
 *
 * @param <T> generated record class
 */
public final class WireCodec<T extends SpecificRecordBase> {

    private static final byte MAGIC_0 = (byte) 0xC3;
    private static final byte MAGIC_1 = (byte) 0x01;

    private final Schema current;
    private final SpecificData model;
    private final BinaryMessageEncoder<T> encoder;
    private final BinaryMessageDecoder<T> decoder;
    /** Writer schemas tried for JSON input: current first, then history newest first. */
    private final List<Schema> jsonWriterSchemas;

    private WireCodec(Class<T> type, Schema current, List<Schema> history) {
        this.current = Objects.requireNonNull(current, "current schema");
        this.model = SpecificData.getForClass(type);
        this.encoder = new BinaryMessageEncoder<>(model, current);
        SchemaStore.Cache store = new SchemaStore.Cache();
        history.forEach(store::addSchema);
        this.decoder = new BinaryMessageDecoder<>(model, current, store);
        List<Schema> json = new ArrayList<>();
        json.add(current);
        for (int i = history.size() - 1; i >= 0; i--) {
            json.add(history.get(i));
        }
        this.jsonWriterSchemas = List.copyOf(json);
    }

    /** Codec for {@link EnrichmentRequest}, the pipeline input. */
    public static WireCodec<EnrichmentRequest> requests() {
        return new WireCodec<>(EnrichmentRequest.class, EnrichmentRequest.getClassSchema(),
                SchemaHistory.schemasOf("EnrichmentRequest"));
    }

    /** Codec for {@link EnrichmentResult}, the pipeline output. */
    public static WireCodec<EnrichmentResult> results() {
        return new WireCodec<>(EnrichmentResult.class, EnrichmentResult.getClassSchema(),
                SchemaHistory.schemasOf("EnrichmentResult"));
    }

    /** Codec for {@link DeadLetter}, the pipeline's rejected records. */
    public static WireCodec<DeadLetter> deadLetters() {
        return new WireCodec<>(DeadLetter.class, DeadLetter.getClassSchema(),
                SchemaHistory.schemasOf("DeadLetter"));
    }

    /** The schema records are decoded into and encoded with. */
    public Schema currentSchema() {
        return current;
    }

    /** CRC-64-AVRO fingerprint of the current schema, as written after the {@code C3 01} header. */
    public long currentFingerprint() {
        return SchemaNormalization.parsingFingerprint64(current);
    }

    /** Encodes with the single-object header and the current schema. */
    public byte[] encode(T record) {
        try {
            ByteBuffer buffer = encoder.encode(record);
            byte[] bytes = new byte[buffer.remaining()];
            buffer.get(bytes);
            return bytes;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot encode " + current.getName(), e);
        }
    }

    /** Encodes as Avro JSON (UTF-8) with the current schema: for humans, fixtures and the JSON input path. */
    public byte[] encodeJson(T record) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            JsonEncoder json = EncoderFactory.get().jsonEncoder(current, out);
            new SpecificDatumWriter<T>(current, model).write(record, json);
            json.flush();
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot encode " + current.getName() + " as JSON", e);
        }
    }

    /**
     * Decodes single-object binary or Avro JSON.
     *
     * @throws WireFormatException with {@link ErrorCode#UNKNOWN_SCHEMA} for an unknown fingerprint, else
     *     {@link ErrorCode#DECODE_FAILED}; the message says what was wrong
     */
    public T decode(byte[] bytes) throws WireFormatException {
        if (bytes == null || bytes.length == 0) {
            throw new WireFormatException(ErrorCode.DECODE_FAILED, "empty record value (null or zero bytes)", null);
        }
        if (bytes.length >= 2 && bytes[0] == MAGIC_0 && bytes[1] == MAGIC_1) {
            return decodeBinary(bytes);
        }
        if (looksLikeJson(bytes)) {
            return decodeJson(bytes);
        }
        throw new WireFormatException(ErrorCode.DECODE_FAILED, String.format(
                "neither Avro single-object encoding (header C3 01) nor Avro JSON: %d bytes starting %s",
                bytes.length, hexPrefix(bytes)), null);
    }

    private T decodeBinary(byte[] bytes) throws WireFormatException {
        try {
            return decoder.decode(bytes);
        } catch (MissingSchemaException e) {
            throw new WireFormatException(ErrorCode.UNKNOWN_SCHEMA, String.format(
                    "unknown writer schema fingerprint %s for %s (known: current and %s)",
                    fingerprintHex(bytes), current.getName(), SchemaHistory.VERSIONS), e);
        } catch (BadHeaderException e) {
            throw new WireFormatException(ErrorCode.DECODE_FAILED, "bad single-object header: " + e.getMessage(), e);
        } catch (IOException | AvroRuntimeException | IllegalArgumentException | IndexOutOfBoundsException
                | NegativeArraySizeException | UnsupportedOperationException e) {
            // Avro reports truncated or corrupt payloads through several exception types.
            throw new WireFormatException(ErrorCode.DECODE_FAILED, String.format(
                    "corrupt Avro binary %s (%d bytes, fingerprint %s): %s", current.getName(), bytes.length,
                    bytes.length >= 10 ? fingerprintHex(bytes) : "truncated", e), e);
        }
    }

    private T decodeJson(byte[] bytes) throws WireFormatException {
        String text = new String(bytes, StandardCharsets.UTF_8);
        Exception first = null;
        for (Schema writer : jsonWriterSchemas) {
            try {
                SpecificDatumReader<T> reader = new SpecificDatumReader<>(writer, current, model);
                return reader.read(null, DecoderFactory.get().jsonDecoder(writer, text));
            } catch (IOException | RuntimeException e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        throw new WireFormatException(ErrorCode.DECODE_FAILED, String.format(
                "invalid Avro JSON for %s (tried the current and %d historical schemas): %s",
                current.getName(), jsonWriterSchemas.size() - 1, first), first);
    }

    private static boolean looksLikeJson(byte[] bytes) {
        for (byte b : bytes) {
            if (b == '{') {
                return true;
            }
            if (b != ' ' && b != '\t' && b != '\n' && b != '\r') {
                return false;
            }
        }
        return false;
    }

    private static String fingerprintHex(byte[] bytes) {
        if (bytes.length < 10) {
            return "(truncated)";
        }
        // The fingerprint is little-endian after the two magic bytes; print it as the long it encodes.
        long fp = 0;
        for (int i = 9; i >= 2; i--) {
            fp = (fp << 8) | (bytes[i] & 0xFF);
        }
        return String.format("%016x", fp);
    }

    private static String hexPrefix(byte[] bytes) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < Math.min(8, bytes.length); i++) {
            sb.append(String.format("%02x", bytes[i] & 0xFF));
        }
        return sb.toString();
    }
}
