package dev.gemmaflink.jobs.local;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
import dev.gemmaflink.operators.registry.RecordDecoder;
import dev.gemmaflink.operators.registry.RecordEncoder;
import dev.gemmaflink.operators.registry.RegistryConfig;
import dev.gemmaflink.operators.registry.SubjectNameStrategy;
import dev.gemmaflink.operators.registry.WireFormat;
import dev.gemmaflink.schemas.DeadLetter;
import dev.gemmaflink.schemas.EnrichmentResult;
import dev.gemmaflink.schemas.EnrichmentRequest;
import dev.gemmaflink.schemas.wire.WireCodec;
import dev.gemmaflink.schemas.wire.WireFormatException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code bin/events}: requests in, outcomes out, as JSON lines on the terminal and Avro records on the wire:
 * single-object by default, or the Confluent Schema Registry framing ({@code --format confluent --registry URL}: the
 * request schema registered under the topic's subject on produce, writer schemas fetched by id on consume), or Avro
 * JSON.
 *
 * <pre>
 * bin/events produce --topic enrichment-requests --file requests.jsonl   # one Avro-JSON EnrichmentRequest a line
 * bin/events consume --topic enrichment-results                           # read_committed, one JSON line a record
 * bin/events produce --topic enrichment-requests --file requests.jsonl --format confluent --registry http://localhost:8081
 * bin/events consume --topic enrichment-results --registry http://localhost:8081   # any format (auto)
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

        @Option(names = "--registry", paramLabel = "URL", description = "Schema Registry base URL (Confluent REST "
                + "API), for the confluent format.")
        String registry;

        @Option(names = "--registry-property", paramLabel = "KEY=VALUE", description = "A registry client setting, "
                + "as schema-registry.properties.* takes it (basic.auth.user.info, bearer.auth.token, ssl.*); "
                + "repeatable.")
        Map<String, String> registryProperties = new LinkedHashMap<>();

        /** The registry settings, or null without --registry. */
        RegistryConfig registryConfig(SubjectNameStrategy strategy) {
            if (registry == null) {
                return null;
            }
            return RegistryConfig.of(registry, registryProperties).withSubjects(strategy, true);
        }
    }

    /** A {@link WireFormat} by the name the job's options use ({@code single-object}, {@code confluent}, ...). */
    static WireFormat format(String name) {
        for (WireFormat f : WireFormat.values()) {
            if (f.toString().equalsIgnoreCase(name) || f.name().equalsIgnoreCase(name)) {
                return f;
            }
        }
        throw new IllegalArgumentException("unknown format '" + name + "' (auto, single-object, confluent, json)");
    }

    @Command(name = "produce", mixinStandardHelpOptions = true,
            description = "Publish each line of a file (an EnrichmentRequest in Avro JSON) as a binary record keyed "
                    + "by request id.")
    static final class Produce implements Callable<Integer> {
        @CommandLine.Mixin
        Common common;

        @Option(names = "--file", required = true, description = "JSON lines file; blank lines are skipped.")
        Path file;

        @Option(names = "--format", defaultValue = "single-object", description = "Wire format written: "
                + "single-object, confluent (needs --registry) or json (default: ${DEFAULT-VALUE}).")
        String format;

        @Option(names = "--subject-name-strategy", defaultValue = "TopicNameStrategy", description = "Subject the "
                + "request schema is registered under with --format confluent: TopicNameStrategy, "
                + "RecordNameStrategy or TopicRecordNameStrategy (default: ${DEFAULT-VALUE}).")
        String subjectNameStrategy;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            WireCodec<EnrichmentRequest> codec = WireCodec.requests();
            RecordEncoder<EnrichmentRequest> encoder = RecordEncoder.requests(format(format),
                    common.registryConfig(SubjectNameStrategy.parse(subjectNameStrategy)));
            encoder.open(common.topic);
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
                            request.getRequestId().getBytes(StandardCharsets.UTF_8), encoder.encode(request))).get();
                    sent++;
                }
            }
            spec.commandLine().getErr().printf("events: sent %d requests to %s (%s%s)%n", sent, common.topic,
                    encoder.format(), encoder.schemaId() >= 0 ? ", schema id " + encoder.schemaId() : "");
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

        @Option(names = "--format", defaultValue = "auto", description = "Wire format read: auto (by the first "
                + "bytes), single-object, confluent (needs --registry) or json (default: ${DEFAULT-VALUE}).")
        String format;

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
            Renderer renderer = new Renderer(format(format), common.registryConfig(SubjectNameStrategy.TOPIC_NAME));
            int seen = 0;
            long lastRecord = System.nanoTime();
            try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(),
                    new ByteArrayDeserializer())) {
                consumer.subscribe(List.of(common.topic));
                while (max == 0 || seen < max) {
                    for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                        out.println(renderer.render(r.value()));
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

    /** One record as a JSON line, single-object or Avro JSON (no registry). */
    static String render(byte[] value) {
        return new Renderer(WireFormat.AUTO, null).render(value);
    }

    /** Renders records of one format, through a registry when given one. */
    static final class Renderer {
        private final RecordDecoder<EnrichmentResult> results;
        private final RecordDecoder<DeadLetter> deadLetters;
        private final RecordDecoder<EnrichmentRequest> requests;

        Renderer(WireFormat format, RegistryConfig registry) {
            this.results = RecordDecoder.results(format, registry);
            this.deadLetters = RecordDecoder.deadLetters(format, registry);
            this.requests = RecordDecoder.requests(format, registry);
        }

        /** One record as a JSON line: a result or dead letter summary, a request in Avro JSON, or a note. */
        String render(byte[] value) {
            try {
                return JsonLines.of(results.decode(value));
            } catch (WireFormatException notAResult) {
                try {
                    return JsonLines.of(deadLetters.decode(value));
                } catch (WireFormatException notADeadLetter) {
                    try {
                        return new String(WireCodec.requests().encodeJson(requests.decode(value)),
                                StandardCharsets.UTF_8);
                    } catch (WireFormatException e) {
                        return "{\"type\":\"undecodable\",\"reason\":" + JsonLines.quote(e.getMessage()) + "}";
                    }
                }
            }
        }
    }
}
