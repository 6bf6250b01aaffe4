package dev.gemmaflink.e2e.bench;

import java.util.ArrayList;
import java.util.List;

import dev.gemmaflink.e2e.support.Requests;
import dev.gemmaflink.operators.gemma.PromptTemplates;
import dev.gemmaflink.runtime.engine.EngineRequest;
import dev.gemmaflink.runtime.generate.GenerationParams;
import dev.gemmaflink.schemas.EnrichmentRequest;

/**
 * The bench's requests and their engine form. Every round gets fresh documents (a running six-digit number, so
 * every prompt has the same shape and length): a round never finds a previous round's whole prompt in the prefix
 * cache, only the shared instruction prefix, on both sides alike.
 */
final class BenchRequests {

    private static final String TEXT = "Document %06d describes a stream of events and the operators that enrich "
            + "them.";

    private final PromptTemplates templates = PromptTemplates.defaults();
    private final int tenants;
    private final int maxNewTokens;
    private int next = 100_000;

    BenchRequests(int tenants, int maxNewTokens) {
        if (tenants <= 0 || maxNewTokens <= 0) {
            throw new IllegalArgumentException("tenants and max new tokens must be > 0, got " + tenants + " and "
                    + maxNewTokens);
        }
        this.tenants = tenants;
        this.maxNewTokens = maxNewTokens;
    }

    /** {@code n} new SUMMARIZE requests spread round robin over the tenants (the job's routing keys). */
    List<EnrichmentRequest> next(String label, int n) {
        List<EnrichmentRequest> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int doc = next++;
            out.add(Requests.request(label + "-" + doc, "SUMMARIZE").setTenant("tenant-" + (i % tenants))
                    .setText(String.format(java.util.Locale.ROOT, TEXT, doc)).build());
        }
        return out;
    }

    /**
     * The engine request the job's {@code gemma} enricher makes of {@code request} (same prompt, no chat wrapping
     * by the engine, tenant as cache salt, priority, greedy with its default max new tokens and the request-derived
     * seed), so the engine-alone side runs exactly what the pipeline runs.
     */
    EngineRequest engineRequest(EnrichmentRequest request) {
        return EngineRequest.builder().requestId(request.getRequestId()).text(templates.prompt(request)).chat(false)
                .tenant(request.getTenant()).cacheSalt(request.getTenant()).priority(request.getPriority())
                .params(GenerationParams.builder().maxNewTokens(maxNewTokens).temperature(0)
                        .seed(request.getRequestId().hashCode() * 0x9E3779B97F4A7C15L).build())
                .build();
    }
}
