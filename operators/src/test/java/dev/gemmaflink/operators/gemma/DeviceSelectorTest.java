package dev.gemmaflink.operators.gemma;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;

import org.apache.flink.api.common.externalresource.ExternalResourceInfo;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;

import dev.gemmaflink.operators.FakeGpu;
import dev.gemmaflink.operators.enrich.EnricherContext;
import dev.gemmaflink.runtime.model.ModelOptions;

class DeviceSelectorTest {

    @Test
    void anAssignedGpuIsThatDevice() {
        String device = DeviceSelector.select(3, DevicePolicy.REQUIRE_GPU);
        assertThat(device).isEqualTo("gpu:3");
        assertThat(ModelOptions.parseDevice(device).getDeviceId()).isEqualTo(3);
        assertThat(DeviceSelector.select(0, DevicePolicy.ALLOW_CPU)).isEqualTo("gpu:0");
    }

    @Test
    void theAssignmentOfAContextIsTheDevice() {
        List<ExternalResourceInfo> gpus = List.of(FakeGpu.index("5"), FakeGpu.index("1"));
        var context = new EnricherContext(0, 2, 0, new Configuration(), gpus, 5, null);
        assertThat(DeviceSelector.select(context.gpuIndex(), DevicePolicy.REQUIRE_GPU)).isEqualTo("gpu:5");
    }

    @Test
    void noGpuMeansCpuWhenAllowed() {
        assertThat(DeviceSelector.select(-1, DevicePolicy.ALLOW_CPU)).isEqualTo("cpu");
    }

    @Test
    void noGpuFailsClearlyWhenRequired() {
        assertThatThrownBy(() -> DeviceSelector.select(-1, DevicePolicy.REQUIRE_GPU))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("enrich.gemma.device-policy is require-gpu but this slot got no 'gpu' external resource: "
                        + "configure the TaskManagers with external-resources: gpu, external-resource.gpu.amount and "
                        + "the GPU driver (see deploy/), and set inference.gpu.amount > 0 so the inference slot "
                        + "requests one; or use allow-cpu");
    }

    @Test
    void aContextRefusesAGpuItWasNotGiven() {
        List<ExternalResourceInfo> gpus = List.of(FakeGpu.index("5"), FakeGpu.index("1"));
        assertThatThrownBy(() -> new EnricherContext(0, 1, 0, new Configuration(), gpus, 2, null))
                .hasMessage("gpuIndex 2 is not one of the GPUs given [1, 5]");
        assertThatThrownBy(() -> new EnricherContext(0, 1, 0, new Configuration(), List.of(), 0, null))
                .hasMessage("gpuIndex 0 is not one of the GPUs given [] (-1 without GPUs)");
        assertThatThrownBy(() -> new EnricherContext(0, 1, 0, new Configuration(),
                List.of(new FakeGpu(Map.of("uuid", "x"))), 0, null))
                .hasMessage("a 'gpu' external resource info has no 'index' property (keys: [uuid])");
        // Without an explicit assignment: the lowest index.
        assertThat(new EnricherContext(0, 1, 0, new Configuration(), gpus, null).gpuIndex()).isEqualTo(1);
        assertThat(new EnricherContext(0, 1, 0, new Configuration()).gpuIndex()).isEqualTo(-1);
    }

    @Test
    void policiesParseTheirSpellings() {
        assertThat(DevicePolicy.parse("require-gpu")).isEqualTo(DevicePolicy.REQUIRE_GPU);
        assertThat(DevicePolicy.parse("ALLOW_CPU")).isEqualTo(DevicePolicy.ALLOW_CPU);
        assertThatThrownBy(() -> DevicePolicy.parse("gpu-please")).hasMessageContaining("gpu-please")
                .hasMessageContaining("require-gpu");
    }
}
