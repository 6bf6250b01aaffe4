package dev.gemmaflink.runtime.engine;

import dev.gemmaflink.runtime.config.LayerType;
import dev.gemmaflink.runtime.generate.TokenListener;
import dev.gemmaflink.runtime.kvcache.KvCacheLayout;
import dev.gemmaflink.runtime.kvcache.KvCacheManager;
import dev.gemmaflink.runtime.kvcache.KvCacheOptions;
import dev.gemmaflink.runtime.sched.RequestQueue;
import dev.gemmaflink.runtime.sched.StepPlanner;
import dev.gemmaflink.runtime.model.GemmaModel;
import dev.gemmaflink.runtime.model.KvStorage;
import dev.gemmaflink.runtime.model.LoadProgress;
import dev.gemmaflink.runtime.model.ModelOptions;
import dev.gemmaflink.runtime.tokenizer.ChatFormat;
import dev.gemmaflink.runtime.tokenizer.GemmaTokenizer;
import dev.gemmaflink.runtime.vision.ImageDecodeException;
import dev.gemmaflink.runtime.vision.ImageDecoder;
import dev.gemmaflink.runtime.vision.ImageEncoder;
import dev.gemmaflink.runtime.vision.ImagePreprocessor;
import dev.gemmaflink.runtime.vision.ImagePrompt;
import dev.gemmaflink.runtime.vision.PanAndScanOptions;
import dev.gemmaflink.runtime.vision.PreparedImage;
import dev.gemmaflink.runtime.vision.PromptTokens;
import dev.gemmaflink.runtime.weights.GemmaWeights;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Continuous-batching inference over one device: one engine thread owns the model and a paged, prefix-cached,
 * sliding-window-aware KV cache; any thread submits requests and gets futures.
 *
 * <p>At start the engine sizes the KV pools ({@link KvCacheOptions}: a byte budget, or a fraction of the memory
 * free after the weights) and allocates the {@link KvStorage} once: per layer of group g, {@code numBlocks_g *
 * blockSize} slots, slot {@code = blockId * blockSize + offset}, block 0 the null block. Each step the engine thread
 * plans with the {@link StepPlanner} (running sequences first, decode tokens plus prefill chunks under the token
 * budget, preemption of the newest when blocks run out, prefix-cache hits skipping prefill), runs one
 * {@link GemmaModel#forward} over all chunks, samples for the chunks that end a prompt or decode, and completes the
 * requests that stopped.
 *
 * <pre>{@code
 * try (GemmaEngine engine = GemmaEngine.builder().modelDir(dir).kvCacheBytes(2L << 30).maxBatchSize(32).build()) {
 *     RequestHandle h = engine.submit(EngineRequest.builder().text("Hello").chat(true)
 *             .params(GenerationParams.builder().temperature(0).maxNewTokens(64).build()).build(),
 *             (id, delta) -> System.out.print(delta));
 *     EngineResult r = h.result().get();
 * }
 * }</pre>
 *
 * <p>Images: on a multimodal checkpoint (a {@code vision_config}) the engine holds an {@link ImageEncoder}.
 * {@link #submit} decodes and preprocesses a request's images on the calling thread and assembles the prompt
 * ({@link ImagePrompt}); the engine thread encodes the views of all requests taken in one iteration in one encoder
 * call (views already in its LRU embedding cache, keyed by content hash and crop, are not encoded again), places the
 * soft tokens, and passes each prefill chunk its slice of them; chunks and prefix-cache hits never cut an image, and
 * blocks holding image tokens hash by the image content. An image that cannot be decoded fails only its own future
 * (with {@link ImageDecodeException}).
 *
 * <p>Back-pressure: at most {@code queueCapacity} requests wait to be scheduled; {@link #submit} throws
 * {@link QueueFullException} beyond that instead of buffering without bound. Requests that could never fit (prompt
 * plus {@code maxNewTokens} above the model context or the KV capacity) are refused at submit with
 * {@link IllegalArgumentException}.
 */
public final class GemmaEngine implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(GemmaEngine.class);

    /** KV budget on a CPU when none is configured: 4 GiB (capped at half the available memory). */
    public static final long DEFAULT_CPU_KV_BYTES = 4L << 30;

    private final GemmaModel model;
    private final GemmaTokenizer tokenizer; // may be null
    private final boolean ownsModel;
    private final KvStorage storage;
    private final int maxSequenceTokens;
    private final int queueCapacity;
    private final Duration drainTimeout;
    private final BlockingQueue<Object> inbox = new LinkedBlockingQueue<>();
    private final Map<String, RequestState> states = new ConcurrentHashMap<>();
    private final AtomicInteger notStarted = new AtomicInteger();
    private final MetricsRecorder metrics;
    private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
    private final Thread thread;
    private final ImageEncoder imageEncoder; // null: text only
    private final boolean ownsEncoder;
    private final ImageDecoder imageDecoder;
    private final ImagePreprocessor imagePreprocessor; // null: text only
    private final ImagePrompt imagePrompt; // null: text only
    private final PanAndScanOptions defaultPanAndScan;
    private volatile boolean closed;
    private volatile boolean terminated;

    private GemmaEngine(Builder b, GemmaModel model, GemmaTokenizer tokenizer, boolean ownsModel,
            ImageEncoder encoder, boolean ownsEncoder) {
        this.model = model;
        this.imageEncoder = encoder;
        this.ownsEncoder = ownsEncoder;
        this.imageDecoder = b.imageDecoder != null ? b.imageDecoder : new ImageDecoder();
        this.defaultPanAndScan = b.panAndScan;
        this.imagePreprocessor = encoder == null ? null
                : ImagePreprocessor.forVision(model.config().vision().orElseThrow());
        this.imagePrompt = encoder == null || tokenizer == null ? null
                : new ImagePrompt(model.config(), s -> tokenizer.encode(s, false));
        this.tokenizer = tokenizer;
        this.ownsModel = ownsModel;
        this.queueCapacity = b.queueCapacity;
        this.drainTimeout = b.drainTimeout;
        KvCacheLayout layout =
                KvCacheLayout.fromConfig(model.config(), model.precision().bytesPerElement(), b.blockSize);
        KvCacheManager kvCache = b.kvOptions(budgetBytes(b, model)).newManager(layout, 0);
        int[] blocks = new int[layout.numGroups()];
        for (int g = 0; g < blocks.length; g++) {
            blocks[g] = kvCache.usage().groups().get(g).totalBlocks() + 1; // + the null block
        }
        int full = EngineLoop.groupIndex(layout, LayerType.FULL_ATTENTION);
        int sliding = EngineLoop.groupIndex(layout, LayerType.SLIDING_ATTENTION);
        this.storage = model.allocateKv(sliding < 0 ? 1 : blocks[sliding] * b.blockSize,
                full < 0 ? 1 : blocks[full] * b.blockSize);
        this.maxSequenceTokens = Math.min(model.config().maxPositionEmbeddings(), kvCache.maxSequenceTokens());
        StepPlanner planner = new StepPlanner(kvCache, new RequestQueue(b.queueCapacity), b.maxTokensPerStep,
                b.maxBatchSize);
        this.metrics = new MetricsRecorder(b.maxBatchSize, kvCache.usage());
        EngineLoop loop = new EngineLoop(model, kvCache, planner, storage, b.modelId, inbox, states,
                notStarted, metrics, this::release, encoder, new ImageEmbeddingCache(b.imageCacheBytes));
        this.thread = new Thread(loop, "gemma-engine-" + b.modelId);
        this.thread.setDaemon(true);
        LOG.info("Gemma engine: KV storage {} MB (blocks per group {}, block size {}), longest sequence {} tokens, "
                + "batch {} x {} tokens per step, queue {}", storage.bytes() >> 20, java.util.Arrays.toString(blocks),
                b.blockSize, maxSequenceTokens, b.maxBatchSize, b.maxTokensPerStep, b.queueCapacity);
        this.thread.start();
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * The KV budget: the absolute one, else the fraction of free device memory, else the default (GPU: 0.9 of free
     * memory; CPU: {@link #DEFAULT_CPU_KV_BYTES} but at most half the available memory, like vLLM's CPU backend, so
     * that an engine on a shared host does not take most of its RAM).
     */
    private static long budgetBytes(Builder b, GemmaModel model) {
        if (b.kvCacheBytes != null) {
            return b.kvCacheBytes;
        }
        long free = DeviceMemory.freeBytes(model.device());
        if (b.kvMemoryFraction != null) {
            return (long) (free * b.kvMemoryFraction);
        }
        return model.device().isGpu() ? (long) (free * 0.9) : Math.min(DEFAULT_CPU_KV_BYTES, free / 2);
    }

    /** {@link #submit(EngineRequest, TokenListener)} without streaming. */
    public RequestHandle submit(EngineRequest request) {
        return submit(request, null);
    }

    /**
     * Accepts a request. Thread-safe; text prompts are tokenized on the calling thread.
     *
     * @param listener called on the engine thread for each generated token (stop ids excluded); must be quick and
     *     must not block; exceptions it throws are logged and ignored. May be null.
     * @throws QueueFullException when {@code queueCapacity} requests already wait to be scheduled
     * @throws IllegalArgumentException when the request can never run here (too long for the context or the KV
     *     cache, a token id outside the vocabulary, a text prompt without a tokenizer, an id already in flight)
     * @throws IllegalStateException when the engine is closed
     */
    public RequestHandle submit(EngineRequest request, TokenListener listener) {
        Objects.requireNonNull(request, "request");
        PromptTokens multimodal = null;
        List<PreparedImage> prepared = null;
        if (!request.images().isEmpty()) {
            prepared = new ArrayList<>();
            try {
                multimodal = imagePrompt(request, prepared);
            } catch (ImageDecodeException e) {
                // Bad data, not a bad call: the request fails on its own future like any other failure of its own.
                metrics.submitted.increment();
                return new RequestHandle(request.requestId(), CompletableFuture.failedFuture(e), this);
            }
        }
        int[] prompt = multimodal != null ? multimodal.ids().clone() : promptIds(request);
        int limit = prompt.length + request.params().maxNewTokens();
        if (limit > maxSequenceTokens) {
            throw new IllegalArgumentException("request " + request.requestId() + ": prompt of " + prompt.length
                    + " tokens plus maxNewTokens " + request.params().maxNewTokens() + " exceeds the longest sequence "
                    + "this engine holds, " + maxSequenceTokens + " tokens (model context "
                    + model.config().maxPositionEmbeddings() + ", KV capacity of the full-attention pool)");
        }
        RequestState state = new RequestState(request, prompt, listener == null ? TokenListener.NONE : listener,
                tokenizer == null ? null : tokenizer.streamingDetokenizer(true), System.nanoTime());
        state.imagePrompt = multimodal;
        state.preparedImages = prepared;
        lifecycle.readLock().lock();
        try {
            if (closed) {
                throw new IllegalStateException("engine is closed; request " + request.requestId() + " not accepted");
            }
            int waiting;
            do {
                waiting = notStarted.get();
                if (waiting >= queueCapacity) {
                    metrics.rejected.increment();
                    throw new QueueFullException(request.requestId(), queueCapacity);
                }
            } while (!notStarted.compareAndSet(waiting, waiting + 1));
            if (states.putIfAbsent(request.requestId(), state) != null) {
                notStarted.decrementAndGet();
                throw new IllegalArgumentException("request id " + request.requestId() + " is already in flight");
            }
            metrics.submitted.increment();
            inbox.add(state);
        } finally {
            lifecycle.readLock().unlock();
        }
        return new RequestHandle(request.requestId(), state.future, this);
    }

    /**
     * Decodes and preprocesses the images (on the caller's thread: it is the costly part and needs no model) and
     * assembles the token-level prompt as {@code vision.ImageCaptioner} does.
     */
    private PromptTokens imagePrompt(EngineRequest request, List<PreparedImage> prepared) {
        if (imageEncoder == null) {
            throw new IllegalArgumentException("request " + request.requestId() + " has " + request.images().size()
                    + " images but the engine serves text only: " + (model.config().vision().isEmpty()
                    ? "the checkpoint has no vision_config" : "it was built without an image encoder"));
        }
        if (imagePrompt == null) {
            throw new IllegalArgumentException("request " + request.requestId()
                    + " has images but the engine has no tokenizer to assemble the prompt");
        }
        PanAndScanOptions pas = request.panAndScan().orElse(defaultPanAndScan);
        for (int i = 0; i < request.images().size(); i++) {
            try {
                prepared.add(imagePreprocessor.prepare(request.images().get(i), imageDecoder, pas));
            } catch (ImageDecodeException e) {
                throw new ImageDecodeException(e.reason(), "request " + request.requestId() + ", image " + i + ": "
                        + e.getMessage().substring(e.reason().name().length() + 2), e);
            }
        }
        String text = request.text().orElseThrow();
        if (!text.contains(ImagePrompt.IMAGE_MARKER)) {
            text = ImagePrompt.IMAGE_MARKER.repeat(prepared.size()) + text;
        }
        if (request.chat()) {
            text = ChatFormat.prompt(text);
        }
        return imagePrompt.build(text, prepared, true);
    }

    private int[] promptIds(EngineRequest request) {
        int[] ids = request.promptIdsView();
        if (ids == null) {
            if (tokenizer == null) {
                throw new IllegalArgumentException("request " + request.requestId()
                        + " has a text prompt but the engine has no tokenizer: pass promptIds");
            }
            String text = request.text().orElseThrow();
            ids = tokenizer.encode(request.chat() ? ChatFormat.prompt(text) : text, true);
        }
        int vocab = model.config().vocabSize();
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= vocab) {
                throw new IllegalArgumentException("request " + request.requestId() + ": token id " + ids[i]
                        + " at position " + i + " is outside the vocabulary [0, " + vocab + ")");
            }
        }
        return ids.clone();
    }

    /**
     * Cancels a queued or running request, a multimodal one still waiting for its image encoding included: its
     * future completes with {@link EngineFinishReason#CANCELLED} and the tokens generated so far (none for a request
     * not yet encoded, whose images are then never encoded). Thread-safe, asynchronous (takes effect before the
     * engine's next step).
     *
     * @return true when the request was in flight (it may still finish otherwise in the current step)
     */
    public boolean cancel(String requestId) {
        if (requestId == null || !states.containsKey(requestId) || terminated) {
            return false;
        }
        inbox.add(new EngineLoop.Cancel(requestId));
        return true;
    }

    /** A snapshot of the counters. Thread-safe. */
    public EngineMetrics metrics() {
        return metrics.snapshot(notStarted.get(), storage.bytes());
    }

    /** True when the checkpoint is multimodal and the engine holds its image encoder: requests may carry images. */
    public boolean acceptsImages() {
        return imageEncoder != null;
    }

    /** True once {@link #close()} was called (or the engine thread stopped): submissions are refused. */
    public boolean isClosed() {
        return closed;
    }

    /** The model this engine runs. */
    public GemmaModel model() {
        return model;
    }

    /** The longest sequence (prompt plus generated) a request may reach. */
    public int maxSequenceTokens() {
        return maxSequenceTokens;
    }

    /**
     * Stops accepting requests, lets queued and running ones finish for up to the drain timeout, then completes every
     * remaining future exceptionally with {@link EngineClosedException}; frees the KV storage and, when the engine
     * loaded it, the model and tokenizer. Every future is complete when this returns. Idempotent.
     */
    @Override
    public void close() {
        lifecycle.writeLock().lock();
        try {
            if (!closed) {
                closed = true;
                long deadline = System.nanoTime() + Math.min(drainTimeout.toNanos(), Long.MAX_VALUE / 4);
                inbox.add(new EngineLoop.Close(deadline));
            }
        } finally {
            lifecycle.writeLock().unlock();
        }
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join(TimeUnit.SECONDS.toMillis(1));
            } catch (InterruptedException e) {
                interrupted = true; // keep waiting: the engine thread owns native memory that must be freed
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Runs on the engine thread as it exits: native memory is freed by the thread that used it. */
    private void release() {
        terminated = true;
        closed = true;
        storage.close();
        if (ownsEncoder && imageEncoder != null) {
            imageEncoder.close();
        }
        if (ownsModel) {
            model.close();
            if (tokenizer != null) {
                tokenizer.close();
            }
        }
    }

    /**
     * Builder. Required: {@link #modelDir(Path)} or {@link #model(GemmaModel, GemmaTokenizer)}; everything else has
     * a default.
     */
    public static final class Builder {
        private Path modelDir;
        private GemmaModel model;
        private GemmaTokenizer tokenizer;
        private ModelOptions modelOptions = ModelOptions.defaults();
        /** Null: not set, the budget comes from {@link #kvMemoryFraction} or the default. */
        private Long kvCacheBytes;
        private Double kvMemoryFraction;
        private int blockSize = 16;
        private int targetSequenceLength = 32_768;
        private int maxTokensPerStep = 2_048;
        private int maxBatchSize = 64;
        private int queueCapacity = 1_024;
        private boolean prefixCaching = true;
        private String modelId;
        private Duration drainTimeout = Duration.ofSeconds(30);
        private ImageEncoder imageEncoder;
        private ImageDecoder imageDecoder;
        private PanAndScanOptions panAndScan = PanAndScanOptions.DISABLED;
        private long imageCacheBytes = 256L << 20;

        private Builder() {
        }

        /** Loads {@code config.json}, the weights and (when present) {@code tokenizer.json} from a folder. */
        public Builder modelDir(Path dir) {
            this.modelDir = Objects.requireNonNull(dir, "modelDir");
            return this;
        }

        /**
         * A loaded model and its tokenizer (null for id-only use). The engine does not close them; close them after
         * the engine.
         */
        public Builder model(GemmaModel loaded, GemmaTokenizer tok) {
            this.model = Objects.requireNonNull(loaded, "model");
            this.tokenizer = tok;
            return this;
        }

        /** Precision, device and threads used with {@link #modelDir(Path)} (default {@link ModelOptions#defaults()}). */
        public Builder modelOptions(ModelOptions options) {
            this.modelOptions = Objects.requireNonNull(options, "modelOptions");
            return this;
        }

        /**
         * Absolute KV budget in bytes, &gt; 0 (checked by {@link #build()}); excludes
         * {@link #kvMemoryFraction(double)}.
         */
        public Builder kvCacheBytes(long bytes) {
            this.kvCacheBytes = bytes;
            return this;
        }

        /**
         * KV budget as a fraction of the device memory free after loading; excludes {@link #kvCacheBytes(long)}.
         * Default when neither is set: 0.9 on a GPU, {@link GemmaEngine#DEFAULT_CPU_KV_BYTES} on a CPU.
         */
        public Builder kvMemoryFraction(double fraction) {
            this.kvMemoryFraction = fraction;
            return this;
        }

        /** Tokens per KV block (default 16). */
        public Builder blockSize(int tokens) {
            this.blockSize = tokens;
            return this;
        }

        /** Sequence length the split of the budget between full and sliding pools serves (default 32768). */
        public Builder targetSequenceLength(int tokens) {
            this.targetSequenceLength = tokens;
            return this;
        }

        /** Token budget of one step: decode tokens plus prefill chunks (default 2048). */
        public Builder maxTokensPerStep(int tokens) {
            this.maxTokensPerStep = tokens;
            return this;
        }

        /** Most sequences running at once (default 64). */
        public Builder maxBatchSize(int sequences) {
            this.maxBatchSize = sequences;
            return this;
        }

        /** Most requests waiting to be scheduled before {@link QueueFullException} (default 1024). */
        public Builder queueCapacity(int requests) {
            this.queueCapacity = requests;
            return this;
        }

        /** Automatic prefix caching (default on). */
        public Builder prefixCaching(boolean enabled) {
            this.prefixCaching = enabled;
            return this;
        }

        /** Identity of the weights in cache keys (default: the model folder's name, or "gemma"). */
        public Builder modelId(String id) {
            this.modelId = id;
            return this;
        }

        /** How long {@link GemmaEngine#close()} lets pending requests finish (default 30 s; zero fails them). */
        public Builder drainTimeout(Duration timeout) {
            this.drainTimeout = Objects.requireNonNull(timeout, "drainTimeout");
            return this;
        }

        /**
         * With {@link #model(GemmaModel, GemmaTokenizer)} on a multimodal model: its loaded vision encoder (not
         * closed by the engine). With {@link #modelDir(Path)} the engine loads one itself when the checkpoint has a
         * {@code vision_config}.
         */
        public Builder imageEncoder(ImageEncoder encoder) {
            this.imageEncoder = Objects.requireNonNull(encoder, "imageEncoder");
            return this;
        }

        /** The decoder and its limits (default {@code new ImageDecoder()}). */
        public Builder imageDecoder(ImageDecoder decoder) {
            this.imageDecoder = Objects.requireNonNull(decoder, "imageDecoder");
            return this;
        }

        /** Pan &amp; Scan for requests that do not choose (default off). */
        public Builder panAndScan(PanAndScanOptions options) {
            this.panAndScan = Objects.requireNonNull(options, "panAndScan");
            return this;
        }

        /** Bytes of soft-token embeddings kept for reuse by image content (default 256 MiB; 0 disables). */
        public Builder imageCacheBytes(long bytes) {
            this.imageCacheBytes = bytes;
            return this;
        }

        /** The KV and scheduling options with an absolute budget (validates every number). */
        KvCacheOptions kvOptions(long budgetBytes) {
            return KvCacheOptions.builder().blockSize(blockSize).targetSequenceLength(targetSequenceLength)
                    .maxTokensPerStep(maxTokensPerStep).maxBatchSize(maxBatchSize).queueCapacity(queueCapacity)
                    .prefixCaching(prefixCaching).kvCacheBytes(budgetBytes).build();
        }

        /**
         * Validates, loads the model when given a folder, allocates the KV storage and starts the engine thread.
         *
         * @throws IllegalArgumentException for invalid or conflicting settings, or a budget too small for one
         *     sequence of {@code targetSequenceLength} tokens
         */
        public GemmaEngine build() {
            if ((modelDir == null) == (model == null)) {
                throw new IllegalArgumentException("set exactly one of modelDir and model"
                        + (model == null ? " (neither is set)" : " (both are set)"));
            }
            if (kvCacheBytes != null && kvCacheBytes <= 0) {
                throw new IllegalArgumentException("kvCacheBytes must be > 0, got " + kvCacheBytes);
            }
            if (kvCacheBytes != null && kvMemoryFraction != null) {
                throw new IllegalArgumentException("set either kvCacheBytes (" + kvCacheBytes
                        + ") or kvMemoryFraction (" + kvMemoryFraction + "), not both");
            }
            if (drainTimeout.isNegative()) {
                throw new IllegalArgumentException("drainTimeout must be >= 0, got " + drainTimeout);
            }
            if (modelId != null && modelId.isEmpty()) {
                throw new IllegalArgumentException("modelId must not be empty");
            }
            if (kvMemoryFraction != null && !(kvMemoryFraction > 0 && kvMemoryFraction <= 1)) {
                throw new IllegalArgumentException("kvMemoryFraction must be in (0, 1], got " + kvMemoryFraction);
            }
            if (imageCacheBytes < 0) {
                throw new IllegalArgumentException("imageCacheBytes must be >= 0, got " + imageCacheBytes);
            }
            if (imageEncoder != null && modelDir != null) {
                throw new IllegalArgumentException("imageEncoder goes with model(...); with modelDir the engine loads "
                        + "the encoder of a multimodal checkpoint itself");
            }
            if (imageEncoder != null && model.config().vision().isEmpty()) {
                throw new IllegalArgumentException("an imageEncoder was given but the model is text-only (no "
                        + "vision_config)");
            }
            kvOptions(1); // validates the KV and scheduling numbers before anything is loaded
            if (modelId == null) {
                modelId = modelDir != null && modelDir.getFileName() != null ? modelDir.getFileName().toString()
                        : "gemma";
            }
            if (model != null) {
                return new GemmaEngine(this, model, tokenizer, false, imageEncoder, false);
            }
            GemmaModel loaded = GemmaModel.load(modelDir, modelOptions, LoadProgress.NONE);
            GemmaTokenizer tok = null;
            ImageEncoder enc = null;
            try {
                if (Files.exists(modelDir.resolve("tokenizer.json"))) {
                    tok = GemmaTokenizer.load(modelDir);
                }
                if (loaded.config().vision().isPresent()) {
                    // The encoder uploads its tensors, so the mapped weights can be closed right after.
                    try (GemmaWeights w = GemmaWeights.open(modelDir, loaded.config())) {
                        enc = ImageEncoder.load(w, modelOptions);
                    }
                }
                return new GemmaEngine(this, loaded, tok, true, enc, true);
            } catch (RuntimeException e) {
                if (enc != null) {
                    enc.close();
                }
                if (tok != null) {
                    tok.close();
                }
                loaded.close();
                throw e;
            }
        }
    }
}
