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
 * @param gpus the {@code gpu} external resources of the subtask's slot (empty without any)
 * @param metricGroup where the enricher registers its metrics (the subtask's, or an unregistered group)
 */
public record EnricherContext(int subtaskIndex, int parallelism, int attemptNumber, ReadableConfig config,
        Collection<ExternalResourceInfo> gpus, MetricGroup metricGroup) {


    /** Property of a {@code gpu} resource info holding the device index (Flink's GPU plugin, {@code GPUInfo}). */
    public static final String GPU_INDEX_PROPERTY = "index";

    public EnricherContext {
        Objects.requireNonNull(config, "config");
        gpus = gpus == null ? List.of() : List.copyOf(gpus);
        metricGroup = metricGroup == null ? new UnregisteredMetricsGroup() : metricGroup;
    }

    /** A context without GPUs and with metrics going nowhere (tests, local tools). */
    public EnricherContext(int subtaskIndex, int parallelism, int attemptNumber, ReadableConfig config) {
        this(subtaskIndex, parallelism, attemptNumber, config, List.of(), null);
    }

    /**
     * The GPU this subtask runs on: {@link #gpuIndex(Collection, int)} of this context's GPUs and subtask index.
     *
     * @return the device index, or -1 when the slot got no GPU with a valid index
     */
    public int gpuIndex() {
        return gpuIndex(gpus, subtaskIndex);
    }

    /**
     * Decides which of a slot's GPUs a subtask uses, so that the device an enricher opens and the {@code gpuIndex}
     * gauge always agree: the {@code index} properties in ascending order, taken round-robin by subtask index
     * ({@code floorMod(subtaskIndex, n)}) when a slot got more than one.
     *
     * @param gpus the slot's {@code gpu} external resource infos; null or empty for none
     * @param subtaskIndex the subtask's index
     * @return the device index, or -1 when there is no GPU
     * @throws IllegalArgumentException when an info has no valid index (a cluster misconfiguration)
     */
    public static int gpuIndex(Collection<? extends ExternalResourceInfo> gpus, int subtaskIndex) {
        List<Integer> indices = gpuIndices(gpus);
        return indices.isEmpty() ? -1 : indices.get(Math.floorMod(subtaskIndex, indices.size()));
    }

    /**
     * The device indices of a slot's GPUs ({@value #GPU_INDEX_PROPERTY} property, as Flink's GPU plugin reports it),
     * ascending.
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
