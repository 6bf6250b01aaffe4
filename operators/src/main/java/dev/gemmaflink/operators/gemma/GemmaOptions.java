package dev.gemmaflink.operators.gemma;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.ReadableConfig;

import dev.gemmaflink.runtime.config.GemmaConfig;
import dev.gemmaflink.runtime.engine.EngineConfig;
import dev.gemmaflink.runtime.model.Precision;

/**
 * Options of the {@code gemma} enricher ({@code enrich.enricher: gemma}), all under {@code enrich.gemma.}.
 * They are valid configuration keys only because {@link GemmaEnricherProvider} lists them.
 */
public final class GemmaOptions {

    private GemmaOptions() {
    }

    public static final ConfigOption<String> MODEL_DIR = ConfigOptions.key("enrich.gemma.model-dir")
            .stringType().defaultValue("")
            .withDescription("Gemma 3 checkpoint folder (config.json, safetensors, tokenizer.json) as seen by the "
                    + "TaskManagers. Required when enrich.enricher is gemma.");

    public static final ConfigOption<String> MODEL_ID = ConfigOptions.key("enrich.gemma.model-id")
            .stringType().defaultValue("")
            .withDescription("Model id written into results and used in prefix-cache keys; empty: the name of the "
                    + "model folder.");

    public static final ConfigOption<String> PRECISION = ConfigOptions.key("enrich.gemma.precision")
            .stringType().defaultValue("bf16")
            .withDescription("Compute precision of the weights: bf16 (bfloat16) or f32 (float32).");

    public static final ConfigOption<String> DEVICE_POLICY = ConfigOptions.key("enrich.gemma.device-policy")
            .stringType().defaultValue(DevicePolicy.ALLOW_CPU.spelling())
            .withDescription("require-gpu: a subtask whose slot got no 'gpu' external resource fails to start; "
                    + "allow-cpu: such a subtask runs the model on the CPU.");

    public static final ConfigOption<Integer> THREADS = ConfigOptions.key("enrich.gemma.threads")
            .intType().defaultValue(EngineConfig.DEFAULTS.threads())
            .withDescription("Intra-op CPU threads of the model (0 = libtorch default, one per core).");

    public static final ConfigOption<Long> KV_CACHE_BYTES = ConfigOptions.key("enrich.gemma.kv-cache-bytes")
            .longType().defaultValue(EngineConfig.DEFAULTS.kvCacheBytes())
            .withDescription("KV cache budget of the shared engine in bytes; 0 uses enrich.gemma.kv-cache-fraction.");

    public static final ConfigOption<Double> KV_CACHE_FRACTION = ConfigOptions.key("enrich.gemma.kv-cache-fraction")
            .doubleType().defaultValue(EngineConfig.DEFAULTS.kvCacheFraction())
            .withDescription("Share of the device memory free after loading the weights that the engine takes "
                    + "for its KV cache and the activations of one full step (used when enrich.gemma.kv-cache-bytes "
                    + "is 0); on a CPU the KV cache gets at most half the free memory and at most 4 GiB.");

    public static final ConfigOption<Integer> BLOCK_SIZE = ConfigOptions.key("enrich.gemma.block-size")
            .intType().defaultValue(EngineConfig.DEFAULTS.blockSize())
            .withDescription("Tokens per KV cache block (the prefix cache shares whole blocks).");

    public static final ConfigOption<Integer> TARGET_SEQUENCE_LENGTH = ConfigOptions
            .key("enrich.gemma.target-sequence-length").intType()
            .defaultValue(EngineConfig.DEFAULTS.targetSequenceLength())
            .withDescription("Sequence length (prompt + output tokens) the KV cache is sized to hold at least once.");

    public static final ConfigOption<Integer> MAX_SEQUENCE_LENGTH = ConfigOptions
            .key("enrich.gemma.max-sequence-length").intType()
            .defaultValue(EngineConfig.DEFAULTS.maxSequenceLength())
            .withDescription("Longest sequence (prompt + output tokens) a request may reach; 0 = the model's context "
                    + "(max_position_embeddings, 131072 for gemma-3-4b and up). Longer requests are PROMPT_TOO_LONG. "
                    + "The activation headroom of a step grows with batch size times this length, so capping it "
                    + "(e.g. 32768) is what lets a long-context model run a large batch on one GPU. At most the "
                    + "model's context.");

    public static final ConfigOption<Integer> MAX_BATCH = ConfigOptions.key("enrich.gemma.max-batch")
            .intType().defaultValue(EngineConfig.DEFAULTS.maxBatchSize())
            .withDescription("Most sequences the shared engine runs in one step; 0 = auto: 256 on a GPU where memory "
                    + "allows (the KV cache left after the activation headroom of that batch at the longest "
                    + "sequence is at least that headroom and holds one sequence of enrich.gemma.target-sequence-length), else the "
                    + "largest of 128, 64, ... that does; 64 on a CPU. A value set is used as it is.");

