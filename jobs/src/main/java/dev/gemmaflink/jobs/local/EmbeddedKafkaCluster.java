package dev.gemmaflink.jobs.local;

import java.util.Collection;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;
import org.apache.kafka.server.common.MetadataVersion;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real Kafka broker (KRaft, one combined broker+controller node) inside this JVM, without Docker.
 *
 * <p>For the quick start and the tests only: the {@code kafka-test-common-runtime} jar it needs is a provided
 * dependency and stays out of the job jar. Settings are those a one-node cluster needs for transactions
 * (replication factor 1, min ISR 1) and for fast consumer groups (no initial rebalance delay).
 *
 * <pre>{@code
 * try (EmbeddedKafkaCluster kafka = EmbeddedKafkaCluster.start()) {
 *     kafka.createTopics(2, "requests", "results");
 *     String bootstrap = kafka.bootstrapServers();
 * }
 * }</pre>
 */
public final class EmbeddedKafkaCluster implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafkaCluster.class);

    private final KafkaClusterTestKit cluster;

    private EmbeddedKafkaCluster(KafkaClusterTestKit cluster) {
        this.cluster = cluster;
    }

    /** Formats, starts and waits for a one-node cluster (about 2-3 s). */
    public static EmbeddedKafkaCluster start() throws Exception {
        long started = System.nanoTime();
        TestKitNodes nodes = new TestKitNodes.Builder()
                .setCombined(true)
                .setNumBrokerNodes(1)
                .setNumControllerNodes(1)
                .setBootstrapMetadataVersion(MetadataVersion.latestProduction())
                .build();
        KafkaClusterTestKit cluster = new KafkaClusterTestKit.Builder(nodes)
                .setConfigProp("offsets.topic.replication.factor", "1")
                .setConfigProp("offsets.topic.num.partitions", "1")
                .setConfigProp("transaction.state.log.replication.factor", "1")
                .setConfigProp("transaction.state.log.min.isr", "1")
                .setConfigProp("transaction.state.log.num.partitions", "1")
                .setConfigProp("group.initial.rebalance.delay.ms", "0")
                .setConfigProp("auto.create.topics.enable", "false")
                .setDeleteOnClose(true)
                .build();
        // The storage formatter prints to System.out; stdout belongs to the caller (the quick start prints JSON).
        java.io.PrintStream stdout = System.out;
        System.setOut(System.err);
        try {
            cluster.format();
            cluster.startup();
            cluster.waitForReadyBrokers();
        } catch (Exception e) {
            cluster.close();
            throw e;
        } finally {
            System.setOut(stdout);
        }
        EmbeddedKafkaCluster kafka = new EmbeddedKafkaCluster(cluster);
        LOG.info("embedded Kafka at {} started in {} ms", kafka.bootstrapServers(),
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
        return kafka;
    }

    /** {@code host:port} of the broker's client listener. */
    public String bootstrapServers() {
        return cluster.bootstrapServers();
    }

    /** Creates topics with the given partition count (replication factor 1) and waits until they exist. */
    public void createTopics(int partitions, String... topics) throws Exception {
        createTopics(bootstrapServers(), partitions, java.util.List.of(topics));
    }

    /** Creates topics on any cluster (embedded or not), replication factor 1. */
    public static void createTopics(String bootstrapServers, int partitions, Collection<String> topics)
            throws Exception {
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        try (Admin admin = Admin.create(props)) {
            admin.createTopics(topics.stream().map(t -> new NewTopic(t, partitions, (short) 1)
                    .configs(Map.of("min.insync.replicas", "1"))).toList()).all().get(60, TimeUnit.SECONDS);
        }
    }

    @Override
    public void close() throws Exception {
        cluster.close();
    }
}
