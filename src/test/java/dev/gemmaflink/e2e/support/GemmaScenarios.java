package dev.gemmaflink.e2e.support;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import dev.gemmaflink.e2e.support.KafkaFlinkExtension.Scenario;
import dev.gemmaflink.operators.gemma.SharedEngines;
import dev.gemmaflink.runtime.engine.EngineMetrics;

/** Scenarios that run the gemma enricher on a tiny checkpoint, and the metrics of the engine that served them. */
public final class GemmaScenarios {

    private GemmaScenarios() {
    }

    /**
     * Configures a scenario for the gemma enricher: float32 on one thread, small KV cache and blocks, 4 new tokens.
     * The model id is the scenario id, so {@link #finalMetrics} can find the engine that served it.
     */
    public static Scenario configure(Scenario scenario, Path modelDir) {
        Map<String, String> s = scenario.settings();
        s.put("enrich.enricher", "gemma");
        s.put("enrich.gemma.model-dir", modelDir.toString());
        s.put("enrich.gemma.model-id", scenario.id());
        s.put("enrich.gemma.precision", "FLOAT32");
        s.put("enrich.gemma.threads", "1");
        s.put("enrich.gemma.kv-cache-bytes", String.valueOf(16L << 20));
        s.put("enrich.gemma.block-size", "4");
        s.put("enrich.gemma.target-sequence-length", "256");
        s.put("enrich.gemma.max-new-tokens", "4");
        return scenario;
    }

    /**
     * Requests the live engines of the model {@code modelId} (a scenario id) accepted and have not finished yet: in
     * flight right now. 0 when no engine of it is live.
     */
    public static long requestsInFlight(String modelId) {
        return SharedEngines.live().entrySet().stream()
                .filter(e -> modelId.equals(e.getKey().config().modelId())).map(e -> e.getValue().metrics())
                .mapToLong(m -> m.submitted() - m.completed()).sum();
    }

    /** The final metrics of the one engine that served the scenario (the MiniCluster runs in this JVM). */
    public static EngineMetrics finalMetrics(Scenario scenario) {
        List<EngineMetrics> mine = SharedEngines.finalMetrics().entrySet().stream()
                .filter(e -> scenario.id().equals(e.getKey().config().modelId())).map(Map.Entry::getValue)
                .toList();
        if (mine.size() != 1) {
            throw new AssertionError("expected one engine to serve every inference subtask of " + scenario.id()
                    + ", found " + mine.size());
        }
        return mine.get(0);
    }
}
