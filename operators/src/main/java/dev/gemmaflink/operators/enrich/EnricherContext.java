package dev.gemmaflink.operators.enrich;

import org.apache.flink.configuration.ReadableConfig;

/**
 * Where an {@link Enricher} runs.
 *
 * @param subtaskIndex index of the parallel subtask (0-based)
 * @param parallelism number of parallel subtasks
 * @param attemptNumber 0 on the first run, incremented by each restart
 * @param config the job configuration ({@code EnrichmentOptions} and provider options)
 */
public record EnricherContext(int subtaskIndex, int parallelism, int attemptNumber, ReadableConfig config) {
}
