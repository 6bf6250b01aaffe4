package dev.gemmaflink.operators.enrich;

import static dev.gemmaflink.operators.TestRequests.origin;
import static dev.gemmaflink.operators.TestRequests.summarize;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

import org.apache.flink.api.common.externalresource.ExternalResourceInfo;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.functions.async.CollectionSupplier;
import org.apache.flink.streaming.api.functions.async.ResultFuture;
import org.junit.jupiter.api.Test;

import dev.gemmaflink.operators.FakeGpu;
import dev.gemmaflink.operators.FakeRuntimeContext;
import dev.gemmaflink.operators.model.EnrichmentOutcome;
import dev.gemmaflink.operators.model.ValidatedRequest;
import dev.gemmaflink.schemas.DeadLetter;
import dev.gemmaflink.schemas.EnrichmentResult;
import dev.gemmaflink.schemas.ErrorCode;

class EnrichAsyncFunctionTest {

    private static final ValidatedRequest REQUEST =
            ValidatedRequest.of(origin(new byte[] {1, 2}), summarize("r-1", "hello").build());

    @Test
    void successBecomesAResultOutcome() {
        EnrichmentOutcome outcome = invoke(new EchoEnricher(""));
        assertThat(outcome.isSuccess()).isTrue();
        assertThat(outcome.result().getOutputText()).isEqualTo("[SUMMARIZE] hello");
    }

    @Test
    void failedFutureBecomesADeadLetterWithTheEnrichersCode() {
        DeadLetter d = invoke(r -> CompletableFuture.failedFuture(
                new EnrichmentException(ErrorCode.INVALID_PARAMETER, "prompt too long for context"))).deadLetter();

        assertThat(d.getErrorCode()).isEqualTo("INVALID_PARAMETER");
        assertThat(d.getReason()).isEqualTo("prompt too long for context");
        assertThat(d.getStage()).isEqualTo("ENRICH");
        assertThat(d.getRequestId()).isEqualTo("r-1");
        assertThat(d.getSourceOffset()).isEqualTo(42L);
        assertThat(d.getOriginalBytes().array()).containsExactly(1, 2);
    }

    @Test
    void thrownExceptionNullFutureAndNullResultBecomeEnrichmentFailed() {
        DeadLetter thrown = invoke(r -> {
            throw new IllegalStateException("engine crashed");
        }).deadLetter();
        assertThat(thrown.getErrorCode()).isEqualTo("ENRICHMENT_FAILED");
        assertThat(thrown.getReason()).contains("engine crashed");

        assertThat(invoke(r -> null).deadLetter().getReason()).contains("no future");
        assertThat(invoke(r -> CompletableFuture.completedFuture(null)).deadLetter().getReason())
                .contains("without a result");
    }

    @Test
    void timeoutBecomesATimeoutDeadLetter() {
        EnrichAsyncFunction function = new EnrichAsyncFunction(r -> new CompletableFuture<>(), new Configuration());
        Capture capture = new Capture();
        function.asyncInvoke(REQUEST, capture);
        assertThat(capture.outcomes).isEmpty();

        function.timeout(REQUEST, capture);

        assertThat(capture.outcomes).singleElement()
                .satisfies(o -> assertThat(o.deadLetter().getErrorCode()).isEqualTo("TIMEOUT"));
    }