    public static final ConfigOption<Integer> MAX_TOKENS_PER_STEP = ConfigOptions
            .key("enrich.gemma.max-tokens-per-step").intType()
            .defaultValue(EngineConfig.DEFAULTS.maxTokensPerStep())
            .withDescription("Token budget of one engine step (decode tokens plus prefill chunks).");

    public static final ConfigOption<Integer> QUEUE_CAPACITY = ConfigOptions.key("enrich.gemma.queue-capacity")
            .intType().defaultValue(EngineConfig.DEFAULTS.queueCapacity())
            .withDescription("Requests waiting in the shared engine before a submit is refused; a refused request "
                    + "is retried with back-off (Flink's async retry) until enrich.async-timeout, then becomes a "
                    + "TIMEOUT dead letter.");

    public static final ConfigOption<Boolean> GRAPH_OPTIMIZATION = ConfigOptions
            .key("enrich.gemma.graph-optimization").booleanType()
            .defaultValue(EngineConfig.DEFAULTS.graphOptimization())
            .withDescription("Runs each engine step with libtorch's graph-executor optimisation (profiling executor "
                    + "and fusers) and its shapes padded to a few buckets; tokens are the same. Off by default: on a "
                    + "CPU nothing is fused and it measured no faster (docs/benchmarks.md); on a GPU it is not "
                    + "measured yet.");

    public static final ConfigOption<Integer> MAX_IMAGE_VIEWS_PER_STEP = ConfigOptions
            .key("enrich.gemma.max-image-views-per-step").intType()
            .defaultValue(EngineConfig.DEFAULTS.maxImageViewsPerStep())
            .withDescription("Most image views (whole images and Pan-and-Scan crops) the shared engine's vision encoder "
                    + "takes per step; image requests wait in order for the rest, while running sequences keep "
                    + "decoding. One view costs about two to four decode steps on a GPU and encoding more at once "
                    + "hardly raises throughput, so the default keeps each step's stall to one view.");

    public static final ConfigOption<Integer> MAX_NEW_TOKENS = ConfigOptions.key("enrich.gemma.max-new-tokens")
            .intType().defaultValue(256)
            .withDescription("Output token limit of requests that set no generation.maxNewTokens.");

    public static final ConfigOption<Double> TEMPERATURE = ConfigOptions.key("enrich.gemma.temperature")
            .doubleType().defaultValue(0.0)
            .withDescription("Sampling temperature of requests that set none; 0 is greedy, so a replayed request "
                    + "gives the same output.");

    public static final ConfigOption<String> TEMPLATE_SUMMARIZE = ConfigOptions.key("enrich.gemma.template.summarize")
            .stringType().defaultValue("")
            .withDescription("Instruction of SUMMARIZE requests; placeholders {length} and {style}. Empty: the "
                    + "built-in one.");

    public static final ConfigOption<String> TEMPLATE_TRANSLATE = ConfigOptions.key("enrich.gemma.template.translate")
            .stringType().defaultValue("")
            .withDescription("Instruction of TRANSLATE requests; placeholder {language} (English name of the "
                    + "target). Empty: the built-in one.");

    public static final ConfigOption<String> TEMPLATE_CAPTION = ConfigOptions.key("enrich.gemma.template.caption")
            .stringType().defaultValue("")
            .withDescription("Instruction of CAPTION requests; placeholder {instruction} (the request text). Empty: "
                    + "the built-in one.");

    public static final ConfigOption<String> TEMPLATE_CLASSIFY = ConfigOptions.key("enrich.gemma.template.classify")
            .stringType().defaultValue("")
            .withDescription("Instruction of CLASSIFY requests; placeholders {labels} (the labels, comma separated) "
                    + "and {maxLabels}. Empty: the built-in one (for one label, or for a JSON array of several).");

    public static final ConfigOption<String> TEMPLATE_EXTRACT = ConfigOptions.key("enrich.gemma.template.extract")
            .stringType().defaultValue("")
            .withDescription("Instruction of EXTRACT requests; placeholder {schema} (the JSON Schema). Empty: the "
                    + "built-in one.");

    public static final ConfigOption<List<String>> CLASSIFY_LABELS = ConfigOptions
            .key("enrich.gemma.classify.labels").stringType().asList().noDefaultValue()
            .withDescription("Labels of CLASSIFY requests that carry none (separated by ';'); the output is exactly "
                    + "one of them (or up to enrich.gemma.classify.max-labels). Unset: such requests are MISSING_FIELD dead letters.");

    public static final ConfigOption<Integer> CLASSIFY_MAX_LABELS = ConfigOptions
            .key("enrich.gemma.classify.max-labels").intType().defaultValue(1)
            .withDescription("Most labels a CLASSIFY output may name when the request does not say (maxLabels). 1: "
                    + "the output is exactly one label; above 1: a JSON array of 1 to N distinct labels in the "
                    + "label set's order, e.g. [\"billing\", \"returns\"]. Results carry the labels and their "
                    + "probability.");

