package dev.gemmaflink.operators.kafka;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

import org.apache.avro.specific.SpecificRecordBase;
import org.apache.flink.api.common.serialization.SerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.metrics.Counter;
import org.apache.flink.runtime.execution.SuppressRestartsException;
import org.apache.flink.util.function.SerializableFunction;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.gemmaflink.operators.model.DeadLetters;
import dev.gemmaflink.operators.registry.RecordEncoder;
import dev.gemmaflink.schemas.DeadLetter;
import dev.gemmaflink.schemas.EnrichmentResult;

/**
 * Writes generated records in their wire format ({@link RecordEncoder}: single-object Avro binary by default, the
 * Confluent Schema Registry framing or Avro JSON) to one topic, with a string key, never larger than the producer's
 * {@code max.request.size}. In the Confluent framing the schema is registered (or looked up) when the serializer
 * opens, once per TaskManager, not per record.
 *
 * <p>A record the producer would refuse fails its send asynchronously, the sink fails the task, and a restart
 * meets the same record again: a job stalled for good. So the size is checked here, before the send: dead letters
 * are first cut to fit ({@link DeadLetters#fit}), and a record still too large is dropped (logged and counted in
 * {@value #DROPPED_METRIC}) under {@code kafka.drop-oversized-records}, else fails the job with
 * {@link SuppressRestartsException}, which Flink does not restart.
 *
 * @param <T> record type
 */
public final class AvroRecordSerializer<T extends SpecificRecordBase> implements KafkaRecordSerializationSchema<T> {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(AvroRecordSerializer.class);

    /** Counter of records dropped for their size, in the sink writer's metric group. */
    public static final String DROPPED_METRIC = "oversizedRecordsDropped";

    /**
     * Bytes Kafka adds to a record's key and value in a request (record batch header and record framing); a
     * generous bound, so that a record that passes here also passes the producer's own check.
     */
    static final int RECORD_OVERHEAD_BYTES = 512;

    private final String topic;
    private final RecordEncoder<T> encoder;
    private final SerializableFunction<T, String> keyOf;
    private final SerializableFunction<T, T> fit;
    private final RecordSizeLimit limit;
    private transient boolean opened;
    private transient Counter dropped;

    private AvroRecordSerializer(String topic, RecordEncoder<T> encoder,
            SerializableFunction<T, String> keyOf, SerializableFunction<T, T> fit, RecordSizeLimit limit) {
        this.topic = Objects.requireNonNull(topic, "topic");
        this.encoder = Objects.requireNonNull(encoder, "encoder");
        this.keyOf = keyOf;
        this.fit = fit;
        this.limit = Objects.requireNonNull(limit, "limit");
    }

    /** Results, keyed by request id (so a compacted topic keeps the last result per request). */
    public static AvroRecordSerializer<EnrichmentResult> results(String topic, RecordSizeLimit limit) {
        return results(topic, RecordEncoder.results(), limit);
    }

    /** Results in the encoder's format, keyed by request id. */
    public static AvroRecordSerializer<EnrichmentResult> results(String topic, RecordEncoder<EnrichmentResult> encoder,
            RecordSizeLimit limit) {
        return new AvroRecordSerializer<>(topic, encoder, EnrichmentResult::getRequestId, r -> r, limit);
    }

    /**
     * Dead letters, keyed by request id when known, else by {@code topic/partition/offset} of the origin; original
     * values longer than {@code maxOriginalBytes} are cut ({@link DeadLetters#fit}).
     */
    public static AvroRecordSerializer<DeadLetter> deadLetters(String topic, int maxOriginalBytes,
            RecordSizeLimit limit) {
        return deadLetters(topic, RecordEncoder.deadLetters(), maxOriginalBytes, limit);
    }

    /** Dead letters in the encoder's format, as {@link #deadLetters(String, int, RecordSizeLimit)}. */
    public static AvroRecordSerializer<DeadLetter> deadLetters(String topic, RecordEncoder<DeadLetter> encoder,
            int maxOriginalBytes, RecordSizeLimit limit) {
        return new AvroRecordSerializer<>(topic, encoder, AvroRecordSerializer::deadLetterKey,
                d -> DeadLetters.fit(d, maxOriginalBytes), limit);
    }

    static String deadLetterKey(DeadLetter d) {
        return d.getRequestId() != null ? d.getRequestId()
                : d.getSourceTopic() + "/" + d.getSourcePartition() + "/" + d.getSourceOffset();
    }

    @Override
    public void open(SerializationSchema.InitializationContext context, KafkaSinkContext sinkContext) {
        encoder.open(topic);
        opened = true;
        dropped = context.getMetricGroup().counter(DROPPED_METRIC);
    }

    /** Returns the record to send, or null (the sink skips it) for a record dropped for its size. */
    @Override
    public ProducerRecord<byte[], byte[]> serialize(T element, KafkaSinkContext context, Long timestamp) {
        if (!opened) {
            encoder.open(topic);
            opened = true;
        }
        T record = fit.apply(element);
        String key = keyOf.apply(record);
        byte[] keyBytes = key.getBytes(StandardCharsets.UTF_8);
        byte[] value = encoder.encode(record);
        long size = (long) keyBytes.length + value.length + RECORD_OVERHEAD_BYTES;
        if (size > limit.maxRequestSize()) {
            String what = String.format("%s %s of %d bytes for topic %s exceeds the producers' max.request.size "
                    + "(%d)", record.getSchema().getName(), key, size, topic, limit.maxRequestSize());
            if (!limit.dropOversized()) {
                throw new SuppressRestartsException(new IllegalStateException(what + ": the job stops rather than "
                        + "restart into the same record; set kafka.drop-oversized-records to drop such records, or "
                        + "raise kafka.producer.max.request.size"));
            }
            LOG.error("dropped: {} (kafka.drop-oversized-records is set)", what);
            if (dropped != null) {
                dropped.inc();
            }
            return null;
        }
        return new ProducerRecord<>(topic, null, timestamp, keyBytes, value);
    }

    /**
     * The largest record the producers send and what to do with a larger one.
     *
     * @param maxRequestSize the producers' {@code max.request.size}
     * @param dropOversized drop (log, count) a larger record instead of failing the job
     */
    public record RecordSizeLimit(int maxRequestSize, boolean dropOversized) implements java.io.Serializable {
    }
}
