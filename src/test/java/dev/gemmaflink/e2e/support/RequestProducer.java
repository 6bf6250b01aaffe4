package dev.gemmaflink.e2e.support;

import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Future;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/** Publishes test records and remembers where each one landed (its origin in a later dead letter). */
public final class RequestProducer {

    /**
     * A record as written.
     *
     * @param topic topic it was written to
     * @param partition partition it landed in
     * @param offset its offset
     * @param value the bytes written (null for a tombstone)
     * @param expectation what the pipeline must make of it
     */
    public record Sent(String topic, int partition, long offset, byte[] value, Expectation expectation) {
        public String origin() {
            return topic + "/" + partition + "/" + offset;
        }
    }

    private RequestProducer() {
    }

    /** Sends every expectation's value, round robin over the topics, and waits for all acknowledgements. */
    public static List<Sent> send(String bootstrapServers, List<String> topics, List<Expectation> expectations)
            throws Exception {
        return sendPaced(bootstrapServers, topics, expectations, 0);
    }

    /**
     * As {@link #send}, at about {@code perSecond} records a second (0: as fast as the producer goes), so that a
     * running job sees a stream rather than a backlog. The producer is idempotent and retries, so a broker restart
     * in between loses and duplicates nothing.
     */
    public static List<Sent> sendPaced(String bootstrapServers, List<String> topics, List<Expectation> expectations,
            int perSecond) throws Exception {
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        // Poison-record tests send values of several MiB, to topics that accept them.
        props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, String.valueOf(32 << 20));
        List<Future<RecordMetadata>> futures = new ArrayList<>();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props, new ByteArraySerializer(),
                new ByteArraySerializer())) {
            long started = System.nanoTime();
            for (int i = 0; i < expectations.size(); i++) {
                futures.add(producer.send(new ProducerRecord<>(topics.get(i % topics.size()), null,
                        expectations.get(i).value())));
                if (perSecond > 0 && i % 10 == 9) {
                    long due = started + (i + 1) * 1_000_000_000L / perSecond;
                    long wait = due - System.nanoTime();
                    if (wait > 0) {
                        Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                    }
                }
            }
            producer.flush();
        }
        List<Sent> sent = new ArrayList<>();
        for (int i = 0; i < futures.size(); i++) {
            RecordMetadata m = futures.get(i).get();
            sent.add(new Sent(m.topic(), m.partition(), m.offset(), expectations.get(i).value(), expectations.get(i)));
        }
        return sent;
    }
}
