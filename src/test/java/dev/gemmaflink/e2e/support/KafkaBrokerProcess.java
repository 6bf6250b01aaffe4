package dev.gemmaflink.e2e.support;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;

/**
 * A real Kafka broker (KRaft, one combined broker and controller) in a JVM of its own, from the Kafka jars of the
 * test class path: {@code kafka.tools.StorageTool format --standalone}, then {@code kafka.Kafka}. Its log folder and
 * ports survive a {@link #restart}, so a test can take the broker away under a running job and bring it back.
 */
public final class KafkaBrokerProcess implements AutoCloseable {

    private final Path dir;
    private final int port;
    private ChildJvm broker;
    private int starts;

    private KafkaBrokerProcess(Path dir, int port) {
        this.dir = dir;
        this.port = port;
    }

    /** Formats a log folder under {@code dir}, starts the broker and waits until it answers (about 8 s). */
    public static KafkaBrokerProcess start(Path dir) throws Exception {
        KafkaBrokerProcess kafka = new KafkaBrokerProcess(dir, freePort());
        int controllerPort = freePort();
        Path config = dir.resolve("server.properties");
        Files.createDirectories(dir);
        Files.writeString(config, String.join("\n",
                "process.roles=broker,controller",
                "node.id=1",
                "listeners=PLAINTEXT://127.0.0.1:" + kafka.port + ",CONTROLLER://127.0.0.1:" + controllerPort,
                "advertised.listeners=PLAINTEXT://127.0.0.1:" + kafka.port,
                "controller.listener.names=CONTROLLER",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                "controller.quorum.bootstrap.servers=127.0.0.1:" + controllerPort,
                "log.dirs=" + dir.resolve("data"),
                "num.partitions=1",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "transaction.state.log.num.partitions=1",
                "group.initial.rebalance.delay.ms=0",
                "auto.create.topics.enable=false",
                ""), StandardCharsets.UTF_8);
        ChildJvm format = ChildJvm.start("kafka-format", "kafka.tools.StorageTool", List.of("format", "-t",
                Uuid.randomUuid().toString(), "-c", config.toString(), "--standalone"), dir.resolve("format.log"), 256);
        if (format.waitFor(60) != 0) {
            throw new IllegalStateException("kafka storage format failed:\n" + format.tail(40));
        }
        kafka.launch();
        return kafka;
    }

    public String bootstrapServers() {
        return "127.0.0.1:" + port;
    }

    /** Stops the broker cleanly (SIGTERM, controlled shutdown), then starts it again on the same folder and port. */
    public void restart() throws Exception {
        broker.stop(60);
        launch();
    }

    private void launch() throws Exception {
        starts++;
        broker = ChildJvm.start("kafka", "kafka.Kafka", List.of(dir.resolve("server.properties").toString()),
                dir.resolve("broker-" + starts + ".log"), 768);
        awaitReady(Duration.ofSeconds(90));
    }

    private void awaitReady(Duration timeout) throws Exception {
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "2000");
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "4000");
        long deadline = System.nanoTime() + timeout.toNanos();
        try (Admin admin = Admin.create(props)) {
            while (true) {
                if (!broker.isAlive()) {
                    throw new IllegalStateException("Kafka broker exited at start:\n" + broker.tail(40));
                }
                try {
                    admin.describeCluster().nodes().get(4, TimeUnit.SECONDS);
                    return;
                } catch (Exception notYet) {
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("Kafka broker not ready after " + timeout + ":\n"
                                + broker.tail(40), notYet);
                    }
                    Thread.sleep(250);
                }
            }
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    @Override
    public void close() throws InterruptedException {
        if (broker != null) {
            broker.stop(30);
        }
    }
}
