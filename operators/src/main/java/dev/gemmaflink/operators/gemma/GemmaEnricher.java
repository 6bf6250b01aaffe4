package dev.gemmaflink.operators.gemma;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.flink.configuration.ReadableConfig;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.gemmaflink.operators.config.EnrichmentOptions;
import dev.gemmaflink.operators.enrich.Enricher;
import dev.gemmaflink.operators.enrich.EnricherContext;
import dev.gemmaflink.operators.enrich.EnrichmentException;
import dev.gemmaflink.operators.model.ValidatedRequest;
import dev.gemmaflink.runtime.config.GemmaConfig;
import dev.gemmaflink.runtime.constrain.Constraint;
import dev.gemmaflink.runtime.engine.EngineConfig;
import dev.gemmaflink.runtime.engine.EngineFinishReason;
import dev.gemmaflink.runtime.engine.EngineRequest;
import dev.gemmaflink.runtime.engine.EngineResult;
import dev.gemmaflink.runtime.engine.GemmaEngine;
import dev.gemmaflink.runtime.engine.RequestHandle;
import dev.gemmaflink.runtime.generate.GenerationParams;
import dev.gemmaflink.runtime.vision.PanAndScanOptions;
import dev.gemmaflink.schemas.EnrichmentRequest;
import dev.gemmaflink.schemas.EnrichmentResult;
import dev.gemmaflink.schemas.ErrorCode;
import dev.gemmaflink.schemas.GenerationParameters;

/**
 * The {@code gemma} enricher: each request becomes a chat prompt ({@link PromptTemplates}) submitted to the
 * {@link GemmaEngine} this subtask shares with the other subtasks on its device ({@link SharedEngines}); the
 * engine batches them continuously and serves shared instruction prefixes from its cache.
 *
 * <p>Request mapping: tenant as the prefix-cache salt (tenants never share cached blocks), {@code priority} as
 * the engine priority, {@code deadline} as the engine's absolute deadline (a request past its deadline is a TIMEOUT
 * dead letter without running), generation parameters from the request with the {@code enrich.gemma.*} defaults. A
 * request without a seed gets one derived from its request id and, with the default temperature 0, greedy
 * decoding: a request replayed after a restore produces the same output (the async I/O contract).
 *
 * <p>{@link #enrich} only submits: the engine prepares the prompt and decodes the image on its own threads. How the
 * engine ended a request maps to a result or a dead letter in one place ({@link EngineFailures}); a full engine
 * queue is a retryable failure that Flink's async retry tries again with back-off. A request that
 * {@code enrich.async-timeout} gave up on is cancelled in the engine ({@link #cancel}).
 */
public final class GemmaEnricher implements Enricher {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(GemmaEnricher.class);

    /** Dead-letter reason of CAPTION requests on a text-only checkpoint. */
    public static final String VISION_UNAVAILABLE = EngineFailures.VISION_UNAVAILABLE;

    private final String modelDir;
    private final DevicePolicy devicePolicy;
    private final EngineConfig engineConfig;
    private final PromptTemplates templates;
    private final int defaultMaxNewTokens;
    private final double defaultTemperature;
    /** Makes engine request ids unique; serializable, so it exists before open. */
    private final AtomicLong sequence = new AtomicLong();

    private transient SharedResources.Lease<SharedEngines.Key, GemmaEngine> lease;
    private transient GemmaEngine engine;
    private transient Map<ValidatedRequest, RequestHandle> inFlight;
    private transient String device;
    private transient volatile boolean closing;

    /**
     * @param modelDir the checkpoint folder as the TaskManagers see it
     * @param devicePolicy what a subtask without a GPU does
     * @param engineConfig the engine's configuration; its device is replaced by the one chosen at open
     * @param templates prompt instructions
     * @param defaultMaxNewTokens output limit of requests that set none
     * @param defaultTemperature temperature of requests that set none
     */
    public GemmaEnricher(String modelDir, DevicePolicy devicePolicy, EngineConfig engineConfig,
            PromptTemplates templates, int defaultMaxNewTokens, double defaultTemperature) {
        if (modelDir == null || modelDir.isBlank()) {
            throw new IllegalArgumentException(GemmaOptions.MODEL_DIR.key() + " is required by the gemma enricher "
                    + "(a Gemma 3 checkpoint folder on the TaskManagers)");
        }
        this.modelDir = modelDir;
        this.devicePolicy = Objects.requireNonNull(devicePolicy, "devicePolicy");
        this.engineConfig = Objects.requireNonNull(engineConfig, "engineConfig");
        this.templates = Objects.requireNonNull(templates, "templates");
        if (defaultMaxNewTokens <= 0) {
            throw new IllegalArgumentException(GemmaOptions.MAX_NEW_TOKENS.key() + " must be > 0, got "
                    + defaultMaxNewTokens);
        }
        if (defaultTemperature < 0) {
            throw new IllegalArgumentException(GemmaOptions.TEMPERATURE.key() + " must be >= 0, got "
                    + defaultTemperature);
        }
        this.defaultMaxNewTokens = defaultMaxNewTokens;
        this.defaultTemperature = defaultTemperature;
    }

