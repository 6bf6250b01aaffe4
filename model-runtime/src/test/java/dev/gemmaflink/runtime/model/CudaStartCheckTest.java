package dev.gemmaflink.runtime.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import dev.gemmaflink.runtime.ModelLoadException;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpoint;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointSpec;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A GPU device is refused before anything loads when the engine cannot run CUDA; the decision with stand-in probes. */
class CudaStartCheckTest {

    @TempDir
    Path tmp;

    private static final TorchCudaSupport CPU_ENGINE = new TorchCudaSupport("/cache/pytorch/2.7.1-cpu-linux-x86_64",
            "2.7.1", false, false, null, null, null);
    private static final TorchCudaSupport CUDA_ENGINE = new TorchCudaSupport("/opt/libtorch/torch/lib", "2.7.1",
            true, true, "/opt/libtorch/torch/lib", "2.7.1", "cu128");

    @Test
    void theCpuNeverAsksTheEngine() {
        CudaStartCheck.check(Device.cpu(), () -> {
            throw new AssertionError("engine probed for the CPU");
        }, d -> {
            throw new AssertionError("device touched for the CPU");
        });
    }

    @Test
    void aCpuOnlyEngineIsOneMessageNamingTheThreeVariables() {
        TorchCudaSupport misconfigured = new TorchCudaSupport("/cache/pytorch/2.7.1-cpu-linux-x86_64", "2.7.1", false,
                false, "/opt/libtorch/lib", null, "cu124");
        List<Device> touched = new ArrayList<>();
        assertThatThrownBy(() -> CudaStartCheck.check(Device.gpu(1), () -> misconfigured, touched::add))
                .isInstanceOf(ModelLoadException.class)
                .hasMessage("device gpu:1 needs a CUDA build of libtorch, but DJL's PyTorch engine loaded the CPU-only "
                        + "libtorch 2.7.1 from /cache/pytorch/2.7.1-cpu-linux-x86_64. Set PYTORCH_LIBRARY_PATH to the "
                        + "lib/ folder of libtorch 2.7.1 for CUDA 12.8 (cxx11 ABI), PYTORCH_VERSION=2.7.1 and "
                        + "PYTORCH_FLAVOR=cu128 (now PYTORCH_LIBRARY_PATH=/opt/libtorch/lib, PYTORCH_VERSION=<unset>, "
                        + "PYTORCH_FLAVOR=cu124); when PYTORCH_LIBRARY_PATH holds no libtorch.so, DJL falls back to "
                        + "the CPU libtorch of the classpath");
        assertThat(touched).as("nothing is allocated on the device").isEmpty();
    }

    @Test
    void aCudaEngineWithoutAUsableGpuNamesTheDriverItNeeds() {
        TorchCudaSupport noDevice = new TorchCudaSupport("/opt/libtorch/torch/lib", "2.7.1", true, false,
                "/opt/libtorch/torch/lib", "2.7.1", "cu128");
        assertThatThrownBy(() -> CudaStartCheck.check(Device.gpu(0), () -> noDevice, d -> { }))
                .isInstanceOf(ModelLoadException.class)
                .hasMessage("device gpu:0: the CUDA libtorch 2.7.1 in /opt/libtorch/torch/lib finds no usable GPU. "
                        + "CUDA 12.8 needs an NVIDIA driver >= 570 on the host and a container started by the NVIDIA "
                        + "container runtime with a GPU assigned (NVIDIA_VISIBLE_DEVICES, e.g. a nvidia.com/gpu "
                        + "resource limit)");
    }

    @Test
    void aDeviceCudaDoesNotHaveFailsOnItsFirstAllocation() {
        assertThatThrownBy(() -> CudaStartCheck.check(Device.gpu(3), () -> CUDA_ENGINE, d -> {
            throw new IllegalStateException("CUDA error: invalid device ordinal\nCompile with TORCH_USE_CUDA_DSA");
        })).isInstanceOf(ModelLoadException.class)
                .hasMessage("device gpu:3 cannot be used by libtorch: CUDA error: invalid device ordinal. Flink's gpu "
                        + "index must be a CUDA device ordinal: run with CUDA_DEVICE_ORDER=PCI_BUS_ID and without a "
                        + "CUDA_VISIBLE_DEVICES that renumbers the devices");
        List<Device> touched = new ArrayList<>();
        CudaStartCheck.check(Device.gpu(2), () -> CUDA_ENGINE, touched::add);
        assertThat(touched).containsExactly(Device.gpu(2));
    }

