package dev.gemmaflink.jobs.local;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.gemmaflink.schemas.EnrichmentRequest;
import dev.gemmaflink.schemas.wire.WireCodec;
import picocli.CommandLine;

/** bin/events against the embedded broker: JSON lines -> Avro on Kafka -> JSON lines. */
class EventsTest {

    static EmbeddedKafkaCluster kafka;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() throws Exception {
        kafka = EmbeddedKafkaCluster.start();
    }

    @AfterAll
    static void stop() throws Exception {
        kafka.close();
    }

    private static EnrichmentRequest request(String id, String text) {
        return EnrichmentRequest.newBuilder().setRequestId(id).setTenant("acme").setKey(null).setTask("SUMMARIZE")
                .setText(text).setImage(null).setTargetLanguage(null).setGeneration(null)
                .setEventTime(Instant.ofEpochMilli(1_000)).setAttributes(Map.of()).build();
    }

    @Test
    void producedRequestsAreAvroOnTheWireAndComeBackAsTheSameJson() throws Exception {
        kafka.createTopics(1, "events-roundtrip");
        WireCodec<EnrichmentRequest> codec = WireCodec.requests();
        List<EnrichmentRequest> requests = List.of(request("e-1", "first"), request("e-2", "second \"quoted\""));
        Path file = tmp.resolve("requests.jsonl");
        Files.writeString(file, new String(codec.encodeJson(requests.get(0)), StandardCharsets.UTF_8) + "\n\n"
                + new String(codec.encodeJson(requests.get(1)), StandardCharsets.UTF_8) + "\n");

        int produced = Events.commandLine().execute("produce", "--bootstrap-servers", kafka.bootstrapServers(),
                "--topic", "events-roundtrip", "--file", file.toString());
        assertThat(produced).isZero();

        // On the wire: single-object binary (C3 01 header), decodable to the same requests.
        var raw = TopicReader.readCommittedRaw(kafka.bootstrapServers(), "events-roundtrip",
                java.time.Duration.ofSeconds(30));
        assertThat(raw).hasSize(2);
        assertThat(raw.get(0).value()[0]).isEqualTo((byte) 0xC3);
        assertThat(new String(raw.get(0).key(), StandardCharsets.UTF_8)).isEqualTo("e-1");
        assertThat(codec.decode(raw.get(1).value())).isEqualTo(requests.get(1));

        StringWriter out = new StringWriter();
        CommandLine consume = Events.commandLine();
        consume.setOut(new PrintWriter(out));
        int consumed = consume.execute("consume", "--bootstrap-servers", kafka.bootstrapServers(), "--topic",
                "events-roundtrip", "--max", "2");
        assertThat(consumed).isZero();
        List<String> lines = out.toString().lines().toList();
        assertThat(lines).hasSize(2);
        assertThat(codec.decode(lines.get(0).getBytes(StandardCharsets.UTF_8))).isEqualTo(requests.get(0));
        assertThat(codec.decode(lines.get(1).getBytes(StandardCharsets.UTF_8))).isEqualTo(requests.get(1));
    }

    @Test
    void aLineThatIsNoRequestIsAConfigurationErrorNamingTheLine() throws Exception {
        Path file = tmp.resolve("bad.jsonl");
        Files.writeString(file, "{\"requestId\": \"half\"}\n");
        StringWriter err = new StringWriter();
        CommandLine cli = Events.commandLine();
        cli.setErr(new PrintWriter(err));
        int code = cli.execute("produce", "--bootstrap-servers", kafka.bootstrapServers(), "--topic", "events-bad",
                "--file", file.toString());
        assertThat(code).isEqualTo(2);
        assertThat(err.toString()).contains("line 1 is not an EnrichmentRequest");
    }

    @Test
    void resultsAndDeadLettersRenderAsSummaries() {
        var result = dev.gemmaflink.schemas.EnrichmentResult.newBuilder().setRequestId("r").setTenant("t")
                .setKey(null).setTask("SUMMARIZE").setOutputText("out").setModelId("m").setFinishReason("STOP")
                .setPromptTokens(3).setOutputTokens(1).setCachedPromptTokens(0).setQueueMillis(0)
                .setFirstTokenMillis(1).setTotalMillis(2).setProcessingTime(Instant.EPOCH).build();
        assertThat(Events.render(WireCodec.results().encode(result))).startsWith("{\"type\":\"result\",\"requestId\":\"r\"");
        assertThat(Events.render(new byte[] {1, 2, 3})).startsWith("{\"type\":\"undecodable\"");
    }
}
