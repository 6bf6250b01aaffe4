package dev.gemmaflink.operators.model;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * A Kafka record as read, before decoding: the origin every later stage needs to build a dead letter.
 *
 * <p>A record so that Flink serializes it as a POJO (not Kryo). The byte arrays are not copied; treat them as
 * read-only.
 *
 * @param topic source topic
 * @param partition source partition
 * @param offset offset in the partition
 * @param timestamp Kafka record timestamp (epoch ms)
 * @param key record key, may be null
 * @param value record value, null for a tombstone
 */
public record SourceRecord(String topic, int partition, long offset, long timestamp, byte[] key, byte[] value) {

    /** {@code topic/partition/offset}, for messages and dead-letter keys. */
    public String origin() {
        return topic + "/" + partition + "/" + offset;
    }

    /** The value as a buffer for Avro {@code bytes} fields, null for a tombstone. */
    public ByteBuffer valueBuffer() {
        return value == null ? null : ByteBuffer.wrap(value);
    }

    @Override
    public String toString() {
        return "SourceRecord[" + origin() + ", key=" + (key == null ? "null" : new String(key, StandardCharsets.UTF_8))
                + ", " + (value == null ? "null" : value.length + " bytes") + "]";
    }
}
