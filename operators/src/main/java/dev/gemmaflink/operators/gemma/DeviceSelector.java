package dev.gemmaflink.operators.gemma;

import java.util.Collection;
import java.util.Objects;

import org.apache.flink.api.common.externalresource.ExternalResourceInfo;

import dev.gemmaflink.operators.enrich.EnricherContext;

/**
 * Chooses the device of a subtask from the {@code gpu} external resources Flink gave its slot
 * ({@code getRuntimeContext().getExternalResourceInfos("gpu")}, property {@code index}, as the GPU plugin's
 * {@code GPUInfo} reports it).
 */
public final class DeviceSelector {

    /** Flink's external resource name of GPUs (the {@code external-resources} list entry). */
    public static final String GPU_RESOURCE = "gpu";
    /** Property of a GPU resource info holding the device index. */
    public static final String INDEX_PROPERTY = EnricherContext.GPU_INDEX_PROPERTY;

    private DeviceSelector() {
    }

    /**
     * @param gpus the slot's GPU infos (empty when the TaskManager offers none, as on a MiniCluster)
     * @param policy what to do without a GPU
     * @param subtaskIndex spreads subtasks over several GPUs of one slot, if a slot got more than one, as
     *     {@link EnricherContext#gpuIndex(Collection, int)} decides (the {@code enrich.gpuIndex} gauge reads it too)
     * @return {@code cpu} or {@code gpu:N}, a spelling {@code ModelOptions.parseDevice} accepts
     * @throws IllegalStateException under {@link DevicePolicy#REQUIRE_GPU} when there is no GPU
     * @throws IllegalArgumentException when a GPU info has no valid {@code index}
     */
    public static String select(Collection<? extends ExternalResourceInfo> gpus, DevicePolicy policy,
            int subtaskIndex) {
        Objects.requireNonNull(policy, "policy");
        if (EnricherContext.gpuIndices(gpus).isEmpty()) {
            if (policy == DevicePolicy.REQUIRE_GPU) {
                throw new IllegalStateException("enrich.gemma.device-policy is require-gpu but this slot got no '"
                        + GPU_RESOURCE + "' external resource: configure the TaskManagers with external-resources: "
                        + "gpu, external-resource.gpu.amount and the GPU driver (see deploy/), and set "
                        + "inference.gpu.amount > 0 so the inference slot requests one; or use allow-cpu");
            }
            return "cpu";
        }
        return "gpu:" + EnricherContext.gpuIndex(gpus, subtaskIndex);
    }
}