    /** From the job configuration ({@code enrich.gemma.*}). */
    public static GemmaEnricher fromConfig(ReadableConfig config) {
        return new GemmaEnricher(config.get(GemmaOptions.MODEL_DIR),
                DevicePolicy.parse(config.get(GemmaOptions.DEVICE_POLICY)), GemmaOptions.engineConfig(config),
                PromptTemplates.from(config), config.get(GemmaOptions.MAX_NEW_TOKENS),
                config.get(GemmaOptions.TEMPERATURE));
    }

    @Override
    public void open(EnricherContext context) {
        device = DeviceSelector.select(context.gpuIndex(), devicePolicy);
        Path dir = Path.of(modelDir);
        if (!Files.isRegularFile(dir.resolve("config.json"))) {
            throw new IllegalStateException(GemmaOptions.MODEL_DIR.key() + "=" + modelDir
                    + " holds no config.json on this TaskManager: not a Gemma 3 checkpoint folder");
        }
        if (engineConfig.maxSequenceLength() > 0) { // refused naming the option, before the weights load
            GemmaOptions.checkAgainstModel(engineConfig, GemmaConfig.load(dir.resolve("config.json")));
        }
        // Identity: the async operator hands timeout() the very element it gave enrich(); no hashing of images.
        inFlight = Collections.synchronizedMap(new IdentityHashMap<>());
        closing = false;
        lease = SharedEngines.acquire(new SharedEngines.Key(dir.toAbsolutePath().normalize().toString(),
                engineConfig.toBuilder().device(device).build()));
        engine = lease.get();
        GemmaMetrics.register(context.metricGroup(), engine, inFlight::size);
        int sharing = SharedEngines.references(lease.key());
        LOG.info("gemma enricher subtask {} on {} (engine shared by {} subtasks)", context.subtaskIndex(), device,
                sharing);
        capacityWarning(context.config().get(EnrichmentOptions.ASYNC_CAPACITY), engine.maxBatchSize())
                .ifPresent(LOG::warn);
    }

    /**
     * A subtask never has more than {@code enrich.async-capacity} requests in the engine, so a capacity below the
     * engine's batch limit leaves batches part empty unless other subtasks share the engine (measured: steps and
     * batches only match the engine alone's when capacity >= max-batch).
     *
     * @return the warning to log, or empty when the capacity can fill a batch
     */
    static Optional<String> capacityWarning(int asyncCapacity, int maxBatch) {
        if (asyncCapacity >= maxBatch) {
            return Optional.empty();
        }
        return Optional.of(EnrichmentOptions.ASYNC_CAPACITY.key() + "=" + asyncCapacity + " is below "
                + GemmaOptions.MAX_BATCH.key() + "=" + maxBatch + ": one subtask cannot fill an engine step; raise "
                + "the capacity unless several subtasks share this device's engine");
    }

    /** The device this subtask runs on ({@code cpu} or {@code gpu:N}); null before {@link #open}. */
    public String device() {
        return device;
    }

    @Override
    public CompletableFuture<EnrichmentResult> enrich(ValidatedRequest validated) {
        EnrichmentRequest request = validated.request();
        EngineRequest engineRequest;
        try {
            engineRequest = toEngineRequest(request, Instant.now());
        } catch (EnrichmentException e) {
            return CompletableFuture.failedFuture(e);
        }
        RequestHandle handle = engine.submit(engineRequest);
        inFlight.put(validated, handle);
        return handle.result().whenComplete((r, e) -> inFlight.remove(validated, handle))
                .thenApply(r -> toResult(request, r));
    }

    /** Cancels the engine request of a request that Flink's async timeout gave up on, so it stops using the device. */
    @Override
    public void cancel(ValidatedRequest request) {
        RequestHandle handle = inFlight == null ? null : inFlight.remove(request);
        if (handle != null) {
            handle.cancel();
        }
    }

    /**
     * The engine request the enricher submits for {@code request}: the prompt from the templates, the generation
     * parameters with this enricher's defaults and seed rule, tenant, priority, deadline and image.
     *
     * @throws EnrichmentException when the request cannot be enriched (deadline passed, invalid parameters)
     */
    public EngineRequest toEngineRequest(EnrichmentRequest request, Instant now) {
        String prompt = templates.prompt(request);
        EngineRequest.Builder b = EngineRequest.builder()
                // Unique in the shared engine even when two subtasks hold copies of one request id.
                .requestId(request.getRequestId() + "#" + System.identityHashCode(this) + "-"
                        + sequence.incrementAndGet())
                .text(prompt).chat(false)
                .tenant(request.getTenant()).cacheSalt(request.getTenant())
                .priority(request.getPriority())
                .params(params(request));
        if (request.getImage() != null) {
            // The instruction comes first in the template; the engine puts the image in front of it, so requests
            // sharing an image and template share the cached prefix.
            b.images(List.of(toArray(request.getImage().getData())));
            if (request.getPanAndScan()) {
                b.panAndScan(PanAndScanOptions.DEFAULTS_ENABLED);
            }
        }
        if (request.getDeadline() != null) {
            Duration left = Duration.between(now, request.getDeadline());
            if (left.isNegative() || left.isZero()) {
                throw new EnrichmentException(ErrorCode.TIMEOUT, "deadline " + request.getDeadline()
                        + " passed before enrichment started");
            }
            b.deadline(request.getDeadline());
        }
        return b.build();
    }

