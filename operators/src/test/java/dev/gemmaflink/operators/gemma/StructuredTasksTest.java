package dev.gemmaflink.operators.gemma;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.gemmaflink.operators.TestRequests;
import dev.gemmaflink.operators.enrich.EnricherContext;
import dev.gemmaflink.operators.enrich.EnrichmentException;
import dev.gemmaflink.operators.model.ValidatedRequest;
import dev.gemmaflink.runtime.constrain.Constraint;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointSpec;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointWriter;
import dev.gemmaflink.schemas.EnrichmentRequest;
import dev.gemmaflink.schemas.EnrichmentResult;
import dev.gemmaflink.schemas.ErrorCode;
import dev.gemmaflink.schemas.GenerationParameters;

/**
 * CLASSIFY and EXTRACT on a tiny random checkpoint with the real tokenizer: nothing but the constraint keeps the
 * output a label or valid JSON, so every assertion on the output's shape tests the constraint.
 */
class StructuredTasksTest {

    static final String ORDER_SCHEMA = "{\"type\":\"object\",\"properties\":{"
            + "\"order\":{\"type\":\"string\",\"maxLength\":6},"
            + "\"paid\":{\"type\":\"boolean\"},"
            + "\"currency\":{\"type\":\"string\",\"enum\":[\"EUR\",\"USD\"]}},"
            + "\"required\":[\"order\",\"paid\",\"currency\"],\"additionalProperties\":false}";
    static final String FLAG_SCHEMA = "{\"type\":\"object\",\"properties\":{\"urgent\":{\"type\":\"boolean\"},"
            + "\"team\":{\"enum\":[\"a\",\"b\"]}},\"required\":[\"urgent\",\"team\"],\"additionalProperties\":false}";
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path tmp;
    static GemmaEnricher enricher;
    static Path schemas;

    @BeforeAll
    static void open() throws Exception {
        Path modelDir = tmp.resolve("tiny-gemma");
        TinyCheckpointWriter.write(modelDir, TinyCheckpointSpec.builder().layers(2).seed(11).build());
        schemas = tmp.resolve("schemas.json");
        Files.writeString(schemas, "{\"order\": " + ORDER_SCHEMA + "}");
        Configuration conf = GemmaEnricherTest.config(Map.of(GemmaOptions.MODEL_DIR.key(), modelDir.toString(),
                GemmaOptions.MODEL_ID.key(), "tiny-structured",
                GemmaOptions.CLASSIFY_LABELS.key(), "billing;shipping;returns",
                GemmaOptions.EXTRACT_SCHEMAS.key(), schemas.toString(),
                GemmaOptions.MAX_NEW_TOKENS.key(), "96"));
        enricher = GemmaEnricher.fromConfig(conf);
        enricher.open(new EnricherContext(0, 1, 0, conf));
    }

    @AfterAll
    static void close() {
        if (enricher != null) {
            enricher.close();
        }
    }

    private static EnrichmentRequest.Builder request(String id, String task) {
        return TestRequests.summarize(id, "Order AB1234 of 12.50 EUR was paid, where is my parcel?").setTask(task);
    }

    private static EnrichmentResult run(EnrichmentRequest request) throws Exception {
        return enricher.enrich(ValidatedRequest.of(TestRequests.origin(new byte[] {1}), request))
                .get(120, TimeUnit.SECONDS);
    }

    private static EnrichmentException failure(EnrichmentRequest request) throws Exception {
        try {
            run(request);
        } catch (ExecutionException e) {
            assertThat(e.getCause()).isInstanceOf(EnrichmentException.class);
            return (EnrichmentException) e.getCause();
        }
        throw new AssertionError("expected a failure for " + request.getRequestId());
    }

    @Test
    void classifyOutputsExactlyOneOfTheRequestsOrTheConfiguredLabels() throws Exception {
        for (int i = 0; i < 4; i++) {
            EnrichmentResult own = run(request("c-own-" + i, "CLASSIFY")
                    .setLabels(List.of("positive", "negative", "neutral ground", "n/a")).build());
            assertThat(own.getOutputText()).isIn("positive", "negative", "neutral ground", "n/a");
            assertThat(own.getFinishReason()).isEqualTo("STOP");
            assertThat(own.getTask()).isEqualTo("CLASSIFY");
            assertThat(strings(own.getLabels())).containsExactly(own.getOutputText().toString());
            assertThat(own.getProbability()).isNotNull().isGreaterThan(0.0).isLessThanOrEqualTo(1.0);
            EnrichmentResult configured = run(request("c-conf-" + i, "CLASSIFY").build());
            assertThat(configured.getOutputText()).isIn("billing", "shipping", "returns");
            assertThat(strings(configured.getLabels())).containsExactly(configured.getOutputText().toString());
        }
    }

