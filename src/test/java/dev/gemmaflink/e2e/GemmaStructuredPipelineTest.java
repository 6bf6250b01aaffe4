package dev.gemmaflink.e2e;

import static dev.gemmaflink.e2e.support.Expectation.deadLetter;
import static dev.gemmaflink.e2e.support.Expectation.result;
import static dev.gemmaflink.e2e.support.Requests.binary;
import static dev.gemmaflink.e2e.support.Requests.json;
import static dev.gemmaflink.e2e.support.Requests.maxNewTokens;
import static dev.gemmaflink.e2e.support.Requests.request;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.gemmaflink.e2e.support.EngineReference;
import dev.gemmaflink.e2e.support.Expectation;
import dev.gemmaflink.e2e.support.FailOnceAfterCheckpoint;
import dev.gemmaflink.e2e.support.GemmaScenarios;
import dev.gemmaflink.e2e.support.KafkaFlinkExtension;
import dev.gemmaflink.e2e.support.KafkaFlinkExtension.Scenario;
import dev.gemmaflink.e2e.support.PipelineRuns;
import dev.gemmaflink.e2e.support.RequestProducer;
import dev.gemmaflink.e2e.support.RequestProducer.Sent;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointSpec;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointWriter;
import dev.gemmaflink.schemas.DeadLetter;
import dev.gemmaflink.schemas.EnrichmentResult;
import dev.gemmaflink.schemas.ErrorCode;
import dev.gemmaflink.schemas.GenerationParameters;
import dev.gemmaflink.schemas.wire.WireCodec;

/**
 * CLASSIFY and EXTRACT through Kafka and Flink, exactly once, on a tiny random checkpoint with the real tokenizer:
 * labels from the request or the configuration, a JSON Schema from the request or named in the configuration, an
 * output cut by its token limit as an OUTPUT_INCOMPLETE dead letter, an unsupported schema keyword as an
 * INVALID_PARAMETER dead letter naming it; multi-label CLASSIFY (maxLabels) as a JSON array whose labels and
 * probability the result carries. Random weights: only the constraint keeps outputs labels and valid JSON.
 * Under an injected failure too, with greedy and seeded sampled requests in flight: still exactly one outcome each,
 * and every output what the engine alone produces for it.
 */
class GemmaStructuredPipelineTest {

    static final String TICKET_SCHEMA = "{\"type\":\"object\",\"properties\":{"
            + "\"order\":{\"type\":\"string\",\"maxLength\":6},"
            + "\"refund\":{\"type\":\"boolean\"},"
            + "\"currency\":{\"type\":\"string\",\"enum\":[\"EUR\",\"USD\",\"GBP\"]}},"
            + "\"required\":[\"order\",\"refund\",\"currency\"],\"additionalProperties\":false}";
    static final String INLINE_SCHEMA = "{\"type\":\"object\",\"properties\":{\"urgent\":{\"type\":\"boolean\"},"
            + "\"tags\":{\"type\":\"array\",\"items\":{\"enum\":[\"x\",\"y\"]},\"maxItems\":2}},"
            + "\"required\":[\"urgent\",\"tags\"],\"additionalProperties\":false}";
    static final List<String> CONFIGURED_LABELS = List.of("billing", "shipping", "returns");
    static final List<String> OWN_LABELS = List.of("positive", "negative", "mixed feelings");
    /** Labels of multi-label requests: commas and quotes inside labels stay inside their JSON strings. */
    static final List<String> TOPIC_LABELS = List.of("refund", "late, lost or damaged", "say \"thanks\"", "payment");
    private static final ObjectMapper JSON = new ObjectMapper();

    @RegisterExtension
    static final KafkaFlinkExtension CLUSTER = KafkaFlinkExtension.embeddedKafka();

    @TempDir
    static Path tmp;
    static Path modelDir;
    static Path schemas;

    @BeforeAll
    static void writeCheckpointAndSchemas() throws Exception {
        modelDir = tmp.resolve("tiny-gemma");
        TinyCheckpointWriter.write(modelDir, TinyCheckpointSpec.builder().layers(2).seed(5).build());
        schemas = tmp.resolve("schemas.json");
        Files.writeString(schemas, "{\"ticket\": " + TICKET_SCHEMA + "}");
    }

