package dev.gemmaflink.operators.gemma;

import java.util.Objects;

import dev.gemmaflink.operators.enrich.EnricherContext;
import dev.gemmaflink.operators.enrich.GpuAssigner;

/**
 * Turns the GPU a subtask was assigned ({@link EnricherContext#gpuIndex()}, chosen by {@link GpuAssigner} among the
 * TaskManager's {@code gpu} external resources) into the engine's device, applying the device policy when there is
 * none. The {@code enrich.gpuIndex} gauge reports the same assignment, so it names the device in use.
 */
public final class DeviceSelector {

    /** Flink's external resource name of GPUs (the {@code external-resources} list entry). */
    public static final String GPU_RESOURCE = "gpu";
    /** Property of a GPU resource info holding the device index. */
    public static final String INDEX_PROPERTY = EnricherContext.GPU_INDEX_PROPERTY;

    private DeviceSelector() {
    }

    /**
     * @param gpuIndex the assigned GPU, -1 when the TaskManager offers none (as on a MiniCluster)
     * @param policy what to do without a GPU
     * @return {@code cpu} or {@code gpu:N}, a spelling {@code ModelOptions.parseDevice} accepts
     * @throws IllegalStateException under {@link DevicePolicy#REQUIRE_GPU} when there is no GPU
     */
    public static String select(int gpuIndex, DevicePolicy policy) {
        Objects.requireNonNull(policy, "policy");
        if (gpuIndex < 0) {
            if (policy == DevicePolicy.REQUIRE_GPU) {
                throw new IllegalStateException("enrich.gemma.device-policy is require-gpu but this slot got no '"
                        + GPU_RESOURCE + "' external resource: configure the TaskManagers with external-resources: "
                        + "gpu, external-resource.gpu.amount and the GPU driver (see deploy/), and set "
                        + "inference.gpu.amount > 0 so the inference slot requests one; or use allow-cpu");
            }
            return "cpu";
        }
        return "gpu:" + gpuIndex;
    }
}
