package dev.gemmaflink.runtime.tools.cli;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * Writes NumPy {@code .npy} files (format 1.0, little-endian, C order), so that figures the runtime computes can be
 * read by {@code numpy.load} in reference scripts without any Java on the other side.
 */
final class NpyWriter {

    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};

    private NpyWriter() {
    }

    /** Writes {@code data} as float32 with the given shape. */
    static void writeFloat32(Path file, float[] data, long... shape) throws IOException {
        check(data.length, shape);
        ByteBuffer b = ByteBuffer.allocate(data.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(data);
        write(file, "<f4", shape, b.array());
    }

    /** Writes {@code data} as int64 with the given shape. */
    static void writeInt64(Path file, long[] data, long... shape) throws IOException {
        check(data.length, shape);
        ByteBuffer b = ByteBuffer.allocate(data.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.asLongBuffer().put(data);
        write(file, "<i8", shape, b.array());
    }

    /** Writes {@code data} as int32 with the given shape. */
    static void writeInt32(Path file, int[] data, long... shape) throws IOException {
        check(data.length, shape);
        ByteBuffer b = ByteBuffer.allocate(data.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asIntBuffer().put(data);
        write(file, "<i4", shape, b.array());
    }

    private static void check(int length, long[] shape) {
        long n = Arrays.stream(shape).reduce(1, (a, c) -> a * c);
        if (n != length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " holds " + n + " values, got "
                    + length);
        }
    }

    private static void write(Path file, String descr, long[] shape, byte[] body) throws IOException {
        String dims = Arrays.stream(shape).mapToObj(Long::toString).collect(Collectors.joining(", "));
        if (shape.length == 1) {
            dims += ",";
        }
        StringBuilder header = new StringBuilder("{'descr': '" + descr + "', 'fortran_order': False, 'shape': ("
                + dims + "), }");
        // The header (magic, 2 length bytes, text, newline) is padded with spaces to a multiple of 64 bytes.
        int unpadded = MAGIC.length + 2 + header.length() + 1;
        header.append(" ".repeat((64 - unpadded % 64) % 64)).append('\n');
        byte[] text = header.toString().getBytes(StandardCharsets.US_ASCII);
        try (OutputStream out = Files.newOutputStream(file)) {
            out.write(MAGIC);
            out.write(text.length & 0xff);
            out.write(text.length >>> 8);
            out.write(text);
            out.write(body);
        }
    }
}
