package dev.gemmaflink.runtime.weights;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemmaflink.runtime.ModelLoadException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

class SafetensorsFileTest {
    @TempDir
    Path tmp;

    /** A file with exactly this header text (no padding) followed by {@code dataBytes} zero bytes. */
    static Path raw(Path file, String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        Files.write(file, b.array());
        return file;
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void writesAndReadsEveryDtype(DType dtype) {
        float[] values = {0f, 1f, -2.5f, 0.1f, 3.14159f, -1e-3f, 65504f, 1e-7f};
        Path f = tmp.resolve("t.safetensors");
        new SafetensorsWriter().metadata("format", "pt").add("a", dtype, new long[] {2, 4}, values)
                .add("scalar", dtype, new long[] {}, new float[] {7f}).write(f);
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
            assertThat(sf.metadata()).containsEntry("format", "pt");
            assertThat(sf.tensorNames()).containsExactly("a", "scalar");
            TensorData a = sf.tensor("a");
            assertThat(a.dtype()).isEqualTo(dtype);
            assertThat(a.shape()).containsExactly(2, 4);
            assertThat(a.numElements()).isEqualTo(8);
            assertThat(a.byteLength()).isEqualTo(8L * dtype.byteSize());
            assertThat(a.sourceFile()).isEqualTo(f);
            float[] back = a.toFloatArray();
            for (int i = 0; i < values.length; i++) {
                float expected = switch (dtype) {
                    case F32 -> values[i];
                    case BF16 -> HalfFloats.roundToBf16(values[i]);
                    case F16 -> HalfFloats.f16ToFloat(HalfFloats.floatToF16(values[i]));
                };
                assertThat(back[i]).as("element %d", i).isEqualTo(expected);
            }
            assertThat(a.toFloatArray(4, 4)).containsExactly(java.util.Arrays.copyOfRange(back, 4, 8));
            assertThat(a.row(1).remaining()).isEqualTo(4 * dtype.byteSize());
            assertThat(a.buffer().isReadOnly()).isTrue();
            assertThat(a.buffer().order()).isEqualTo(ByteOrder.LITTLE_ENDIAN);
            assertThat(sf.tensor("scalar").toFloatArray()).containsExactly(7f);
        }
    }

    @Test
    void halfPrecisionConversionsAreExact() {
        assertThat(HalfFloats.bf16ToFloat((short) 0x3F80)).isEqualTo(1.0f);
        assertThat(HalfFloats.floatToBf16(1.0f)).isEqualTo((short) 0x3F80);
        // 1 + 2^-8 lies halfway between bf16 1.0 and 1.0078125: ties to even gives 1.0.
        assertThat(HalfFloats.roundToBf16(1.00390625f)).isEqualTo(1.0f);
        assertThat(HalfFloats.roundToBf16(1.01171875f)).isEqualTo(1.015625f);
        assertThat(Float.isNaN(HalfFloats.roundToBf16(Float.NaN))).isTrue();
        assertThat(HalfFloats.f16ToFloat((short) 0x3C00)).isEqualTo(1.0f);
        assertThat(HalfFloats.f16ToFloat((short) 0x7BFF)).isEqualTo(65504f);
        assertThat(HalfFloats.f16ToFloat((short) 0x0001)).isEqualTo(0x1p-24f);
        assertThat(HalfFloats.f16ToFloat((short) 0xFC00)).isEqualTo(Float.NEGATIVE_INFINITY);
        assertThat(HalfFloats.floatToF16(65520f)).isEqualTo((short) 0x7C00); // rounds up to infinity
        assertThat(HalfFloats.floatToF16(0x1p-24f)).isEqualTo((short) 0x0001);
        for (int bits = 0; bits < 0x10000; bits++) {
            float f = HalfFloats.f16ToFloat((short) bits);
            if (!Float.isNaN(f)) {
                assertThat(HalfFloats.floatToF16(f)).as("f16 0x%04x", bits).isEqualTo((short) bits);
            }
        }
    }