    /** A scenario with the configured labels and named schemas, and room for a whole JSON object. */
    private static Scenario structuredScenario(String name) throws Exception {
        Scenario scenario = GemmaScenarios.configure(CLUSTER.newScenario(name), modelDir);
        scenario.settings().put("enrich.gemma.max-new-tokens", "64");
        scenario.settings().put("enrich.gemma.target-sequence-length", "512");
        scenario.settings().put("enrich.gemma.classify.labels", String.join(";", CONFIGURED_LABELS));
        scenario.settings().put("enrich.gemma.extract.schemas", schemas.toString());
        return scenario;
    }

    /**
     * The four structured requests of ticket {@code i}, ids {@code prefix + kind + "-" + i}: CLASSIFY with the
     * configured labels ({@code cls-conf}) and with its own ({@code cls-own}), EXTRACT with the named schema
     * ({@code ext-named}) and with an inline one sent in the JSON wire format ({@code ext-inline}).
     *
     * @param generation the requests' generation parameters; null for the defaults (greedy)
     */
    private static List<Expectation> ticketRequests(String prefix, int i, GenerationParameters generation) {
        String text = "Ticket " + i + ": order AB12" + i + " paid in EUR, please refund, it never arrived.";
        String conf = prefix + "cls-conf-" + i;
        String own = prefix + "cls-own-" + i;
        String named = prefix + "ext-named-" + i;
        String inline = prefix + "ext-inline-" + i;
        return List.of(
                result(binary(request(conf, "CLASSIFY").setText(text).setGeneration(generation).build()), conf, null),
                result(binary(request(own, "CLASSIFY").setText(text).setLabels(OWN_LABELS)
                        .setGeneration(generation).build()), own, null),
                result(binary(request(named, "EXTRACT").setText(text).setOutputSchemaName("ticket")
                        .setGeneration(generation).build()), named, null),
                // JSON wire format too: a producer sends the schema inline.
                result(json(request(inline, "EXTRACT").setText(text).setOutputSchema(INLINE_SCHEMA)
                        .setGeneration(generation).build()), inline, null));
    }

    /** An EXTRACT request whose 3-token limit cannot hold a ticket object: an OUTPUT_INCOMPLETE dead letter. */
    private static Expectation incompleteExtract(String id, GenerationParameters generation) {
        GenerationParameters limited = generation == null ? maxNewTokens(3)
                : GenerationParameters.newBuilder(generation).setMaxNewTokens(3).build();
        return deadLetter(binary(request(id, "EXTRACT").setText("order AB123").setOutputSchemaName("ticket")
                .setGeneration(limited).build()), id, ErrorCode.OUTPUT_INCOMPLETE);
    }

    /** Sampling at temperature 1 with nucleus 0.95; {@code seed} null takes the seed derived from the request id. */
    private static GenerationParameters sampled(Long seed) {
        return GenerationParameters.newBuilder().setTemperature(1.0f).setTopP(0.95f).setSeed(seed).build();
    }

    /**
     * Asserts that the outputs of ticket {@code i}'s {@link #ticketRequests} are labels of their set, with their
     * probability, and valid JSON, without labels.
     */
    private static void assertValidOutputs(Map<String, EnrichmentResult> byId, String prefix, int i)
            throws Exception {
        assertThat(byId.get(prefix + "cls-conf-" + i).getOutputText()).isIn(CONFIGURED_LABELS.toArray());
        assertThat(byId.get(prefix + "cls-own-" + i).getOutputText()).isIn(OWN_LABELS.toArray());
        for (String single : List.of(prefix + "cls-conf-" + i, prefix + "cls-own-" + i)) {
            EnrichmentResult r = byId.get(single);
            assertThat(strings(r.getLabels())).containsExactly(r.getOutputText().toString());
            assertThat(r.getProbability()).isNotNull().isGreaterThan(0.0).isLessThanOrEqualTo(1.0);
        }
        for (String extract : List.of(prefix + "ext-named-" + i, prefix + "ext-inline-" + i)) {
            assertThat(byId.get(extract).getLabels()).isNull();
            assertThat(byId.get(extract).getProbability()).isNull();
        }

        EnrichmentResult named = byId.get(prefix + "ext-named-" + i);
        assertThat(named.getFinishReason()).as("finish of %s", named.getRequestId()).isEqualTo("STOP");
        JsonNode ticket = JSON.readTree(named.getOutputText());
        assertThat(fieldNames(ticket)).containsExactly("order", "refund", "currency");
        assertThat(ticket.get("order").isTextual()).isTrue();
        String order = ticket.get("order").asText();
        assertThat(order.codePointCount(0, order.length())).isLessThanOrEqualTo(6);
        assertThat(ticket.get("refund").isBoolean()).isTrue();
        assertThat(ticket.get("currency").asText()).isIn("EUR", "USD", "GBP");

        JsonNode inline = JSON.readTree(byId.get(prefix + "ext-inline-" + i).getOutputText());
        assertThat(fieldNames(inline)).containsExactly("urgent", "tags");
        assertThat(inline.get("urgent").isBoolean()).isTrue();
        assertThat(inline.get("tags").isArray()).isTrue();
        assertThat(inline.get("tags").size()).isLessThanOrEqualTo(2);
        inline.get("tags").forEach(t -> assertThat(t.asText()).isIn("x", "y"));
    }

