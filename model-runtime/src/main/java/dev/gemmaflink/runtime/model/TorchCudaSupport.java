package dev.gemmaflink.runtime.model;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.engine.StandardCapabilities;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.LibUtils;
import ai.djl.util.Utils;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What the loaded DJL PyTorch engine offers for CUDA, and the settings DJL chose its libtorch by.
 *
 * <p>DJL 0.36 loads the libtorch of {@code PYTORCH_LIBRARY_PATH} when that folder holds {@code libtorch.so}, and
 * otherwise, silently, the CPU libtorch of the classpath ({@code pytorch-native-cpu}); both are "the PyTorch engine".
 * A CUDA build is recognised by {@code libtorch_cuda.so} next to {@code libtorch.so}; whether CUDA finds a device is
 * {@code torch::cuda::is_available()}, which DJL reports as the engine capability {@code CUDA}.
 *
 * @param libtorchDir the folder DJL loaded libtorch from
 * @param libtorchVersion libtorch's version as DJL reports it
 * @param cudaBuild whether that libtorch is a CUDA build
 * @param cudaAvailable whether CUDA finds a usable device (driver present, a GPU visible to the process)
 * @param libraryPath the value of {@code PYTORCH_LIBRARY_PATH} (environment or system property), null when unset
 * @param version the value of {@code PYTORCH_VERSION}, null when unset
 * @param flavor the value of {@code PYTORCH_FLAVOR}, null when unset
 */
public record TorchCudaSupport(String libtorchDir, String libtorchVersion, boolean cudaBuild, boolean cudaAvailable,
        String libraryPath, String version, String flavor) {

    /**
     * Reads the engine DJL has loaded (loading it when it is not yet). Touches no GPU: {@code is_available} only
     * asks the driver how many devices there are.
     */
    public static TorchCudaSupport ofLoadedEngine() {
        Engine engine = Engine.getEngine("PyTorch");
        Path dir = Path.of(LibUtils.getLibtorchPath());
        boolean cudaBuild = Files.exists(dir.resolve(System.mapLibraryName("torch_cuda")));
        return new TorchCudaSupport(dir.toString(), engine.getVersion(), cudaBuild,
                engine.hasCapability(StandardCapabilities.CUDA),
                Utils.getEnvOrSystemProperty(CudaStartCheck.LIBRARY_PATH_VARIABLE),
                Utils.getEnvOrSystemProperty(CudaStartCheck.VERSION_VARIABLE),
                Utils.getEnvOrSystemProperty(CudaStartCheck.FLAVOR_VARIABLE));
    }

    /**
     * Allocates one element on {@code device} and frees it: the first use of a device creates its CUDA context and
     * fails for an ordinal CUDA does not have.
     *
     * @throws RuntimeException what libtorch threw
     */
    static void touch(Device device) {
        try (NDManager manager = NDManager.newBaseManager(device, "PyTorch")) {
            manager.zeros(new Shape(1)).close();
        }
    }
}
