package dev.gemmaflink.jobs.sql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;

import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.TableEnvironment;
import org.apache.flink.util.ExceptionUtils;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.gemmaflink.runtime.config.VisionConfig;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointSpec;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointWriter;
import dev.gemmaflink.runtime.weights.TensorNaming;

/**
 * A gemma model that cannot work is refused when the statement is planned, with a message naming what is wrong:
 * nothing runs, no engine loads. Planning only ({@code EXPLAIN}); no cluster.
 */
class GemmaModelPlanningTest {

    @TempDir
    static Path tmp;
    static Path textOnly;
    static Path multimodal;

    @BeforeAll
    static void writeCheckpoints() {
        textOnly = tmp.resolve("tiny-text");
        TinyCheckpointWriter.write(textOnly, TinyCheckpointSpec.builder().layers(1).seed(1).build());
        multimodal = tmp.resolve("tiny-mm");
        TinyCheckpointWriter.write(multimodal, TinyCheckpointSpec.builder().layers(1).seed(2).maxPositions(512)
                .scheme(TensorNaming.LANGUAGE_MODEL).vision(new VisionConfig(32, 64, 2, 2, 3, 56, 14, 1e-6))
                .mmTokensPerImage(4).imageTokenIds(6, 7, 262_144).build());
    }

    private static TableEnvironment env() {
        TableEnvironment t = TableEnvironment.create(EnvironmentSettings.inStreamingMode());
        t.executeSql("CREATE TEMPORARY VIEW docs AS SELECT * FROM (VALUES ('a text', CAST(NULL AS BYTES), 1)) "
                + "AS v(text, image, n)");
        return t;
    }

    private static String model(String input, String output, String options) {
        return "CREATE TEMPORARY MODEL m INPUT (" + input + ") OUTPUT (" + output + ") WITH ('provider' = 'gemma', "
                + options + ")";
    }

    private static String plan(TableEnvironment t, String descriptor) {
        return t.explainSql("SELECT * FROM ML_PREDICT(TABLE docs, MODEL m, DESCRIPTOR(" + descriptor + "))");
    }

    /** The planner's exception, with every message of its causes (ours is the innermost). */
    /** Asserts that the model plans: ML_PREDICT over it becomes the planner's predict function. */
    private static void assertPlans(String input, String output, String options, String descriptor) {
        TableEnvironment t = env();
        t.executeSql(model(input, output, options));
        assertThat(plan(t, descriptor)).contains("MLPredictTableFunction");
    }

    private static String planningError(String input, String output, String options, String descriptor) {
        TableEnvironment t = env();
        Throwable[] thrown = new Throwable[1];
        assertThatThrownBy(() -> {
            t.executeSql(model(input, output, options));
            plan(t, descriptor);
        }).satisfies(e -> thrown[0] = e);
        StringBuilder all = new StringBuilder();
        for (Throwable e = thrown[0]; e != null; e = e.getCause()) {
            all.append(e.getMessage()).append('\n');
        }
        return all.toString();
    }

    private String dir(Path p) {
        return "'model-dir' = '" + p + "'";
    }

    @Test
    void aValidModelPlansAnAsyncPrediction() {
        assertPlans("text STRING", "summary STRING, error_code STRING",
                "'task' = 'summarize', " + dir(textOnly), "text");
    }

    @Test
    void anUnknownOptionIsNamed() {
        assertThat(planningError("text STRING", "summary STRING, error_code STRING",
                "'task' = 'summarize', 'max-batchsize' = '8', " + dir(textOnly), "text"))
                .contains("Unsupported options", "max-batchsize", "max-batch");
    }

