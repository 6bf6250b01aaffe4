package dev.gemmaflink.operators.kafka;

import org.apache.avro.specific.SpecificRecordBase;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.KafkaSourceBuilder;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;

import dev.gemmaflink.operators.config.EnrichmentOptions;
import dev.gemmaflink.operators.model.SourceRecord;
import dev.gemmaflink.operators.registry.RecordDecoder;
import dev.gemmaflink.operators.registry.RecordEncoder;
import dev.gemmaflink.schemas.DeadLetter;
import dev.gemmaflink.schemas.EnrichmentResult;

/**
 * The job's Kafka source and its two exactly-once sinks, built from {@link EnrichmentOptions} and the client
 * settings passed through by {@link KafkaClientProperties}.
 */
public final class KafkaConnectors {

    /** Appended to {@code kafka.transactional-id-prefix} for the result sink. */
    public static final String RESULTS_SUFFIX = "-results";
    /** Appended to {@code kafka.transactional-id-prefix} for the dead-letter sink. */
    public static final String DEAD_LETTERS_SUFFIX = "-dead-letters";

    private KafkaConnectors() {
    }

    /** Reads every request topic, keeping each record's origin; bounded when {@code kafka.bounded} is set. */
    @SuppressWarnings("deprecation") // OffsetResetStrategy is what the connector's API takes
    public static KafkaSource<SourceRecord> requestSource(Configuration conf) {
        OffsetsInitializer start = switch (conf.get(EnrichmentOptions.STARTING_OFFSETS)) {
            case COMMITTED -> OffsetsInitializer.committedOffsets(OffsetResetStrategy.EARLIEST);
            case EARLIEST -> OffsetsInitializer.earliest();
            case LATEST -> OffsetsInitializer.latest();
        };
        KafkaSourceBuilder<SourceRecord> builder = KafkaSource.<SourceRecord>builder()
                // Pass-through client settings first: the job's own settings below are applied over them.
                .setProperties(KafkaClientProperties.consumer(conf))
                .setBootstrapServers(conf.get(EnrichmentOptions.BOOTSTRAP_SERVERS))
                .setTopics(conf.get(EnrichmentOptions.REQUEST_TOPICS))
                .setGroupId(conf.get(EnrichmentOptions.GROUP_ID))
                .setStartingOffsets(start)
                .setDeserializer(new SourceRecordDeserializer())
                // Producers of requests may be transactional themselves: never read their aborted writes.
                .setProperty("isolation.level", "read_committed")
                .setProperty("commit.offsets.on.checkpoint", "true");
        if (conf.get(EnrichmentOptions.BOUNDED)) {
            builder.setBounded(OffsetsInitializer.latest());
        }
        return builder.build();
    }

    /** Exactly-once sink of results, keyed by request id. */
    public static KafkaSink<EnrichmentResult> resultSink(Configuration conf) {
        return exactlyOnce(conf, AvroRecordSerializer.results(conf.get(EnrichmentOptions.RESULT_TOPIC),
                RecordEncoder.results(conf.get(EnrichmentOptions.RESULT_FORMAT), RecordDecoder.registryOf(conf)),
                recordSizeLimit(conf)), RESULTS_SUFFIX);
    }

    /** Exactly-once sink of dead letters, each cut to fit ({@code dead-letter.max-original-bytes}). */
    public static KafkaSink<DeadLetter> deadLetterSink(Configuration conf) {
        return exactlyOnce(conf, AvroRecordSerializer.deadLetters(conf.get(EnrichmentOptions.DEAD_LETTER_TOPIC),
                RecordEncoder.deadLetters(conf.get(EnrichmentOptions.DEAD_LETTER_FORMAT),
                        RecordDecoder.registryOf(conf)),
                conf.get(EnrichmentOptions.DEAD_LETTER_MAX_ORIGINAL_BYTES), recordSizeLimit(conf)),
                DEAD_LETTERS_SUFFIX);
    }

    private static AvroRecordSerializer.RecordSizeLimit recordSizeLimit(Configuration conf) {
        return new AvroRecordSerializer.RecordSizeLimit(KafkaClientProperties.maxRequestSize(conf),
                conf.get(EnrichmentOptions.DROP_OVERSIZED_RECORDS));
    }

    private static <T extends SpecificRecordBase> KafkaSink<T> exactlyOnce(Configuration conf,
            AvroRecordSerializer<T> serializer, String suffix) {
        return KafkaSink.<T>builder()
                // Pass-through client settings first: the job's own settings below are applied over them.
                .setKafkaProducerConfig(KafkaClientProperties.producer(conf))
                .setBootstrapServers(conf.get(EnrichmentOptions.BOOTSTRAP_SERVERS))
                .setRecordSerializer(serializer)
                .setDeliveryGuarantee(DeliveryGuarantee.EXACTLY_ONCE)
                .setTransactionalIdPrefix(conf.get(EnrichmentOptions.TRANSACTIONAL_ID_PREFIX) + suffix)
                // The client default (1 h) exceeds the broker's transaction.max.timeout.ms (15 min): the sink
                // would fail to start and the job restart forever.
                .setProperty("transaction.timeout.ms",
                        String.valueOf(conf.get(EnrichmentOptions.TRANSACTION_TIMEOUT).toMillis()))
                .build();
    }
}
