package dev.gemmaflink.operators.sql;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.description.HtmlFormatter;

import dev.gemmaflink.operators.gemma.GemmaOptions;
import dev.gemmaflink.runtime.engine.EngineConfig;
import dev.gemmaflink.runtime.generate.GenerationParams;

/**
 * The {@code WITH} options of a {@code CREATE MODEL ... WITH ('provider' = 'gemma', ...)}.
 *
 * <p>Engine and generation settings are the DataStream job's {@code enrich.gemma.*} options under their short names
 * ({@code enrich.gemma.max-batch} is {@code 'max-batch'}): the same defaults, the same descriptions and, through
 * {@link GemmaOptions#engineConfig}, the same {@link EngineConfig}, so a SQL model and a DataStream job with equal
 * settings on one TaskManager lease the same shared engine. The prompt templates of the job
 * ({@code enrich.gemma.template.*}) become one {@link #INSTRUCTION} here, since a model has one task. The rest is
 * what only SQL needs: the task, the target language, sampling, the error mode, the row timeout.
 */
public final class GemmaModelOptions {

    private GemmaModelOptions() {
    }

    /** Prefix of the DataStream job's options that the SQL keys drop. */
    static final String JOB_PREFIX = "enrich.gemma.";

    /** What a row asks of the model. */
    public enum Task {
        SUMMARIZE, TRANSLATE, CAPTION, GENERATE, CLASSIFY, EXTRACT;

        /** The spelling in {@code 'task'}. */
        public String spelling() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** @throws IllegalArgumentException naming the option and the accepted values */
        static Task parse(String value) {
            String v = value == null ? "" : value.trim().toUpperCase(Locale.ROOT);
            for (Task t : values()) {
                if (t.name().equals(v)) {
                    return t;
                }
            }
            throw new IllegalArgumentException("'" + TASK.key() + "' = '" + value + "' is not one of "
                    + Arrays.stream(values()).map(Task::spelling).toList());
        }
    }

    /** What a row that the model cannot serve becomes. */
    public enum ErrorHandling {
        /** The row is emitted with its error code and reason in the output columns (and no text). */
        OUTPUT,
        /** The job fails (and restarts as its restart strategy says). */
        FAIL;

        static ErrorHandling parse(String value) {
            String v = value == null ? "" : value.trim().toUpperCase(Locale.ROOT);
            for (ErrorHandling e : values()) {
                if (e.name().equals(v)) {
                    return e;
                }
            }
            throw new IllegalArgumentException("'" + ERROR_HANDLING.key() + "' = '" + value
                    + "' is not one of [output, fail]");
        }
    }

    public static final ConfigOption<String> TASK = ConfigOptions.key("task").stringType().noDefaultValue()
            .withDescription("Required. What each row asks: summarize, translate, caption (an image), generate (the "
                    + "instruction is the whole prompt; {text} in it is replaced by the row's text, else the text "
                    + "follows it), classify (one of 'labels') or extract (JSON valid against 'output-schema').");

    /** {@code enrich.gemma.model-dir}, required here. */
    public static final ConfigOption<String> MODEL_DIR = ConfigOptions.key(shortKey(GemmaOptions.MODEL_DIR))
            .stringType().noDefaultValue()
            .withDescription("Required. Gemma 3 checkpoint folder (config.json, safetensors, tokenizer.json) as seen "
                    + "by the TaskManagers; with check-model-dir also read where the statement is planned.");

    public static final ConfigOption<String> INSTRUCTION = ConfigOptions.key("instruction").stringType()
            .noDefaultValue()
            .withDescription("The instruction put before the row's text. Default: the task's built-in one (the "
                    + "DataStream job's templates: summarize {length}{style} are empty here, translate fills "
                    + "{language}, caption {instruction} with the row's text). Required for generate.");

    public static final ConfigOption<String> LABELS = ConfigOptions.key("labels").stringType().noDefaultValue()
            .withDescription("Required for classify: the labels, separated by ';'. The output is exactly one of them, "
                    + "or up to 'max-labels' of them (decoding is constrained to the set).");

    public static final ConfigOption<Integer> MAX_LABELS = ConfigOptions.key("max-labels").intType().defaultValue(1)
            .withDescription("classify: the most labels of one output. 1: exactly one label; above 1: a JSON array "
                    + "of 1 to N distinct labels in the order of 'labels', e.g. [\"billing\", \"returns\"]. OUTPUT "
                    + "columns labels ARRAY<STRING> and probability DOUBLE, where declared, receive the chosen labels "
                    + "and their probability.");

