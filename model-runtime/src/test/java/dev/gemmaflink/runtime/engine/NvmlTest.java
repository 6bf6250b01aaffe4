package dev.gemmaflink.runtime.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.sun.jna.Library;
import com.sun.jna.Native;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * GPU memory through NVML without a GPU: the device mapping is pure; the JNA binding runs against a stand-in
 * {@code libnvidia-ml} compiled from the C below (nvml.h's signatures and {@code nvmlMemory_t} layout), when a C
 * compiler is at hand.
 */
class NvmlTest {

    private static final String UUID = "GPU-12345678-1234-1234-1234-123456789abc";
    private static final long GIB = 1L << 30;

    private static final String FAKE_NVML = """
            #include <string.h>
            typedef struct { unsigned long long total, free, used; } nvmlMemory_t;
            static int sessions = 0;
            int nvmlInit_v2(void) { sessions++; return 0; }
            int nvmlShutdown(void) { sessions--; return 0; }
            int fake_sessions(void) { return sessions; }
            int nvmlDeviceGetHandleByIndex_v2(unsigned int index, void **device) {
              if (sessions <= 0) return 1;
              if (index > 1) return 2;
              *device = (void *) (unsigned long) (index + 1);
              return 0;
            }
            int nvmlDeviceGetHandleByUUID(const char *uuid, void **device) {
              if (strcmp(uuid, "%s") != 0) return 6;
              *device = (void *) 3UL;
              return 0;
            }
            int nvmlDeviceGetMemoryInfo(void *device, nvmlMemory_t *memory) {
              unsigned long long gib = 1ULL << 30;
              memory->total = 80 * gib;
              memory->free = (unsigned long) device * 10 * gib + 12345;
              memory->used = memory->total - memory->free;
              return 0;
            }
            const char *nvmlErrorString(int result) {
              switch (result) {
                case 1: return "Uninitialized";
                case 2: return "Invalid Argument";
                case 6: return "Not Found";
                default: return "Unknown Error";
              }
            }
            """.formatted(UUID);

    /** What the stand-in adds: the count of open NVML sessions. */
    public interface FakeNvml extends Library {
        int fake_sessions();
    }

    @TempDir
    static Path tmp;

    static Path library;

    @BeforeAll
    static void compile() throws IOException, InterruptedException {
        Path source = tmp.resolve("fake_nvml.c");
        Files.writeString(source, FAKE_NVML);
        Path lib = tmp.resolve("libfake-nvml.so");
        try {
            Process cc = new ProcessBuilder("cc", "-shared", "-fPIC", "-o", lib.toString(), source.toString())
                    .redirectErrorStream(true).start();
            String output = new String(cc.getInputStream().readAllBytes());
            if (cc.waitFor(60, TimeUnit.SECONDS) && cc.exitValue() == 0) {
                library = lib;
            } else {
                throw new AssertionError("the stand-in NVML does not compile: " + output);
            }
        } catch (IOException noCompiler) {
            library = null; // no C compiler: the binding tests are skipped
        }
    }

    private static String fake() {
        assumeTrue(library != null, "a C compiler (cc) builds the stand-in NVML");
        return library.toString();
    }

    @Test
    void cudaOrdinalsMapToNvmlIndicesOrUuids() {
        assertThat(Nvml.deviceFor(2, null)).isEqualTo(new Nvml.DeviceRef(2, null));
        assertThat(Nvml.deviceFor(0, " ")).isEqualTo(new Nvml.DeviceRef(0, null));
        assertThat(Nvml.deviceFor(1, "3,1")).isEqualTo(new Nvml.DeviceRef(1, null));
        assertThat(Nvml.deviceFor(0, "3,1")).isEqualTo(new Nvml.DeviceRef(3, null));
        assertThat(Nvml.deviceFor(1, "0, " + UUID)).isEqualTo(new Nvml.DeviceRef(-1, UUID));
        assertThatThrownBy(() -> Nvml.deviceFor(2, "3,1"))
                .hasMessage("CUDA device 2 is not among CUDA_VISIBLE_DEVICES=3,1");
        assertThatThrownBy(() -> Nvml.deviceFor(0, "GPU-1234"))
                .hasMessage("CUDA_VISIBLE_DEVICES entry 'GPU-1234' (CUDA device 0) names no device NVML can look up: "
                        + "use indices or full GPU- UUIDs, or set an absolute KV budget");
        assertThatThrownBy(() -> Nvml.deviceFor(0, "MIG-" + UUID.substring(4)))
                .hasMessageStartingWith("CUDA_VISIBLE_DEVICES entry 'MIG-");
        assertThatThrownBy(() -> Nvml.deviceFor(-1, null)).hasMessage("CUDA device ordinal must be >= 0, got -1");
    }

    @Test
    void memoryOfOneDeviceByIndexOrUuidAndEverySessionIsShutDown() {
        Nvml nvml = Nvml.load(fake());
        assertThat(nvml.memory(new Nvml.DeviceRef(0, null))).isEqualTo(new Nvml.Memory(80 * GIB, 10 * GIB + 12345));
        assertThat(nvml.memory(new Nvml.DeviceRef(1, null))).isEqualTo(new Nvml.Memory(80 * GIB, 20 * GIB + 12345));
        assertThat(nvml.memory(new Nvml.DeviceRef(-1, UUID))).isEqualTo(new Nvml.Memory(80 * GIB, 30 * GIB + 12345));
        assertThatThrownBy(() -> nvml.memory(new Nvml.DeviceRef(5, null)))
                .hasMessage("nvmlDeviceGetHandleByIndex_v2(5) failed: Invalid Argument (2)");
        assertThatThrownBy(() -> nvml.memory(new Nvml.DeviceRef(-1, "GPU-00000000-0000-0000-0000-000000000000")))
                .hasMessage("nvmlDeviceGetHandleByUUID(GPU-00000000-0000-0000-0000-000000000000) failed: Not Found (6)");
        assertThat(Native.load(fake(), FakeNvml.class).fake_sessions()).isZero();
    }

    @Test
    void theFreeBytesAreThoseOfTheEnginesDeviceOnly() {
        assertThat(DeviceMemory.gpuFreeBytes(1, null, fake())).isEqualTo(20 * GIB + 12345);
        // CUDA device 1 of "1,0" is NVML device 0.
        assertThat(DeviceMemory.gpuFreeBytes(1, "1,0", fake())).isEqualTo(10 * GIB + 12345);
    }

    @Test
    void withoutNvmlTheMessageSaysWhereItComesFromAndTheWayOut() {
        assertThatThrownBy(() -> DeviceMemory.gpuFreeBytes(0, null, tmp.resolve("absent/libnvidia-ml.so.1").toString()))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith("cannot read the free memory of gpu:0 (NVML device 0) through NVML: NVML ("
                        + tmp.resolve("absent/libnvidia-ml.so.1") + ") cannot be loaded: ")
                .hasMessageEndingWith(". The NVIDIA container runtime mounts libnvidia-ml.so.1 when the container's "
                        + "driver capabilities include utility; or set an absolute KV budget (kvCacheBytes)");
        assertThatThrownBy(() -> DeviceMemory.gpuFreeBytes(2, "0", "unused"))
                .hasMessage("cannot tell which GPU is gpu:2: CUDA device 2 is not among CUDA_VISIBLE_DEVICES=0");
    }
}