    private static byte[] toArray(ByteBuffer data) {
        ByteBuffer view = data.duplicate();
        byte[] bytes = new byte[view.remaining()];
        view.get(bytes);
        return bytes;
    }

    GenerationParams params(EnrichmentRequest request) {
        GenerationParameters g = request.getGeneration();
        GenerationParams.Builder p = GenerationParams.builder().maxNewTokens(defaultMaxNewTokens)
                .temperature(defaultTemperature)
                .seed(request.getRequestId().hashCode() * 0x9E3779B97F4A7C15L);
        if (g != null) {
            if (g.getMaxNewTokens() != null) {
                p.maxNewTokens(g.getMaxNewTokens());
            }
            if (g.getTemperature() != null) {
                p.temperature(g.getTemperature());
            }
            if (g.getTopK() != null) {
                p.topK(g.getTopK());
            }
            if (g.getTopP() != null) {
                p.topP(g.getTopP());
            }
            if (g.getSeed() != null) {
                p.seed(g.getSeed());
            }
        }
        // CLASSIFY and EXTRACT: the output is constrained to the labels or the JSON Schema.
        templates.outputs().constraint(request).ifPresent(p::constraint);
        // A label's probability costs one reduction over the logit row per token: CLASSIFY always asks.
        p.outputLogprob("CLASSIFY".equals(request.getTask()));
        try {
            return p.build();
        } catch (IllegalArgumentException e) {
            throw new EnrichmentException(ErrorCode.INVALID_PARAMETER, "generation parameters: " + e.getMessage(), e);
        }
    }

    /**
     * The result of a finished request; any other ending, or an incomplete constrained output, is thrown as its
     * failure ({@link EngineFailures}). Public for references that run the engine alone and must map its results
     * exactly as the enricher does.
     */
    public EnrichmentResult toResult(EnrichmentRequest request, EngineResult r) {
        if (r.finishReason() != EngineFinishReason.STOP && r.finishReason() != EngineFinishReason.LENGTH) {
            RuntimeException failure = EngineFailures.of(r);
            if (closing && !(failure instanceof EnrichmentException)) {
                // The engine closes because this subtask does: the outcome is never committed.
                failure = new EnrichmentException(ErrorCode.ENRICHMENT_FAILED, failure.getMessage());
            }
            throw new CompletionException(failure);
        }
        if (r.incomplete()) {
            throw new CompletionException(EngineFailures.incomplete(r));
        }
        // A constrained output is exactly the label or the JSON text; free text is cleaned of turn markers.
        boolean classify = "CLASSIFY".equals(request.getTask());
        boolean constrained = classify || "EXTRACT".equals(request.getTask());
        List<String> labels = null;
        Double probability = null;
        if (classify) {
            Constraint constraint = templates.outputs().constraint(request).orElseThrow();
            labels = List.copyOf(constraint.chosenLabels(r.text()));
            probability = r.outputProbability().isPresent() ? r.outputProbability().getAsDouble() : null;
        }
        return EnrichmentResult.newBuilder()
                .setRequestId(request.getRequestId())
                .setTenant(request.getTenant())
                .setKey(request.getKey())
                .setTask(request.getTask())
                .setOutputText(constrained ? r.text() : OutputText.clean(r.text()))
                .setModelId(modelId())
                .setFinishReason(r.finishReason().name())
                .setPromptTokens(r.promptTokens())
                .setOutputTokens(r.numTokens())
                .setCachedPromptTokens(r.cachedPromptTokens())
                .setQueueMillis(Math.round(r.queueMillis()))
                .setFirstTokenMillis(Math.max(0, Math.round(r.timeToFirstTokenMillis())))
                .setTotalMillis(Math.round(r.totalMillis()))
                .setProcessingTime(Instant.now())
                .setLabels(labels)
                .setProbability(probability)
                .build();
    }

    private String modelId() {
        if (engineConfig.modelId() != null) {
            return engineConfig.modelId();
        }
        Path name = Path.of(modelDir).toAbsolutePath().normalize().getFileName();
        return name == null ? "gemma" : name.toString();
    }

    @Override
    public void close() {
        closing = true;
        if (lease != null) {
            SharedEngines.release(lease);
            lease = null;
            engine = null;
        }
    }
}
