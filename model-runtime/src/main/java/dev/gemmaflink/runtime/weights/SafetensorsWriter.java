package dev.gemmaflink.runtime.weights;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemmaflink.runtime.ModelLoadException;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Writes a safetensors file from in-memory tensors (F32, F16 or BF16) plus {@code __metadata__}.
 *
 * <p>Meant for small files (tiny test checkpoints): every tensor is held as bytes until
 * {@link #write(Path)}. The header is padded with spaces to a multiple of 8 bytes, as the reference
 * implementation does, so tensor data stays aligned.
 *
 * <pre>{@code
 * new SafetensorsWriter()
 *     .metadata("format", "pt")
 *     .add("model.norm.weight", DType.BF16, new long[] {64}, values)
 *     .write(dir.resolve("model.safetensors"));
 * }</pre>
 */
public final class SafetensorsWriter {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Map<String, String> metadata = new LinkedHashMap<>();
    private final Map<String, Pending> tensors = new LinkedHashMap<>();

    /** Adds one {@code __metadata__} entry. */
    public SafetensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    /**
     * Adds a tensor, converting float32 values to {@code dtype} (round to nearest even).
     *
     * @throws IllegalArgumentException when the name repeats or values.length differs from the shape
     */
    public SafetensorsWriter add(String name, DType dtype, long[] shape, float[] values) {
        long n = elements(shape);
        if (n != values.length) {
            throw new IllegalArgumentException("tensor " + name + ": shape " + Arrays.toString(shape) + " has " + n
                    + " elements but " + values.length + " values were given");
        }
        ByteBuffer b = ByteBuffer.allocate(Math.multiplyExact(values.length, dtype.byteSize())).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            switch (dtype) {
                case F32:
                    b.putFloat(v);
                    break;
                case BF16:
                    b.putShort(HalfFloats.floatToBf16(v));
                    break;
                case F16:
                    b.putShort(HalfFloats.floatToF16(v));
                    break;
                default:
                    throw new IllegalStateException("unhandled dtype " + dtype);
            }
        }
        return addRaw(name, dtype, shape, b.array());
    }

    /**
     * Adds a tensor from raw little-endian bytes.
     *
     * @throws IllegalArgumentException when the name repeats or the byte count does not match
     */
    public SafetensorsWriter addRaw(String name, DType dtype, long[] shape, byte[] bytes) {
        if (name.equals("__metadata__") || tensors.containsKey(name)) {
            throw new IllegalArgumentException("tensor name " + name + " is reserved or already added");
        }
        long expected = elements(shape) * dtype.byteSize();
        if (expected != bytes.length) {
            throw new IllegalArgumentException("tensor " + name + ": shape " + Arrays.toString(shape) + " of " + dtype
                    + " needs " + expected + " bytes, got " + bytes.length);
        }
        tensors.put(name, new Pending(dtype, shape.clone(), bytes));
        return this;
    }

    /** @return the header JSON this writer would emit (before padding) */
    public String headerJson() {
        ObjectNode root = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode md = root.putObject("__metadata__");
            metadata.forEach(md::put);
        }
        long offset = 0;
        for (Map.Entry<String, Pending> e : tensors.entrySet()) {
            Pending p = e.getValue();
            ObjectNode t = root.putObject(e.getKey());
            t.put("dtype", p.dtype.safetensorsName());
            ArrayNode shape = t.putArray("shape");
            for (long d : p.shape) {
                shape.add(d);
            }
            ArrayNode offs = t.putArray("data_offsets");
            offs.add(offset);
            offset += p.bytes.length;
            offs.add(offset);
        }
        try {
            return JSON.writeValueAsString(root);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** @return total bytes of tensor data added so far */
    public long dataBytes() {
        return tensors.values().stream().mapToLong(p -> p.bytes.length).sum();
    }

    /**
     * Writes the file (replacing an existing one).
     *
     * @throws ModelLoadException when the file cannot be written
     */
    public void write(Path file) {
        byte[] header = headerJson().getBytes(StandardCharsets.UTF_8);
        int padded = (header.length + 7) / 8 * 8;
        byte[] headerPadded = Arrays.copyOf(header, padded);
        Arrays.fill(headerPadded, header.length, padded, (byte) ' ');
        try (OutputStream out = Files.newOutputStream(file)) {
            out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).array());
            out.write(headerPadded);
            for (Pending p : tensors.values()) {
                out.write(p.bytes);
            }
        } catch (IOException e) {
            throw new ModelLoadException("cannot write safetensors file " + file + ": " + e, e);
        }
    }

    private static long elements(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    private static final class Pending {
        final DType dtype;
        final long[] shape;
        final byte[] bytes;

        Pending(DType dtype, long[] shape, byte[] bytes) {
            this.dtype = dtype;
            this.shape = shape;
            this.bytes = bytes;
        }
    }
}
