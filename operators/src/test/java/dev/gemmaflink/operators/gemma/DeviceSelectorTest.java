package dev.gemmaflink.operators.gemma;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;

import org.apache.flink.api.common.externalresource.ExternalResourceInfo;
import org.junit.jupiter.api.Test;

import dev.gemmaflink.operators.FakeGpu;
import dev.gemmaflink.runtime.model.ModelOptions;

class DeviceSelectorTest {

    @Test
    void aSlotWithAGpuRunsOnThatIndex() {
        String device = DeviceSelector.select(List.of(FakeGpu.index("3")), DevicePolicy.REQUIRE_GPU, 0);
        assertThat(device).isEqualTo("gpu:3");
        assertThat(ModelOptions.parseDevice(device).getDeviceId()).isEqualTo(3);
    }

    @Test
    void severalGpusInOneSlotAreSpreadBySubtaskInIndexOrder() {
        List<ExternalResourceInfo> gpus = List.of(FakeGpu.index("5"), FakeGpu.index("1"));
        assertThat(DeviceSelector.select(gpus, DevicePolicy.ALLOW_CPU, 0)).isEqualTo("gpu:1");
        assertThat(DeviceSelector.select(gpus, DevicePolicy.ALLOW_CPU, 1)).isEqualTo("gpu:5");
        assertThat(DeviceSelector.select(gpus, DevicePolicy.ALLOW_CPU, 2)).isEqualTo("gpu:1");
    }

    @Test
    void noGpuMeansCpuWhenAllowed() {
        assertThat(DeviceSelector.select(List.of(), DevicePolicy.ALLOW_CPU, 0)).isEqualTo("cpu");
        assertThat(DeviceSelector.select(null, DevicePolicy.ALLOW_CPU, 0)).isEqualTo("cpu");
    }

    @Test
    void noGpuFailsClearlyWhenRequired() {
        assertThatThrownBy(() -> DeviceSelector.select(List.of(), DevicePolicy.REQUIRE_GPU, 0))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("require-gpu").hasMessageContaining("no 'gpu' external resource");
    }

    @Test
    void infosWithoutAUsableIndexAreRefused() {
        assertThatThrownBy(() -> DeviceSelector.select(List.of(new FakeGpu(Map.of("uuid", "x"))),
                DevicePolicy.ALLOW_CPU, 0)).hasMessageContaining("no 'index' property").hasMessageContaining("uuid");
        assertThatThrownBy(() -> DeviceSelector.select(List.of(FakeGpu.index("-1")), DevicePolicy.ALLOW_CPU, 0))
                .hasMessageContaining("index '-1'");
    }

    @Test
    void policiesParseTheirSpellings() {
        assertThat(DevicePolicy.parse("require-gpu")).isEqualTo(DevicePolicy.REQUIRE_GPU);
        assertThat(DevicePolicy.parse("ALLOW_CPU")).isEqualTo(DevicePolicy.ALLOW_CPU);
        assertThatThrownBy(() -> DevicePolicy.parse("gpu-please")).hasMessageContaining("gpu-please")
                .hasMessageContaining("require-gpu");
    }
}
