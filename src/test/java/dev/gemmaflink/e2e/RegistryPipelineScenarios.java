package dev.gemmaflink.e2e;

import static dev.gemmaflink.e2e.support.Expectation.deadLetter;
import static dev.gemmaflink.e2e.support.Expectation.result;
import static dev.gemmaflink.e2e.support.Requests.binary;
import static dev.gemmaflink.e2e.support.Requests.image;
import static dev.gemmaflink.e2e.support.Requests.json;
import static dev.gemmaflink.e2e.support.Requests.request;
import static dev.gemmaflink.e2e.support.Requests.summarize;
import static dev.gemmaflink.e2e.support.Requests.v1SummarizeRecord;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.apache.avro.Schema;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

import dev.gemmaflink.e2e.support.ConfluentRecords;
import dev.gemmaflink.e2e.support.Expectation;
import dev.gemmaflink.e2e.support.FailOnceAfterCheckpoint;
import dev.gemmaflink.e2e.support.KafkaFlinkExtension;
import dev.gemmaflink.e2e.support.KafkaFlinkExtension.Scenario;
import dev.gemmaflink.e2e.support.PipelineRuns;
import dev.gemmaflink.e2e.support.RequestProducer;
import dev.gemmaflink.e2e.support.RequestProducer.Sent;
import dev.gemmaflink.jobs.local.TopicReader;
import dev.gemmaflink.operators.registry.RegistryConfig;
import dev.gemmaflink.operators.registry.SchemaRegistryClient;
import dev.gemmaflink.schemas.DeadLetter;
import dev.gemmaflink.schemas.EnrichmentRequest;
import dev.gemmaflink.schemas.EnrichmentResult;
import dev.gemmaflink.schemas.ErrorCode;
import dev.gemmaflink.schemas.wire.SchemaHistory;

/**
 * The job with a Schema Registry, against whichever broker and registry the subclass registers: requests in the
 * Confluent framing (written by Avro's own encoder, by producers on two schema versions, one with a field the job
 * has never seen), results and dead letters written in the Confluent framing and read back through the registry's
 * REST API as a {@code KafkaAvroDeserializer} consumer reads them, each input accounted for exactly once.
 */
abstract class RegistryPipelineScenarios {

    /** The subclass's static broker and MiniCluster extension. */
    abstract KafkaFlinkExtension cluster();

    /** Base URL of the registry. */
    abstract String registryUrl();

    /** {@code GET /schemas/ids/{id}} requests the registry served, or -1 where it cannot tell. */
    int schemaFetches(int id) {
        return -1;
    }

    /** A scenario whose job writes results and dead letters in the Confluent framing; requests: auto. */
    Scenario confluentScenario(String name) throws Exception {
        Scenario scenario = cluster().newScenario(name);
        scenario.settings().put("schema-registry.url", registryUrl());
        scenario.settings().put("format.results", "confluent");
        scenario.settings().put("format.dead-letters", "confluent");
        return scenario;
    }

    /** Producer schema ids, registered under the first request topic's subject (TopicNameStrategy). */
    record ProducerSchemas(int v1, int current, int evolved, Schema evolvedSchema) {
    }

    ProducerSchemas registerProducerSchemas(Scenario scenario) {
        SchemaRegistryClient client = new SchemaRegistryClient(RegistryConfig.of(registryUrl(), java.util.Map.of()));
        String subject = scenario.requestTopics().get(0) + "-value";
        Schema evolved = ConfluentRecords.evolvedRequestSchema();
        // In version order, so the registry's compatibility check (BACKWARD) passes as for a real producer.
        int v1 = client.register(subject, SchemaHistory.schemasOf("EnrichmentRequest").get(0));
        int current = client.register(subject, EnrichmentRequest.getClassSchema());
        int evolvedId = client.register(subject, evolved);
        assertThat(List.of(v1, current, evolvedId)).as("three schema versions, three ids").doesNotHaveDuplicates();
        return new ProducerSchemas(v1, current, evolvedId, evolved);
    }

