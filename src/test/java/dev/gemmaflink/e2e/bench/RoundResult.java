package dev.gemmaflink.e2e.bench;

/**
 * One timed round of one side.
 *
 * @param side {@code engine-alone} or {@code pipeline}
 * @param requests requests in the round
 * @param completed requests that came back with a result (the rest failed or became dead letters)
 * @param seconds first submit/publish to last result (visible under read_committed for the pipeline)
 * @param promptTokens prompt tokens of the results
 * @param generatedTokens output tokens of the results
 * @param engine what the engine did in the round
 * @param extra side-specific fields
 */
record RoundResult(String side, int requests, int completed, double seconds, long promptTokens,
        long generatedTokens, EngineWindow engine, JsonLine extra) {

    double requestsPerSecond() {
        return completed / seconds;
    }

    double tokensPerSecond() {
        return generatedTokens / seconds;
    }

    JsonLine json() {
        return new JsonLine().put("side", side).put("requests", requests).put("completed", completed)
                .put("seconds", seconds).put("requestsPerSecond", requestsPerSecond())
                .put("generatedTokens", generatedTokens).put("generatedTokensPerSecond", tokensPerSecond())
                .put("promptTokens", promptTokens).putAll(engine.json(seconds)).putAll(extra);
    }
}
