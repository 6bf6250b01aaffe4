package dev.gemmaflink.operators.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;

import dev.gemmaflink.operators.config.EnrichmentOptions;
import dev.gemmaflink.operators.config.OptionsLoader;
import dev.gemmaflink.operators.kafka.AvroRecordSerializer;
import dev.gemmaflink.operators.registry.ScriptedHttpEndpoint.Reply;
import dev.gemmaflink.schemas.EnrichmentResult;
import dev.gemmaflink.schemas.wire.WireCodec;

/**
 * Results and dead letters in each output format; in the Confluent framing the schema is registered (or looked up)
 * under the subject the strategy names, once, when the encoder opens.
 */
class RecordEncoderTest {

    private static EnrichmentResult result() {
        return EnrichmentResult.newBuilder().setRequestId("r-1").setTenant("acme").setKey(null).setTask("SUMMARIZE")
                .setOutputText("out").setModelId("echo").setFinishReason("STOP").setPromptTokens(1)
                .setOutputTokens(1).setCachedPromptTokens(0).setQueueMillis(0).setFirstTokenMillis(0)
                .setTotalMillis(0).setProcessingTime(java.time.Instant.ofEpochMilli(5)).build();
    }

    @Test
    void theSubjectNamingStrategiesNameTheDocumentedSubjects() {
        var schema = EnrichmentResult.getClassSchema();
        assertThat(SubjectNameStrategy.TOPIC_NAME.subject("out", schema)).isEqualTo("out-value");
        assertThat(SubjectNameStrategy.RECORD_NAME.subject("out", schema))
                .isEqualTo("dev.gemmaflink.schemas.EnrichmentResult");
        assertThat(SubjectNameStrategy.TOPIC_RECORD_NAME.subject("out", schema))
                .isEqualTo("out-dev.gemmaflink.schemas.EnrichmentResult");
        assertThat(SubjectNameStrategy.parse("io.confluent.kafka.serializers.subject.RecordNameStrategy"))
                .isEqualTo(SubjectNameStrategy.RECORD_NAME);
    }

    @Test
    void confluentOutputRegistersOnceUnderItsSubjectAndFramesEveryRecordWithTheId() throws Exception {
        try (ScriptedHttpEndpoint registry = ScriptedHttpEndpoint.start(r -> r.method().equals("POST")
                && r.path().endsWith("/versions") ? new Reply(200, "{\"id\":77}")
                : r.method().equals("POST") ? new Reply(200, "{\"subject\":\"s\",\"version\":1,\"id\":78,"
                        + "\"schema\":\"x\"}") : new Reply(500, "{}"))) {
            for (SubjectNameStrategy strategy : SubjectNameStrategy.values()) {
                RegistryConfig conf = RegistryConfig.of(registry.url(), Map.of()).withSubjects(strategy, true)
                        .withRetries(Duration.ofMillis(300), Duration.ofMillis(10));
                RecordEncoder<EnrichmentResult> encoder = RecordEncoder.results(WireFormat.CONFLUENT, conf);
                encoder.open("results-" + strategy.name());
                encoder.open("results-" + strategy.name()); // a second subtask in the same JVM: no request
                byte[] framed = encoder.encode(result());
                assertThat(Arrays.copyOf(framed, 5)).containsExactly(0, 0, 0, 0, 77);
                assertThat(Arrays.copyOfRange(framed, 5, framed.length))
                        .isEqualTo(WireCodec.results().encodeBody(result()));
            }
            assertThat(registry.received()).extracting(ScriptedHttpEndpoint.Received::path).containsExactly(
                    "/subjects/results-TOPIC_NAME-value/versions",
                    "/subjects/dev.gemmaflink.schemas.EnrichmentResult/versions",
                    "/subjects/results-TOPIC_RECORD_NAME-dev.gemmaflink.schemas.EnrichmentResult/versions");

            RegistryConfig lookupOnly = RegistryConfig.of(registry.url(), Map.of())
                    .withSubjects(SubjectNameStrategy.TOPIC_NAME, false);
            RecordEncoder<EnrichmentResult> looked = RecordEncoder.results(WireFormat.CONFLUENT, lookupOnly);
            looked.open("other");
            assertThat(looked.schemaId()).isEqualTo(78);
            assertThat(registry.received().get(3).path()).isEqualTo("/subjects/other-value");
        }
    }

