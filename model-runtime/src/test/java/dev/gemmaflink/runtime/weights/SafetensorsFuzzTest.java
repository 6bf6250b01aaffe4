package dev.gemmaflink.runtime.weights;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gemmaflink.runtime.ModelLoadException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Damages a small valid file in many ways (truncation at every length, byte flips and random bytes in the
 * header and data) and checks that opening and reading either succeed or end in a ModelLoadException:
 * never another exception type, never a crash.
 */
class SafetensorsFuzzTest {
    @TempDir
    Path tmp;

    private byte[] validFile() throws IOException {
        Path f = tmp.resolve("valid.safetensors");
        float[] a = new float[12];
        Arrays.fill(a, 0.5f);
        new SafetensorsWriter().metadata("format", "pt")
                .add("model.embed_tokens.weight", DType.BF16, new long[] {3, 4}, a)
                .add("model.norm.weight", DType.F32, new long[] {4}, new float[] {1, 2, 3, 4})
                .add("half", DType.F16, new long[] {2}, new float[] {1, -1})
                .write(f);
        return Files.readAllBytes(f);
    }

    /** Opens and fully reads the bytes; returns whether the file was accepted. */
    private boolean openAndRead(byte[] bytes, int n) throws IOException {
        Path f = tmp.resolve("fuzz-" + n + ".safetensors");
        Files.write(f, bytes);
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
            for (TensorData t : sf.tensors()) {
                float[] v = t.toFloatArray();
                assertThat(v.length).isEqualTo(t.numElements());
            }
            return true;
        } catch (ModelLoadException expected) {
            assertThat(expected.getMessage()).contains(f.toString());
            return false;
        } finally {
            Files.delete(f);
        }
    }

    @Test
    void everyTruncationIsAModelLoadException() throws IOException {
        byte[] valid = validFile();
        int accepted = 0;
        for (int len = 0; len < valid.length; len++) {
            if (openAndRead(Arrays.copyOf(valid, len), len)) {
                accepted++;
            }
        }
        // The last tensor ends the file, so no proper prefix can be valid.
        assertThat(accepted).isZero();
        assertThat(openAndRead(valid, -1)).isTrue();
    }

    @Test
    void flippedAndRandomBytesNeverEscapeAsOtherExceptions() throws IOException {
        byte[] valid = validFile();
        Random rnd = new Random(1234);
        int rejected = 0;
        int runs = 0;
        for (int pos = 0; pos < valid.length; pos++) {
            for (int mask : new int[] {0x01, 0x80, 0xFF}) {
                byte[] b = valid.clone();
                b[pos] ^= (byte) mask;
                if (!openAndRead(b, runs++)) {
                    rejected++;
                }
            }
        }
        for (int i = 0; i < 300; i++) {
            byte[] b = valid.clone();
            int flips = 1 + rnd.nextInt(8);
            for (int k = 0; k < flips; k++) {
                b[rnd.nextInt(b.length)] = (byte) rnd.nextInt(256);
            }
            if (!openAndRead(b, runs++)) {
                rejected++;
            }
        }
        // Damage to the header is almost always detected; damage to data bytes is not detectable (no checksum).
        assertThat(rejected).isGreaterThan(runs / 4);
    }
}
