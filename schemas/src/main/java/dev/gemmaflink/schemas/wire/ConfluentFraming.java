package dev.gemmaflink.schemas.wire;

import java.nio.ByteBuffer;

/**
 * The framing of Confluent's Schema Registry serializers ({@code KafkaAvroSerializer}), as documented for its wire
 * format: a magic byte {@code 0x00}, the writer schema's registry id as a 4-byte big-endian int, then the Avro binary
 * body of the record (no other header, no length).
 *
 * <pre>
 * offset 0     1..4                 5..
 *        00    schema id (int32 BE) Avro binary body
 * </pre>
 */
public final class ConfluentFraming {

    /** First byte of every framed value. */
    public static final byte MAGIC = 0x00;
    /** Magic byte plus the schema id. */
    public static final int HEADER_LENGTH = 5;

    private ConfluentFraming() {
    }

    /** Whether a value starts with the magic byte (it may still be too short to hold a schema id). */
    public static boolean hasMagic(byte[] value) {
        return value != null && value.length > 0 && value[0] == MAGIC;
    }

    /** Whether a value holds at least a whole header. */
    public static boolean hasHeader(byte[] value) {
        return hasMagic(value) && value.length >= HEADER_LENGTH;
    }

    /** The schema id of a value with a whole header ({@link #hasHeader}). */
    public static int schemaId(byte[] value) {
        if (!hasHeader(value)) {
            throw new IllegalArgumentException("not a Confluent-framed value: needs 00 and a 4-byte schema id");
        }
        return ByteBuffer.wrap(value, 1, 4).getInt();
    }

    /** {@code 00}, {@code schemaId} big-endian, then {@code body}. */
    public static byte[] frame(int schemaId, byte[] body) {
        return ByteBuffer.allocate(HEADER_LENGTH + body.length).put(MAGIC).putInt(schemaId).put(body).array();
    }
}
