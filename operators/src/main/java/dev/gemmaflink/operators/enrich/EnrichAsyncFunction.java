package dev.gemmaflink.operators.enrich;

import java.io.Serializable;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.function.Predicate;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.TaskInfo;
import org.apache.flink.api.common.externalresource.ExternalResourceInfo;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.streaming.api.functions.async.AsyncRetryStrategy;
import org.apache.flink.streaming.api.functions.async.ResultFuture;
import org.apache.flink.streaming.api.functions.async.RichAsyncFunction;
import org.apache.flink.streaming.util.retryable.AsyncRetryStrategies;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.gemmaflink.operators.model.DeadLetters;
import dev.gemmaflink.operators.model.EnrichmentOutcome;
import dev.gemmaflink.operators.model.ValidatedRequest;
import dev.gemmaflink.schemas.DeadLetter;
import dev.gemmaflink.schemas.EnrichmentResult;
import dev.gemmaflink.schemas.ErrorCode;
import dev.gemmaflink.schemas.Stage;

/**
 * Runs an {@link Enricher} under Flink async I/O and turns every request into exactly one
 * {@link EnrichmentOutcome}: the result, or a dead letter when the enricher fails, throws, returns null or times
 * out. One request's failure never fails the job; an {@link EnricherUnavailableException} (no request can be
 * served) fails the task, which restarts from the checkpoint and replays the request.
 *
 * <p>A {@linkplain EnrichmentException#retryable() retryable} failure becomes a {@linkplain EnrichmentOutcome#retry
 * retry outcome}; run the function with {@link #retryStrategy()} ({@code AsyncDataStream.*WaitWithRetry}) so Flink
 * tries the request again with back-off until the async timeout, which spans all attempts. A request the timeout
 * gives up on is {@linkplain Enricher#cancel cancelled} in the enricher.
 *
 * <p>GPUs: {@code open} takes one of the TaskManager's {@code gpu} external resources from {@link GpuAssigner} (the
 * one fewest subtasks of this TaskManager hold) and hands it to the enricher as {@link EnricherContext#gpuIndex()};
 * {@code close} gives it back.
 *
 * <p>Metrics, in the operator's group {@code enrich}: {@code deadLetters.total} and {@code deadLetters.<CODE>}, and
 * the gauge {@code gpuIndex}: the GPU this subtask was assigned, the one its enricher runs on, -1 for a TaskManager
 * without one.
 */
public final class EnrichAsyncFunction extends RichAsyncFunction<ValidatedRequest, EnrichmentOutcome> {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(EnrichAsyncFunction.class);

    /** Flink's external resource name of GPUs. */
    private static final String GPU_RESOURCE = "gpu";
    /** Name of the gauge, in group {@code enrich}, of the slot's GPU index. */
    static final String GPU_INDEX_GAUGE = "gpuIndex";
    /** First delay of a retried request, and the most it grows to (doubling each time). */
    static final long FIRST_RETRY_DELAY_MS = 5;
    static final long MAX_RETRY_DELAY_MS = 500;

    private final Enricher enricher;
    private final Configuration config;
    private transient DeadLetterCounters deadLetters;
    private transient GpuAssigner.Assignment gpu;

    /**
     * @param enricher the enricher, unopened
     * @param config configuration handed to the enricher's {@link Enricher#open}
     */
    public EnrichAsyncFunction(Enricher enricher, Configuration config) {
        this.enricher = Objects.requireNonNull(enricher, "enricher");
        this.config = Objects.requireNonNull(config, "config");
    }

    @Override
    public void open(OpenContext openContext) throws Exception {
        TaskInfo task = getRuntimeContext().getTaskInfo();
        MetricGroup metrics = getRuntimeContext().getMetricGroup();
        MetricGroup enrichMetrics = metrics.addGroup("enrich");
        deadLetters = new DeadLetterCounters(enrichMetrics);
        Set<ExternalResourceInfo> gpus = getRuntimeContext().getExternalResourceInfos(GPU_RESOURCE);
        gpu = GpuAssigner.TASK_MANAGER.acquire(gpus);
        int gpuIndex = gpu.index();
        EnricherContext context = new EnricherContext(task.getIndexOfThisSubtask(),
                task.getNumberOfParallelSubtasks(), task.getAttemptNumber(), config, gpus, gpuIndex, metrics);
        // Where inference runs is decided by the cluster and the assigner, not the job: the gauge lets dashboards
        // (and tests) see which GPU a subtask uses, and -1 shows a TaskManager without one. It is the index the
        // enricher is handed, so it names the device actually in use.
        enrichMetrics.gauge(GPU_INDEX_GAUGE, (Gauge<Integer>) () -> gpuIndex);
        try {
            enricher.open(context);
        } catch (Exception | Error e) {
            releaseGpu();
            throw e;
        }
    }

