package dev.gemmaflink.runtime.engine;

import dev.gemmaflink.runtime.constrain.ConstraintCompiler;
import dev.gemmaflink.runtime.generate.TokenListener;
import dev.gemmaflink.runtime.kvcache.KvCacheManager;
import dev.gemmaflink.runtime.model.GemmaModel;
import dev.gemmaflink.runtime.sched.RequestQueue;
import dev.gemmaflink.runtime.sched.StepPlanner;
import dev.gemmaflink.runtime.tokenizer.GemmaTokenizer;
import dev.gemmaflink.runtime.vision.ImageDecoder;
import dev.gemmaflink.runtime.vision.ImageEncoder;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Continuous-batching inference over one device: any thread submits requests and gets futures; preparation threads
 * tokenize prompts and decode images; one engine thread ({@link EngineLoop}) owns the model and a paged,
 * prefix-cached, sliding-window-aware KV cache; a callback thread completes the futures and streams tokens, so no
 * caller's code ever runs on the thread that keeps the device busy.
 *
 * <pre>{@code
 * EngineConfig config = EngineConfig.builder().kvCacheBytes(2L << 30).maxBatchSize(32).build();
 * try (GemmaEngine engine = GemmaEngine.builder().modelDir(dir).config(config).build()) {
 *     RequestHandle h = engine.submit(EngineRequest.builder().text("Hello").chat(true)
 *             .params(GenerationParams.builder().temperature(0).maxNewTokens(64).build()).build(),
 *             (id, delta) -> System.out.print(delta));
 *     EngineResult r = h.result().get();
 * }
 * }</pre>
 *
 * <p>At start the engine sizes its KV cache once ({@link EngineKvCache}: the budget from {@link EngineConfig} after
 * the {@link ActivationHeadroom} of a full step, and a {@code KvStorage} of {@code numBlocks_g * blockSize} slots per
 * layer of group g).
 *
 * <p>{@link #submit} is cheap: it reserves a place in the queue first (at most {@code queueCapacity} requests are
 * accepted and not yet scheduled), then hands the request to {@link RequestPreparer} on the preparation threads.
 * Every way a request can fail is its {@link EngineResult} with an {@link EngineError}: a full queue
 * ({@link EngineError.Reason#QUEUE_FULL}, at once), a prompt too long for the context or the KV capacity, an image
 * that cannot be decoded, a failed step, the engine closing. Only programming errors throw.
 */
public final class GemmaEngine implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(GemmaEngine.class);

    private final EngineConfig config;
    private final GemmaModel model;
    private final GemmaTokenizer tokenizer; // may be null
    private final boolean ownsModel;
    private final ImageEncoder imageEncoder; // null: text only
    private final boolean ownsEncoder;
    private final EngineKvCache kv; // its storage is freed by the engine thread as it exits
    private final RequestPreparer preparer;
    private final BlockingQueue<Object> inbox = new LinkedBlockingQueue<>();
    private final Map<String, RequestState> states = new ConcurrentHashMap<>();
    private final AtomicInteger notStarted = new AtomicInteger();
    private final MetricsRecorder metrics;
    private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
    private final ExecutorService preparation;
    private final ExecutorService callbacks;
    /** Computes the token masks of constrained requests, off the engine thread (threads start on first use). */
    private final ExecutorService masks;
    private final Thread thread;
    private volatile boolean closed;
    private volatile boolean terminated;

    GemmaEngine(GemmaEngineBuilder b, GemmaModel model, GemmaTokenizer tokenizer, boolean ownsModel,
            ImageEncoder encoder, boolean ownsEncoder) {
        this.config = b.config;
        this.model = model;
        this.tokenizer = tokenizer;
        this.ownsModel = ownsModel;
        this.imageEncoder = encoder;
        this.ownsEncoder = ownsEncoder;
        String modelId = modelId(b);
        this.kv = EngineKvCache.allocate(config, model);
        KvCacheManager kvCache = kv.manager();
        this.masks = EngineThreads.pool("gemma-masks-" + modelId,
                Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors() / 4)));
        this.preparer = new RequestPreparer(model.config(), tokenizer, encoder != null,
                b.imageDecoder != null ? b.imageDecoder : new ImageDecoder(), config.panAndScan(),
                kv.maxSequenceTokens(), kv.sequenceLimit(), masks);
        StepPlanner planner = new StepPlanner(kvCache, new RequestQueue(config.queueCapacity()),
                config.maxTokensPerStep(), kv.maxBatchSize());
        this.metrics = new MetricsRecorder(kv.maxBatchSize(), kvCache.usage());
        this.preparation = EngineThreads.pool("gemma-prepare-" + modelId, config.preparationThreads());
        this.callbacks = EngineThreads.pool("gemma-callbacks-" + modelId, 1);
        EngineLoop loop = new EngineLoop(model, kvCache, planner, kv.storage(), config.graphMode(), modelId, inbox, states, notStarted,
                metrics, this::release, callbacks, b.beforeIteration, encoder == null ? null
                : new VisionStage(b.viewEncoders.apply(VisionStage.callsOf(encoder)),
                        new ImageEmbeddingCache(config.imageCacheBytes()), metrics, config.maxImageViewsPerStep()));
        this.thread = new Thread(loop, "gemma-engine-" + modelId);
        this.thread.setDaemon(true);
        this.thread.start();
    }

    public static GemmaEngineBuilder builder() {
        return new GemmaEngineBuilder();
    }

    private static String modelId(GemmaEngineBuilder b) {
        if (b.config.modelId() != null) {
            return b.config.modelId();
        }
        return b.modelDir != null && b.modelDir.getFileName() != null ? b.modelDir.getFileName().toString() : "gemma";
    }

    /** {@link #submit(EngineRequest, TokenListener)} without streaming. */
    public RequestHandle submit(EngineRequest request) {
        return submit(request, null);
    }

    /**
     * Accepts a request without blocking: its preparation and its run happen on the engine's threads. Thread-safe.
     *
     * @param listener called on the engine's callback thread for each generated token (stop ids excluded), in
     *     order and before the result; exceptions it throws are logged and ignored. May be null.
     * @return the handle; its future completes with an {@link EngineError} result when the request cannot run
     * @throws IllegalArgumentException when a request with the same id is in flight
     */
    public RequestHandle submit(EngineRequest request, TokenListener listener) {
        Objects.requireNonNull(request, "request");
        RequestState state = new RequestState(request, listener == null ? TokenListener.NONE : listener,
                tokenizer == null ? null : tokenizer.streamingDetokenizer(true), System.nanoTime());
        lifecycle.readLock().lock();
        try {
            if (closed) {
                return refused(state, EngineError.Reason.ENGINE_CLOSED, "the engine is closed");
            }
            int waiting;
            do {
                waiting = notStarted.get();
                if (waiting >= config.queueCapacity()) {
                    metrics.rejected.increment();
                    return refused(state, EngineError.Reason.QUEUE_FULL,
                            "the engine's queue of " + config.queueCapacity() + " requests is full");
                }
            } while (!notStarted.compareAndSet(waiting, waiting + 1));
            if (states.putIfAbsent(request.requestId(), state) != null) {
                notStarted.decrementAndGet();
                throw new IllegalArgumentException("request id " + request.requestId() + " is already in flight");
            }
            metrics.submitted.increment();
            if (RequestPreparer.needsNoWork(request)) {
                prepare(state); // nothing costly: checks the ids against the vocabulary and the length
            } else {
                preparation.execute(() -> prepare(state));
            }
        } finally {
            lifecycle.readLock().unlock();
        }
        return new RequestHandle(request.requestId(), state.future, this);
    }

    private RequestHandle refused(RequestState state, EngineError.Reason reason, String message) {
        String id = state.request.requestId();
        EngineResult result = EngineResult.refused(id, new EngineError(reason, "request " + id + ": " + message), 0,
                (System.nanoTime() - state.submitNanos) / 1e6);
        return new RequestHandle(id, CompletableFuture.completedFuture(result), this);
    }

    /** Prepares a request whose queue place is reserved and hands it to the engine thread, or fails it. */
    private void prepare(RequestState state) {
        EngineError error;
        try {
            error = state.cancelRequested ? null : preparer.prepare(state);
        } catch (RuntimeException e) {
            LOG.error("preparing request {} failed", state.request.requestId(), e);
            error = new EngineError(EngineError.Reason.ENGINE_FAILURE, "request " + state.request.requestId()
                    + ": preparation failed: " + e);
        }
        if (error != null) {
            notStarted.decrementAndGet();
            states.remove(state.request.requestId());
            EngineResult result = state.failed(error, System.nanoTime());
            metrics.recordFinish(result);
            callbacks.execute(() -> state.future.complete(result));
            return;
        }
        inbox.add(state);
        if (terminated) { // the engine thread stopped on its own: nobody will take the request
            states.remove(state.request.requestId());
            state.future.complete(state.failed(new EngineError(EngineError.Reason.ENGINE_CLOSED,
                    "request " + state.request.requestId() + ": the engine thread stopped"), System.nanoTime()));
        }
    }

    /**
     * Cancels a request that is preparing, queued or running: its future completes with
     * {@link EngineFinishReason#CANCELLED} and the tokens generated so far. Thread-safe, asynchronous (takes effect
     * before the engine's next step).
     *
     * @return true when the request was in flight (it may still finish otherwise in the current step)
     */
    public boolean cancel(String requestId) {
        RequestState state = requestId == null || terminated ? null : states.get(requestId);
        if (state == null) {
            return false;
        }
        state.cancelRequested = true;
        inbox.add(new EngineLoop.Cancel(requestId));
        return true;
    }

    /** A snapshot of the counters. Thread-safe. */
    public EngineMetrics metrics() {
        return metrics.snapshot(notStarted.get(), kv.storage().bytes());
    }

    /** Commands handed to the engine thread and not yet taken (prepared requests, cancellations); for tests. */
    int inboxSize() {
        return inbox.size();
    }

    /** The compiled constraints shared by this engine's requests; null until the first constrained request. */
    ConstraintCompiler constraintCompiler() {
        return preparer.constraintsIfBuilt();
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

    /** The configuration this engine was built with. */
    public EngineConfig config() {
        return config;
    }

    /** The longest sequence (prompt plus generated) a request may reach. */
    public int maxSequenceTokens() {
        return kv.maxSequenceTokens();
    }

    /** Most sequences running at once: the configured batch size, or the one chosen for the device when it is 0. */
    public int maxBatchSize() {
        return kv.maxBatchSize();
    }

    /**
     * Stops accepting requests, lets pending ones (preparing, queued, running) finish for up to the drain timeout,
     * then ends every remaining one with {@link EngineError.Reason#ENGINE_CLOSED}; frees the KV storage and, when
     * the engine loaded them, the model (weights and module), encoder and tokenizer; on a GPU it then empties
     * libtorch's caching allocator, so the driver sees that memory free again (a model or encoder passed in stays
     * resident until its owner closes it). Every future is complete when this returns. Idempotent.
     */
    @Override
    public void close() {
        lifecycle.writeLock().lock();
        try {
            if (closed) {
                EngineThreads.awaitQuietly(thread);
                return;
            }
            closed = true;
        } finally {
            lifecycle.writeLock().unlock();
        }
        long deadline = System.nanoTime() + Math.min(config.drainTimeout().toNanos(), Long.MAX_VALUE / 4);
        EngineThreads.shutdownAndAwait(preparation); // every accepted request is in the inbox after this
        inbox.add(new EngineLoop.Close(deadline));
        EngineThreads.awaitQuietly(thread);
        EngineThreads.shutdownAndAwait(callbacks);
        EngineThreads.shutdownAndAwait(masks);
    }

    /** Runs on the engine thread as it exits: native memory is freed by the thread that used it. */
    private void release() {
        terminated = true;
        closed = true;
        kv.storage().close();
        if (ownsEncoder && imageEncoder != null) {
            imageEncoder.close();
        }
        if (ownsModel) {
            model.close();
            if (tokenizer != null) {
                tokenizer.close();
            }
        }
        DeviceMemory.release(model.device());
    }
}
