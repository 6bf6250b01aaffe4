package dev.gemmaflink.operators.kafka;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

import org.apache.avro.specific.SpecificRecordBase;
import org.apache.flink.api.common.serialization.SerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.util.function.SerializableFunction;
import org.apache.flink.util.function.SerializableSupplier;
import org.apache.kafka.clients.producer.ProducerRecord;

import dev.gemmaflink.schemas.DeadLetter;
import dev.gemmaflink.schemas.EnrichmentResult;
import dev.gemmaflink.schemas.wire.WireCodec;

/**
 * Writes generated records in the wire format (single-object Avro binary) to one topic, with a string key.
 *
 * @param <T> record type
 */
public final class AvroRecordSerializer<T extends SpecificRecordBase> implements KafkaRecordSerializationSchema<T> {
    private static final long serialVersionUID = 1L;

    private final String topic;
    private final SerializableSupplier<WireCodec<T>> codecFactory;
    private final SerializableFunction<T, String> keyOf;
    private transient WireCodec<T> codec;

    private AvroRecordSerializer(String topic, SerializableSupplier<WireCodec<T>> codecFactory,
            SerializableFunction<T, String> keyOf) {
        this.topic = Objects.requireNonNull(topic, "topic");
        this.codecFactory = codecFactory;
        this.keyOf = keyOf;
    }

    /** Results, keyed by request id (so a compacted topic keeps the last result per request). */
    public static AvroRecordSerializer<EnrichmentResult> results(String topic) {
        return new AvroRecordSerializer<>(topic, WireCodec::results, EnrichmentResult::getRequestId);
    }

    /** Dead letters, keyed by request id when known, else by {@code topic/partition/offset} of the origin. */
    public static AvroRecordSerializer<DeadLetter> deadLetters(String topic) {
        return new AvroRecordSerializer<>(topic, WireCodec::deadLetters, AvroRecordSerializer::deadLetterKey);
    }

    static String deadLetterKey(DeadLetter d) {
        return d.getRequestId() != null ? d.getRequestId()
                : d.getSourceTopic() + "/" + d.getSourcePartition() + "/" + d.getSourceOffset();
    }

    @Override
    public void open(SerializationSchema.InitializationContext context, KafkaSinkContext sinkContext) {
        codec = codecFactory.get();
    }

    @Override
    public ProducerRecord<byte[], byte[]> serialize(T element, KafkaSinkContext context, Long timestamp) {
        if (codec == null) {
            codec = codecFactory.get();
        }
        return new ProducerRecord<>(topic, null, timestamp, keyOf.apply(element).getBytes(StandardCharsets.UTF_8),
                codec.encode(element));
    }
}
