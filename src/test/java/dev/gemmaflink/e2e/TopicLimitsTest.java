package dev.gemmaflink.e2e;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import dev.gemmaflink.e2e.support.KafkaFlinkExtension;
import dev.gemmaflink.e2e.support.KafkaFlinkExtension.Scenario;
import dev.gemmaflink.jobs.TopicLimits;
import dev.gemmaflink.operators.config.OptionsLoader;

/** The start-up check of the output topics' {@code max.message.bytes} against a real broker. */
class TopicLimitsTest {

    @RegisterExtension
    static final KafkaFlinkExtension CLUSTER = KafkaFlinkExtension.embeddedKafkaOnly();

    @Test
    void topicsAtTheBrokerDefaultAcceptWhatTheProducersSend() throws Exception {
        Scenario scenario = CLUSTER.newScenario("limits-ok");

        assertThatCode(() -> TopicLimits.check(OptionsLoader.fromMap(scenario.settings()))).doesNotThrowAnyException();
    }

    @Test
    void aDeadLetterTopicThatAcceptsLessThanTheRequestSizeIsRefusedNamingBothSettings() throws Exception {
        Scenario scenario = CLUSTER.newScenario("limits-small");
        CLUSTER.setTopicConfig(List.of(scenario.deadLetterTopic()), "max.message.bytes", "500000");

        assertThatThrownBy(() -> TopicLimits.check(OptionsLoader.fromMap(scenario.settings())))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("topic " + scenario.deadLetterTopic() + " accepts records of at most 500000")
                .hasMessageContaining("max.request.size (1048576, option 'kafka.producer.max.request.size')");

        // Producers that send no more than the topic takes are fine.
        Map<String, String> settings = new LinkedHashMap<>(scenario.settings());
        settings.put("kafka.producer.max.request.size", "400000");
        settings.put("dead-letter.max-original-bytes", "300000");
        assertThatCode(() -> TopicLimits.check(OptionsLoader.fromMap(settings))).doesNotThrowAnyException();
    }

    @Test
    void aMissingTopicIsLeftToTheJobToReport() throws Exception {
        Map<String, String> settings = new LinkedHashMap<>(CLUSTER.newScenario("limits-missing").settings());
        settings.put("kafka.result-topic", "no-such-topic");

        assertThatCode(() -> TopicLimits.check(OptionsLoader.fromMap(settings))).doesNotThrowAnyException();
    }
}