    @Test
    void theSerializerWritesTheConfiguredFormat() throws Exception {
        var limit = new AvroRecordSerializer.RecordSizeLimit(1 << 20, false);
        var json = AvroRecordSerializer.results("t", RecordEncoder.results(WireFormat.JSON, null), limit)
                .serialize(result(), null, 1L);
        assertThat(new String(json.value(), StandardCharsets.UTF_8)).startsWith("{\"requestId\":\"r-1\"");
        var single = AvroRecordSerializer.results("t", limit).serialize(result(), null, 1L);
        assertThat(single.value()[0]).isEqualTo((byte) 0xC3);
        assertThat(ByteBuffer.wrap(single.key())).isEqualTo(ByteBuffer.wrap("r-1".getBytes(StandardCharsets.UTF_8)));
        assertThatThrownBy(() -> RecordEncoder.results(WireFormat.AUTO, null))
                .hasMessageContaining("input format only");
    }

    @Test
    void formatOptionsParseAndAreCheckedAtStart() {
        Configuration conf = OptionsLoader.fromMap(Map.of("format.requests", "confluent", "format.results",
                "single-object", "format.dead-letters", "JSON", "schema-registry.url", "http://localhost:8081",
                "schema-registry.subject-name-strategy", "TopicRecordNameStrategy",
                "schema-registry.properties.basic.auth.user.info", "u:topsecret"));
        assertThat(conf.get(EnrichmentOptions.REQUEST_FORMAT)).isEqualTo(WireFormat.CONFLUENT);
        assertThat(conf.get(EnrichmentOptions.RESULT_FORMAT)).isEqualTo(WireFormat.SINGLE_OBJECT);
        assertThat(conf.get(EnrichmentOptions.DEAD_LETTER_FORMAT)).isEqualTo(WireFormat.JSON);
        assertThat(conf.get(EnrichmentOptions.SCHEMA_REGISTRY_SUBJECT_NAME_STRATEGY))
                .isEqualTo(SubjectNameStrategy.TOPIC_RECORD_NAME);
        assertThat(RegistryConfig.from(conf).properties()).containsEntry("basic.auth.user.info", "u:topsecret");
        assertThat(conf.get(EnrichmentOptions.REQUEST_FORMAT).toString()).isEqualTo("confluent");

        for (Map<String, String> bad : List.of(
                Map.of("format.results", "confluent"),
                Map.of("format.dead-letters", "auto"),
                Map.of("schema-registry.url", "localhost:8081"),
                Map.of("schema-registry.url", "http://localhost:8081", "schema-registry.properties.auto.register",
                        "true"),
                Map.of("schema-registry.url", "http://localhost:8081", "schema-registry.properties.bearer.auth.token",
                        "topsecret", "schema-registry.properties.basic.auth.user.info", "u:topsecret"))) {
            assertThatThrownBy(() -> OptionsLoader.fromMap(bad)).as(bad.toString())
                    .isInstanceOf(IllegalArgumentException.class).hasMessageNotContaining("topsecret");
        }
        assertThatThrownBy(() -> OptionsLoader.fromMap(Map.of("format.results", "confluent")))
                .hasMessageContaining("schema-registry.url");
        assertThatThrownBy(() -> OptionsLoader.fromMap(Map.of("schema-registry.url", "http://localhost:8081",
                "schema-registry.properties.auto.register", "true"))).hasMessageContaining("ssl.truststore.location");
    }
}