    @Test
    void multiLabelClassifyOutputsAJsonArrayAndItsLabels() throws Exception {
        List<String> labels = List.of("billing", "a, b", "say \"hi\"", "returns", "other");
        for (int i = 0; i < 6; i++) {
            EnrichmentResult r = run(request("c-multi-" + i, "CLASSIFY").setLabels(List.copyOf(labels))
                    .setMaxLabels(3).build());
            assertThat(r.getFinishReason()).isEqualTo("STOP");
            List<String> parsed = List.of(JSON.readValue(r.getOutputText().toString(), String[].class));
            assertThat(strings(r.getLabels())).isEqualTo(parsed);
            assertThat(parsed).isNotEmpty().hasSizeLessThanOrEqualTo(3).doesNotHaveDuplicates();
            assertThat(labels).containsAll(parsed);
            assertThat(parsed).isSortedAccordingTo(java.util.Comparator.comparingInt(labels::indexOf));
            assertThat(r.getProbability()).isNotNull().isGreaterThan(0.0).isLessThanOrEqualTo(1.0);
        }
        EnrichmentResult extract = run(request("x-no-labels", "EXTRACT").setOutputSchema(FLAG_SCHEMA).build());
        assertThat(extract.getLabels()).isNull();
        assertThat(extract.getProbability()).isNull();
        EnrichmentException zero = failure(request("c-zero", "CLASSIFY").setMaxLabels(0).build());
        assertThat(zero.code()).isEqualTo(ErrorCode.INVALID_PARAMETER);
        assertThat(zero.getMessage()).isEqualTo("maxLabels must be at least 1, got 0");
    }

    @Test
    void theConfiguredMaxLabelsAppliesToRequestsThatDoNotSay() {
        StructuredOutputs two = new StructuredOutputs(List.of("x", "y", "z"), 2, Map.of());
        assertThat(two.constraint(request("m1", "CLASSIFY").build()).orElseThrow())
                .isEqualTo(Constraint.choice(List.of("x", "y", "z"), 2));
        assertThat(two.constraint(request("m2", "CLASSIFY").setMaxLabels(1).build()).orElseThrow())
                .isEqualTo(Constraint.choice(List.of("x", "y", "z")));
        PromptTemplates templates = new PromptTemplates(null, null, null, null, null, two);
        assertThat(templates.instruction(request("m3", "CLASSIFY").build())).isEqualTo("Classify the following "
                + "text. Reply with a JSON array of 1 to 2 of these labels, in this order: x, y, z.");
        assertThatThrownBy(() -> new StructuredOutputs(List.of("x"), 0, Map.of()))
                .hasMessageContaining("enrich.gemma.classify.max-labels must be at least 1");
    }

    private static List<String> strings(List<? extends CharSequence> values) {
        return values == null ? null : values.stream().map(CharSequence::toString).toList();
    }

    @Test
    void extractOutputsJsonThatValidatesAgainstTheNamedOrTheRequestsSchema() throws Exception {
        for (int i = 0; i < 3; i++) {
            EnrichmentResult named = run(request("x-named-" + i, "EXTRACT").setOutputSchemaName("order").build());
            assertThat(named.getFinishReason()).isEqualTo("STOP");
            JsonNode order = JSON.readTree(named.getOutputText());
            assertThat(fieldNames(order)).containsExactly("order", "paid", "currency");
            assertThat(order.get("order").isTextual()).isTrue();
            assertThat(order.get("order").asText().codePointCount(0, order.get("order").asText().length()))
                    .isLessThanOrEqualTo(6);
            assertThat(order.get("paid").isBoolean()).isTrue();
            assertThat(order.get("currency").asText()).isIn("EUR", "USD");

            EnrichmentResult inline = run(request("x-inline-" + i, "EXTRACT").setOutputSchema(FLAG_SCHEMA).build());
            JsonNode flags = JSON.readTree(inline.getOutputText());
            assertThat(fieldNames(flags)).containsExactly("urgent", "team");
            assertThat(flags.get("urgent").isBoolean()).isTrue();
            assertThat(flags.get("team").asText()).isIn("a", "b");
        }
    }

