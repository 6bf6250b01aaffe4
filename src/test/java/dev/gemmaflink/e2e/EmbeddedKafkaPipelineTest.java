package dev.gemmaflink.e2e;

import org.junit.jupiter.api.extension.RegisterExtension;

import dev.gemmaflink.e2e.support.KafkaFlinkExtension;

/** The end-to-end scenarios against a Kafka broker inside the test JVM (no Docker needed). */
class EmbeddedKafkaPipelineTest extends PipelineScenarios {

    @RegisterExtension
    static final KafkaFlinkExtension CLUSTER = KafkaFlinkExtension.embeddedKafka();

    @Override
    KafkaFlinkExtension cluster() {
        return CLUSTER;
    }
}
