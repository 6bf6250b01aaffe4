package dev.gemmaflink.jobs.local;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Callable;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import dev.gemmaflink.jobs.EnrichmentJob;
import dev.gemmaflink.schemas.EnrichmentRequest;
import dev.gemmaflink.schemas.wire.WireCodec;
import dev.gemmaflink.schemas.wire.WireFormatException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code bin/events}: requests in, outcomes out, as JSON lines on the terminal and Avro single-object records on
 * the wire ({@link WireCodec}).
 *
 * <pre>
 * bin/events produce --topic enrichment-requests --file requests.jsonl   # one Avro-JSON EnrichmentRequest a line
 * bin/events consume --topic enrichment-results                           # read_committed, one JSON line a record
 * </pre>
 */
@Command(name = "events", mixinStandardHelpOptions = true, subcommands = {Events.Produce.class, Events.Consume.class},
        description = "Produce requests from JSON lines; consume any topic of the pipeline as JSON lines.")
public final class Events implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The command line, with configuration mistakes reported as messages (exit 2). */
    public static CommandLine commandLine() {
        return EnrichmentJob.commandLine(new Events());
    }

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return 2;
    }

    /** Options both subcommands take. */
    static class Common {
        @Option(names = "--bootstrap-servers", defaultValue = "localhost:9092",
                description = "Kafka bootstrap servers (default: ${DEFAULT-VALUE}).")
        String bootstrapServers;

        @Option(names = "--topic", required = true, description = "The topic.")
        String topic;
    }

    @Command(name = "produce", mixinStandardHelpOptions = true,
            description = "Publish each line of a file (an EnrichmentRequest in Avro JSON) as a binary record keyed "
                    + "by request id.")
    static final class Produce implements Callable<Integer> {
        @CommandLine.Mixin
        Common common;

        @Option(names = "--file", required = true, description = "JSON lines file; blank lines are skipped.")
        Path file;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            WireCodec<EnrichmentRequest> codec = WireCodec.requests();
            List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            Properties props = new Properties();
            props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, common.bootstrapServers);
            props.put(ProducerConfig.ACKS_CONFIG, "all");
            int sent = 0;
            try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props, new ByteArraySerializer(),
                    new ByteArraySerializer())) {
                for (int i = 0; i < lines.size(); i++) {
                    String line = lines.get(i).strip();
                    if (line.isEmpty()) {
                        continue;
                    }
                    EnrichmentRequest request;
                    try {
                        request = codec.decode(line.getBytes(StandardCharsets.UTF_8));
                    } catch (WireFormatException e) {
                        throw new IllegalArgumentException(file + " line " + (i + 1)
                                + " is not an EnrichmentRequest in Avro JSON: " + e.getMessage(), e);
                    }
                    producer.send(new ProducerRecord<>(common.topic,
                            request.getRequestId().getBytes(StandardCharsets.UTF_8), codec.encode(request))).get();
                    sent++;
                }
            }
            spec.commandLine().getErr().printf("events: sent %d requests to %s%n", sent, common.topic);
            spec.commandLine().getErr().flush();
            return 0;
        }
    }

    @Command(name = "consume", mixinStandardHelpOptions = true,
            description = "Print the committed records of a topic (requests, results or dead letters) as JSON lines.")
    static final class Consume implements Callable<Integer> {
        @CommandLine.Mixin
        Common common;

        @Option(names = "--max", defaultValue = "0", description = "Stop after this many records (0: no limit).")
        int max;

        @Option(names = "--idle-timeout", defaultValue = "0",
                description = "Stop after this many seconds without a record (0: follow forever).")
        int idleTimeoutSeconds;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            Properties props = new Properties();
            props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, common.bootstrapServers);
            props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
            props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            props.put(ConsumerConfig.GROUP_ID_CONFIG, "events-consume-" + System.nanoTime());
            int seen = 0;
            long lastRecord = System.nanoTime();
            try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(),
                    new ByteArrayDeserializer())) {
                consumer.subscribe(List.of(common.topic));
                while (max == 0 || seen < max) {
                    for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                        out.println(render(r.value()));
                        seen++;
                        lastRecord = System.nanoTime();
                        if (max > 0 && seen >= max) {
                            break;
                        }
                    }
                    out.flush();
                    if (idleTimeoutSeconds > 0
                            && System.nanoTime() - lastRecord > Duration.ofSeconds(idleTimeoutSeconds).toNanos()) {
                        break;
                    }
                }
            }
            out.flush();
            return 0;
        }
    }

    /** One record as a JSON line: a result or dead letter summary, a request in Avro JSON, or a note. */
    static String render(byte[] value) {
        try {
            return JsonLines.of(WireCodec.results().decode(value));
        } catch (WireFormatException notAResult) {
            try {
                return JsonLines.of(WireCodec.deadLetters().decode(value));
            } catch (WireFormatException notADeadLetter) {
                try {
                    WireCodec<EnrichmentRequest> requests = WireCodec.requests();
                    return new String(requests.encodeJson(requests.decode(value)), StandardCharsets.UTF_8);
                } catch (WireFormatException e) {
                    return "{\"type\":\"undecodable\",\"reason\":" + JsonLines.quote(e.getMessage()) + "}";
                }
            }
        }
    }
}
