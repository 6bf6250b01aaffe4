package dev.gemmaflink.operators.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.reflect.Field;
import java.util.Map;
import java.util.Properties;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.junit.jupiter.api.Test;

import dev.gemmaflink.operators.config.EnrichmentOptions;
import dev.gemmaflink.operators.config.OptionsLoader;

/** Client settings passed through to the request consumer and the exactly-once producers. */
class KafkaClientPropertiesTest {

    private static final Map<String, String> SECURED = Map.of(
            "kafka.properties.security.protocol", "SASL_SSL",
            "kafka.properties.sasl.mechanism", "PLAIN",
            "kafka.properties.request.timeout.ms", "41000",
            "kafka.consumer.max.poll.records", "50",
            "kafka.consumer.request.timeout.ms", "42000",
            "kafka.producer.compression.type", "gzip",
            "kafka.producer.linger.ms", "5");

    @Test
    void commonSettingsReachEveryClientAndSpecificOnesWin() {
        Configuration conf = OptionsLoader.fromMap(SECURED);
        Properties consumer = KafkaClientProperties.consumer(conf);
        assertThat(consumer).containsEntry("security.protocol", "SASL_SSL").containsEntry("sasl.mechanism", "PLAIN")
                .containsEntry("max.poll.records", "50").containsEntry("request.timeout.ms", "42000")
                .doesNotContainKeys("compression.type", "linger.ms");
        Properties producer = KafkaClientProperties.producer(conf);
        assertThat(producer).containsEntry("security.protocol", "SASL_SSL").containsEntry("compression.type", "gzip")
                .containsEntry("linger.ms", "5").containsEntry("request.timeout.ms", "41000")
                .doesNotContainKeys("max.poll.records");
        assertThat(KafkaClientProperties.consumer(OptionsLoader.fromMap(Map.of()))).isEmpty();
    }

    @Test
    void theBuiltSourceAndSinksCarryThemUnderTheJobsOwnSettings() throws Exception {
        Configuration conf = OptionsLoader.fromMap(Map.of("kafka.properties.security.protocol", "SSL",
                "kafka.producer.linger.ms", "7", "kafka.bootstrap-servers", "broker:9093"));
        // The connectors keep their client properties private; read them to see what the clients will get.
        Properties source = (Properties) field(KafkaSource.class, "props").get(KafkaConnectors.requestSource(conf));
        assertThat(source).containsEntry("security.protocol", "SSL").containsEntry("bootstrap.servers", "broker:9093")
                .containsEntry("isolation.level", "read_committed").doesNotContainKey("linger.ms");
        for (KafkaSink<?> sink : new KafkaSink<?>[] {KafkaConnectors.resultSink(conf),
                KafkaConnectors.deadLetterSink(conf)}) {
            Properties producer = (Properties) field(KafkaSink.class, "kafkaProducerConfig").get(sink);
            assertThat(producer).containsEntry("security.protocol", "SSL").containsEntry("linger.ms", "7")
                    .containsEntry("bootstrap.servers", "broker:9093")
                    .containsEntry("transaction.timeout.ms",
                            String.valueOf(conf.get(EnrichmentOptions.TRANSACTION_TIMEOUT).toMillis()));
        }
    }

    @Test
    void settingsTheJobControlsAreRefusedNamingWhatToUseInstead() {
        assertThatThrownBy(() -> OptionsLoader.fromMap(Map.of("kafka.properties.bootstrap.servers", "x:1")))
                .hasMessageContaining("'kafka.properties.bootstrap.servers'").hasMessageContaining("kafka.bootstrap-servers");
        assertThatThrownBy(() -> OptionsLoader.fromMap(Map.of("kafka.producer.transactional.id", "t")))
                .hasMessageContaining("kafka.transactional-id-prefix");
        assertThatThrownBy(() -> OptionsLoader.fromMap(Map.of("kafka.consumer.isolation.level", "read_uncommitted")))
                .hasMessageContaining("read_committed");
        assertThatThrownBy(() -> OptionsLoader.fromMap(Map.of("kafka.producer.enable.idempotence", "false")))
                .hasMessageContaining("exactly-once");
        // A bare prefix is no pass-through and no option either.
        assertThatThrownBy(() -> OptionsLoader.fromMap(Map.of("kafka.producer.", "x")))
                .hasMessageContaining("unknown option 'kafka.producer.'");
    }

    private static Field field(Class<?> type, String name) throws NoSuchFieldException {
        Field f = type.getDeclaredField(name);
        f.setAccessible(true);
        return f;
    }
}
