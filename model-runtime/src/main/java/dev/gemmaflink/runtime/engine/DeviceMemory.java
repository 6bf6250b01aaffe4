package dev.gemmaflink.runtime.engine;

import ai.djl.Device;
import ai.djl.util.cuda.CudaUtils;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.nio.file.Files;
import java.nio.file.Path;

/** Free memory of the device the KV cache will live on, for a budget given as a fraction. */
final class DeviceMemory {

    private DeviceMemory() {
    }

    /** Free bytes now: CUDA's free memory on a GPU; MemAvailable of /proc/meminfo (or the OS bean) on the CPU. */
    static long freeBytes(Device device) {
        if (device.isGpu()) {
            MemoryUsage m = CudaUtils.getGpuMemory(device);
            return Math.max(0, m.getMax() - m.getCommitted());
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
}
