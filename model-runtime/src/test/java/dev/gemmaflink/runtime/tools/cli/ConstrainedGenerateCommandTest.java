package dev.gemmaflink.runtime.tools.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code gemma generate --json-schema FILE / --choice a,b,c --seed N} on a tiny random checkpoint with the real
 * tokenizer: the output alone on stdout (it parses and validates, or is one of the labels), the figures on stderr,
 * the same seed giving the same output, an unsupported keyword refused before the model loads.
 */
class ConstrainedGenerateCommandTest {

    private static final String SCHEMA = """
            {"type": "object", "properties": {
               "order": {"type": "string", "pattern": "[A-Z]{2}[0-9]{4}"},
               "amount": {"type": "number"},
               "currency": {"enum": ["EUR", "USD", "GBP"]},
               "note": {"type": ["string", "null"], "maxLength": 12}},
             "required": ["order", "amount", "currency"], "additionalProperties": false}""";

    @TempDir
    static Path tmp;
    static String model;
    static Path schema;

    private record Run(int exit, String out, String err) {
    }

    private static Run run(String... args) {
        CommandLine cl = GemmaCli.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    @BeforeAll
    static void checkpoint() throws Exception {
        model = tmp.resolve("tiny-real").toString();
        Run made = run("make-tiny", "--out", model, "--real-tokenizer", "--layers", "1", "--hidden", "32",
                "--heads", "2", "--kv-heads", "1", "--head-dim", "16", "--intermediate", "64", "--seed", "3");
        assertThat(made.exit()).as(made.err()).isZero();
        schema = tmp.resolve("order.schema.json");
        Files.writeString(schema, SCHEMA);
    }

    @Test
    void jsonSchemaOutputAloneOnStdoutAndValid() throws Exception {
        String[] args = {"generate", "--model", model, "--prompt", "Extract the order: AB1234, 12.50 EUR",
                "--json-schema", schema.toString(), "--seed", "42", "--max-new-tokens", "200", "--threads", "1",
                "--precision", "f32"};
        Run r = run(args);
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode value = new ObjectMapper().readTree(r.out()); // nothing else on stdout
        assertThat(r.out().strip().lines().count()).isEqualTo(1);
        assertThat(SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12).getSchema(SCHEMA)
                .validate(value)).as(r.out()).isEmpty();
        assertThat(r.err()).contains("generated tokens:").contains("finish: STOP");
        assertThat(run(args).out()).isEqualTo(r.out()); // seeded
    }

    @Test
    void choiceOutputIsOneLabel() {
        // each run loads the 33 MB tokenizer: one run here, the engine tests draw many labels
        Run r = run("generate", "--model", model, "--prompt", "Sentiment of: great!", "--choice",
                "positive,negative,neutral", "--seed", "1", "--threads", "1");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).isIn("positive\n", "negative\n", "neutral\n");
        assertThat(r.err()).contains("finish: STOP").containsPattern("probability: [0-9.e-]+ \\(log -?[0-9.]+\\)");
    }

    @Test
    void maxLabelsPrintsAJsonArrayOfDistinctLabelsInOrder() throws Exception {
        List<String> labels = List.of("billing", "returns", "shipping", "other");
        Run r = run("generate", "--model", model, "--prompt", "Topics of: refund my order", "--choice",
                String.join(",", labels), "--max-labels", "2", "--seed", "3", "--threads", "1");
        assertThat(r.exit()).as(r.err()).isZero();
        String[] chosen = new ObjectMapper().readValue(r.out().strip(), String[].class);
        assertThat(chosen).hasSizeBetween(1, 2).doesNotHaveDuplicates();
        assertThat(labels).containsAll(List.of(chosen));
        if (chosen.length == 2) {
            assertThat(labels.indexOf(chosen[0])).isLessThan(labels.indexOf(chosen[1]));
        }
        assertThat(r.err()).contains("probability: ");
        Run alone = run("generate", "--model", tmp.resolve("nowhere").toString(), "--prompt", "x", "--regex", "a",
                "--max-labels", "2");
        assertThat(alone.exit()).isEqualTo(2);
        assertThat(alone.err()).contains("--max-labels goes with --choice");
    }

    @Test
    void incompleteOutputExitsThree() {
        Run r = run("generate", "--model", model, "--prompt", "x", "--json-schema", schema.toString(), "--seed", "1",
                "--max-new-tokens", "3", "--threads", "1");
        assertThat(r.exit()).isEqualTo(GenerateCommand.EXIT_INCOMPLETE);
        assertThat(r.err()).contains("incomplete").contains("--max-new-tokens 3");
    }

    @Test
    void unsupportedKeywordIsNamedBeforeTheModelLoads() throws Exception {
        Path bad = tmp.resolve("bad.json");
        Files.writeString(bad, "{\"type\":\"object\",\"properties\":{\"age\":{\"type\":\"integer\",\"minimum\":0}}}");
        Run r = run("generate", "--model", tmp.resolve("nowhere").toString(), "--prompt", "x", "--json-schema",
                bad.toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("unsupported JSON Schema keyword 'minimum'").contains("/properties/age/minimum");
        Run both = run("generate", "--model", model, "--prompt", "x", "--choice", "a,b", "--regex", "a");
        assertThat(both.exit()).isEqualTo(2);
        assertThat(both.err()).contains("at most one of");
    }
}
