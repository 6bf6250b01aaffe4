package dev.gemmaflink.operators.enrich;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
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
 * @param gpus the {@code gpu} external resources of the subtask's TaskManager (empty without any)
 * @param gpuIndex the GPU this subtask runs on, one of {@code gpus}' indices ({@link GpuAssigner} decides it), or -1
 *     when {@code gpus} is empty
 * @param metricGroup where the enricher registers its metrics (the subtask's, or an unregistered group)
 */
public record EnricherContext(int subtaskIndex, int parallelism, int attemptNumber, ReadableConfig config,
        Collection<ExternalResourceInfo> gpus, int gpuIndex, MetricGroup metricGroup) {

    /** Property of a {@code gpu} resource info holding the device index (Flink's GPU plugin, {@code GPUInfo}). */
    public static final String GPU_INDEX_PROPERTY = "index";

    /**
     * @throws IllegalArgumentException when {@code gpuIndex} is not one of the GPUs' indices (or not -1 without
     *     GPUs), or an info has no valid index
     */
    public EnricherContext {
        Objects.requireNonNull(config, "config");
        gpus = gpus == null ? List.of() : List.copyOf(gpus);
        List<Integer> indices = gpuIndices(gpus);
        if (indices.isEmpty() ? gpuIndex != -1 : !indices.contains(gpuIndex)) {
            throw new IllegalArgumentException("gpuIndex " + gpuIndex + " is not one of the GPUs given " + indices
                    + (indices.isEmpty() ? " (-1 without GPUs)" : ""));
        }
        metricGroup = metricGroup == null ? new UnregisteredMetricsGroup() : metricGroup;
    }

    /**
     * A context on the lowest-index GPU of {@code gpus} (-1 without any): for tools and tests that run one subtask
     * per set of GPUs. Flink subtasks get theirs from {@link GpuAssigner}, in {@link EnrichAsyncFunction}.
     */
    public EnricherContext(int subtaskIndex, int parallelism, int attemptNumber, ReadableConfig config,
            Collection<ExternalResourceInfo> gpus, MetricGroup metricGroup) {
        this(subtaskIndex, parallelism, attemptNumber, config, gpus,
                gpuIndices(gpus).isEmpty() ? -1 : gpuIndices(gpus).get(0), metricGroup);
    }

    /** A context without GPUs and with metrics going nowhere (tests, local tools). */
    public EnricherContext(int subtaskIndex, int parallelism, int attemptNumber, ReadableConfig config) {
        this(subtaskIndex, parallelism, attemptNumber, config, List.of(), -1, null);
    }

    /**
     * The device indices of a TaskManager's GPUs ({@value #GPU_INDEX_PROPERTY} property, as Flink's GPU plugin
     * reports it), ascending.
     *
     * @throws IllegalArgumentException naming the info whose index is missing or not an integer &gt;= 0
     */
    public static List<Integer> gpuIndices(Collection<? extends ExternalResourceInfo> gpus) {
        List<Integer> indices = new ArrayList<>();
        for (ExternalResourceInfo gpu : gpus == null ? List.<ExternalResourceInfo>of() : gpus) {
            String raw = gpu.getProperty(GPU_INDEX_PROPERTY).orElseThrow(() -> new IllegalArgumentException(
                    "a 'gpu' external resource info has no '" + GPU_INDEX_PROPERTY + "' property (keys: "
                            + gpu.getKeys() + ")"));
            int index;
            try {
                index = Integer.parseInt(raw.trim());
            } catch (NumberFormatException e) {
                index = -1;
            }
            if (index < 0) {
                throw new IllegalArgumentException("a 'gpu' external resource has index '" + raw
                        + "', not a GPU index >= 0");
            }
            indices.add(index);
        }
        Collections.sort(indices);
        return indices;
    }
}
