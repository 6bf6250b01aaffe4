package dev.gemmaflink.jobs.local;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import org.apache.avro.io.DecoderFactory;
import org.apache.avro.specific.SpecificDatumReader;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.gemmaflink.schemas.EnrichmentRequest;
import dev.gemmaflink.schemas.wire.WireCodec;
import picocli.CommandLine;

/**
 * {@code bin/events --format confluent --registry URL} against the embedded broker and {@link InMemorySchemaRegistry}
 * (with basic authentication): the request schema registered under the topic's subject, records framed with its id,
 * and consumed back through the registry.
 */
class EventsRegistryTest {

    static EmbeddedKafkaCluster kafka;
    static InMemorySchemaRegistry registry;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() throws Exception {
        kafka = EmbeddedKafkaCluster.start();
        registry = InMemorySchemaRegistry.startWithBasicAuth("events:pw-events");
    }

    @AfterAll
    static void stop() throws Exception {
        registry.close();
        kafka.close();
    }

    @Test
    void producesConfluentFramedRequestsAndConsumesThemThroughTheRegistry() throws Exception {
        kafka.createTopics(1, "events-confluent");
        WireCodec<EnrichmentRequest> codec = WireCodec.requests();
        EnrichmentRequest request = EnrichmentRequest.newBuilder().setRequestId("c-1").setTenant("acme").setKey(null)
                .setTask("SUMMARIZE").setText("framed").setImage(null).setTargetLanguage(null).setGeneration(null)
                .setEventTime(Instant.ofEpochMilli(1_000)).setAttributes(Map.of()).build();
        Path file = tmp.resolve("requests.jsonl");
        Files.writeString(file, new String(codec.encodeJson(request), StandardCharsets.UTF_8) + "\n");

        int produced = Events.commandLine().execute("produce", "--bootstrap-servers", kafka.bootstrapServers(),
                "--topic", "events-confluent", "--file", file.toString(), "--format", "confluent", "--registry",
                registry.url(), "--registry-property", "basic.auth.user.info=events:pw-events");
        assertThat(produced).isZero();
        assertThat(registry.subjects()).containsExactly("events-confluent-value");

        var raw = TopicReader.readCommittedRaw(kafka.bootstrapServers(), "events-confluent", Duration.ofSeconds(30));
        assertThat(raw).hasSize(1);
        byte[] value = raw.get(0).value();
        assertThat(value[0]).isZero();
        int id = ByteBuffer.wrap(value, 1, 4).getInt();
        // The body is Avro's binary encoding of the request with the registered (current) schema.
        EnrichmentRequest decoded = new SpecificDatumReader<EnrichmentRequest>(EnrichmentRequest.getClassSchema())
                .read(null, DecoderFactory.get().binaryDecoder(Arrays.copyOfRange(value, 5, value.length), null));
        assertThat(decoded).isEqualTo(request);
        assertThat(id).isPositive();

        StringWriter out = new StringWriter();
        CommandLine consume = Events.commandLine();
        consume.setOut(new PrintWriter(out));
        int consumed = consume.execute("consume", "--bootstrap-servers", kafka.bootstrapServers(), "--topic",
                "events-confluent", "--max", "1", "--registry", registry.url(), "--registry-property",
                "basic.auth.user.info=events:pw-events");
        assertThat(consumed).isZero();
        List<String> lines = out.toString().lines().toList();
        assertThat(lines).hasSize(1);
        assertThat(codec.decode(lines.get(0).getBytes(StandardCharsets.UTF_8))).isEqualTo(request);
        assertThat(registry.schemaFetches(id)).isEqualTo(1);
    }
}