    private static Map<String, EnrichmentResult> byId(List<EnrichmentResult> results) {
        return results.stream().collect(Collectors.toMap(EnrichmentResult::getRequestId, Function.identity()));
    }

    /** The committed dead letters that carry a request id, by it. */
    private static Map<String, DeadLetter> deadLettersById(Scenario scenario) {
        return CLUSTER.readCommitted(scenario.deadLetterTopic(), WireCodec.deadLetters()).stream()
                .filter(d -> d.getRequestId() != null)
                .collect(Collectors.toMap(DeadLetter::getRequestId, Function.identity()));
    }

    @Test
    void classifyAndExtractGiveValidOutputsExactlyOnceAndIncompleteOnesDeadLetters() throws Exception {
        Scenario scenario = structuredScenario("gemma-structured");
        List<Expectation> inputs = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            inputs.addAll(ticketRequests("", i, null));
            String text = "Ticket " + i + ": order AB12" + i + " paid in EUR, please refund, it never arrived.";
            inputs.add(result(binary(request("cls-multi-" + i, "CLASSIFY").setText(text).setLabels(TOPIC_LABELS)
                    .setMaxLabels(2).build()), "cls-multi-" + i, null));
            inputs.add(result(json(request("cls-multi-conf-" + i, "CLASSIFY").setText(text).setMaxLabels(3)
                    .build()), "cls-multi-conf-" + i, null));
        }
        inputs.add(deadLetter(binary(request("cls-zero", "CLASSIFY").setText("x").setMaxLabels(0).build()),
                "cls-zero", ErrorCode.INVALID_PARAMETER));
        inputs.add(incompleteExtract("ext-short", null));
        inputs.add(deadLetter(binary(request("ext-keyword", "EXTRACT").setText("x").setOutputSchema(
                "{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\",\"multipleOf\":5}}}").build()),
                "ext-keyword", ErrorCode.INVALID_PARAMETER));
        inputs.add(deadLetter(binary(request("ext-unknown", "EXTRACT").setText("x").setOutputSchemaName("invoice")
                .build()), "ext-unknown", ErrorCode.INVALID_PARAMETER));
        inputs.add(deadLetter(binary(request("cls-no-text", "CLASSIFY").build()), "cls-no-text",
                ErrorCode.MISSING_TEXT));

        List<Sent> sent = RequestProducer.send(CLUSTER.bootstrapServers(), scenario.requestTopics(), inputs);
        PipelineRuns.runToCompletion(scenario, null);

        Map<String, EnrichmentResult> byId =
                byId(PipelineRuns.assertExactlyOneOutcomeEach(CLUSTER, scenario, sent, scenario.id()));
        for (int i = 0; i < 6; i++) {
            assertValidOutputs(byId, "", i);
            assertMultiLabel(byId.get("cls-multi-" + i), TOPIC_LABELS, 2);
            assertMultiLabel(byId.get("cls-multi-conf-" + i), CONFIGURED_LABELS, 3);
        }

