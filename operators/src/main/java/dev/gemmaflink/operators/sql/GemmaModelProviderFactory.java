package dev.gemmaflink.operators.sql;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.catalog.ResolvedCatalogModel;
import org.apache.flink.table.factories.FactoryUtil;
import org.apache.flink.table.factories.ModelProviderFactory;
import org.apache.flink.table.ml.ModelProvider;

import dev.gemmaflink.operators.gemma.DevicePolicy;
import dev.gemmaflink.operators.gemma.GemmaOptions;
import dev.gemmaflink.operators.gemma.PromptTemplates;
import dev.gemmaflink.operators.gemma.StructuredOutputs;
import dev.gemmaflink.operators.sql.GemmaModelOptions.ErrorHandling;
import dev.gemmaflink.operators.sql.GemmaModelOptions.Task;
import dev.gemmaflink.runtime.config.GemmaConfig;
import dev.gemmaflink.runtime.engine.EngineConfig;
import dev.gemmaflink.runtime.generate.GenerationParams;

/**
 * The {@code gemma} model provider of Flink SQL: {@code CREATE MODEL m INPUT (...) OUTPUT (...) WITH ('provider' =
 * 'gemma', 'task' = 'summarize', 'model-dir' = '...')}, then {@code ML_PREDICT(TABLE t, MODEL m, DESCRIPTOR(...))}.
 * Registered through {@code META-INF/services/org.apache.flink.table.factories.Factory}.
 *
 * <p>Everything that can be checked without running is checked here, when the statement is planned: unknown
 * options and values that do not parse ({@link FactoryUtil}), the engine settings ({@link GemmaOptions#engineConfig},
 * the DataStream job's own check), the sampling parameters, the INPUT and OUTPUT schemas ({@link ModelSchema}) and,
 * unless {@code 'check-model-dir' = 'false'}, the checkpoint folder: present, a Gemma 3 {@code config.json}, and
 * multimodal when the model takes images. Each failure is a {@link ValidationException} naming the option or column.
 */
public final class GemmaModelProviderFactory implements ModelProviderFactory {

    /** The {@code 'provider'} value. */
    public static final String IDENTIFIER = "gemma";

    @Override
    public String factoryIdentifier() {
        return IDENTIFIER;
    }

    @Override
    public Set<ConfigOption<?>> requiredOptions() {
        return new LinkedHashSet<>(GemmaModelOptions.REQUIRED);
    }

    @Override
    public Set<ConfigOption<?>> optionalOptions() {
        Set<ConfigOption<?>> out = new LinkedHashSet<>(GemmaModelOptions.ALL);
        out.removeAll(GemmaModelOptions.REQUIRED);
        return out;
    }

    @Override
    public ModelProvider createModelProvider(Context context) {
        FactoryUtil.ModelProviderFactoryHelper helper = FactoryUtil.createModelProviderFactoryHelper(this, context);
        helper.validate();
        ReadableConfig options = helper.getOptions();
        ResolvedCatalogModel model = context.getCatalogModel();
        String name = context.getObjectIdentifier().asSummaryString();
        try {
            GemmaModelSpec spec = spec(name, model.getOptions(), options, model);
            Duration sessionTimeout = context.getConfiguration().get(GemmaModelProvider.SESSION_ASYNC_TIMEOUT);
            return new GemmaModelProvider(spec, sessionTimeout);
        } catch (IllegalArgumentException e) {
            throw new ValidationException("gemma model " + name + ": " + e.getMessage(), e);
        } catch (ValidationException e) {
            throw new ValidationException("gemma model " + name + ": " + e.getMessage(), e);
        }
    }

    private static GemmaModelSpec spec(String name, Map<String, String> raw, ReadableConfig options,
            ResolvedCatalogModel model) {
        Task task = Task.parse(options.get(GemmaModelOptions.TASK));
        ErrorHandling errors = ErrorHandling.parse(options.get(GemmaModelOptions.ERROR_HANDLING));
        String modelDir = options.get(GemmaModelOptions.MODEL_DIR);
        if (modelDir.isBlank()) {
            throw new IllegalArgumentException("'" + GemmaModelOptions.MODEL_DIR.key() + "' is blank");
        }
        EngineConfig engineConfig = GemmaModelOptions.engineConfig(raw);
        ReadableConfig job = GemmaModelOptions.asJobConfig(raw);
        DevicePolicy devicePolicy;
        try {
            devicePolicy = DevicePolicy.parse(job.get(GemmaOptions.DEVICE_POLICY));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(e.getMessage().replace(GemmaModelOptions.JOB_PREFIX, ""), e);
        }
        GenerationParams params;
        try {
            params = GenerationParams.builder().maxNewTokens(job.get(GemmaOptions.MAX_NEW_TOKENS))
                    .temperature(job.get(GemmaOptions.TEMPERATURE)).topK(options.get(GemmaModelOptions.TOP_K))
                    .topP(options.get(GemmaModelOptions.TOP_P)).build();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("generation options (max-new-tokens, temperature, top-k, top-p): "
                    + e.getMessage(), e);
        }
        String instruction = options.getOptional(GemmaModelOptions.INSTRUCTION).orElse(null);
        if (task == Task.GENERATE && (instruction == null || instruction.isBlank())) {
            throw new IllegalArgumentException("'task' = 'generate' needs the option '"
                    + GemmaModelOptions.INSTRUCTION.key() + "' (the prompt; {text} marks where the row's text goes)");
        }
        String targetLanguage = options.getOptional(GemmaModelOptions.TARGET_LANGUAGE).orElse(null);
        if (targetLanguage != null) {
            try {
                new java.util.Locale.Builder().setLanguageTag(targetLanguage.trim()).build();
            } catch (java.util.IllformedLocaleException e) {
                throw new IllegalArgumentException("'" + GemmaModelOptions.TARGET_LANGUAGE.key() + "' = '"
                        + targetLanguage + "' is not a well-formed BCP-47 tag: " + e.getMessage(), e);
            }
        }
        Duration requestTimeout = options.getOptional(GemmaModelOptions.REQUEST_TIMEOUT).orElse(null);
        if (requestTimeout != null && (requestTimeout.isNegative() || requestTimeout.isZero())) {
            throw new IllegalArgumentException("'" + GemmaModelOptions.REQUEST_TIMEOUT.key() + "' must be positive, "
                    + "got " + requestTimeout);
        }
        ModelSchema schema = ModelSchema.resolve(model.getResolvedInputSchema(), model.getResolvedOutputSchema(),
                task, errors, targetLanguage != null);
        if (options.get(GemmaModelOptions.CHECK_MODEL_DIR)) {
            checkCheckpoint(Path.of(modelDir), task, schema, engineConfig);
        }
        PromptTemplates templates = new PromptTemplates(task == Task.SUMMARIZE ? instruction : null,
                task == Task.TRANSLATE ? instruction : null, task == Task.CAPTION ? instruction : null,
                task == Task.CLASSIFY ? instruction : null, task == Task.EXTRACT ? instruction : null,
                structuredOutputs(task, options));
        return new GemmaModelSpec(name, modelDir, devicePolicy, engineConfig, task, templates,
                task == Task.GENERATE ? instruction : null, targetLanguage, params.maxNewTokens(),
                params.temperature(), params.topK(), params.topP(), errors, requestTimeout, schema);
    }