    @Test
    void largeFileAndTensorOver2GiBAreMappedInChunks() throws IOException {
        // A sparse 2.5 GiB file: one F32 tensor of 655360 x 1024 (2.5 GiB), bigger than one ByteBuffer.
        long rows = 655_360;
        long cols = 1024;
        long bytes = rows * cols * 4;
        String header = "{\"big\":{\"dtype\":\"F32\",\"shape\":[" + rows + "," + cols + "],\"data_offsets\":[0," + bytes + "]}}";
        Path f = tmp.resolve("big.safetensors");
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        long dataStart = 8 + h.length;
        try (RandomAccessFile r = new RandomAccessFile(f.toFile(), "rw")) {
            r.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).array());
            r.write(h);
            r.setLength(dataStart + bytes);
            long lastRow = rows - 1;
            r.seek(dataStart + lastRow * cols * 4 + 4); // element [last, 1]
            r.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(42.5f).array());
        }
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
            TensorData t = sf.tensor("big");
            assertThat(t.byteLength()).isEqualTo(bytes);
            assertThatThrownBy(t::buffer).isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("row()");
            ByteBuffer last = t.row(rows - 1);
            assertThat(last.getFloat(4)).isEqualTo(42.5f);
            float[] tail = t.toFloatArray((rows - 1) * cols, 4);
            assertThat(tail).containsExactly(0f, 42.5f, 0f, 0f);
            // A range straddling the 1 GiB mapping boundary is copied and still correct.
            long boundary = SafetensorsFile.MAX_CHUNK_BYTES;
            assertThat(t.slice(boundary - 8, 16).remaining()).isEqualTo(16);
        }
    }

    @Test
    void missingFileNamesThePath() {
        Path f = tmp.resolve("nope.safetensors");
        assertThatThrownBy(() -> SafetensorsFile.open(f)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("not found").hasMessageContaining(f.toString());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "garbage JSON|{\"a\": {\"dtype\": |0|invalid JSON",
        "not an object|[1,2,3]|0|not an object",
        "duplicate key|{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}|4|invalid JSON",
        "unsupported dtype|{\"a\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}|8|unsupported dtype I64 for tensor a",
        "shape vs bytes|{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}|8|tensor a",
        "out of range|{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}|8|truncated or corrupt: tensor a ends at data byte 16",
        "overlap|{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}|12|overlap tensor a",
        "reversed offsets|{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}|8|reversed",
        "negative dim|{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}|4|not a non-negative integer",
        "missing offsets|{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}|4|data_offsets must be [begin, end]",
        "overflowing shape|{\"a\":{\"dtype\":\"F32\",\"shape\":[9223372036854775807,4],\"data_offsets\":[0,4]}}|4|overflows",
        "metadata not strings|{\"__metadata__\":{\"k\":1}}|0|__metadata__ value of 'k'",
    })
    void corruptHeadersAreRejectedWithFileAndReason(String name, String header, int data, String message) throws IOException {
        Path f = raw(tmp.resolve("bad.safetensors"), header, data);
        assertThatThrownBy(() -> SafetensorsFile.open(f))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining(f.toString())
                .hasMessageContaining(message);
    }

    @Test
    void badHeaderLengthsAreRejected() throws IOException {
        Path tiny = tmp.resolve("tiny.safetensors");
        Files.write(tiny, new byte[] {1, 2, 3});
        assertThatThrownBy(() -> SafetensorsFile.open(tiny)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("fewer than the 8-byte header length");
        Path huge = tmp.resolve("huge.safetensors");
        Files.write(huge, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-5L).array());
        assertThatThrownBy(() -> SafetensorsFile.open(huge)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("corrupt header length");
        Path past = tmp.resolve("past.safetensors");
        Files.write(past, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1000L).array());
        assertThatThrownBy(() -> SafetensorsFile.open(past)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("header length 1000 exceeds the file size 16");
    }

    @Test
    void truncatedDataIsRejected() throws IOException {
        Path f = tmp.resolve("t.safetensors");
        new SafetensorsWriter().add("w", DType.BF16, new long[] {16, 16}, new float[256]).write(f);
        byte[] all = Files.readAllBytes(f);
        Files.write(f, java.util.Arrays.copyOf(all, all.length - 1));
        assertThatThrownBy(() -> SafetensorsFile.open(f)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("truncated").hasMessageContaining("tensor w").hasMessageContaining(f.toString());
    }

    @Test
    void writerPadsHeaderToEightBytesAndRejectsBadInput() throws IOException {
        Path f = tmp.resolve("p.safetensors");
        new SafetensorsWriter().add("x", DType.F32, new long[] {1}, new float[] {1f}).write(f);
        long headerLen = ByteBuffer.wrap(Files.readAllBytes(f), 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertThat(headerLen % 8).isZero();
        assertThatThrownBy(() -> new SafetensorsWriter().add("x", DType.F32, new long[] {2}, new float[] {1f}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2 elements but 1 values");
        assertThatThrownBy(() -> new SafetensorsWriter().add("x", DType.F32, new long[] {1}, new float[1])
                .add("x", DType.F32, new long[] {1}, new float[1]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("already added");
    }
}
