package dev.gemmaflink.e2e.bench;

import java.util.Map;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;

import dev.gemmaflink.operators.enrich.EchoEnricher;
import dev.gemmaflink.operators.enrich.Enricher;
import dev.gemmaflink.operators.model.ValidatedRequest;
import dev.gemmaflink.schemas.EnrichmentResult;

/**
 * An enricher that answers like {@link EchoEnricher} but only when the bench {@linkplain #release releases} its
 * requests: until then they stay in flight in the async operator, so a checkpoint taken meanwhile holds them in its
 * operator state.
 *
 * <p>It computes the echo result when a request arrives (so the answer shows what the enricher saw, e.g. the image
 * size) and keeps only that small result and the open future, not the request. State lives in a static map keyed by
 * a run id: the MiniCluster runs in this JVM and the task deserializes its own copy of the enricher.
 */
final class HoldingEnricher implements Enricher {
    private static final long serialVersionUID = 1L;

    private static final Map<String, Queue<Held>> HELD = new ConcurrentHashMap<>();

    private final String runId;
    private final EchoEnricher echo = new EchoEnricher("");

    HoldingEnricher(String runId) {
        this.runId = runId;
        HELD.put(runId, new ConcurrentLinkedQueue<>());
    }

    @Override
    public CompletableFuture<EnrichmentResult> enrich(ValidatedRequest request) {
        EnrichmentResult result = echo.enrich(request).join();
        CompletableFuture<EnrichmentResult> answer = new CompletableFuture<>();
        HELD.get(runId).add(new Held(answer, result));
        return answer;
    }

    /** Requests of the run that wait for {@link #release}. */
    static int held(String runId) {
        return HELD.get(runId).size();
    }

    /** Answers every held request of the run; returns how many. */
    static int release(String runId) {
        Queue<Held> queue = HELD.get(runId);
        int released = 0;
        for (Held h = queue.poll(); h != null; h = queue.poll()) {
            h.answer().complete(h.result());
            released++;
        }
        return released;
    }

    private record Held(CompletableFuture<EnrichmentResult> answer, EnrichmentResult result) {
    }
}
