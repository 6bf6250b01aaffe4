package dev.gemmaflink.operators.enrich;

import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.TaskInfo;
import org.apache.flink.api.common.externalresource.ExternalResourceInfo;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.streaming.api.functions.async.ResultFuture;
import org.apache.flink.streaming.api.functions.async.RichAsyncFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.gemmaflink.operators.model.DeadLetters;
import dev.gemmaflink.operators.model.EnrichmentOutcome;
import dev.gemmaflink.operators.model.ValidatedRequest;
import dev.gemmaflink.schemas.EnrichmentResult;
import dev.gemmaflink.schemas.ErrorCode;
import dev.gemmaflink.schemas.Stage;

/**
 * Runs an {@link Enricher} under Flink async I/O and turns every request into exactly one
 * {@link EnrichmentOutcome}: the result, or a dead letter when the enricher fails, throws, returns null or times
 * out. One request's failure never fails the job.
 *
 * <p>Metrics, in the operator's group {@code enrich}: {@code deadLetters.total} and {@code deadLetters.<CODE>}, and
 * the gauge {@code gpuIndex}: the GPU this subtask uses among those Flink gave its slot
 * ({@link EnricherContext#gpuIndex()}), -1 for a slot without one.
 */
public final class EnrichAsyncFunction extends RichAsyncFunction<ValidatedRequest, EnrichmentOutcome> {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(EnrichAsyncFunction.class);

    /** Flink's external resource name of GPUs. */
    private static final String GPU_RESOURCE = "gpu";
    /** Name of the gauge, in group {@code enrich}, of the slot's GPU index. */
    static final String GPU_INDEX_GAUGE = "gpuIndex";

    private final Enricher enricher;
    private final Configuration config;
    private transient DeadLetterCounters deadLetters;

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
        EnricherContext context = new EnricherContext(task.getIndexOfThisSubtask(),
                task.getNumberOfParallelSubtasks(), task.getAttemptNumber(), config, gpus, metrics);
        // Where inference runs is decided by the cluster, not the job: the gauge lets dashboards (and tests) see
        // which GPU a subtask uses, and -1 shows a slot that got none. It reads the same decision the enricher's
        // device selection makes, so it names the device actually in use.
        int gpuIndex = context.gpuIndex();
        enrichMetrics.gauge(GPU_INDEX_GAUGE, (Gauge<Integer>) () -> gpuIndex);
        enricher.open(context);
    }

    @Override
    public void close() throws Exception {
        enricher.close();
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
            EnrichmentOutcome outcome;
            if (error != null) {
                outcome = failure(request, error);
            } else if (result == null) {
                outcome = EnrichmentOutcome.failure(deadLetter(request, ErrorCode.ENRICHMENT_FAILED,
                        "enricher completed without a result"));
            } else {
                outcome = EnrichmentOutcome.success(result);
            }
            if (!outcome.isSuccess()) {
                count(outcome);
            }
            resultFuture.complete(List.of(outcome));
        });
    }

    @Override
    public void timeout(ValidatedRequest request, ResultFuture<EnrichmentOutcome> resultFuture) {
        LOG.debug("request {} timed out", request.request().getRequestId());
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

    private static EnrichmentOutcome failure(ValidatedRequest request, Throwable error) {
        Throwable cause = error;
        while ((cause instanceof CompletionException || cause instanceof ExecutionException)
                && cause.getCause() != null) {
            cause = cause.getCause();
        }
        ErrorCode code = cause instanceof EnrichmentException e ? e.code() : ErrorCode.ENRICHMENT_FAILED;
        String reason = cause instanceof EnrichmentException ? cause.getMessage() : "enricher failed: " + cause;
        return EnrichmentOutcome.failure(deadLetter(request, code, reason));
    }

    private static dev.gemmaflink.schemas.DeadLetter deadLetter(ValidatedRequest request, ErrorCode code,
            String reason) {
        return DeadLetters.of(request.origin(), request.request().getRequestId(), Stage.ENRICH, code, reason);
    }
}
