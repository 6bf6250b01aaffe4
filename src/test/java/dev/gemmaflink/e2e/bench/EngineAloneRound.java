package dev.gemmaflink.e2e.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;

import dev.gemmaflink.runtime.engine.EngineFinishReason;
import dev.gemmaflink.runtime.engine.EngineMetrics;
import dev.gemmaflink.runtime.engine.EngineResult;
import dev.gemmaflink.runtime.engine.GemmaEngine;
import dev.gemmaflink.schemas.EnrichmentRequest;

/**
 * The baseline: the round's requests straight into the engine, at most {@code maxInFlight} at a time (the
 * pipeline's async capacity over all inference subtasks), timed from the first submit to the last completion.
 */
final class EngineAloneRound {

    private EngineAloneRound() {
    }

    static RoundResult run(GemmaEngine engine, BenchRequests factory, List<EnrichmentRequest> requests,
            int maxInFlight) throws InterruptedException {
        Semaphore permits = new Semaphore(maxInFlight);
        List<CompletableFuture<EngineResult>> futures = new ArrayList<>(requests.size());
        EngineMetrics before = engine.metrics();
        long start = System.nanoTime();
        for (EnrichmentRequest r : requests) {
            permits.acquire();
            CompletableFuture<EngineResult> f = engine.submit(factory.engineRequest(r)).result();
            f.whenComplete((result, error) -> permits.release());
            futures.add(f);
        }
        CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).join();
        double seconds = (System.nanoTime() - start) / 1e9;
        EngineMetrics after = engine.metrics();
        int completed = 0;
        long prompt = 0;
        long generated = 0;
        for (CompletableFuture<EngineResult> f : futures) {
            EngineResult r = f.join();
            if (r.finishReason() == EngineFinishReason.STOP || r.finishReason() == EngineFinishReason.LENGTH) {
                completed++;
                prompt += r.promptTokens();
                generated += r.numTokens();
            }
        }
        return new RoundResult("engine-alone", requests.size(), completed, seconds, prompt, generated,
                EngineWindow.between(before, after), new JsonLine().put("maxInFlight", maxInFlight));
    }
}
