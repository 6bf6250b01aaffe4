package dev.gemmaflink.jobs.local;

import java.io.PrintStream;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import dev.gemmaflink.operators.registry.RecordDecoder;
import dev.gemmaflink.operators.registry.RegistryConfig;
import dev.gemmaflink.operators.registry.WireFormat;
import dev.gemmaflink.schemas.wire.WireFormatException;

/**
 * Follows the result and dead-letter topics with {@code read_committed} on a thread of its own and prints each
 * record as one JSON line as soon as its transaction commits (a checkpoint completes). {@link #stop} waits until
 * it has printed the expected number of records or the grace period ends.
 */
public final class OutcomeTail implements AutoCloseable {

    private final String resultTopic;
    private final String deadLetterTopic;
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final PrintStream out;
    private final AtomicInteger results = new AtomicInteger();
    private final AtomicInteger deadLetters = new AtomicInteger();
    private final AtomicBoolean stopping = new AtomicBoolean();
    private final Thread thread;
    private volatile int expected = Integer.MAX_VALUE;
    private volatile long stopDeadline = Long.MAX_VALUE;

    private final RecordDecoder<dev.gemmaflink.schemas.EnrichmentResult> resultCodec;
    private final RecordDecoder<dev.gemmaflink.schemas.DeadLetter> deadLetterCodec;

    /** Starts following both topics from their beginning (single-object or JSON records). */
    public OutcomeTail(String bootstrapServers, String resultTopic, String deadLetterTopic, PrintStream out) {
        this(bootstrapServers, resultTopic, deadLetterTopic, out, null);
    }

    /**
     * Starts following both topics from their beginning; with a registry, Confluent-framed records are read through
     * it too.
     */
    public OutcomeTail(String bootstrapServers, String resultTopic, String deadLetterTopic, PrintStream out,
            RegistryConfig registry) {
        this.resultCodec = RecordDecoder.results(WireFormat.AUTO, registry);
        this.deadLetterCodec = RecordDecoder.deadLetters(WireFormat.AUTO, registry);
        this.resultTopic = resultTopic;
        this.deadLetterTopic = deadLetterTopic;
        this.out = out;
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "quickstart-tail-" + System.nanoTime());
        this.consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        consumer.subscribe(List.of(resultTopic, deadLetterTopic));
        this.thread = new Thread(this::run, "outcome-tail");
        thread.setDaemon(true);
        thread.start();
    }

    private void run() {
        try {
            while (!(stopping.get() && (printed() >= expected || System.nanoTime() > stopDeadline))) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    try {
                        if (r.topic().equals(resultTopic)) {
                            out.println(JsonLines.of(resultCodec.decode(r.value())));
                            results.incrementAndGet();
                        } else if (r.topic().equals(deadLetterTopic)) {
                            out.println(JsonLines.of(deadLetterCodec.decode(r.value())));
                            deadLetters.incrementAndGet();
                        }
                    } catch (WireFormatException e) {
                        // The job writes only the wire format: say so rather than stop following.
                        System.err.println("quickstart: " + r.topic() + "/" + r.partition() + "/" + r.offset()
                                + " is not in the wire format: " + e.getMessage());
                    }
                }
                out.flush();
            }
        } finally {
            consumer.close();
        }
    }

    private int printed() {
        return results.get() + deadLetters.get();
    }

    /** Results printed so far. */
    public int results() {
        return results.get();
    }

    /** Dead letters printed so far. */
    public int deadLetters() {
        return deadLetters.get();
    }

    /**
     * Lets the tail finish once {@code expectedRecords} have been printed, or after {@code grace}; returns then.
     */
    public void stop(int expectedRecords, Duration grace) throws InterruptedException {
        expected = expectedRecords;
        stopDeadline = System.nanoTime() + grace.toNanos();
        stopping.set(true);
        thread.join(grace.toMillis() + 5_000);
    }

    @Override
    public void close() throws InterruptedException {
        stop(0, Duration.ZERO);
    }
}
