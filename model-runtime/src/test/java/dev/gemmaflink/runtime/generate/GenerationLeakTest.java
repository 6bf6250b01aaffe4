package dev.gemmaflink.runtime.generate;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpoint;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointSpec;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointWriter;
import dev.gemmaflink.runtime.model.GemmaModel;
import dev.gemmaflink.runtime.model.LoadProgress;
import dev.gemmaflink.runtime.model.ModelOptions;
import dev.gemmaflink.runtime.weights.DType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Thousands of short generations must not grow native memory: every step's temporaries are freed. The vocabulary
 * is large enough (16384, 64 KB of float32 logits per step) that leaking one logits tensor per step would add
 * about 390 MB over the 6000 steps measured, far above the bound.
 *
 * <p>Native memory is estimated as VmRSS minus the JVM's committed heap and non-heap memory, read after a full GC,
 * so that the Java heap resizing itself under the test's garbage does not count as growth.
 */
class GenerationLeakTest {

    static final long NATIVE_GROWTH_BOUND_BYTES = 96L << 20;

    @TempDir
    Path tmp;

    @Test
    void twoThousandGenerationsLeaveArraysAndRssFlat() throws IOException {
        TinyCheckpoint ckpt = TinyCheckpointWriter.write(tmp.resolve("ckpt"), TinyCheckpointSpec.builder().layers(2)
                .hidden(32).intermediate(64).heads(2).kvHeads(1).headDim(16).window(4).vocab(16384)
                .dtype(DType.BF16).seed(8).build());
        try (GemmaModel model = GemmaModel.load(ckpt.directory(), ModelOptions.builder().threads(1).build(), LoadProgress.NONE);
             Generator gen = new Generator(model, null, 0)) {
            int[] prompt = {2, 100, 200, 300};
            for (int i = 0; i < 400; i++) { // warm-up: allocator pools, JIT, heap sizing
                run(gen, prompt, i);
            }
            int arraysBefore = model.managedArrayCount();
            long nativeBefore = nativeBytes();
            for (int i = 0; i < 2000; i++) {
                GenerationResult r = run(gen, prompt, i);
                assertThat(r.tokens()).hasSize(3);
            }
            long growth = nativeBytes() - nativeBefore;
            assertThat(model.managedArrayCount()).isEqualTo(arraysBefore);
            assertThat(growth).as("native memory growth in bytes over 2000 generations")
                    .isLessThan(NATIVE_GROWTH_BOUND_BYTES);
        }
    }

    private static GenerationResult run(Generator gen, int[] prompt, long seed) {
        return gen.generate(prompt, GenerationParams.builder().seed(seed).maxNewTokens(3).stopIds().build(), null);
    }

    /** VmRSS minus committed JVM heap and non-heap memory, after a full GC. */
    private static long nativeBytes() throws IOException {
        System.gc();
        java.lang.management.MemoryMXBean mem = java.lang.management.ManagementFactory.getMemoryMXBean();
        return rssBytes() - mem.getHeapMemoryUsage().getCommitted() - mem.getNonHeapMemoryUsage().getCommitted();
    }

    /** VmRSS of this process from /proc/self/status (Linux). */
    private static long rssBytes() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        throw new IllegalStateException("no VmRSS line in /proc/self/status");
    }
}