    public static final ConfigOption<String> OUTPUT_SCHEMA = ConfigOptions.key("output-schema").stringType()
            .noDefaultValue()
            .withDescription("Required for extract: the JSON Schema (the engine's supported subset) the output "
                    + "validates against; decoding is constrained to it. An unsupported keyword fails the statement "
                    + "naming it. A row whose output reaches max-new-tokens before the JSON closes is an "
                    + "OUTPUT_INCOMPLETE row.");

    public static final ConfigOption<String> TARGET_LANGUAGE = ConfigOptions.key("target-language").stringType()
            .noDefaultValue()
            .withDescription("BCP-47 tag of translate's output language, e.g. fr or pt-BR, for rows without a "
                    + "target_language INPUT column (or with NULL there).");

    public static final ConfigOption<Integer> TOP_K = ConfigOptions.key("top-k").intType()
            .defaultValue(GenerationParams.defaults().topK())
            .withDescription("Sampling: only the k most likely tokens (0 = all); unused at temperature 0.");

    public static final ConfigOption<Double> TOP_P = ConfigOptions.key("top-p").doubleType()
            .defaultValue(GenerationParams.defaults().topP())
            .withDescription("Sampling: nucleus probability mass, in (0, 1]; unused at temperature 0.");

    public static final ConfigOption<String> ERROR_HANDLING = ConfigOptions.key("error-handling").stringType()
            .defaultValue("output")
            .withDescription("output: a row the model cannot serve (bad image, prompt too long, timeout, missing "
                    + "text, ...) is emitted with NULL text and its error code and reason in the error_code / "
                    + "error_message OUTPUT columns (error_code is then required); fail: such a row fails the job.");

    public static final ConfigOption<Duration> REQUEST_TIMEOUT = ConfigOptions.key("request-timeout").durationType()
            .noDefaultValue()
            .withDescription("Time a row may take in the engine (queue retries included) before it ends with "
                    + "TIMEOUT. Default: 90% of ML_PREDICT's timeout ('timeout' in its config map, else "
                    + "table.exec.async-ml-predict.timeout, 3 min), so the row times out in the engine, not in "
                    + "Flink's async operator (which would fail the job). Must stay below that timeout.");

    public static final ConfigOption<Boolean> CHECK_MODEL_DIR = ConfigOptions.key("check-model-dir").booleanType()
            .defaultValue(true)
            .withDescription("Read the checkpoint's config.json where the statement is planned, to refuse a missing "
                    + "folder and image input on a text-only checkpoint there. Turn off when the folder exists only "
                    + "on the TaskManagers (SQL Gateway, remote clusters); they check it when the task starts.");

    /** Descriptions that speak of a request's own settings, which SQL rows do not have. */
    private static final Map<String, String> SQL_DESCRIPTIONS = Map.of(
            "max-new-tokens", "Output token limit of each row.",
            "temperature", "Sampling temperature; 0 is greedy, so a replayed row gives the same output (sampled "
                    + "rows take a seed from their prompt).");

    /** The engine and generation options shared with the DataStream job, SQL key to job option. */
    static final Map<ConfigOption<?>, ConfigOption<?>> SHARED = shared();

    /** Every option of the provider, in documentation order. */
    public static final List<ConfigOption<?>> ALL = all();

    /** Options a {@code CREATE MODEL} must set. */
    static final List<ConfigOption<?>> REQUIRED = List.of(TASK, MODEL_DIR);

    /** The SQL key of a job option: its key without {@value #JOB_PREFIX}. */
    static String shortKey(ConfigOption<?> jobOption) {
        String key = jobOption.key();
        if (!key.startsWith(JOB_PREFIX)) {
            throw new IllegalArgumentException(key + " is not an " + JOB_PREFIX + "* option");
        }
        return key.substring(JOB_PREFIX.length());
    }

