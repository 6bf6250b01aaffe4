package dev.gemmaflink.e2e.support;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.UUID;
import java.util.function.Supplier;

import org.apache.avro.specific.SpecificRecordBase;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import dev.gemmaflink.jobs.local.EmbeddedKafkaCluster;
import dev.gemmaflink.jobs.local.TopicReader;
import dev.gemmaflink.operators.config.EnrichmentOptions;
import dev.gemmaflink.schemas.wire.WireCodec;

/**
 * A real Kafka broker plus a Flink MiniCluster for a test class. Register it as a {@code static} field:
 *
 * <pre>{@code
 * @RegisterExtension
 * static final KafkaFlinkExtension CLUSTER = KafkaFlinkExtension.embeddedKafka();
 * }</pre>
 *
 * <p>The broker is either {@link EmbeddedKafkaCluster} (in this JVM, no Docker) or any broker reachable at a
 * bootstrap address (a Testcontainers one). Jobs submitted through {@code StreamExecutionEnvironment
 * .getExecutionEnvironment} during a test run on the MiniCluster. Each test gets fresh topics, group id and
 * transactional id prefix from {@link #newScenario}, so tests never see each other's records or transactions.
 */
public final class KafkaFlinkExtension implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback,
        AfterEachCallback {

    /** Slots of the MiniCluster: parallelism 2 with slot sharing needs 2; spare ones cost nothing. */
    private static final int SLOTS = 4;

    private final MiniClusterExtension flink;
    private final Supplier<String> externalBootstrap;
    private EmbeddedKafkaCluster embedded;
    private Path checkpoints;

    private KafkaFlinkExtension(Supplier<String> externalBootstrap, Configuration miniClusterConfig) {
        this.externalBootstrap = externalBootstrap;
        this.flink = miniClusterConfig == null ? null : new MiniClusterExtension(
                new MiniClusterResourceConfiguration.Builder().setConfiguration(miniClusterConfig)
                        .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(SLOTS).build());
    }

    /** Kafka inside the test JVM (KRaft, one node). */
    public static KafkaFlinkExtension embeddedKafka() {
        return new KafkaFlinkExtension(null, new Configuration());
    }

    /**
     * Kafka inside the test JVM and a MiniCluster with extra settings, e.g. a TaskManager offering the {@code gpu}
     * external resource ({@code external-resources: gpu}, {@code external-resource.gpu.amount: 1}).
     */
    public static KafkaFlinkExtension embeddedKafka(Configuration miniClusterConfig) {
        return new KafkaFlinkExtension(null, Objects.requireNonNull(miniClusterConfig, "miniClusterConfig"));
    }

    /** Kafka inside the test JVM and no MiniCluster: for tests that run their own Flink cluster. */
    public static KafkaFlinkExtension embeddedKafkaOnly() {
        return new KafkaFlinkExtension(null, null);
    }

    /** Kafka elsewhere, e.g. a Testcontainers broker started before this extension's {@code beforeAll}. */
    public static KafkaFlinkExtension externalKafka(Supplier<String> bootstrapServers) {
        return new KafkaFlinkExtension(Objects.requireNonNull(bootstrapServers, "bootstrapServers"),
                new Configuration());
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        if (flink != null) {
            flink.beforeAll(context);
        }
        if (externalBootstrap == null) {
            embedded = EmbeddedKafkaCluster.start();
        }
        checkpoints = Files.createTempDirectory("gemma-flink-checkpoints-");
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        try {
            if (embedded != null) {
                embedded.close();
                embedded = null;
            }
        } finally {
            if (flink != null) {
                flink.afterAll(context);
            }
            if (checkpoints != null) {
                org.apache.flink.util.FileUtils.deleteDirectoryQuietly(checkpoints.toFile());
            }
        }
    }

    @Override
    public void beforeEach(ExtensionContext context) throws Exception {
        if (flink != null) {
            flink.beforeEach(context);
        }
    }

    @Override
    public void afterEach(ExtensionContext context) throws Exception {
        if (flink != null) {
            flink.afterEach(context);
        }
    }

    public String bootstrapServers() {
        return embedded != null ? embedded.bootstrapServers() : externalBootstrap.get();
    }

    /**
     * Creates fresh topics (two request topics of two partitions, one result and one dead-letter topic of one
     * partition) and returns the job settings that use them: bounded, from the earliest offset, checkpoints every
     * 500 ms into a folder of the scenario's own, parallelism 2, and a restart strategy that gives up (a failing
     * test job must not loop).
     */
    public Scenario newScenario(String name) throws Exception {
        String id = name + "-" + UUID.randomUUID().toString().substring(0, 8);
        List<String> requestTopics = List.of(id + "-requests-a", id + "-requests-b");
        String results = id + "-results";
        String deadLetters = id + "-dead-letters";
        EmbeddedKafkaCluster.createTopics(bootstrapServers(), 2, requestTopics);
        EmbeddedKafkaCluster.createTopics(bootstrapServers(), 1, List.of(results, deadLetters));

        Map<String, String> settings = new LinkedHashMap<>();
        settings.put(EnrichmentOptions.BOOTSTRAP_SERVERS.key(), bootstrapServers());
        settings.put(EnrichmentOptions.REQUEST_TOPICS.key(), String.join(";", requestTopics));
        settings.put(EnrichmentOptions.RESULT_TOPIC.key(), results);
        settings.put(EnrichmentOptions.DEAD_LETTER_TOPIC.key(), deadLetters);
        settings.put(EnrichmentOptions.GROUP_ID.key(), id);
        settings.put(EnrichmentOptions.TRANSACTIONAL_ID_PREFIX.key(), id);
        settings.put(EnrichmentOptions.BOUNDED.key(), "true");
        settings.put(EnrichmentOptions.STARTING_OFFSETS.key(), "EARLIEST");
        settings.put(EnrichmentOptions.CHECKPOINT_INTERVAL.key(), "500 ms");
        // Each scenario its own checkpoint folder: one scenario's retained checkpoints are no state of another's.
        settings.put(EnrichmentOptions.CHECKPOINT_DIR.key(), checkpoints.resolve(id).toUri().toString());
        settings.put(EnrichmentOptions.PARALLELISM.key(), "2");
        settings.put("flink.restart-strategy.type", "none");
        return new Scenario(id, requestTopics, results, deadLetters, settings);
    }

    /** Sets one configuration entry of each topic (e.g. {@code max.message.bytes}). */
    public void setTopicConfig(List<String> topics, String key, String value) throws Exception {
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        try (Admin admin = Admin.create(props)) {
            Map<ConfigResource, Collection<AlterConfigOp>> changes = new LinkedHashMap<>();
            for (String topic : topics) {
                changes.put(new ConfigResource(ConfigResource.Type.TOPIC, topic),
                        List.of(new AlterConfigOp(new ConfigEntry(key, value), AlterConfigOp.OpType.SET)));
            }
            admin.incrementalAlterConfigs(changes).all().get();
        }
    }

    /** Every committed record of a topic, decoded, as a {@code read_committed} consumer sees it now. */
    public <T extends SpecificRecordBase> List<T> readCommitted(String topic, WireCodec<T> codec) {
        return TopicReader.readCommitted(bootstrapServers(), topic, codec, Duration.ofSeconds(60));
    }

    /**
     * Topics and settings of one test.
     *
     * @param id unique id (also the group id and transactional id prefix)
     * @param requestTopics the request topics
     * @param resultTopic the result topic
     * @param deadLetterTopic the dead-letter topic
     * @param settings job settings using them; tests add or change entries
     */
    public record Scenario(String id, List<String> requestTopics, String resultTopic, String deadLetterTopic,
            Map<String, String> settings) {
    }
}
