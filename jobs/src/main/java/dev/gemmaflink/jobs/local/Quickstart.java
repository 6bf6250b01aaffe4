package dev.gemmaflink.jobs.local;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;

import org.apache.flink.configuration.Configuration;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import dev.gemmaflink.jobs.EnrichmentJob;
import dev.gemmaflink.operators.config.EnrichmentOptions;
import dev.gemmaflink.operators.config.OptionsLoader;
import dev.gemmaflink.operators.registry.RecordDecoder;
import dev.gemmaflink.operators.registry.RecordEncoder;
import dev.gemmaflink.operators.registry.RegistryConfig;
import dev.gemmaflink.operators.registry.WireFormat;
import dev.gemmaflink.schemas.EnrichmentRequest;
import dev.gemmaflink.schemas.wire.WireCodec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The whole pipeline on one machine with nothing installed: an embedded Kafka broker, sample requests (valid and
 * bad), the job run bounded on a local MiniCluster with the gemma enricher (a tiny random multimodal checkpoint on
 * the CPU, so CAPTION samples get results too, unless {@code --model DIR}) or {@code --enricher echo}, every
 * committed result and dead letter printed as a JSON line on stdout as it commits. Logs go to stderr.
 */
@Command(name = "quickstart", mixinStandardHelpOptions = true,
        description = "Embedded Kafka + local Flink: publish samples, run the job bounded, print the outcome.")
public final class Quickstart implements Callable<Integer> {

    @Option(names = "--config", paramLabel = "FILE", description = "YAML configuration file (optional).")
    Path configFile;

    @Option(names = {"-D", "--set"}, paramLabel = "KEY=VALUE", mapFallbackValue = "",
            description = "Override one option; repeatable. Kafka address, bounded mode and start offsets are "
                    + "set by the quick start.")
    Map<String, String> overrides = new LinkedHashMap<>();

    @Option(names = "--enricher", paramLabel = "NAME", defaultValue = "gemma",
            description = "Enricher: gemma (default: a tiny random multimodal model on the CPU unless --model is "
                    + "given) or echo.")
    String enricher;

    @Option(names = "--format", paramLabel = "FORMAT", defaultValue = "single-object",
            description = "Wire format of the samples, results and dead letters: single-object (default) or "
                    + "confluent (Schema Registry framing: the samples written by a producer on the registered request "
                    + "schema, results and dead letters registered and framed by the job).")
    String format;

    @Option(names = "--registry", paramLabel = "URL", description = "Schema Registry for --format confluent. "
            + "Default: an in-memory stand-in started in this JVM (InMemorySchemaRegistry), serving the documented "
            + "endpoints of Confluent's REST API.")
    String registryUrl;

    @Option(names = "--model", paramLabel = "DIR", description = "A Gemma 3 checkpoint folder for the gemma enricher. "
            + "Default: ~/.cache/gemma-flink/quickstart-model, a tiny random multimodal checkpoint (text and images) "
            + "written there on first use.")
    Path model;

