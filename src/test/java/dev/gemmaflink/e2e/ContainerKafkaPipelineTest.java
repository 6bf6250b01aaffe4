package dev.gemmaflink.e2e;

import org.junit.jupiter.api.extension.RegisterExtension;
import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;
import org.testcontainers.kafka.KafkaContainer;

import dev.gemmaflink.e2e.support.KafkaFlinkExtension;

/**
 * The same scenarios against a Kafka broker in a container; skipped where no Docker engine is available.
 * The {@code @Testcontainers} extension (class level) starts the container before this class's static
 * {@link KafkaFlinkExtension} runs its {@code beforeAll}.
 */
@Testcontainers(disabledWithoutDocker = true)
class ContainerKafkaPipelineTest extends PipelineScenarios {

    @Container
    static final KafkaContainer KAFKA = new KafkaContainer("apache/kafka:4.1.1");

    @RegisterExtension
    static final KafkaFlinkExtension CLUSTER = KafkaFlinkExtension.externalKafka(KAFKA::getBootstrapServers);

    @Override
    KafkaFlinkExtension cluster() {
        return CLUSTER;
    }
}
