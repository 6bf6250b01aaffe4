package dev.gemmaflink.operators.gemma;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.gemmaflink.operators.config.EnrichmentOptions;
import dev.gemmaflink.operators.enrich.Enricher;
import dev.gemmaflink.operators.enrich.EnricherContext;
import dev.gemmaflink.operators.enrich.EnrichmentException;
import dev.gemmaflink.operators.model.ValidatedRequest;
import dev.gemmaflink.runtime.engine.EngineRequest;
import dev.gemmaflink.runtime.engine.EngineResult;
import dev.gemmaflink.runtime.engine.GemmaEngine;
import dev.gemmaflink.runtime.engine.QueueFullException;
import dev.gemmaflink.runtime.generate.GenerationParams;
import dev.gemmaflink.runtime.vision.ImageDecodeException;
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
 * the engine priority, {@code deadline} as the engine timeout (a request past its deadline is a TIMEOUT dead
 * letter without running), generation parameters from the request with the {@code enrich.gemma.*} defaults. A
 * request without a seed gets one derived from its request id and, with the default temperature 0, greedy
 * decoding: a request replayed after a restore produces the same output (the async I/O contract).
 *
 * <p>Failures become that request's dead letter, never a job failure: a full engine queue is retried with back-off
 * until {@code enrich.async-timeout} (then Flink's timeout makes it a TIMEOUT dead letter), a prompt that can never
 * fit is INVALID_PARAMETER, an image the engine cannot read IMAGE_UNREADABLE, an engine error ENRICHMENT_FAILED,
 * and a CAPTION request on a text-only checkpoint ENRICHMENT_FAILED with {@link #VISION_UNAVAILABLE}.
 */
public final class GemmaEnricher implements Enricher {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(GemmaEnricher.class);

    /** Dead-letter reason of CAPTION requests on a text-only checkpoint. */
    public static final String VISION_UNAVAILABLE = "captioning needs a multimodal checkpoint (one with a "
            + "vision_config, e.g. gemma-3-4b-it): the configured model reads text only";

    /** Retries of refused submits share one small timer per JVM; the retried submit itself is quick. */
    private static final ScheduledExecutorService RETRY_TIMER = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "gemma-enricher-retry");
        t.setDaemon(true);
        return t;
    });
    private static final long FIRST_RETRY_MS = 5;
    private static final long MAX_RETRY_MS = 500;

    private final EngineSettings settings;
    private final PromptTemplates templates;
    private final int defaultMaxNewTokens;
    private final double defaultTemperature;
    private final Duration retryBudget;
    /** Makes engine request ids unique; serializable, so it exists before open. */
    private final AtomicLong sequence = new AtomicLong();

    private transient SharedResources.Lease<SharedEngines.Key, GemmaEngine> lease;
    private transient GemmaEngine engine;
    private transient AtomicInteger inFlight;
    private transient String device;

    /**
     * @param settings the engine settings
     * @param templates prompt instructions
     * @param defaultMaxNewTokens output limit of requests that set none
     * @param defaultTemperature temperature of requests that set none
     * @param retryBudget how long a refused submit is retried (the async timeout)
     */
    public GemmaEnricher(EngineSettings settings, PromptTemplates templates, int defaultMaxNewTokens,
            double defaultTemperature, Duration retryBudget) {
        this.settings = Objects.requireNonNull(settings, "settings");
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
        this.retryBudget = Objects.requireNonNull(retryBudget, "retryBudget");
    }

    /** From the job configuration ({@code enrich.gemma.*} and {@code enrich.async-timeout}). */
    public static GemmaEnricher fromConfig(org.apache.flink.configuration.ReadableConfig config) {
        return new GemmaEnricher(EngineSettings.from(config), PromptTemplates.from(config),
                config.get(GemmaOptions.MAX_NEW_TOKENS), config.get(GemmaOptions.TEMPERATURE),
                config.get(EnrichmentOptions.ASYNC_TIMEOUT));
    }

    @Override
    public void open(EnricherContext context) {
        device = DeviceSelector.select(context.gpus(), settings.devicePolicy(), context.subtaskIndex());
        java.nio.file.Path dir = java.nio.file.Path.of(settings.modelDir());
        if (!java.nio.file.Files.isRegularFile(dir.resolve("config.json"))) {
            throw new IllegalStateException(GemmaOptions.MODEL_DIR.key() + "=" + settings.modelDir()
                    + " holds no config.json on this TaskManager: not a Gemma 3 checkpoint folder");
        }
        inFlight = new AtomicInteger();
        lease = SharedEngines.acquire(new SharedEngines.Key(dir.toAbsolutePath().normalize().toString(), device,
                settings));
        engine = lease.get();
        GemmaMetrics.register(context.metricGroup(), engine, inFlight);
        int sharing = SharedEngines.references(lease.key());
        LOG.info("gemma enricher subtask {} on {} (engine shared by {} subtasks)", context.subtaskIndex(), device,
                sharing);
        capacityWarning(context.config().get(EnrichmentOptions.ASYNC_CAPACITY), settings.maxBatch())
                .ifPresent(LOG::warn);
    }

    /**
     * A subtask never has more than {@code enrich.async-capacity} requests in the engine, so a capacity below the
     * engine's batch limit leaves batches part empty unless other subtasks share the engine (measured: steps and
     * batches only match the engine alone's when capacity >= max-batch).
     *
     * @return the warning to log, or empty when the capacity can fill a batch
     */
    static java.util.Optional<String> capacityWarning(int asyncCapacity, int maxBatch) {
        if (asyncCapacity >= maxBatch) {
            return java.util.Optional.empty();
        }
        return java.util.Optional.of(EnrichmentOptions.ASYNC_CAPACITY.key() + "=" + asyncCapacity + " is below "
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
        if (request.getImage() != null && !engine.acceptsImages()) {
            return CompletableFuture.failedFuture(new EnrichmentException(ErrorCode.ENRICHMENT_FAILED,
                    VISION_UNAVAILABLE));
        }
        EngineRequest engineRequest;
        try {
            engineRequest = toEngineRequest(request, Instant.now());
        } catch (EnrichmentException e) {
            return CompletableFuture.failedFuture(e);
        }
        CompletableFuture<EngineResult> done = new CompletableFuture<>();
        inFlight.incrementAndGet();
        submit(engineRequest, done, System.nanoTime() + retryBudget.toNanos(), FIRST_RETRY_MS);
        return done.thenApply(r -> toResult(request, r))
                .whenComplete((r, e) -> inFlight.decrementAndGet());
    }

    private void submit(EngineRequest engineRequest, CompletableFuture<EngineResult> done, long retryUntil,
            long backoffMs) {
        try {
            engine.submit(engineRequest).result().whenComplete((r, e) -> {
                Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
                if (cause instanceof ImageDecodeException) {
                    done.completeExceptionally(new EnrichmentException(ErrorCode.IMAGE_UNREADABLE,
                            "image: " + cause.getMessage(), cause));
                } else if (e != null) {
                    done.completeExceptionally(e);
                } else {
                    done.complete(r);
                }
            });
        } catch (QueueFullException e) {
            if (System.nanoTime() + backoffMs * 1_000_000 > retryUntil) {
                done.completeExceptionally(new EnrichmentException(ErrorCode.TIMEOUT, e.getMessage(), e));
                return;
            }
            RETRY_TIMER.schedule(() -> submit(engineRequest, done, retryUntil, Math.min(MAX_RETRY_MS, backoffMs * 2)),
                    backoffMs, TimeUnit.MILLISECONDS);
        } catch (IllegalArgumentException e) {
            done.completeExceptionally(new EnrichmentException(ErrorCode.INVALID_PARAMETER,
                    "the engine refused the request: " + e.getMessage(), e));
        } catch (RuntimeException e) {
            done.completeExceptionally(new EnrichmentException(ErrorCode.ENRICHMENT_FAILED,
                    "the engine refused the request: " + e, e));
        }
    }

    EngineRequest toEngineRequest(EnrichmentRequest request, Instant now) {
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
            b.timeout(left);
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
        try {
            return p.build();
        } catch (IllegalArgumentException e) {
            throw new EnrichmentException(ErrorCode.INVALID_PARAMETER, "generation parameters: " + e.getMessage(), e);
        }
    }

    EnrichmentResult toResult(EnrichmentRequest request, EngineResult r) {
        switch (r.finishReason()) {
            case STOP:
            case LENGTH:
                break;
            case DEADLINE:
                throw new CompletionException(new EnrichmentException(ErrorCode.TIMEOUT,
                        "the request's deadline passed in the engine after " + Math.round(r.totalMillis()) + " ms"));
            case ERROR:
                throw new CompletionException(new EnrichmentException(ErrorCode.ENRICHMENT_FAILED,
                        "the engine failed: " + r.error()));
            default:
                throw new CompletionException(new EnrichmentException(ErrorCode.ENRICHMENT_FAILED,
                        "the engine ended the request: " + r.finishReason()));
        }
        return EnrichmentResult.newBuilder()
                .setRequestId(request.getRequestId())
                .setTenant(request.getTenant())
                .setKey(request.getKey())
                .setTask(request.getTask())
                .setOutputText(OutputText.clean(r.text()))
                .setModelId(modelId())
                .setFinishReason(r.finishReason().name())
                .setPromptTokens(r.promptTokens())
                .setOutputTokens(r.numTokens())
                .setCachedPromptTokens(r.cachedPromptTokens())
                .setQueueMillis(Math.round(r.queueMillis()))
                .setFirstTokenMillis(Math.max(0, Math.round(r.timeToFirstTokenMillis())))
                .setTotalMillis(Math.round(r.totalMillis()))
                .setProcessingTime(Instant.now())
                .build();
    }

    private String modelId() {
        if (!settings.modelId().isBlank()) {
            return settings.modelId();
        }
        java.nio.file.Path name = java.nio.file.Path.of(settings.modelDir()).toAbsolutePath().normalize()
                .getFileName();
        return name == null ? "gemma" : name.toString();
    }

    @Override
    public void close() {
        if (lease != null) {
            SharedEngines.release(lease);
            lease = null;
            engine = null;
        }
    }
}
