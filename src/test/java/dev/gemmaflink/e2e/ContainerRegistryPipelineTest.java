package dev.gemmaflink.e2e;

import org.junit.jupiter.api.extension.RegisterExtension;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.Network;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;
import org.testcontainers.kafka.KafkaContainer;

import dev.gemmaflink.e2e.support.KafkaFlinkExtension;

/**
 * The registry scenarios against Confluent's own Schema Registry and a Kafka broker, both in containers; skipped
 * where no Docker engine is available. The registry stores its schemas in the broker (its {@code _schemas} topic),
 * reached over the containers' network.
 */
@Testcontainers(disabledWithoutDocker = true)
class ContainerRegistryPipelineTest extends RegistryPipelineScenarios {

    static final Network NETWORK = Network.newNetwork();

    @Container
    static final KafkaContainer KAFKA = new KafkaContainer("apache/kafka:4.1.1").withNetwork(NETWORK)
            .withListener("kafka:19092");

    @Container
    static final GenericContainer<?> REGISTRY = new GenericContainer<>("confluentinc/cp-schema-registry:7.9.0")
            .withNetwork(NETWORK).dependsOn(KAFKA).withExposedPorts(8081)
            .withEnv("SCHEMA_REGISTRY_HOST_NAME", "localhost")
            .withEnv("SCHEMA_REGISTRY_LISTENERS", "http://0.0.0.0:8081")
            .withEnv("SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS", "PLAINTEXT://kafka:19092")
            .waitingFor(Wait.forHttp("/subjects").forStatusCode(200));

    @RegisterExtension
    static final KafkaFlinkExtension CLUSTER = KafkaFlinkExtension.externalKafka(KAFKA::getBootstrapServers);

    @Override
    KafkaFlinkExtension cluster() {
        return CLUSTER;
    }

    @Override
    String registryUrl() {
        return "http://" + REGISTRY.getHost() + ":" + REGISTRY.getMappedPort(8081);
    }
}
