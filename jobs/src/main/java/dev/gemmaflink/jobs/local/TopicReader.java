package dev.gemmaflink.jobs.local;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.avro.specific.SpecificRecordBase;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import dev.gemmaflink.schemas.wire.WireCodec;
import dev.gemmaflink.schemas.wire.WireFormatException;

/**
 * Reads a whole topic as a {@code read_committed} consumer would see it: every committed record up to the last
 * stable offset of each partition at the time of the call, no more. Uses no consumer group.
 */
public final class TopicReader {

    private TopicReader() {
    }

    /**
     * Decodes every committed record of a topic.
     *
     * @throws IllegalStateException when a record cannot be decoded (the pipeline only writes the wire format)
     */
    public static <T extends SpecificRecordBase> List<T> readCommitted(String bootstrapServers, String topic,
            WireCodec<T> codec, Duration timeout) {
        List<T> out = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> record : readCommittedRaw(bootstrapServers, topic, timeout)) {
            try {
                out.add(codec.decode(record.value()));
            } catch (WireFormatException e) {
                throw new IllegalStateException("record " + topic + "/" + record.partition() + "/" + record.offset()
                        + " is not in the wire format: " + e.getMessage(), e);
            }
        }
        return out;
    }

    /** Every committed record of a topic, raw, in partition then offset order. */
    public static List<ConsumerRecord<byte[], byte[]>> readCommittedRaw(String bootstrapServers, String topic,
            Duration timeout) {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic, timeout).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            // Under read_committed the end offsets are the last stable offsets: what is committed now.
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions, timeout);
            List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
            long deadline = System.nanoTime() + timeout.toNanos();
            while (!reached(consumer, end)) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("timed out after " + timeout + " reading " + topic + " up to "
                            + end + ", read " + out.size() + " records");
                }
                consumer.poll(Duration.ofMillis(200)).forEach(out::add);
            }
            out.sort((a, b) -> a.partition() != b.partition() ? Integer.compare(a.partition(), b.partition())
                    : Long.compare(a.offset(), b.offset()));
            return out;
        }
    }

    private static boolean reached(KafkaConsumer<byte[], byte[]> consumer, Map<TopicPartition, Long> end) {
        for (Map.Entry<TopicPartition, Long> e : end.entrySet()) {
            if (consumer.position(e.getKey()) < e.getValue()) {
                return false;
            }
        }
        return true;
    }
}