    @Test
    void gpuIndicesAreAscendingAndAnInvalidIndexIsRefused() {
        assertThat(EnricherContext.gpuIndices(Set.of())).isEmpty();
        assertThat(EnricherContext.gpuIndices(null)).isEmpty();
        assertThat(EnricherContext.gpuIndices(List.of(gpu("5"), gpu(" 2 "), gpu("7")))).containsExactly(2, 5, 7);
        // A GPU without a usable index is a cluster misconfiguration: refused, not skipped.
        assertThatThrownBy(() -> EnricherContext.gpuIndices(List.of(gpu("x"), gpu("4"))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("a 'gpu' external resource has index 'x', not a GPU index >= 0");
        assertThatThrownBy(() -> EnricherContext.gpuIndices(List.of(gpu("-1"))))
                .hasMessage("a 'gpu' external resource has index '-1', not a GPU index >= 0");
        assertThatThrownBy(() -> EnricherContext.gpuIndices(List.of(gpu(null))))
                .hasMessageStartingWith("a 'gpu' external resource info has no 'index' property");
    }

    @Test
    void aRetryableFailureIsARetryOutcomeThatIsNotCountedYet() {
        EnrichmentOutcome busy = invoke(r -> CompletableFuture.failedFuture(
                EnrichmentException.retryable(ErrorCode.TIMEOUT, "queue full")));
        assertThat(busy.retryable()).isTrue();
        assertThat(busy.deadLetter().getErrorCode()).isEqualTo("TIMEOUT");
        assertThat(busy.deadLetter().getReason()).isEqualTo("queue full");
        assertThat(EnrichAsyncFunction.isRetry(List.of(busy))).isTrue();
        // Flink ships the strategy with the job graph.
        assertThat(org.apache.flink.util.InstantiationUtil.isSerializable(EnrichAsyncFunction.retryStrategy()))
                .isTrue();
        assertThat(EnrichAsyncFunction.isRetry(List.of(invoke(r -> CompletableFuture.failedFuture(
                new EnrichmentException(ErrorCode.TIMEOUT, "late")))))).isFalse();
    }

    @Test
    void anUnavailableEnricherFailsTheTaskInsteadOfDeadLetteringTheRequest() {
        Capture capture = new Capture();
        new EnrichAsyncFunction(r -> CompletableFuture.failedFuture(new EnricherUnavailableException("gone")),
                new Configuration()).asyncInvoke(REQUEST, capture);
        assertThat(capture.outcomes).isEmpty();
        assertThat(capture.error).isInstanceOf(EnricherUnavailableException.class).hasMessage("gone");
    }

    @Test
    void aTimeoutCancelsTheRequestInTheEnricher() {
        List<ValidatedRequest> cancelled = new java.util.ArrayList<>();
        Enricher pending = new Enricher() {
            @Override
            public CompletableFuture<EnrichmentResult> enrich(ValidatedRequest request) {
                return new CompletableFuture<>();
            }

            @Override
            public void cancel(ValidatedRequest request) {
                cancelled.add(request);
            }
        };
        EnrichAsyncFunction function = new EnrichAsyncFunction(pending, new Configuration());
        Capture capture = new Capture();
        function.asyncInvoke(REQUEST, capture);
        function.timeout(REQUEST, capture);
        assertThat(cancelled).containsExactly(REQUEST);
        assertThat(capture.outcomes).singleElement()
                .satisfies(o -> assertThat(o.deadLetter().getErrorCode()).isEqualTo("TIMEOUT"));
    }

    /**
     * Flink gives every subtask of a TaskManager all of its GPUs. Subtasks 0 and 2 (both even: "index modulo 2"
     * would put both on the first GPU) share a TaskManager with GPUs 6 and 7: each gets its own, the enricher runs
     * on it and the gauge reports it; a subtask that opens after one closed takes the GPU given back.
     */
    @Test
    void subtasksOfATaskManagerTakeItsGpusInTurnAndTheGaugeNamesTheDeviceInUse() throws Exception {
        List<ExternalResourceInfo> gpus = List.of(gpu("7"), gpu("6"));
        List<Integer> opened = new java.util.concurrent.CopyOnWriteArrayList<>();
        Enricher recordsItsGpu = new Enricher() {
            @Override
            public void open(EnricherContext context) {
                opened.add(context.gpuIndex());
            }

            @Override
            public CompletableFuture<EnrichmentResult> enrich(ValidatedRequest request) {
                return new CompletableFuture<>();
            }
        };
        FakeRuntimeContext first = new FakeRuntimeContext(0, 4, gpus, "enrich");
        FakeRuntimeContext second = new FakeRuntimeContext(2, 4, gpus, "enrich");
        EnrichAsyncFunction a = open(recordsItsGpu, first);
        EnrichAsyncFunction b = open(recordsItsGpu, second);
        assertThat(opened).containsExactly(6, 7);
        assertThat(first.gauges.get(EnrichAsyncFunction.GPU_INDEX_GAUGE).getValue()).isEqualTo(6);
        assertThat(second.gauges.get(EnrichAsyncFunction.GPU_INDEX_GAUGE).getValue()).isEqualTo(7);
        assertThat(GpuAssigner.TASK_MANAGER.holders(6)).isEqualTo(1);
        assertThat(GpuAssigner.TASK_MANAGER.holders(7)).isEqualTo(1);

        a.close();
        assertThat(GpuAssigner.TASK_MANAGER.holders(6)).isZero();
        FakeRuntimeContext restarted = new FakeRuntimeContext(0, 4, gpus, "enrich");
        EnrichAsyncFunction c = open(recordsItsGpu, restarted);
        assertThat(opened).containsExactly(6, 7, 6);
        assertThat(restarted.gauges.get(EnrichAsyncFunction.GPU_INDEX_GAUGE).getValue()).isEqualTo(6);
        b.close();
        c.close();
        assertThat(GpuAssigner.TASK_MANAGER.holders(6)).isZero();
        assertThat(GpuAssigner.TASK_MANAGER.holders(7)).isZero();
    }

    @Test
    void aTaskManagerWithoutGpusReportsMinusOneAndAFailedOpenGivesTheGpuBack() throws Exception {
        FakeRuntimeContext noGpu = new FakeRuntimeContext(0, 1, List.of(), "enrich");
        open(new EchoEnricher(""), noGpu).close();
        assertThat(noGpu.gauges.get(EnrichAsyncFunction.GPU_INDEX_GAUGE).getValue()).isEqualTo(-1);

        Enricher failing = new Enricher() {
            @Override
            public void open(EnricherContext context) {
                throw new IllegalStateException("no CUDA on gpu:" + context.gpuIndex());
            }

            @Override
            public CompletableFuture<EnrichmentResult> enrich(ValidatedRequest request) {
                return new CompletableFuture<>();
            }
        };
        EnrichAsyncFunction function = new EnrichAsyncFunction(failing, new Configuration());
        function.setRuntimeContext(new FakeRuntimeContext(0, 1, List.of(gpu("9")), "enrich").context());
        assertThatThrownBy(() -> function.open(null)).hasMessage("no CUDA on gpu:9");
        assertThat(GpuAssigner.TASK_MANAGER.holders(9)).isZero();
        function.close(); // Flink closes a function whose open failed: nothing is released twice
        assertThat(GpuAssigner.TASK_MANAGER.holders(9)).isZero();
    }

    private static EnrichAsyncFunction open(Enricher enricher, FakeRuntimeContext context) throws Exception {
        EnrichAsyncFunction function = new EnrichAsyncFunction(enricher, new Configuration());
        function.setRuntimeContext(context.context());
        function.open(null);
        return function;
    }

    /** A GPU info as Flink's GPU plugin reports it: property {@code index}; null for an info without one. */
    private static ExternalResourceInfo gpu(String index) {
        return FakeGpu.index(index);
    }

    private static EnrichmentOutcome invoke(Enricher enricher) {
        Capture capture = new Capture();
        new EnrichAsyncFunction(enricher, new Configuration()).asyncInvoke(REQUEST, capture);
        assertThat(capture.error).as("a request's failure must not fail the task").isNull();
        assertThat(capture.outcomes).hasSize(1);
        return capture.outcomes.get(0);
    }

    /** Records what the function completes with. */
    private static final class Capture implements ResultFuture<EnrichmentOutcome> {
        final List<EnrichmentOutcome> outcomes = new ArrayList<>();
        Throwable error;

        @Override
        public void complete(Collection<EnrichmentOutcome> result) {
            outcomes.addAll(result);
        }

        @Override
        public void completeExceptionally(Throwable failure) {
            assertThat(error).as("completed exceptionally twice").isNull();
            error = failure;
        }

        @Override
        public void complete(CollectionSupplier<EnrichmentOutcome> supplier) {
            try {
                outcomes.addAll(supplier.get());
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        }
    }

}