    @Test
    void aBadValueIsNamed() {
        assertThat(planningError("text STRING", "summary STRING, error_code STRING",
                "'task' = 'summarize', 'max-batch' = '-1', " + dir(textOnly), "text"))
                .contains("max-batch must be >= 0, got -1");
        // The tiny checkpoint's context is 4096 tokens: a longer cap is refused against its config.json.
        assertThat(planningError("text STRING", "summary STRING, error_code STRING",
                "'task' = 'summarize', 'max-sequence-length' = '8192', " + dir(textOnly), "text"))
                .contains("tiny-text': max-sequence-length 8192 exceeds the model's context of 4096 tokens");
        assertThat(planningError("text STRING", "summary STRING, error_code STRING",
                "'task' = 'summarise', " + dir(textOnly), "text"))
                .contains("'task' = 'summarise' is not one of [summarize, translate, caption, generate, classify, "
                        + "extract]");
        assertThat(planningError("text STRING", "label STRING, error_code STRING",
                "'task' = 'classify', " + dir(textOnly), "text"))
                .contains("'task' = 'classify' needs the option 'labels'");
        assertThat(planningError("text STRING", "json STRING, error_code STRING",
                "'task' = 'extract', " + dir(textOnly), "text"))
                .contains("'task' = 'extract' needs the option 'output-schema'");
        assertThat(planningError("text STRING", "json STRING, error_code STRING",
                "'task' = 'extract', 'output-schema' = '{\"type\": \"string\", \"format\": \"date\"}', "
                        + dir(textOnly), "text"))
                .contains("'output-schema': ", "format");
    }

    @Test
    void aMissingModelDirectoryIsNamed() {
        assertThat(planningError("text STRING", "summary STRING, error_code STRING",
                "'task' = 'summarize', " + dir(tmp.resolve("nowhere")), "text"))
                .contains("'model-dir' = '" + tmp.resolve("nowhere") + "' is not a folder", "check-model-dir");
        assertThat(planningError("text STRING", "summary STRING, error_code STRING", "'task' = 'summarize'", "text"))
                .contains("Missing required options", "model-dir");
    }

    @Test
    void aWrongInputColumnTypeIsNamed() {
        assertThat(planningError("text INT", "summary STRING, error_code STRING",
                "'task' = 'summarize', " + dir(textOnly), "n"))
                .contains("INPUT column 'text' (text) must be STRING (VARCHAR), got INT");
    }

    @Test
    void anImageColumnOnATextOnlyCheckpointIsRefused() {
        assertThat(planningError("image BYTES", "caption STRING, error_code STRING",
                "'task' = 'caption', " + dir(textOnly), "image"))
                .contains("reads text only", "no vision_config", "'task' = 'caption'");
        assertThat(planningError("text STRING, image BYTES", "answer STRING, error_code STRING",
                "'task' = 'generate', 'instruction' = 'Answer: {text}', " + dir(textOnly), "text, image"))
                .contains("reads text only", "INPUT column image");
        assertPlans("image BYTES", "caption STRING, error_code STRING",
                "'task' = 'caption', " + dir(multimodal), "image");
    }

    @Test
    void theDefaultErrorModeNeedsAnErrorCodeColumn() {
        assertThat(planningError("text STRING", "summary STRING",
                "'task' = 'summarize', " + dir(textOnly), "text"))
                .contains("add an OUTPUT column error_code STRING", "'error-handling' = 'fail'");
        assertPlans("text STRING", "summary STRING",
                "'task' = 'summarize', 'error-handling' = 'fail', " + dir(textOnly), "text");
    }

    @Test
    void schemaRolesAreChecked() {
        assertThat(planningError("text STRING", "summary STRING, prompt_tokens STRING, error_code STRING",
                "'task' = 'summarize', " + dir(textOnly), "text"))
                .contains("OUTPUT column 'prompt_tokens' must be INT or BIGINT, got STRING");
        assertThat(planningError("text STRING", "a STRING, b STRING, error_code STRING",
                "'task' = 'summarize', " + dir(textOnly), "text"))
                .contains("OUTPUT columns 'a' and 'b' both look like the generated text");
        assertThat(planningError("text STRING", "translated STRING, error_code STRING",
                "'task' = 'translate', " + dir(textOnly), "text"))
                .contains("'target-language'", "target_language STRING");
        assertThat(planningError("text STRING", "answer STRING, error_code STRING",
                "'task' = 'generate', " + dir(textOnly), "text"))
                .contains("'task' = 'generate' needs the option 'instruction'");
    }

    @Test
    void aRequestTimeoutAtOrAboveFlinksAsyncTimeoutIsRefused() {
        assertThat(planningError("text STRING", "summary STRING, error_code STRING",
                "'task' = 'summarize', 'request-timeout' = '5 min', " + dir(textOnly), "text"))
                .contains("'request-timeout' = PT5M is not below ML_PREDICT's timeout PT3M");
    }

    static String root(Throwable t) {
        return ExceptionUtils.stringifyException(t);
    }
}
