package dev.gemmaflink.runtime.engine;

import dev.gemmaflink.runtime.config.GemmaConfig;
import dev.gemmaflink.runtime.kvcache.KvCacheSizing;
import dev.gemmaflink.runtime.model.GraphMode;
import dev.gemmaflink.runtime.model.ModelOptions;
import dev.gemmaflink.runtime.model.Precision;
import dev.gemmaflink.runtime.vision.PanAndScanOptions;
import java.io.Serializable;
import java.time.Duration;
import java.util.Objects;

/**
 * Every setting of one {@link GemmaEngine}, with its default, in one immutable value: how the model is loaded,
 * how the KV cache is sized, how steps are scheduled, and how requests are prepared. Equal configurations on the
 * same model folder may share one engine, so the record is also the key of a shared engine.
 *
 * <pre>{@code
 * EngineConfig config = EngineConfig.builder().device("gpu:1").kvCacheFraction(0.8).maxSequenceLength(32_768)
 *         .build();
 * try (GemmaEngine engine = GemmaEngine.builder().modelDir(dir).config(config).build()) { ... }
 * }</pre>
 *
 * <p>KV budget: {@code kvCacheBytes} when it is &gt; 0, else {@code kvCacheFraction} of the device memory free
 * after the weights are loaded, less the {@link ActivationHeadroom} of one full step ({@code maxTokensPerStep},
 * the batch size, the longest context); on a CPU that derived budget is capped at {@link #CPU_KV_CAP_BYTES} and at half
 * the available memory (as vLLM's CPU backend does), so an engine on a shared host does not take most of its RAM.
 *
 * <p>Longest context: the model's {@code max_position_embeddings}, or {@code maxSequenceLength} when that is set
 * (vLLM's {@code max_model_len}), and never more than the KV cache can hold. The headroom's dominant term grows with
 * batch times longest context (K and V gathered per sequence at that context), so a long-context model such as
 * gemma-3-4b (131072 tokens) at batch 64 needs about 105 GB of headroom: capping the longest sequence is what lets it
 * start on an 80 GB GPU with a useful batch.
 *
 * <p>Automatic batch size ({@code maxBatchSize} 0, the default): on a CPU {@link #CPU_MAX_BATCH}; on a GPU the largest
 * of {@link #GPU_MAX_BATCH}, 128, 64, ... 1 whose step <em>fits</em>, where a batch fits when, with the activation
 * headroom of that batch at the longest context reserved,
 * <ol>
 *   <li>the KV budget left holds one sequence of {@link #sizingSequenceLength()} tokens (the engine could not start
 *       otherwise), and</li>
 *   <li>the KV budget left is at least the headroom: the activations of one step never take more of the memory than
 *       the cache that holds the sequences the batch runs (the headroom grows linearly with the batch; past this
 *       point a larger batch buys rows that the smaller cache has less room to fill), and</li>
 *   <li>with an absolute {@code kvCacheBytes}, the budget plus the headroom fit in the free memory.</li>
 * </ol>
 * When even batch 1 misses that, the batch is 1 and the usual start checks decide. An explicit {@code maxBatchSize}
 * is used as it is (and fails with the budget's message when its headroom leaves no budget). The engine logs the
 * batch it chose and reports it ({@link GemmaEngine#maxBatchSize()}).
 *
 * @param modelId identity of the weights in prefix-cache keys and results; null: the model folder's name
 * @param precision compute precision of the weights (default {@link Precision#BF16})
 * @param device {@code cpu} (default), {@code gpu} or {@code gpu:N}, as {@link ModelOptions#parseDevice} reads it
 * @param threads intra-op CPU threads of the model, 0 for libtorch's default (default 0)
 * @param kvCacheBytes absolute KV budget in bytes, 0 to derive it from {@code kvCacheFraction} (default 0)
 * @param kvCacheFraction fraction of the free device memory the engine takes for its KV cache and the activations of
 *     one step, in (0, 1] (default 0.9)
 * @param blockSize tokens per KV block; the prefix cache shares whole blocks (default 16)
 * @param targetSequenceLength sequence length (prompt plus output) the KV cache holds at least once, and whose
 *     proportions split the budget between the full-attention and sliding-window pools (default 32768); read as
 *     {@code maxSequenceLength} when it is longer ({@link #sizingSequenceLength()})
 * @param maxSequenceLength the longest sequence (prompt plus output) a request may reach, at most the model's
 *     context; 0 for the model's context (default 0). It bounds the activation headroom and the KV capacity a request
 *     may use; a longer request is refused with {@link EngineError.Reason#PROMPT_TOO_LONG}
 * @param maxTokensPerStep token budget of one step: decode tokens plus prefill chunks (default 2048)
 * @param maxBatchSize most sequences running at once; 0 chooses it from the device (default 0: {@link #GPU_MAX_BATCH}
 *     on a GPU where memory allows, else less; {@link #CPU_MAX_BATCH} on a CPU; see the class comment)
 * @param queueCapacity most requests accepted and not yet scheduled; more are refused with
 *     {@link EngineError.Reason#QUEUE_FULL} (default 1024)
 * @param prefixCaching automatic prefix caching (default on)
 * @param drainTimeout how long {@link GemmaEngine#close()} lets pending requests finish (default 30 s)
 * @param imageCacheBytes bytes of image embeddings kept for reuse by content, 0 disables (default 256 MiB)
 * @param maxImageViewsPerStep most image views (whole images and Pan &amp; Scan crops) the vision encoder takes in
 *     one engine iteration, so that encoding a burst of images stalls the running decodes for at most one such call
 *     per step (default {@value #DEFAULT_MAX_IMAGE_VIEWS_PER_STEP}; see the constant for why)
 * @param panAndScan Pan &amp; Scan for requests that do not choose (default off)
 * @param preparationThreads threads that tokenize prompts and decode images off the caller's thread (default 2)
 * @param graphOptimization run each step with libtorch's graph-executor optimisation (profiling executor and
 *     fusers) and its shapes padded to a few buckets ({@link GraphMode#OPTIMIZED}); tokens are the same either way.
 *     Default off: on the CPU libtorch fuses nothing and the A/B in docs/benchmarks.md ("Graph optimisation with
 *     bucketed shapes") measured it slower; on CUDA it is not measured yet ({@code tools/hf_parity.py --graph-ab})
 */