    public static final ConfigOption<String> EXTRACT_SCHEMAS = ConfigOptions.key("enrich.gemma.extract.schemas")
            .stringType().defaultValue("")
            .withDescription("Path (on the client) of a JSON file mapping schema names to JSON Schemas, read when "
                    + "the job is built; an EXTRACT request may name one (outputSchemaName) instead of sending the "
                    + "schema. Every schema is checked at start: an unsupported keyword fails the job naming it.");

    /** Engines are closed without draining: a closing subtask is ending or failing over. */
    static final Duration DRAIN_TIMEOUT = Duration.ZERO;

    /**
     * The engine configuration these options describe, on {@code cpu}: the device is chosen per subtask at open
     * ({@link DeviceSelector}).
     *
     * @throws IllegalArgumentException naming the option that is wrong
     */
    public static EngineConfig engineConfig(ReadableConfig config) {
        Precision precision;
        try {
            precision = Precision.parse(config.get(PRECISION));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(PRECISION.key() + ": " + e.getMessage(), e);
        }
        String modelId = config.get(MODEL_ID).isBlank() ? null : config.get(MODEL_ID);
        try {
            return EngineConfig.builder().modelId(modelId).precision(precision).threads(config.get(THREADS))
                    .kvCacheBytes(config.get(KV_CACHE_BYTES)).kvCacheFraction(config.get(KV_CACHE_FRACTION))
                    .blockSize(config.get(BLOCK_SIZE)).targetSequenceLength(config.get(TARGET_SEQUENCE_LENGTH))
                    .maxSequenceLength(config.get(MAX_SEQUENCE_LENGTH))
                    .maxBatchSize(config.get(MAX_BATCH)).maxTokensPerStep(config.get(MAX_TOKENS_PER_STEP))
                    .queueCapacity(config.get(QUEUE_CAPACITY))
                    .maxImageViewsPerStep(config.get(MAX_IMAGE_VIEWS_PER_STEP))
                    .graphOptimization(config.get(GRAPH_OPTIMIZATION)).drainTimeout(DRAIN_TIMEOUT).build();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(withOptionKey(e.getMessage()), e);
        }
    }

    /**
     * Checks the engine settings against the model's shape, as the engine will at start: a
     * {@code max-sequence-length} beyond the model's context is refused, naming the option and the context.
     *
     * @throws IllegalArgumentException naming the option that is wrong
     */
    public static void checkAgainstModel(EngineConfig engineConfig, GemmaConfig model) {
        try {
            engineConfig.longestSequence(model);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(withOptionKey(e.getMessage()), e);
        }
    }

    /** EngineConfig's messages name its field first; this names the option that sets it instead. */
    private static String withOptionKey(String message) {
        for (Map.Entry<String, ConfigOption<?>> field : ENGINE_FIELDS.entrySet()) {
            if (message.startsWith(field.getKey() + " ")) {
                return field.getValue().key() + message.substring(field.getKey().length());
            }
        }
        return message;
    }

    /** The {@link EngineConfig} field each option sets. */
    private static final Map<String, ConfigOption<?>> ENGINE_FIELDS = Map.ofEntries(Map.entry("modelId", MODEL_ID),
            Map.entry("threads", THREADS), Map.entry("kvCacheBytes", KV_CACHE_BYTES),
            Map.entry("kvCacheFraction", KV_CACHE_FRACTION), Map.entry("blockSize", BLOCK_SIZE),
            Map.entry("targetSequenceLength", TARGET_SEQUENCE_LENGTH),
            Map.entry("maxSequenceLength", MAX_SEQUENCE_LENGTH), Map.entry("maxBatchSize", MAX_BATCH),
            Map.entry("maxTokensPerStep", MAX_TOKENS_PER_STEP), Map.entry("queueCapacity", QUEUE_CAPACITY),
            Map.entry("maxImageViewsPerStep", MAX_IMAGE_VIEWS_PER_STEP));

    /** Every option, in documentation order. */
    public static final List<ConfigOption<?>> ALL = List.of(MODEL_DIR, MODEL_ID, PRECISION, DEVICE_POLICY, THREADS,
            KV_CACHE_BYTES, KV_CACHE_FRACTION, BLOCK_SIZE, TARGET_SEQUENCE_LENGTH, MAX_SEQUENCE_LENGTH, MAX_BATCH,
            MAX_TOKENS_PER_STEP, QUEUE_CAPACITY, MAX_IMAGE_VIEWS_PER_STEP, GRAPH_OPTIMIZATION, MAX_NEW_TOKENS,
            TEMPERATURE,
            TEMPLATE_SUMMARIZE, TEMPLATE_TRANSLATE, TEMPLATE_CAPTION,
            TEMPLATE_CLASSIFY, TEMPLATE_EXTRACT, CLASSIFY_LABELS, CLASSIFY_MAX_LABELS, EXTRACT_SCHEMAS);
}