        Map<String, DeadLetter> dead = deadLettersById(scenario);
        assertThat(dead.get("ext-short").getStage()).isEqualTo("ENRICH");
        assertThat(dead.get("ext-short").getReason()).contains("limit of 3 tokens");
        assertThat(dead.get("ext-keyword").getReason()).startsWith("outputSchema: ").contains("multipleOf");
        assertThat(dead.get("ext-unknown").getReason())
                .isEqualTo("outputSchemaName 'invoice' is not one of [ticket] (enrich.gemma.extract.schemas)");
        assertThat(dead.get("cls-zero").getReason()).isEqualTo("maxLabels must be at least 1, got 0");
    }

    /** The output is a JSON array of 1 to {@code max} distinct labels in the label set's order, as {@code labels}. */
    private static void assertMultiLabel(EnrichmentResult r, List<String> labelSet, int max) throws Exception {
        assertThat(r.getFinishReason()).isEqualTo("STOP");
        List<String> parsed = List.of(JSON.readValue(r.getOutputText().toString(), String[].class));
        assertThat(strings(r.getLabels())).as(r.getOutputText().toString()).isEqualTo(parsed);
        assertThat(parsed).isNotEmpty().hasSizeLessThanOrEqualTo(max).doesNotHaveDuplicates();
        assertThat(labelSet).containsAll(parsed);
        assertThat(parsed).isSortedAccordingTo(Comparator.comparingInt(labelSet::indexOf));
        assertThat(r.getProbability()).isNotNull().isGreaterThan(0.0).isLessThanOrEqualTo(1.0);
    }

    private static List<String> strings(List<? extends CharSequence> values) {
        return values == null ? null : values.stream().map(CharSequence::toString).toList();
    }

    /**
     * As {@code GemmaPipelineTest}'s failover: a task failure after a completed checkpoint, here at a moment when the
     * engine holds structured requests (asserted: the injector only fails while it does). Greedy and sampled requests,
     * the sampled ones with their own seed or the one derived from the request id, so that replay determinism covers
     * the constrained sampler, not only argmax. Whatever was committed before the failure or replayed after it, each
     * request has one outcome, and each output is what the engine alone produces for that request.
     */
    @Test
    void anInjectedFailureWithStructuredRequestsInFlightStillGivesOneOutcomeEachAndTheSameOutputs() throws Exception {
        Scenario scenario = structuredScenario("gemma-structured-failover");
        scenario.settings().put("flink.restart-strategy.type", "fixed-delay");
        scenario.settings().put("flink.restart-strategy.fixed-delay.attempts", "3");
        scenario.settings().put("flink.restart-strategy.fixed-delay.delay", "200 ms");
        int tickets = 6;
        List<Expectation> inputs = new ArrayList<>();
        for (int i = 0; i < tickets; i++) {
            inputs.addAll(ticketRequests("greedy-", i, null));
            inputs.addAll(ticketRequests("sampled-", i, sampled(i % 2 == 0 ? null : 1_000L + i)));
        }
        inputs.add(incompleteExtract("greedy-ext-short", null));
        inputs.add(incompleteExtract("sampled-ext-short", sampled(7L)));

        List<Sent> sent = RequestProducer.send(CLUSTER.bootstrapServers(), scenario.requestTopics(), inputs);
        String id = scenario.id();
        PipelineRuns.runToCompletion(scenario,
                new FailOnceAfterCheckpoint<>(id, 20, () -> GemmaScenarios.requestsInFlight(id) > 0));

        assertThat(FailOnceAfterCheckpoint.failed(id))
                .as("the failure was injected while the engine held structured requests").isTrue();
        assertThat(FailOnceAfterCheckpoint.highestAttempt(id)).as("attempt that read the replayed input")
                .isGreaterThanOrEqualTo(1);
        List<EnrichmentResult> results = PipelineRuns.assertExactlyOneOutcomeEach(CLUSTER, scenario, sent, id);
        Map<String, EnrichmentResult> byId = byId(results);
        for (int i = 0; i < tickets; i++) {
            assertValidOutputs(byId, "greedy-", i);
            assertValidOutputs(byId, "sampled-", i);
        }
        Map<String, DeadLetter> dead = deadLettersById(scenario);
        assertThat(dead.get("greedy-ext-short").getReason()).contains("limit of 3 tokens");
        assertThat(dead.get("sampled-ext-short").getReason()).contains("limit of 3 tokens");

        // Replayed requests produce what they would have produced without the failure: the engine alone's output.
        EngineReference.assertMatches(results, EngineReference.expected(scenario.settings(), sent));
        // And sampling is really exercised: some sampled outputs differ from their greedy twins.
        assertThat(results.stream().filter(r -> r.getRequestId().startsWith("sampled-"))
                .filter(r -> !r.getOutputText().equals(
                        byId.get(r.getRequestId().replace("sampled-", "greedy-")).getOutputText())))
                .as("sampled outputs unlike the greedy output of the same ticket").isNotEmpty();
    }

    private static List<String> fieldNames(JsonNode node) {
        assertThat(node.isObject()).as("an object: %s", node).isTrue();
        List<String> names = new ArrayList<>();
        for (Iterator<String> it = node.fieldNames(); it.hasNext();) {
            names.add(it.next());
        }
        return names;
    }
}
