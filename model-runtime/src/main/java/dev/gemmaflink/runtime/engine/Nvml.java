package dev.gemmaflink.runtime.engine;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.PointerByReference;
import java.util.List;
import java.util.Locale;

/**
 * A GPU's memory as the NVIDIA driver reports it, through NVML ({@code libnvidia-ml.so.1}) called with JNA.
 *
 * <p>Why NVML: it ships with the driver, and the NVIDIA container runtime mounts it into every GPU container
 * ({@code utility} driver capability), while the CUDA runtime library ({@code libcudart}) is part of no Flink image.
 * NVML's numbers are the device's: they include other processes and every CUDA context, which is what a budget for
 * this process must leave room for.
 *
 * <p>Device numbering: NVML numbers devices in PCI bus order and ignores {@code CUDA_VISIBLE_DEVICES}; CUDA numbers
 * them fastest first unless {@code CUDA_DEVICE_ORDER=PCI_BUS_ID}, and renumbers those {@code CUDA_VISIBLE_DEVICES}
 * lists. {@link #deviceFor(int, String)} maps a CUDA ordinal to the NVML device under the first rule set (the GPU
 * image sets {@code CUDA_DEVICE_ORDER=PCI_BUS_ID}).
 */
final class Nvml {

    /** The library file the NVIDIA container runtime mounts (the unversioned name exists only with dev packages). */
    static final String LIBRARY = "libnvidia-ml.so.1";

    private static final int SUCCESS = 0;

    private final NvmlLibrary lib;

    private Nvml(NvmlLibrary lib) {
        this.lib = lib;
    }

    /**
     * Loads NVML from {@code library}: a file name the dynamic linker resolves, or an absolute path.
     *
     * @throws IllegalStateException when the library cannot be loaded
     */
    static Nvml load(String library) {
        try {
            return new Nvml(Native.load(library, NvmlLibrary.class));
        } catch (UnsatisfiedLinkError e) {
            throw new IllegalStateException("NVML (" + library + ") cannot be loaded: " + e.getMessage(), e);
        }
    }

    /**
     * Total and free bytes of one device. Initialises NVML for the call and shuts it down after (NVML counts
     * initialisations, so this never ends another user's session).
     *
     * @param device an NVML index or a GPU UUID ({@link #deviceFor})
     * @throws IllegalStateException naming the NVML call and its error
     */
    Memory memory(DeviceRef device) {
        check("nvmlInit_v2", lib.nvmlInit_v2());
        try {
            PointerByReference handle = new PointerByReference();
            if (device.uuid() != null) {
                check("nvmlDeviceGetHandleByUUID(" + device.uuid() + ")",
                        lib.nvmlDeviceGetHandleByUUID(device.uuid(), handle));
            } else {
                check("nvmlDeviceGetHandleByIndex_v2(" + device.index() + ")",
                        lib.nvmlDeviceGetHandleByIndex_v2(device.index(), handle));
            }
            // nvmlMemory_t: unsigned 64-bit total, free, used, in that order.
            try (com.sun.jna.Memory m = new com.sun.jna.Memory(3 * Long.BYTES)) {
                check("nvmlDeviceGetMemoryInfo", lib.nvmlDeviceGetMemoryInfo(handle.getValue(), m));
                return new Memory(m.getLong(0), m.getLong(Long.BYTES));
            }
        } finally {
            lib.nvmlShutdown();
        }
    }

    private void check(String call, int result) {
        if (result != SUCCESS) {
            throw new IllegalStateException(call + " failed: " + lib.nvmlErrorString(result) + " (" + result + ")");
        }
    }

    /** Bytes of one device. */
    record Memory(long totalBytes, long freeBytes) {
    }

    /** An NVML device: by index when {@code uuid} is null, else by UUID. */
    record DeviceRef(int index, String uuid) {
        @Override
        public String toString() {
            return uuid != null ? uuid : "NVML device " + index;
        }
    }

    /**
     * The NVML device of CUDA device {@code ordinal}.
     *
     * @param cudaVisibleDevices the value of {@code CUDA_VISIBLE_DEVICES}, null or blank when unset: then the
     *     ordinal is the NVML index; otherwise its {@code ordinal}-th entry, an index or a full {@code GPU-} UUID
     * @throws IllegalArgumentException for an ordinal the list does not have, or an entry NVML cannot look up
     *     (MIG instances, abbreviated UUIDs)
     */
    static DeviceRef deviceFor(int ordinal, String cudaVisibleDevices) {
        if (ordinal < 0) {
            throw new IllegalArgumentException("CUDA device ordinal must be >= 0, got " + ordinal);
        }
        if (cudaVisibleDevices == null || cudaVisibleDevices.isBlank()) {
            return new DeviceRef(ordinal, null);
        }
        List<String> entries = List.of(cudaVisibleDevices.split(","));
        if (ordinal >= entries.size()) {
            throw new IllegalArgumentException("CUDA device " + ordinal + " is not among CUDA_VISIBLE_DEVICES="
                    + cudaVisibleDevices);
        }
        String entry = entries.get(ordinal).trim();
        if (entry.matches("\\d+")) {
            return new DeviceRef(Integer.parseInt(entry), null);
        }
        // A full UUID: GPU- and 32 hex digits in 8-4-4-4-12 groups; CUDA also accepts prefixes, NVML does not.
        if (entry.toLowerCase(Locale.ROOT).matches("gpu-[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}")) {
            return new DeviceRef(-1, entry);
        }
        throw new IllegalArgumentException("CUDA_VISIBLE_DEVICES entry '" + entry + "' (CUDA device " + ordinal
                + ") names no device NVML can look up: use indices or full GPU- UUIDs, or set an absolute KV budget");
    }

    /** The NVML functions used here (nvml.h). */
    public interface NvmlLibrary extends Library {
        int nvmlInit_v2();

        int nvmlShutdown();

        int nvmlDeviceGetHandleByIndex_v2(int index, PointerByReference device);

        int nvmlDeviceGetHandleByUUID(String uuid, PointerByReference device);

        int nvmlDeviceGetMemoryInfo(Pointer device, Pointer memory);

        String nvmlErrorString(int result);
    }
}