public record EngineConfig(String modelId, Precision precision, String device, int threads, long kvCacheBytes,
        double kvCacheFraction, int blockSize, int targetSequenceLength, int maxSequenceLength, int maxTokensPerStep,
        int maxBatchSize, int queueCapacity, boolean prefixCaching, Duration drainTimeout, long imageCacheBytes,
        int maxImageViewsPerStep, PanAndScanOptions panAndScan, int preparationThreads, boolean graphOptimization)
        implements Serializable {

    private static final long serialVersionUID = 1L;

    /** Cap of the derived KV budget on a CPU: 4 GiB. */
    public static final long CPU_KV_CAP_BYTES = 4L << 30;

    /** Batch size of an automatic {@code maxBatchSize} on a GPU when memory allows it. */
    public static final int GPU_MAX_BATCH = 256;

    /** Batch size of an automatic {@code maxBatchSize} on a CPU. */
    public static final int CPU_MAX_BATCH = 64;

    /**
     * Default of {@code maxImageViewsPerStep}: one view per iteration. Measured on an H200 (docs/benchmarks.md, "GPU:
     * the generated TorchScript on CUDA"), SigLIP and the projector take about 95 ms for one 896 x 896 view and 732 ms
     * for eight: encoding is compute-bound over 4096 patches per view, so a larger call brings almost no throughput
     * (10.5 against 10.9 images/s) while its stall grows with every view. One view costs about two to four decode
     * steps there (24-40 ms each), the least any encoder call can cost. A Pan &amp; Scan request (up to 1 + 4
     * views) is then encoded over several iterations; its encoded views wait with it, so none is encoded twice.
     */
    public static final int DEFAULT_MAX_IMAGE_VIEWS_PER_STEP = 1;

    /** The configuration with every default. */
    public static final EngineConfig DEFAULTS = builder().build();

    /** Validates every field; each message names the setting. */
    public EngineConfig {
        if (modelId != null && modelId.isBlank()) {
            throw new IllegalArgumentException("modelId must not be blank (null: the model folder's name)");
        }
        Objects.requireNonNull(precision, "precision");
        ModelOptions.parseDevice(device);
        nonNegative("threads", threads);
        nonNegative("kvCacheBytes", kvCacheBytes);
        if (!(kvCacheFraction > 0 && kvCacheFraction <= 1)) {
            throw new IllegalArgumentException("kvCacheFraction must be in (0, 1], got " + kvCacheFraction);
        }
        positive("blockSize", blockSize);
        positive("targetSequenceLength", targetSequenceLength);
        nonNegative("maxSequenceLength", maxSequenceLength);
        positive("maxTokensPerStep", maxTokensPerStep);
        nonNegative("maxBatchSize", maxBatchSize);
        positive("queueCapacity", queueCapacity);
        Objects.requireNonNull(drainTimeout, "drainTimeout");
        if (drainTimeout.isNegative()) {
            throw new IllegalArgumentException("drainTimeout must be >= 0, got " + drainTimeout);
        }
        nonNegative("imageCacheBytes", imageCacheBytes);
        positive("maxImageViewsPerStep", maxImageViewsPerStep);
        Objects.requireNonNull(panAndScan, "panAndScan");
        positive("preparationThreads", preparationThreads);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this configuration's values. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /** How the engine's steps run the model's graph: {@code graphOptimization} as a {@link GraphMode}. */
    public GraphMode graphMode() {
        return graphOptimization ? GraphMode.OPTIMIZED : GraphMode.PLAIN;
    }

    /** How the model is loaded: precision, device and threads of this configuration. */
    public ModelOptions modelOptions() {
        return ModelOptions.builder().precision(precision).device(device).threads(threads).build();
    }

    /**
     * The longest sequence (prompt plus output) a request may reach on {@code model}, before the KV capacity is
     * known: {@code maxSequenceLength}, or the model's context when it is 0.
     *
     * @throws IllegalArgumentException when {@code maxSequenceLength} exceeds the model's context, naming both
     */
    public int longestSequence(GemmaConfig model) {
        int context = model.maxPositionEmbeddings();
        if (maxSequenceLength > context) {
            throw new IllegalArgumentException("maxSequenceLength " + maxSequenceLength + " exceeds the model's "
                    + "context of " + context + " tokens (max_position_embeddings of its config.json): lower it, or "
                    + "set 0 for the model's context");
        }
        return maxSequenceLength > 0 ? maxSequenceLength : context;
    }

    /**
     * The sequence length the KV cache is sized for: {@code targetSequenceLength}, but no more than a
     * {@code maxSequenceLength} that is set (a longer sequence could never run).
     */
    public int sizingSequenceLength() {
        return maxSequenceLength > 0 ? Math.min(targetSequenceLength, maxSequenceLength) : targetSequenceLength;
    }

    /**
     * The KV budget in bytes on a device with {@code freeBytes} free after loading (see the class comment).
     *
     * @param gpu whether the device is a GPU
     * @param headroomBytes the activation headroom of one step ({@link ActivationHeadroom#totalBytes()}), taken
     *     from a derived budget; an absolute {@code kvCacheBytes} is returned as it is
     * @throws IllegalArgumentException when the headroom leaves no derived budget
     */
    public long kvBudgetBytes(long freeBytes, boolean gpu, long headroomBytes) {
        if (kvCacheBytes > 0) {
            return kvCacheBytes;
        }
        nonNegative("headroomBytes", headroomBytes);
        long derived = KvCacheSizing.budgetFromFreeMemory(freeBytes, kvCacheFraction) - headroomBytes;
        if (derived <= 0) {
            throw new IllegalArgumentException("kvCacheFraction " + kvCacheFraction + " of the " + freeBytes
                    + " bytes free leaves no KV budget after the activation headroom of " + headroomBytes
                    + " bytes (one step of maxTokensPerStep " + maxTokensPerStep + " and maxBatchSize "
                    + (maxBatchSize > 0 ? maxBatchSize : "auto") + "): lower them, or set kvCacheBytes");
        }
        return gpu ? derived : Math.min(CPU_KV_CAP_BYTES, Math.min(derived, freeBytes / 2));
    }

    private static void positive(String name, long value) {
        if (value <= 0) {
            throw new IllegalArgumentException(name + " must be > 0, got " + value);
        }
    }

    private static void nonNegative(String name, long value) {
        if (value < 0) {
            throw new IllegalArgumentException(name + " must be >= 0, got " + value);
        }
    }

    /** Builder starting from the defaults; {@link #build()} validates. */
    public static final class Builder {
        private String modelId;
        private Precision precision = Precision.BF16;
        private String device = "cpu";
        private int threads;
        private long kvCacheBytes;
        private double kvCacheFraction = 0.9;
        private int blockSize = 16;
        private int targetSequenceLength = 32_768;
        private int maxSequenceLength;
        private int maxTokensPerStep = 2_048;
        private int maxBatchSize;
        private int queueCapacity = 1_024;
        private boolean prefixCaching = true;
        private Duration drainTimeout = Duration.ofSeconds(30);
        private long imageCacheBytes = 256L << 20;
        private int maxImageViewsPerStep = DEFAULT_MAX_IMAGE_VIEWS_PER_STEP;
        private PanAndScanOptions panAndScan = PanAndScanOptions.DISABLED;
        private int preparationThreads = 2;
        private boolean graphOptimization;

        private Builder() {
        }

        private Builder(EngineConfig c) {
            modelId = c.modelId;
            precision = c.precision;
            device = c.device;
            threads = c.threads;
            kvCacheBytes = c.kvCacheBytes;
            kvCacheFraction = c.kvCacheFraction;
            blockSize = c.blockSize;
            targetSequenceLength = c.targetSequenceLength;
            maxSequenceLength = c.maxSequenceLength;
            maxTokensPerStep = c.maxTokensPerStep;
            maxBatchSize = c.maxBatchSize;
            queueCapacity = c.queueCapacity;
            prefixCaching = c.prefixCaching;
            drainTimeout = c.drainTimeout;
            imageCacheBytes = c.imageCacheBytes;
            maxImageViewsPerStep = c.maxImageViewsPerStep;
            panAndScan = c.panAndScan;
            preparationThreads = c.preparationThreads;
            graphOptimization = c.graphOptimization;
        }

        public Builder modelId(String value) {
            this.modelId = value;
            return this;
        }

        public Builder precision(Precision value) {
            this.precision = value;
            return this;
        }

        /** @param value {@code cpu}, {@code gpu} or {@code gpu:N} */
        public Builder device(String value) {
            this.device = value;
            return this;
        }

        public Builder threads(int value) {
            this.threads = value;
            return this;
        }

        /** An absolute KV budget; 0 derives it from {@link #kvCacheFraction(double)}. */
        public Builder kvCacheBytes(long value) {
            this.kvCacheBytes = value;
            return this;
        }

        public Builder kvCacheFraction(double value) {
            this.kvCacheFraction = value;
            return this;
        }

        public Builder blockSize(int value) {
            this.blockSize = value;
            return this;
        }

        public Builder targetSequenceLength(int value) {
            this.targetSequenceLength = value;
            return this;
        }

        /** The longest sequence a request may reach; 0 (default) for the model's context. */
        public Builder maxSequenceLength(int value) {
            this.maxSequenceLength = value;
            return this;
        }

        public Builder maxTokensPerStep(int value) {
            this.maxTokensPerStep = value;
            return this;
        }

        /** Most sequences running at once; 0 (default) chooses it from the device (see the class comment). */
        public Builder maxBatchSize(int value) {
            this.maxBatchSize = value;
            return this;
        }

        public Builder queueCapacity(int value) {
            this.queueCapacity = value;
            return this;
        }

        public Builder prefixCaching(boolean value) {
            this.prefixCaching = value;
            return this;
        }

        public Builder drainTimeout(Duration value) {
            this.drainTimeout = value;
            return this;
        }

        public Builder imageCacheBytes(long value) {
            this.imageCacheBytes = value;
            return this;
        }

        /**
         * Most image views encoded per engine iteration, at least 1 (default
         * {@value EngineConfig#DEFAULT_MAX_IMAGE_VIEWS_PER_STEP}); {@link Integer#MAX_VALUE} encodes every waiting
         * view at once.
         */
        public Builder maxImageViewsPerStep(int value) {
            this.maxImageViewsPerStep = value;
            return this;
        }

        public Builder panAndScan(PanAndScanOptions value) {
            this.panAndScan = value;
            return this;
        }

        public Builder preparationThreads(int value) {
            this.preparationThreads = value;
            return this;
        }

        /**
         * Graph-executor optimisation with bucketed step shapes (default off; see the record's
         * {@code graphOptimization}).
         */
        public Builder graphOptimization(boolean value) {
            this.graphOptimization = value;
            return this;
        }

        /** @throws IllegalArgumentException naming the first invalid setting */
        public EngineConfig build() {
            return new EngineConfig(modelId, precision, device, threads, kvCacheBytes, kvCacheFraction, blockSize,
                    targetSequenceLength, maxSequenceLength, maxTokensPerStep, maxBatchSize, queueCapacity,
                    prefixCaching, drainTimeout, imageCacheBytes, maxImageViewsPerStep, panAndScan, preparationThreads,
                    graphOptimization);
        }
    }
}