    public static void main(String[] args) {
        System.exit(EnrichmentJob.commandLine(new Quickstart()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        WireFormat wire = Events.format(format);
        if (wire != WireFormat.SINGLE_OBJECT && wire != WireFormat.CONFLUENT) {
            throw new IllegalArgumentException("--format is single-object or confluent, not " + format);
        }
        Path checkpoints = java.nio.file.Files.createTempDirectory("quickstart-checkpoints-");
        InMemorySchemaRegistry localRegistry = null;
        try (EmbeddedKafkaCluster kafka = EmbeddedKafkaCluster.start()) {
            String registry = registryUrl;
            if (wire == WireFormat.CONFLUENT && registry == null) {
                localRegistry = InMemorySchemaRegistry.start();
                registry = localRegistry.url();
                System.err.printf("quickstart: schema registry: an in-memory stand-in at %s (pass --registry URL for "
                        + "a real one)%n", registry);
            }
            Map<String, String> settings = new LinkedHashMap<>();
            settings.put(EnrichmentOptions.CHECKPOINT_INTERVAL.key(), "1 s");
            settings.put("flink.restart-strategy.type", "none");
            settings.put(EnrichmentOptions.ENRICHER.key(), enricher);
            if ("gemma".equals(enricher)) {
                gemmaDefaults(settings);
            }
            if (wire == WireFormat.CONFLUENT) {
                settings.put(EnrichmentOptions.SCHEMA_REGISTRY_URL.key(), registry);
                settings.put(EnrichmentOptions.RESULT_FORMAT.key(), "confluent");
                settings.put(EnrichmentOptions.DEAD_LETTER_FORMAT.key(), "confluent");
            }
            settings.putAll(overrides);
            // The embedded broker decides these; a configuration file must not point elsewhere.
            settings.put(EnrichmentOptions.BOOTSTRAP_SERVERS.key(), kafka.bootstrapServers());
            settings.put(EnrichmentOptions.BOUNDED.key(), "true");
            settings.put(EnrichmentOptions.STARTING_OFFSETS.key(), "EARLIEST");
            // The embedded broker is new on every run, so no earlier run's checkpoint is state of this one.
            settings.put(EnrichmentOptions.RESTORE.key(), "NONE");
            settings.put(EnrichmentOptions.CHECKPOINT_DIR.key(), checkpoints.toUri().toString());
            Configuration conf = OptionsLoader.load(configFile, settings);

            List<String> requestTopics = conf.get(EnrichmentOptions.REQUEST_TOPICS);
            String results = conf.get(EnrichmentOptions.RESULT_TOPIC);
            String deadLetters = conf.get(EnrichmentOptions.DEAD_LETTER_TOPIC);
            kafka.createTopics(2, requestTopics.toArray(String[]::new));
            kafka.createTopics(1, results, deadLetters);
            RegistryConfig registryConfig = RecordDecoder.registryOf(conf);
            int published = publish(kafka.bootstrapServers(), requestTopics.get(0),
                    wire == WireFormat.CONFLUENT ? registryConfig : null);
            System.err.printf("quickstart: published %d sample requests to %s, running the job%n", published,
                    requestTopics.get(0));

            // Outcomes are printed as their transactions commit, while the job runs.
            OutcomeTail tail = new OutcomeTail(kafka.bootstrapServers(), results, deadLetters, System.out,
                    registryConfig);
            EnrichmentJob.run(conf);
            tail.stop(published, Duration.ofSeconds(30));
            System.err.printf("quickstart: %d results, %d dead letters for %d requests%n", tail.results(),
                    tail.deadLetters(), published);
            // Every request has exactly one outcome; anything else is a bug worth a non-zero exit.
            return tail.results() + tail.deadLetters() == published ? 0 : 1;
        } finally {
            if (localRegistry != null) {
                localRegistry.close();
            }
            org.apache.flink.util.FileUtils.deleteDirectoryQuietly(checkpoints.toFile());
        }
    }

    /** Settings of the gemma enricher on this machine's CPU; options given by the user win. */
    private void gemmaDefaults(Map<String, String> settings) {
        Path dir = model != null ? model : QuickstartModel.prepare(QuickstartModel.defaultDir(), System.err);
        settings.put("enrich.gemma.model-dir", dir.toAbsolutePath().toString());
        settings.put("enrich.gemma.device-policy", "allow-cpu");
        settings.put("enrich.gemma.kv-cache-bytes", String.valueOf(256L << 20));
        settings.put("enrich.gemma.target-sequence-length", "1024");
        settings.put("enrich.gemma.max-new-tokens", "24");
        if (model == null) {
            // The tiny random model: float32 is exact and fast at this size; one thread avoids spinning threads.
            settings.put("enrich.gemma.precision", "FLOAT32");
            settings.put("enrich.gemma.threads", "1");
            settings.put("enrich.gemma.model-id", "tiny-random-gemma3");
        }
    }

    /**
     * Publishes the samples; with a registry, every sample in the single-object format is written instead as a
     * producer with Confluent's serializer would (request schema registered under the topic's subject, framed
     * body); the JSON and undecodable samples stay as they are ({@code format.requests} is auto).
     */
    private static int publish(String bootstrapServers, String topic, RegistryConfig registry) throws Exception {
        RecordEncoder<EnrichmentRequest> framing = null;
        if (registry != null) {
            framing = RecordEncoder.requests(WireFormat.CONFLUENT, registry);
            framing.open(topic);
        }
        WireCodec<EnrichmentRequest> codec = WireCodec.requests();
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        List<SampleRequests.Sample> samples = SampleRequests.all();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props, new ByteArraySerializer(),
                new ByteArraySerializer())) {
            for (SampleRequests.Sample sample : samples) {
                byte[] value = sample.value();
                if (framing != null && WireCodec.isSingleObject(value)) {
                    value = framing.encode(codec.decode(value));
                }
                producer.send(new ProducerRecord<>(topic, sample.key().getBytes(StandardCharsets.UTF_8), value))
                        .get();
            }
        }
        return samples.size();
    }
}
