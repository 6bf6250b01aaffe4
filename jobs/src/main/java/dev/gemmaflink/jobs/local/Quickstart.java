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
import dev.gemmaflink.schemas.DeadLetter;
import dev.gemmaflink.schemas.EnrichmentResult;
import dev.gemmaflink.schemas.wire.WireCodec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The whole pipeline on one machine with nothing installed: an embedded Kafka broker, sample requests (valid and
 * bad), the job run bounded on a local MiniCluster with the configured enricher (echo by default), then every
 * committed result and dead letter printed as a JSON line on stdout. Logs go to stderr.
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

    public static void main(String[] args) {
        System.exit(EnrichmentJob.commandLine(new Quickstart()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        try (EmbeddedKafkaCluster kafka = EmbeddedKafkaCluster.start()) {
            Map<String, String> settings = new LinkedHashMap<>();
            settings.put(EnrichmentOptions.CHECKPOINT_INTERVAL.key(), "1 s");
            settings.put("flink.restart-strategy.type", "none");
            settings.putAll(overrides);
            // The embedded broker decides these; a configuration file must not point elsewhere.
            settings.put(EnrichmentOptions.BOOTSTRAP_SERVERS.key(), kafka.bootstrapServers());
            settings.put(EnrichmentOptions.BOUNDED.key(), "true");
            settings.put(EnrichmentOptions.STARTING_OFFSETS.key(), "EARLIEST");
            Configuration conf = OptionsLoader.load(configFile, settings);

            List<String> requestTopics = conf.get(EnrichmentOptions.REQUEST_TOPICS);
            String results = conf.get(EnrichmentOptions.RESULT_TOPIC);
            String deadLetters = conf.get(EnrichmentOptions.DEAD_LETTER_TOPIC);
            kafka.createTopics(2, requestTopics.toArray(String[]::new));
            kafka.createTopics(1, results, deadLetters);
            int published = publish(kafka.bootstrapServers(), requestTopics.get(0));
            System.err.printf("quickstart: published %d sample requests to %s, running the job%n", published,
                    requestTopics.get(0));

            EnrichmentJob.run(conf);

            Duration timeout = Duration.ofSeconds(30);
            List<EnrichmentResult> resultList =
                    TopicReader.readCommitted(kafka.bootstrapServers(), results, WireCodec.results(), timeout);
            List<DeadLetter> deadLetterList = TopicReader.readCommitted(kafka.bootstrapServers(), deadLetters,
                    WireCodec.deadLetters(), timeout);
            resultList.forEach(r -> System.out.println(JsonLines.of(r)));
            deadLetterList.forEach(d -> System.out.println(JsonLines.of(d)));
            System.err.printf("quickstart: %d results, %d dead letters for %d requests%n", resultList.size(),
                    deadLetterList.size(), published);
            // Every request has exactly one outcome; anything else is a bug worth a non-zero exit.
            return resultList.size() + deadLetterList.size() == published ? 0 : 1;
        }
    }

    private static int publish(String bootstrapServers, String topic) throws Exception {
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        List<SampleRequests.Sample> samples = SampleRequests.all();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props, new ByteArraySerializer(),
                new ByteArraySerializer())) {
            for (SampleRequests.Sample sample : samples) {
                producer.send(new ProducerRecord<>(topic, sample.key().getBytes(StandardCharsets.UTF_8),
                        sample.value())).get();
            }
        }
        return samples.size();
    }
}