    @Test
    void anOutputCutByItsTokenLimitIsOutputIncomplete() throws Exception {
        EnrichmentException e = failure(request("x-short", "EXTRACT").setOutputSchemaName("order")
                .setGeneration(GenerationParameters.newBuilder().setMaxNewTokens(2).build()).build());
        assertThat(e.code()).isEqualTo(ErrorCode.OUTPUT_INCOMPLETE);
        assertThat(e.getMessage()).contains("limit of 2 tokens");
    }

    @Test
    void badLabelsAndSchemasAreDeadLettersNamingTheProblem() throws Exception {
        EnrichmentException keyword = failure(request("x-format", "EXTRACT").setOutputSchema(
                "{\"type\":\"object\",\"properties\":{\"mail\":{\"type\":\"string\",\"format\":\"email\"}}}")
                .build());
        assertThat(keyword.code()).isEqualTo(ErrorCode.INVALID_PARAMETER);
        assertThat(keyword.getMessage()).startsWith("outputSchema: ").contains("format");

        EnrichmentException unknown = failure(request("x-unknown", "EXTRACT").setOutputSchemaName("invoice").build());
        assertThat(unknown.code()).isEqualTo(ErrorCode.INVALID_PARAMETER);
        assertThat(unknown.getMessage()).isEqualTo("outputSchemaName 'invoice' is not one of [order] "
                + "(enrich.gemma.extract.schemas)");

        EnrichmentException both = failure(request("x-both", "EXTRACT").setOutputSchemaName("order")
                .setOutputSchema(FLAG_SCHEMA).build());
        assertThat(both.code()).isEqualTo(ErrorCode.INVALID_PARAMETER);

        EnrichmentException none = failure(request("x-none", "EXTRACT").build());
        assertThat(none.code()).isEqualTo(ErrorCode.MISSING_FIELD);

        EnrichmentException duplicate = failure(request("c-dup", "CLASSIFY").setLabels(List.of("a", "a")).build());
        assertThat(duplicate.code()).isEqualTo(ErrorCode.INVALID_PARAMETER);
        assertThat(duplicate.getMessage()).isEqualTo("labels: duplicate choice label \"a\"");
    }

    @Test
    void classifyWithoutAnyLabelsIsMissingField() {
        StructuredOutputs none = StructuredOutputs.none();
        assertThatThrownBy(() -> none.constraint(request("c-none", "CLASSIFY").build()))
                .isInstanceOfSatisfying(EnrichmentException.class,
                        e -> assertThat(e.code()).isEqualTo(ErrorCode.MISSING_FIELD))
                .hasMessageContaining("enrich.gemma.classify.labels is not set");
        assertThat(none.constraint(request("s", "SUMMARIZE").build())).isEmpty();
    }

    @Test
    void aConfiguredSchemaWithAnUnsupportedKeywordFailsTheJobAtStartNamingIt() throws Exception {
        Path bad = tmp.resolve("bad.json");
        Files.writeString(bad, "{\"person\": {\"type\": \"object\", \"properties\": {\"age\": "
                + "{\"type\": \"integer\", \"minimum\": 0}}}}");
        assertThatThrownBy(() -> GemmaEnricher.fromConfig(GemmaEnricherTest.config(Map.of(
                GemmaOptions.EXTRACT_SCHEMAS.key(), bad.toString()))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("enrich.gemma.extract.schemas: schema 'person': ")
                .hasMessageContaining("minimum");
    }

    @Test
    void theInstructionComesFirstAndCarriesTheLabelsOrTheSchema() {
        PromptTemplates templates = new PromptTemplates(null, null, null, null, null,
                new StructuredOutputs(List.of("x", "y"), Map.of("order", ORDER_SCHEMA)));
        EnrichmentRequest classify = request("p1", "CLASSIFY").build();
        assertThat(templates.instruction(classify))
                .isEqualTo("Classify the following text. Reply with exactly one of these labels: x, y.");
        assertThat(templates.prompt(classify)).startsWith("<start_of_turn>user\n" + templates.instruction(classify));
        EnrichmentRequest extract = request("p2", "EXTRACT").setOutputSchemaName("order").build();
        assertThat(templates.instruction(extract)).contains(ORDER_SCHEMA);
    }

    private static List<String> fieldNames(JsonNode node) {
        assertThat(node.isObject()).as("an object: %s", node).isTrue();
        List<String> names = new java.util.ArrayList<>();
        for (Iterator<String> it = node.fieldNames(); it.hasNext();) {
            names.add(it.next());
        }
        return names;
    }
}