    /**
     * classify's labels and label count and extract's schema, checked where the statement is planned (an unsupported schema keyword
     * fails it naming the keyword). The schema is the one named {@link GemmaRowModel#OUTPUT_SCHEMA_NAME}.
     */
    private static StructuredOutputs structuredOutputs(Task task, ReadableConfig options) {
        String labels = options.getOptional(GemmaModelOptions.LABELS).orElse(null);
        String schema = options.getOptional(GemmaModelOptions.OUTPUT_SCHEMA).orElse(null);
        if (task == Task.CLASSIFY && (labels == null || labels.isBlank())) {
            throw new IllegalArgumentException("'task' = 'classify' needs the option '"
                    + GemmaModelOptions.LABELS.key() + "' (the labels, separated by ';')");
        }
        if (task == Task.EXTRACT && (schema == null || schema.isBlank())) {
            throw new IllegalArgumentException("'task' = 'extract' needs the option '"
                    + GemmaModelOptions.OUTPUT_SCHEMA.key() + "' (a JSON Schema)");
        }
        List<String> labelList = task != Task.CLASSIFY ? List.of()
                : Arrays.stream(labels.split(";")).map(String::strip).filter(l -> !l.isEmpty()).toList();
        int maxLabels = options.get(GemmaModelOptions.MAX_LABELS);
        if (maxLabels < 1) {
            throw new IllegalArgumentException("'" + GemmaModelOptions.MAX_LABELS.key() + "' must be at least 1, got "
                    + maxLabels);
        }
        try {
            return new StructuredOutputs(labelList, maxLabels,
                    task == Task.EXTRACT ? Map.of(GemmaRowModel.OUTPUT_SCHEMA_NAME, schema) : Map.of());
        } catch (IllegalArgumentException e) {
            // The engine's message names the unsupported keyword or the bad label.
            throw new IllegalArgumentException("'" + (task == Task.EXTRACT ? GemmaModelOptions.OUTPUT_SCHEMA.key()
                    : GemmaModelOptions.LABELS.key()) + "': "
                    + (e.getCause() != null ? e.getCause().getMessage() : e.getMessage()), e);
        }
    }

    /**
     * The checkpoint as the planner's machine sees it: a Gemma 3 config.json, multimodal for image input, with a
     * context at least 'max-sequence-length'.
     */
    private static void checkCheckpoint(Path dir, Task task, ModelSchema schema, EngineConfig engineConfig) {
        String hint = " (where the statement is planned; set 'check-model-dir' = 'false' if the folder exists only "
                + "on the TaskManagers)";
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("'model-dir' = '" + dir + "' is not a folder" + hint);
        }
        if (!Files.isRegularFile(dir.resolve("config.json"))) {
            throw new IllegalArgumentException("'model-dir' = '" + dir + "' holds no config.json: not a Gemma 3 "
                    + "checkpoint folder" + hint);
        }
        GemmaConfig config;
        try {
            config = GemmaConfig.load(dir.resolve("config.json"));
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("'model-dir' = '" + dir + "': " + e.getMessage(), e);
        }
        boolean images = task == Task.CAPTION || schema.input(ModelSchema.In.IMAGE) >= 0;
        if (images && config.vision().isEmpty()) {
            throw new IllegalArgumentException("the checkpoint at '" + dir + "' reads text only (its config.json "
                    + "has no vision_config), but the model takes images ("
                    + (task == Task.CAPTION ? "'task' = 'caption'" : "INPUT column image")
                    + "): use a multimodal Gemma 3 checkpoint (gemma-3-4b-it and up)");
        }
        try {
            GemmaOptions.checkAgainstModel(engineConfig, config);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("'model-dir' = '" + dir + "': "
                    + e.getMessage().replace(GemmaModelOptions.JOB_PREFIX, ""), e);
        }
    }
}