    private static Map<ConfigOption<?>, ConfigOption<?>> shared() {
        Map<ConfigOption<?>, ConfigOption<?>> out = new LinkedHashMap<>();
        out.put(MODEL_DIR, GemmaOptions.MODEL_DIR);
        for (ConfigOption<?> job : GemmaOptions.ALL) {
            String key = shortKey(job);
            if (job == GemmaOptions.MODEL_DIR || key.startsWith("template.") || key.startsWith("classify.")
                    || key.startsWith("extract.")) {
                continue; // required here; the templates are INSTRUCTION; labels and schemas are per model
            }
            out.put(renamed(job, key), job);
        }
        return Collections.unmodifiableMap(out);
    }

    private static List<ConfigOption<?>> all() {
        List<ConfigOption<?>> out = new ArrayList<>();
        out.add(TASK);
        out.addAll(SHARED.keySet());
        out.addAll(List.of(INSTRUCTION, LABELS, MAX_LABELS, OUTPUT_SCHEMA, TARGET_LANGUAGE, TOP_K, TOP_P, ERROR_HANDLING, REQUEST_TIMEOUT,
                CHECK_MODEL_DIR));
        return List.copyOf(out);
    }

    /** The job option under its SQL key: same type, default and description (job keys in it shortened too). */
    private static ConfigOption<?> renamed(ConfigOption<?> job, String key) {
        String description = SQL_DESCRIPTIONS.containsKey(key) ? SQL_DESCRIPTIONS.get(key)
                : new HtmlFormatter().format(job.description()).replace(JOB_PREFIX, "")
                .replace("Flink's async retry", "the provider").replace("enrich.async-timeout", "request-timeout")
                .replace("TIMEOUT dead letter", "TIMEOUT row");
        ConfigOptions.OptionBuilder b = ConfigOptions.key(key);
        Object d = job.defaultValue();
        if (d instanceof String s) {
            return b.stringType().defaultValue(s).withDescription(description);
        } else if (d instanceof Integer i) {
            return b.intType().defaultValue(i).withDescription(description);
        } else if (d instanceof Long l) {
            return b.longType().defaultValue(l).withDescription(description);
        } else if (d instanceof Double x) {
            return b.doubleType().defaultValue(x).withDescription(description);
        } else if (d instanceof Boolean x) {
            return b.booleanType().defaultValue(x).withDescription(description);
        }
        throw new IllegalStateException("option " + job.key() + " has a default of an unexpected type: " + d);
    }

    /** The SQL option of a shared job option. */
    @SuppressWarnings("unchecked")
    static <T> ConfigOption<T> sqlOption(ConfigOption<T> job) {
        return (ConfigOption<T>) SHARED.entrySet().stream().filter(e -> e.getValue() == job).findFirst()
                .map(Map.Entry::getKey).orElseThrow(() -> new IllegalArgumentException(job.key()
                        + " has no SQL option"));
    }

    /**
     * The model's options under the job's keys ({@code max-batch} as {@code enrich.gemma.max-batch}), for
     * {@link GemmaOptions#engineConfig} and the job's other readers; options that are not shared are left out.
     *
     * @param modelOptions the {@code WITH} options as written
     */
    static Configuration asJobConfig(Map<String, String> modelOptions) {
        Configuration job = new Configuration();
        for (Map.Entry<ConfigOption<?>, ConfigOption<?>> e : SHARED.entrySet()) {
            String value = modelOptions.get(e.getKey().key());
            if (value != null) {
                job.setString(e.getValue().key(), value);
            }
        }
        return job;
    }

    /**
     * The engine configuration of a model, on {@code cpu} (the device is chosen per subtask when it opens).
     *
     * @throws IllegalArgumentException naming the SQL option that is wrong
     */
    static EngineConfig engineConfig(Map<String, String> modelOptions) {
        try {
            return GemmaOptions.engineConfig(asJobConfig(modelOptions));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(e.getMessage().replace(JOB_PREFIX, ""), e);
        }
    }

    /** The options as a Markdown table (README): key, default, meaning. */
    public static String markdownTable() {
        return ALL.stream().map(o -> String.format("| `%s` | %s | %s |", o.key(),
                        o.hasDefaultValue() ? "`" + formatDefault(o.defaultValue()) + "`" : "(none)",
                        new HtmlFormatter().format(o.description()).replace("|", "\\|")))
                .collect(Collectors.joining("\n", "| option | default | meaning |\n|---|---|---|\n", "\n"));
    }

    private static String formatDefault(Object value) {
        return value instanceof String s && s.isEmpty() ? "\"\"" : String.valueOf(value);
    }
}
