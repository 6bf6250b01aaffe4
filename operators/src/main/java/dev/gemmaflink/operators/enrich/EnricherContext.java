package dev.gemmaflink.operators.enrich;

import java.util.Collection;
import java.util.List;
import java.util.Objects;

import org.apache.flink.api.common.externalresource.ExternalResourceInfo;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;

/**
 * Where an {@link Enricher} runs.
 *
 * @param subtaskIndex index of the parallel subtask (0-based)
 * @param parallelism number of parallel subtasks
 * @param attemptNumber 0 on the first run, incremented by each restart
 * @param config the job configuration ({@code EnrichmentOptions} and provider options)
 * @param gpus the {@code gpu} external resources of the subtask's slot (empty without any)
 * @param metricGroup where the enricher registers its metrics (the subtask's, or an unregistered group)
 */
public record EnricherContext(int subtaskIndex, int parallelism, int attemptNumber, ReadableConfig config,
        Collection<ExternalResourceInfo> gpus, MetricGroup metricGroup) {

    public EnricherContext {
        Objects.requireNonNull(config, "config");
        gpus = gpus == null ? List.of() : List.copyOf(gpus);
        metricGroup = metricGroup == null ? new UnregisteredMetricsGroup() : metricGroup;
    }

    /** A context without GPUs and with metrics going nowhere (tests, local tools). */
    public EnricherContext(int subtaskIndex, int parallelism, int attemptNumber, ReadableConfig config) {
        this(subtaskIndex, parallelism, attemptNumber, config, List.of(), null);
    }
}