    @Test
    void theCpuEngineOfTheTestsIsSeenAsCpuOnly() {
        TorchCudaSupport loaded = TorchCudaSupport.ofLoadedEngine();
        assertThat(loaded.cudaBuild()).isFalse();
        assertThat(loaded.cudaAvailable()).isFalse();
        assertThat(loaded.libtorchVersion()).isEqualTo(CudaStartCheck.REQUIRED_VERSION);
        assertThat(CPU_ENGINE.cudaBuild()).isFalse();
    }

    /** The start-up failure on the engine of this build (the CPU libtorch): before a byte of weights is uploaded. */
    @Test
    void aGpuModelOnTheCpuEngineFailsBeforeLoadingWeights() {
        TinyCheckpoint ckpt = TinyCheckpointWriter.write(tmp.resolve("ckpt"), TinyCheckpointSpec.builder().layers(2)
                .hidden(32).heads(2).kvHeads(1).headDim(16).window(8).seed(5).build());
        AtomicInteger progress = new AtomicInteger();
        TorchCudaSupport loaded = TorchCudaSupport.ofLoadedEngine();
        assertThatThrownBy(() -> GemmaModel.load(ckpt.directory(), ModelOptions.builder().device("gpu:0").build(),
                (done, total) -> progress.incrementAndGet()))
                .isInstanceOf(ModelLoadException.class)
                .hasMessage(CudaStartCheck.cpuEngineMessage(Device.gpu(0), loaded))
                .hasMessageContaining("PYTORCH_LIBRARY_PATH").hasMessageContaining("PYTORCH_VERSION=2.7.1")
                .hasMessageContaining("PYTORCH_FLAVOR=cu128");
        assertThat(progress).as("weights uploaded").hasValue(0);
    }

    @Test
    void cpuOnlyMatmulPathsAreRefusedOnAGpu() {
        assertThatThrownBy(() -> ModelOptions.builder().device("gpu:1").forcedPath(MatmulPath.BF16_ONEDNN_PACKED)
                .build()).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("matmul path BF16_ONEDNN_PACKED runs on the CPU only; device gpu:1 takes BF16_PLAIN (bf16) "
                        + "or F32 (float32)");
        assertThatThrownBy(() -> ModelOptions.builder().device("gpu").forcedPath(MatmulPath.BF16_PLAIN_CPU).build())
                .hasMessage("matmul path BF16_PLAIN_CPU runs on the CPU only; device gpu:0 takes BF16_PLAIN (bf16) or "
                        + "F32 (float32)");
        assertThatThrownBy(() -> ModelOptions.builder().device("gpu").precision(Precision.FLOAT32)
                .forcedPath(MatmulPath.F32_ONEDNN_PACKED).build())
                .hasMessage("matmul path F32_ONEDNN_PACKED runs on the CPU only; device gpu:0 takes BF16_PLAIN (bf16) "
                        + "or F32 (float32)");
        assertThat(ModelOptions.builder().device("gpu:1").forcedPath(MatmulPath.BF16_PLAIN).build().forcedPath())
                .contains(MatmulPath.BF16_PLAIN);
        assertThat(ModelOptions.builder().device("gpu:1").precision(Precision.FLOAT32).forcedPath(MatmulPath.F32)
                .build().forcedPath()).contains(MatmulPath.F32);
        assertThat(ModelOptions.builder().forcedPath(MatmulPath.BF16_ONEDNN_PACKED).build().forcedPath())
                .contains(MatmulPath.BF16_ONEDNN_PACKED);
        assertThat(MatmulPath.BF16_ONEDNN_PACKED.cpuOnly()).isTrue();
        assertThat(MatmulPath.BF16_PLAIN_CPU.cpuOnly()).isTrue();
        assertThat(MatmulPath.BF16_PLAIN.cpuOnly()).isFalse();
        assertThat(MatmulPath.F32.cpuOnly()).isFalse();
    }
}
