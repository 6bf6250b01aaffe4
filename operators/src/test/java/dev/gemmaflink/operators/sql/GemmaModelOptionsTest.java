package dev.gemmaflink.operators.sql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.Map;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;

import dev.gemmaflink.operators.gemma.GemmaOptions;

/** The SQL options are the DataStream job's gemma options under short keys: one configuration, one engine key. */
class GemmaModelOptionsTest {

    @Test
    void everyEngineOptionOfTheJobHasItsSqlKeyWithTheSameDefault() {
        for (ConfigOption<?> job : GemmaOptions.ALL) {
            String key = job.key().substring("enrich.gemma.".length());
            if (key.startsWith("template.") || key.startsWith("classify.") || key.startsWith("extract.")) {
                continue; // SQL: 'instruction', and per model 'labels' and 'output-schema'
            }
            ConfigOption<?> sql = GemmaModelOptions.ALL.stream().filter(o -> o.key().equals(key)).findFirst()
                    .orElseThrow(() -> new AssertionError("no SQL option " + key));
            if (job != GemmaOptions.MODEL_DIR) {
                assertThat(sql.defaultValue()).as(key).isEqualTo(job.defaultValue());
            }
            assertThat(GemmaModelOptions.markdownTable()).contains("| `" + key + "` |");
        }
        assertThat(GemmaModelOptions.ALL).extracting(ConfigOption::key).doesNotHaveDuplicates()
                .contains("task", "instruction", "labels", "output-schema", "target-language", "top-k", "top-p", "error-handling",
                        "request-timeout", "check-model-dir");
        assertThat(GemmaModelOptions.sqlOption(GemmaOptions.MAX_BATCH).key()).isEqualTo("max-batch");
    }

    @Test
    void equalSettingsGiveTheDataStreamJobsEngineConfigSoBothLeaseOneEngine() {
        Map<String, String> job = new LinkedHashMap<>();
        job.put("enrich.gemma.model-dir", "/models/m");
        job.put("enrich.gemma.precision", "FLOAT32");
        job.put("enrich.gemma.max-batch", "12");
        job.put("enrich.gemma.kv-cache-bytes", "1048576");
        job.put("enrich.gemma.model-id", "m");
        job.put("enrich.gemma.max-image-views-per-step", "5");
        Map<String, String> sql = new LinkedHashMap<>();
        job.forEach((k, v) -> sql.put(k.substring("enrich.gemma.".length()), v));
        sql.put("task", "summarize");
        assertThat(GemmaModelOptions.engineConfig(sql)).isEqualTo(GemmaOptions.engineConfig(Configuration.fromMap(job)));
        assertThat(GemmaModelOptions.engineConfig(sql).maxImageViewsPerStep()).isEqualTo(5);
    }

    @Test
    void anEngineSettingOutOfRangeNamesTheSqlOption() {
        assertThatThrownBy(() -> GemmaModelOptions.engineConfig(Map.of("kv-cache-fraction", "1.5")))
                .hasMessageContaining("kv-cache-fraction").hasMessageNotContaining("enrich.gemma.");
        assertThatThrownBy(() -> GemmaModelOptions.engineConfig(Map.of("precision", "fp8")))
                .hasMessageStartingWith("precision:");
        assertThatThrownBy(() -> GemmaModelOptions.engineConfig(Map.of("max-image-views-per-step", "0")))
                .hasMessage("max-image-views-per-step must be > 0, got 0");
    }

    @Test
    void generatePromptsPutTheTextWhereTheInstructionSays() {
        assertThat(GemmaRowModel.generatePrompt("Answer briefly: {text}", "why?"))
                .contains("Answer briefly: why?").doesNotContain("{text}");
        assertThat(GemmaRowModel.generatePrompt("Answer briefly.", "why?"))
                .contains("Answer briefly.\n\nwhy?");
    }
}