    @Test
    void confluentRequestsOfTwoProducerSchemaVersionsGetConfluentResultsAndBadFramesBecomeDeadLetters()
            throws Exception {
        Scenario scenario = confluentScenario("registry-mixed");
        ProducerSchemas ids = registerProducerSchemas(scenario);
        ConfluentRecords.Consumer registry = new ConfluentRecords.Consumer(registryUrl());
        int incompatible = registry.register(scenario.id() + "-incompatible-value",
                ConfluentRecords.incompatibleRequestSchema().toString(), "AVRO");
        int jsonSchema = registry.register(scenario.id() + "-json-value",
                "{\"type\":\"object\",\"properties\":{\"requestId\":{\"type\":\"string\"}}}", "JSON");
        int unknownId = 987_654;

        List<Expectation> inputs = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            EnrichmentRequest req = summarize("cur-" + i, "current schema " + i);
            inputs.add(result(ConfluentRecords.current(ids.current(), req), "cur-" + i,
                    "[SUMMARIZE] current schema " + i));
        }
        for (int i = 0; i < 12; i++) {
            EnrichmentRequest req = summarize("evo-" + i, "evolved schema " + i);
            inputs.add(result(ConfluentRecords.evolved(ids.evolved(), ids.evolvedSchema(), req, "mobile"),
                    "evo-" + i, "[SUMMARIZE] evolved schema " + i));
        }
        for (int i = 0; i < 3; i++) {
            EnrichmentRequest cur = request("cap-cur-" + i, "CAPTION").setImage(image(120 + i, "image/png")).build();
            inputs.add(result(ConfluentRecords.current(ids.current(), cur), "cap-cur-" + i,
                    "[CAPTION] <image/png " + (120 + i) + " bytes>"));
            EnrichmentRequest evo = request("cap-evo-" + i, "CAPTION").setImage(image(130 + i, "image/png")).build();
            inputs.add(result(ConfluentRecords.evolved(ids.evolved(), ids.evolvedSchema(), evo, "web"),
                    "cap-evo-" + i, "[CAPTION] <image/png " + (130 + i) + " bytes>"));
        }
        // A v1 producer through the registry, and the other formats beside it (format.requests auto).
        inputs.add(result(ConfluentRecords.frame(ids.v1(), SchemaHistory.schemasOf("EnrichmentRequest").get(0),
                v1SummarizeRecord("v1-conf", "from a v1 producer")), "v1-conf", "[SUMMARIZE] from a v1 producer"));
        inputs.add(result(binary(summarize("single", "single-object")), "single", "[SUMMARIZE] single-object"));
        inputs.add(result(json(summarize("avro-json", "avro json")), "avro-json", "[SUMMARIZE] avro json"));

        byte[] unknown = ConfluentRecords.current(unknownId, summarize("unknown-id", "x"));
        inputs.add(deadLetter(unknown, null, ErrorCode.UNKNOWN_SCHEMA));
        inputs.add(deadLetter(ConfluentRecords.current(incompatible, summarize("incompatible", "x")), null,
                ErrorCode.UNKNOWN_SCHEMA));
        inputs.add(deadLetter(ConfluentRecords.current(jsonSchema, summarize("json-schema", "x")), null,
                ErrorCode.UNKNOWN_SCHEMA));
        inputs.add(deadLetter(new byte[] {0, 0, 1}, null, ErrorCode.DECODE_FAILED));
        byte[] whole = ConfluentRecords.current(ids.current(), summarize("cut", "cut short"));
        inputs.add(deadLetter(Arrays.copyOf(whole, 9), null, ErrorCode.DECODE_FAILED));
        inputs.add(deadLetter(Arrays.copyOf(whole, whole.length + 2), null, ErrorCode.DECODE_FAILED));
        inputs.add(deadLetter(ConfluentRecords.current(ids.current(), request("no-text", "SUMMARIZE").build()),
                "no-text", ErrorCode.MISSING_TEXT));
        inputs.add(deadLetter(ConfluentRecords.evolved(ids.evolved(), ids.evolvedSchema(),
                request("evo-bad-task", "DETECT").setText("x").build(), "web"), "evo-bad-task",
                ErrorCode.UNKNOWN_TASK));

        List<Sent> sent = RequestProducer.send(cluster().bootstrapServers(), scenario.requestTopics(), inputs);
        PipelineRuns.runToCompletion(scenario, null);

        Outcomes outcomes = readThroughRegistry(scenario);
        PipelineRuns.assertExactlyOneOutcomeEach(outcomes.results(), outcomes.deadLetters(), scenario, sent, "echo");

        // The reasons name what was wrong, with the schema id.
        assertThat(reasonOf(outcomes, sent, unknown)).contains("schema id " + unknownId).contains("unknown");
        assertThat(outcomes.deadLetters()).filteredOn(d -> d.getReason().contains("schema id " + incompatible))
                .singleElement().satisfies(d -> assertThat(d.getReason()).contains("cannot be read as the current"));
        assertThat(outcomes.deadLetters()).filteredOn(d -> d.getReason().contains("schema id " + jsonSchema))
                .singleElement().satisfies(d -> assertThat(d.getReason()).contains("not an Avro schema"));
        assertThat(outcomes.deadLetters()).filteredOn(d -> d.getReason().contains("corrupt Confluent frame"))
                .hasSize(1);

