package dev.gemmaflink.operators.gemma;

import java.time.Duration;
import java.util.List;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;

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
            .stringType().defaultValue("BF16")
            .withDescription("Compute precision of the weights: BF16 or FLOAT32.");

    public static final ConfigOption<String> DEVICE_POLICY = ConfigOptions.key("enrich.gemma.device-policy")
            .stringType().defaultValue(DevicePolicy.ALLOW_CPU.spelling())
            .withDescription("require-gpu: a subtask whose slot got no 'gpu' external resource fails to start; "
                    + "allow-cpu: such a subtask runs the model on the CPU.");

    public static final ConfigOption<Integer> THREADS = ConfigOptions.key("enrich.gemma.threads")
            .intType().defaultValue(0)
            .withDescription("Intra-op CPU threads of the model (0 = libtorch default, one per core).");

    public static final ConfigOption<Long> KV_CACHE_BYTES = ConfigOptions.key("enrich.gemma.kv-cache-bytes")
            .longType().defaultValue(0L)
            .withDescription("KV cache budget of the shared engine in bytes; 0 uses enrich.gemma.kv-cache-fraction.");

    public static final ConfigOption<Double> KV_CACHE_FRACTION = ConfigOptions.key("enrich.gemma.kv-cache-fraction")
            .doubleType().defaultValue(0.5)
            .withDescription("KV cache budget as a fraction of the device memory free after loading the weights "
                    + "(used when enrich.gemma.kv-cache-bytes is 0).");

    public static final ConfigOption<Integer> BLOCK_SIZE = ConfigOptions.key("enrich.gemma.block-size")
            .intType().defaultValue(16)
            .withDescription("Tokens per KV cache block (the prefix cache shares whole blocks).");

    public static final ConfigOption<Integer> TARGET_SEQUENCE_LENGTH = ConfigOptions
            .key("enrich.gemma.target-sequence-length").intType().defaultValue(4096)
            .withDescription("Sequence length (prompt + output tokens) the KV cache is sized to hold at least once.");

    public static final ConfigOption<Integer> MAX_BATCH = ConfigOptions.key("enrich.gemma.max-batch")
            .intType().defaultValue(32)
            .withDescription("Most sequences the shared engine runs in one step.");

    public static final ConfigOption<Integer> MAX_TOKENS_PER_STEP = ConfigOptions
            .key("enrich.gemma.max-tokens-per-step").intType().defaultValue(2048)
            .withDescription("Token budget of one engine step (decode tokens plus prefill chunks).");

    public static final ConfigOption<Integer> QUEUE_CAPACITY = ConfigOptions.key("enrich.gemma.queue-capacity")
            .intType().defaultValue(1024)
            .withDescription("Requests waiting in the shared engine before a submit is refused; a refused request "
                    + "is retried until enrich.async-timeout, then becomes a TIMEOUT dead letter.");

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

    /** Engines are closed without draining: a closing subtask is ending or failing over. */
    static final Duration DRAIN_TIMEOUT = Duration.ZERO;

    /** Every option, in documentation order. */
    public static final List<ConfigOption<?>> ALL = List.of(MODEL_DIR, MODEL_ID, PRECISION, DEVICE_POLICY, THREADS,
            KV_CACHE_BYTES, KV_CACHE_FRACTION, BLOCK_SIZE, TARGET_SEQUENCE_LENGTH, MAX_BATCH, MAX_TOKENS_PER_STEP,
            QUEUE_CAPACITY, MAX_NEW_TOKENS, TEMPERATURE, TEMPLATE_SUMMARIZE, TEMPLATE_TRANSLATE, TEMPLATE_CAPTION);
}
