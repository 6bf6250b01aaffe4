package dev.gemmaflink.runtime.model;

import ai.djl.Device;
import dev.gemmaflink.runtime.ModelLoadException;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Refuses a GPU device before anything is loaded onto it when the DJL PyTorch engine cannot run there, with one
 * message that says what to set. Without this check a CPU-only engine (DJL's silent fallback when
 * {@code PYTORCH_LIBRARY_PATH} holds no libtorch) would fail much later, on the first CUDA tensor, with an error
 * that names neither the cause nor the fix.
 *
 * <p>DJL 0.36's {@code pytorch-jni} 2.7.1-0.36.0 holds JNI builds for {@code cpu} and {@code cu128} only, so a GPU
 * needs libtorch {@value #REQUIRED_VERSION} built for CUDA 12.8 with the cxx11 ABI, selected by
 * {@code PYTORCH_LIBRARY_PATH=<its lib/>}, {@code PYTORCH_VERSION=}{@value #REQUIRED_VERSION} and
 * {@code PYTORCH_FLAVOR=}{@value #REQUIRED_FLAVOR}; CUDA 12.8 needs an NVIDIA driver of version
 * {@value #MIN_DRIVER_VERSION} or later.
 *
 * <p>The decision ({@link #check}) takes the engine's capabilities and the device probe as arguments, so every
 * outcome is testable on a machine without a GPU.
 */
public final class CudaStartCheck {

    /** The variable naming the folder of libtorch's shared libraries. */
    public static final String LIBRARY_PATH_VARIABLE = "PYTORCH_LIBRARY_PATH";
    /** The variable naming the libtorch version DJL loads its JNI library for. */
    public static final String VERSION_VARIABLE = "PYTORCH_VERSION";
    /** The variable naming the JNI flavor DJL extracts. */
    public static final String FLAVOR_VARIABLE = "PYTORCH_FLAVOR";
    /** The libtorch version DJL 0.36's JNI library is built against. */
    public static final String REQUIRED_VERSION = "2.7.1";
    /** The only CUDA flavor DJL 0.36's JNI jar holds (CUDA 12.8, cxx11 ABI). */
    public static final String REQUIRED_FLAVOR = "cu128";
    /** The oldest NVIDIA driver branch that runs CUDA 12.8. */
    public static final int MIN_DRIVER_VERSION = 570;

    private CudaStartCheck() {
    }

    /** {@link #check} against the engine DJL has loaded and the real device. */
    public static void require(Device device) {
        if (device.isGpu()) {
            check(device, TorchCudaSupport::ofLoadedEngine, TorchCudaSupport::touch);
        }
    }

    /**
     * Passes when {@code device} is the CPU, or when the engine is a CUDA build that finds a GPU and the device
     * accepts an allocation.
     *
     * @param engine what the loaded engine offers; not called for the CPU
     * @param touch allocates on the device; not called unless the engine can run CUDA
     * @throws ModelLoadException with the message of the first check that fails
     */
    public static void check(Device device, Supplier<TorchCudaSupport> engine, Consumer<Device> touch) {
        Objects.requireNonNull(device, "device");
        if (!device.isGpu()) {
            return;
        }
        TorchCudaSupport s = engine.get();
        if (!s.cudaBuild()) {
            throw new ModelLoadException(cpuEngineMessage(device, s));
        }
        if (!s.cudaAvailable()) {
            throw new ModelLoadException("device " + name(device) + ": the CUDA libtorch " + s.libtorchVersion()
                    + " in " + s.libtorchDir() + " finds no usable GPU. CUDA 12.8 needs an NVIDIA driver >= "
                    + MIN_DRIVER_VERSION + " on the host and a container started by the NVIDIA container runtime "
                    + "with a GPU assigned (NVIDIA_VISIBLE_DEVICES, e.g. a nvidia.com/gpu resource limit)");
        }
        try {
            touch.accept(device);
        } catch (RuntimeException e) {
            throw new ModelLoadException("device " + name(device) + " cannot be used by libtorch: " + firstLine(e)
                    + ". Flink's gpu index must be a CUDA device ordinal: run with CUDA_DEVICE_ORDER=PCI_BUS_ID "
                    + "and without a CUDA_VISIBLE_DEVICES that renumbers the devices", e);
        }
    }

    /** The message for a GPU device on a CPU-only engine: what was loaded, what to set, what is set. */
    static String cpuEngineMessage(Device device, TorchCudaSupport s) {
        return "device " + name(device) + " needs a CUDA build of libtorch, but DJL's PyTorch engine loaded the "
                + "CPU-only libtorch " + s.libtorchVersion() + " from " + s.libtorchDir() + ". Set "
                + LIBRARY_PATH_VARIABLE + " to the lib/ folder of libtorch " + REQUIRED_VERSION
                + " for CUDA 12.8 (cxx11 ABI), " + VERSION_VARIABLE + "=" + REQUIRED_VERSION + " and "
                + FLAVOR_VARIABLE + "=" + REQUIRED_FLAVOR + " (now " + LIBRARY_PATH_VARIABLE + "="
                + shown(s.libraryPath()) + ", " + VERSION_VARIABLE + "=" + shown(s.version()) + ", "
                + FLAVOR_VARIABLE + "=" + shown(s.flavor()) + "); when " + LIBRARY_PATH_VARIABLE
                + " holds no libtorch.so, DJL falls back to the CPU libtorch of the classpath";
    }

    private static String name(Device device) {
        return "gpu:" + device.getDeviceId();
    }

    private static String shown(String value) {
        return value == null ? "<unset>" : value;
    }

    private static String firstLine(RuntimeException e) {
        String message = String.valueOf(e.getMessage());
        return message.lines().findFirst().orElse(message).trim();
    }
}