        // Written under the subjects TopicNameStrategy names, with the ids the registry gave the schemas.
        assertThat(outcomes.resultIds()).containsOnly(registry.idUnder(scenario.resultTopic() + "-value",
                EnrichmentResult.getClassSchema()));
        assertThat(outcomes.deadLetterIds()).containsOnly(registry.idUnder(scenario.deadLetterTopic() + "-value",
                DeadLetter.getClassSchema()));
        // One fetch per schema id for the whole job (one TaskManager, two decode subtasks), none per record.
        for (int id : List.of(ids.current(), ids.evolved(), ids.v1(), incompatible, jsonSchema)) {
            if (schemaFetches(id) >= 0) {
                assertThat(schemaFetches(id)).as("fetches of schema id " + id).isEqualTo(1);
            }
        }
    }

    @Test
    void injectedFailureWithConfluentInAndOutStillCommitsExactlyOneOutcomePerRequest() throws Exception {
        Scenario scenario = confluentScenario("registry-failover");
        scenario.settings().put("enrich.ordered", "true");
        scenario.settings().put("flink.restart-strategy.type", "fixed-delay");
        scenario.settings().put("flink.restart-strategy.fixed-delay.attempts", "3");
        scenario.settings().put("flink.restart-strategy.fixed-delay.delay", "200 ms");
        ProducerSchemas ids = registerProducerSchemas(scenario);

        int valid = 160;
        List<Expectation> inputs = new ArrayList<>();
        for (int i = 0; i < valid; i++) {
            EnrichmentRequest req = summarize("r-" + i, "text " + i);
            inputs.add(result(i % 2 == 0 ? ConfluentRecords.current(ids.current(), req)
                    : ConfluentRecords.evolved(ids.evolved(), ids.evolvedSchema(), req, "batch"), "r-" + i,
                    "[SUMMARIZE] text " + i));
        }
        inputs.add(deadLetter(ConfluentRecords.current(987_655, summarize("unknown", "x")), null,
                ErrorCode.UNKNOWN_SCHEMA));
        inputs.add(deadLetter(new byte[] {0, 1}, null, ErrorCode.DECODE_FAILED));

        List<Sent> sent = RequestProducer.send(cluster().bootstrapServers(), scenario.requestTopics(), inputs);
        PipelineRuns.runToCompletion(scenario, new FailOnceAfterCheckpoint<>(scenario.id(), 40));

        assertThat(FailOnceAfterCheckpoint.failed(scenario.id())).as("the failure was injected").isTrue();
        assertThat(FailOnceAfterCheckpoint.seen(scenario.id())).as("requests were replayed after the restart")
                .isGreaterThan(valid);
        Outcomes outcomes = readThroughRegistry(scenario);
        PipelineRuns.assertExactlyOneOutcomeEach(outcomes.results(), outcomes.deadLetters(), scenario, sent, "echo");
    }

    /** Committed outcomes, each decoded through the registry, and the schema ids their frames carried. */
    record Outcomes(List<EnrichmentResult> results, List<DeadLetter> deadLetters, List<Integer> resultIds,
            List<Integer> deadLetterIds) {
    }

    Outcomes readThroughRegistry(Scenario scenario) {
        ConfluentRecords.Consumer consumer = new ConfluentRecords.Consumer(registryUrl());
        List<EnrichmentResult> results = new ArrayList<>();
        List<Integer> resultIds = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r : TopicReader.readCommittedRaw(cluster().bootstrapServers(),
                scenario.resultTopic(), Duration.ofSeconds(60))) {
            resultIds.add(ConfluentRecords.Consumer.schemaId(r.value()));
            results.add(consumer.decode(r.value(), EnrichmentResult.getClassSchema()));
        }
        List<DeadLetter> deadLetters = new ArrayList<>();
        List<Integer> deadLetterIds = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r : TopicReader.readCommittedRaw(cluster().bootstrapServers(),
                scenario.deadLetterTopic(), Duration.ofSeconds(60))) {
            deadLetterIds.add(ConfluentRecords.Consumer.schemaId(r.value()));
            deadLetters.add(consumer.decode(r.value(), DeadLetter.getClassSchema()));
        }
        return new Outcomes(results, deadLetters, resultIds, deadLetterIds);
    }

    private static String reasonOf(Outcomes outcomes, List<Sent> sent, byte[] value) {
        Sent s = sent.stream().filter(x -> x.value() == value).findFirst().orElseThrow();
        return outcomes.deadLetters().stream()
                .filter(d -> (d.getSourceTopic() + "/" + d.getSourcePartition() + "/" + d.getSourceOffset())
                        .equals(s.origin()))
                .findFirst().orElseThrow().getReason();
    }
}
