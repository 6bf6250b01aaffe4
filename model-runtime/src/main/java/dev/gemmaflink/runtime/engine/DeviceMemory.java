package dev.gemmaflink.runtime.engine;

import ai.djl.Device;
import ai.djl.pytorch.jni.JniUtils;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Free memory of the device the KV cache will live on, and giving a closed engine's memory back to it.
 *
 * <p>GPU: libtorch's CUDA caching allocator keeps the blocks of freed tensors reserved for reuse, and the driver
 * counts them as used. So the cache is emptied before measuring (the load's temporaries and the tensors of an engine
 * closed earlier in this JVM then count as free: an engine restarted in the same JVM gets the same budget), and
 * again when an engine is released (other processes and NVML see the memory free). The free bytes are NVML's for
 * the engine's device only ({@link Nvml}); the system {@code libcudart} is never needed.
 */
final class DeviceMemory {

    private DeviceMemory() {
    }

    /** Free bytes now: the GPU's free memory by NVML; MemAvailable of /proc/meminfo (or the OS bean) on the CPU. */
    static long freeBytes(Device device) {
        if (device.isGpu()) {
            JniUtils.emptyCudaCache();
            return gpuFreeBytes(device.getDeviceId(), System.getenv("CUDA_VISIBLE_DEVICES"), Nvml.LIBRARY);
        }
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemAvailable:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException | SecurityException e) {
            // not Linux: fall through to the JVM's view
        }
        java.lang.management.OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
            return sun.getFreeMemorySize();
        }
        throw new IllegalStateException("cannot determine free memory of " + device
                + ": set an absolute KV budget (kvCacheBytes)");
    }

    /**
     * Free bytes of CUDA device {@code ordinal} as NVML reports them.
     *
     * @param cudaVisibleDevices {@code CUDA_VISIBLE_DEVICES}, null when unset ({@link Nvml#deviceFor})
     * @param nvmlLibrary the NVML library to load
     * @throws IllegalStateException naming the device, what failed and the way out (an absolute KV budget)
     */
    static long gpuFreeBytes(int ordinal, String cudaVisibleDevices, String nvmlLibrary) {
        Nvml.DeviceRef ref;
        try {
            ref = Nvml.deviceFor(ordinal, cudaVisibleDevices);
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("cannot tell which GPU is gpu:" + ordinal + ": " + e.getMessage(), e);
        }
        try {
            return Nvml.load(nvmlLibrary).memory(ref).freeBytes();
        } catch (IllegalStateException e) {
            throw new IllegalStateException("cannot read the free memory of gpu:" + ordinal + " (" + ref
                    + ") through NVML: " + e.getMessage() + ". The NVIDIA container runtime mounts " + Nvml.LIBRARY
                    + " when the container's driver capabilities include utility; or set an absolute KV budget "
                    + "(kvCacheBytes)", e);
        }
    }

    /**
     * Called once an engine's tensors are closed: on a GPU, hands the caching allocator's now unused blocks back to
     * the driver. Blocks other engines of this JVM still use stay where they are.
     */
    static void release(Device device) {
        if (device.isGpu()) {
            JniUtils.emptyCudaCache();
        }
    }
}
