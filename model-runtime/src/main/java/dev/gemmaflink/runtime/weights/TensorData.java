package dev.gemmaflink.runtime.weights;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * One tensor of a safetensors file: name, element type, shape and a read-only little-endian view of
 * its bytes, memory-mapped from the file (no copy).
 *
 * <p>A tensor larger than one mapping (about 1 GiB; the 27B embedding in bf16 is 2.8 GB) is held as
 * several mapped chunks, each a whole number of rows; {@link #buffer()} then refuses and callers
 * use {@link #row(long)} or {@link #slice(long, int)}. Shapes are exactly those of the file, i.e.
 * the Hugging Face {@code [out, in]} layout for linear weights.
 */
public final class TensorData {
    private final String name;
    private final DType dtype;
    private final long[] shape;
    private final Path sourceFile;
    private final long byteLength;
    private final long chunkBytes;
    private final List<ByteBuffer> chunks; // read-only, little-endian, position 0

    TensorData(String name, DType dtype, long[] shape, Path sourceFile, long byteLength, long chunkBytes,
            List<ByteBuffer> chunks) {
        this.name = name;
        this.dtype = dtype;
        this.shape = shape.clone();
        this.sourceFile = sourceFile;
        this.byteLength = byteLength;
        this.chunkBytes = chunkBytes;
        this.chunks = List.copyOf(chunks);
    }

    /** @return the tensor's key as stored in the file */
    public String name() {
        return name;
    }

    /** @return the element type */
    public DType dtype() {
        return dtype;
    }

    /** @return a copy of the shape */
    public long[] shape() {
        return shape.clone();
    }

    /** @return the number of dimensions */
    public int rank() {
        return shape.length;
    }

    /** @return the size of dimension {@code axis} */
    public long dim(int axis) {
        return shape[axis];
    }

    /** @return the file this tensor was read from */
    public Path sourceFile() {
        return sourceFile;
    }

    /** @return product of the shape (1 for a scalar) */
    public long numElements() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    /** @return size of the data in bytes */
    public long byteLength() {
        return byteLength;
    }

    /** @return whether the shape equals {@code expected} */
    public boolean hasShape(long... expected) {
        return Arrays.equals(shape, expected);
    }

    /**
     * @return a new read-only little-endian view of all bytes (position 0, limit byteLength)
     * @throws UnsupportedOperationException when the tensor spans several mappings (over ~1 GiB):
     *     use {@link #row(long)} or {@link #slice(long, int)} then
     */
    public ByteBuffer buffer() {
        if (chunks.size() != 1) {
            throw new UnsupportedOperationException("tensor " + name + " in " + sourceFile + " has " + byteLength
                    + " bytes, more than one ByteBuffer can address; read it with row() or slice()");
        }
        return view(chunks.get(0));
    }

    /** @return bytes per row, a row being one index of the first dimension (all bytes for a 1-D tensor) */
    public long rowBytes() {
        if (shape.length == 0 || shape[0] == 0) {
            return byteLength;
        }
        return byteLength / shape[0];
    }

    /**
     * @param row index along the first dimension
     * @return a read-only little-endian view of that row (no copy)
     */
    public ByteBuffer row(long row) {
        if (shape.length == 0 || row < 0 || row >= shape[0]) {
            throw new IndexOutOfBoundsException("row " + row + " of tensor " + name + " with shape "
                    + Arrays.toString(shape));
        }
        long rb = rowBytes();
        return slice(row * rb, Math.toIntExact(rb));
    }

    /**
     * @param byteOffset offset into the tensor's data
     * @param length number of bytes
     * @return a read-only little-endian view; a copy only when the range crosses two mappings,
     *     which never happens for whole rows
     */
    public ByteBuffer slice(long byteOffset, int length) {
        if (byteOffset < 0 || length < 0 || byteOffset + length > byteLength) {
            throw new IndexOutOfBoundsException("bytes [" + byteOffset + ", " + (byteOffset + length) + ") of tensor "
                    + name + " with " + byteLength + " bytes");
        }
        int first = (int) (byteOffset / chunkBytes);
        int last = length == 0 ? first : (int) ((byteOffset + length - 1) / chunkBytes);
        if (first == last) {
            ByteBuffer chunk = chunks.get(first);
            int start = (int) (byteOffset - first * chunkBytes);
            return view(chunk.slice(start, length));
        }
        ByteBuffer copy = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
        long pos = byteOffset;
        while (copy.hasRemaining()) {
            int c = (int) (pos / chunkBytes);
            int start = (int) (pos - c * chunkBytes);
            ByteBuffer chunk = chunks.get(c);
            int n = Math.min(copy.remaining(), chunk.capacity() - start);
            copy.put(chunk.slice(start, n));
            pos += n;
        }
        copy.flip();
        return copy.asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * @return all elements as float32 (bf16 widened by {@code bits << 16}, f16 converted exactly)
     * @throws UnsupportedOperationException when there are more elements than a Java array can hold
     */
    public float[] toFloatArray() {
        long n = numElements();
        if (n > Integer.MAX_VALUE - 8) {
            throw new UnsupportedOperationException("tensor " + name + " has " + n
                    + " elements, too many for one float[]; use toFloatArray(first, count)");
        }
        return toFloatArray(0, (int) n);
    }

    /**
     * @param firstElement index of the first element (row-major)
     * @param count number of elements
     * @return those elements as float32
     */
    public float[] toFloatArray(long firstElement, int count) {
        int es = dtype.byteSize();
        ByteBuffer b = slice(firstElement * es, Math.multiplyExact(count, es));
        float[] out = new float[count];
        switch (dtype) {
            case F32:
                b.asFloatBuffer().get(out);
                break;
            case BF16:
                for (int i = 0; i < count; i++) {
                    out[i] = HalfFloats.bf16ToFloat(b.getShort(i * 2));
                }
                break;
            case F16:
                for (int i = 0; i < count; i++) {
                    out[i] = HalfFloats.f16ToFloat(b.getShort(i * 2));
                }
                break;
            default:
                throw new IllegalStateException("unhandled dtype " + dtype);
        }
        return out;
    }

    private static ByteBuffer view(ByteBuffer b) {
        return b.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    }

    @Override
    public String toString() {
        return name + " " + dtype + Arrays.toString(shape) + " (" + sourceFile.getFileName() + ")";
    }
}
