package dev.gemmaflink.e2e.bench;

import dev.gemmaflink.runtime.engine.EngineMetrics;

/**
 * What the engine did between two metric snapshots: steps, tokens, busy time and the batch-size histogram of that
 * window only (the engine's counters are cumulative and the bench reuses one engine for every round).
 */
record EngineWindow(long steps, long prefillTokens, long decodeTokens, double busySeconds, double meanBatch,
        long prefixQueryTokens, long prefixHitTokens, long preemptions) {

    static EngineWindow between(EngineMetrics before, EngineMetrics after) {
        return new EngineWindow(after.steps() - before.steps(), after.prefillTokens() - before.prefillTokens(),
                after.decodeTokens() - before.decodeTokens(), after.busySeconds() - before.busySeconds(),
                after.meanBatchSizeSince(before),
                after.prefixQueryTokens() - before.prefixQueryTokens(),
                after.prefixHitTokens() - before.prefixHitTokens(), after.preemptions() - before.preemptions());
    }

    /** The window's fields, for a round's JSON line; {@code wallSeconds} gives the engine's busy share. */
    JsonLine json(double wallSeconds) {
        return new JsonLine().put("meanBatch", meanBatch).put("steps", steps).put("prefillTokens", prefillTokens)
                .put("decodeTokens", decodeTokens).put("engineBusySeconds", busySeconds)
                .put("engineBusyShare", wallSeconds > 0 ? busySeconds / wallSeconds : Double.NaN)
                .put("prefixHitRate", prefixQueryTokens == 0 ? 0.0 : (double) prefixHitTokens / prefixQueryTokens)
                .put("preemptions", preemptions);
    }
}