    @Override
    public void close() throws Exception {
        try {
            enricher.close();
        } finally {
            releaseGpu();
        }
    }

    private void releaseGpu() {
        if (gpu != null) {
            gpu.close();
            gpu = null;
        }
    }

    /**
     * Flink's retry of {@linkplain EnrichmentOutcome#retryable() retry outcomes}: exponential back-off from
     * {@value #FIRST_RETRY_DELAY_MS} ms to {@value #MAX_RETRY_DELAY_MS} ms, attempts bounded only by the async
     * timeout (which then makes the request a TIMEOUT dead letter).
     */
    public static AsyncRetryStrategy<EnrichmentOutcome> retryStrategy() {
        return new AsyncRetryStrategies.ExponentialBackoffDelayRetryStrategyBuilder<EnrichmentOutcome>(
                Integer.MAX_VALUE, FIRST_RETRY_DELAY_MS, MAX_RETRY_DELAY_MS, 2.0)
                .ifResult(new IsRetry()).build();
    }

    static boolean isRetry(Collection<EnrichmentOutcome> outcomes) {
        return outcomes.size() == 1 && outcomes.iterator().next().retryable();
    }

    /** The retry predicate; a class, as the strategy is serialized with the job graph. */
    private static final class IsRetry implements Predicate<Collection<EnrichmentOutcome>>, Serializable {
        private static final long serialVersionUID = 1L;

        @Override
        public boolean test(Collection<EnrichmentOutcome> outcomes) {
            return isRetry(outcomes);
        }
    }

    @Override
    public void asyncInvoke(ValidatedRequest request, ResultFuture<EnrichmentOutcome> resultFuture) {
        CompletableFuture<EnrichmentResult> future;
        try {
            future = enricher.enrich(request);
        } catch (RuntimeException e) {
            future = CompletableFuture.failedFuture(e);
        }
        if (future == null) {
            future = CompletableFuture.failedFuture(new EnrichmentException(ErrorCode.ENRICHMENT_FAILED,
                    "enricher returned no future"));
        }
        future.whenComplete((result, error) -> {
            Throwable cause = unwrap(error);
            if (cause instanceof EnricherUnavailableException) {
                resultFuture.completeExceptionally(cause);
                return;
            }
            EnrichmentOutcome outcome;
            if (cause != null) {
                outcome = failure(request, cause);
            } else if (result == null) {
                outcome = EnrichmentOutcome.failure(deadLetter(request, ErrorCode.ENRICHMENT_FAILED,
                        "enricher completed without a result"));
            } else {
                outcome = EnrichmentOutcome.success(result);
            }
            if (!outcome.isSuccess() && !outcome.retryable()) {
                count(outcome);
            }
            resultFuture.complete(List.of(outcome));
        });
    }

    @Override
    public void timeout(ValidatedRequest request, ResultFuture<EnrichmentOutcome> resultFuture) {
        LOG.debug("request {} timed out", request.request().getRequestId());
        enricher.cancel(request);
        EnrichmentOutcome outcome = EnrichmentOutcome.failure(deadLetter(request, ErrorCode.TIMEOUT,
                "enricher did not answer within enrich.async-timeout"));
        count(outcome);
        resultFuture.complete(List.of(outcome));
    }

    private void count(EnrichmentOutcome failed) {
        if (deadLetters != null) {
            deadLetters.increment(failed.deadLetter().getErrorCode());
        }
    }

    private static Throwable unwrap(Throwable error) {
        Throwable cause = error;
        while ((cause instanceof CompletionException || cause instanceof ExecutionException)
                && cause.getCause() != null) {
            cause = cause.getCause();
        }
        return cause;
    }

    private static EnrichmentOutcome failure(ValidatedRequest request, Throwable cause) {
        if (cause instanceof EnrichmentException e) {
            DeadLetter deadLetter = deadLetter(request, e.code(), e.getMessage());
            return e.retryable() ? EnrichmentOutcome.retry(deadLetter) : EnrichmentOutcome.failure(deadLetter);
        }
        return EnrichmentOutcome.failure(deadLetter(request, ErrorCode.ENRICHMENT_FAILED, "enricher failed: " + cause));
    }

    private static DeadLetter deadLetter(ValidatedRequest request, ErrorCode code,
            String reason) {
        return DeadLetters.of(request.origin(), request.request().getRequestId(), Stage.ENRICH, code, reason);
    }
}
