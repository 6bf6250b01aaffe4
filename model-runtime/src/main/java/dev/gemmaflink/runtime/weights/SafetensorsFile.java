package dev.gemmaflink.runtime.weights;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.gemmaflink.runtime.ModelLoadException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A read-only safetensors file, parsed and validated up front and memory-mapped per tensor.
 *
 * <p>Layout: an unsigned little-endian 64-bit header length {@code n}, {@code n} bytes of UTF-8 JSON
 * ({@code {"name": {"dtype": "BF16", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}}),
 * then the data section; offsets are relative to the data section.
 *
 * <p>Everything is checked before any byte of tensor data is touched: header length within the file,
 * JSON well-formed and of the right shape, no duplicate keys, supported dtype, {@code shape x dtype}
 * equal to the byte range, ranges inside the file and not overlapping. A file that passes cannot make a
 * later read fault (a file truncated while open aside), so a corrupt checkpoint ends in a
 * {@link ModelLoadException} naming the file and tensor, never in a JVM crash.
 *
 * <p>Each tensor is mapped separately ({@link FileChannel#map}), in chunks of at most about 1 GiB made
 * of whole rows, so files and tensors of any size work. Mappings stay valid after {@link #close()};
 * the operating system pages them in on demand.
 */
public final class SafetensorsFile implements AutoCloseable {
    /** The format's own limit on header size (100 MB); larger values mean a corrupt file. */
    static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;
    /** Upper bound of one mapping; a multiple of every element size. */
    static final long MAX_CHUNK_BYTES = 1L << 30;

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private final Path path;
    private final FileChannel channel;
    private final Map<String, String> metadata;
    private final Map<String, TensorData> tensors; // in data-offset order

    private SafetensorsFile(Path path, FileChannel channel, Map<String, String> metadata,
            Map<String, TensorData> tensors) {
        this.path = path;
        this.channel = channel;
        this.metadata = metadata;
        this.tensors = tensors;
    }

    /**
     * Opens, validates and maps a safetensors file.
     *
     * @param file path of a {@code .safetensors} file
     * @return the open file
     * @throws ModelLoadException naming the file (and tensor) when it is missing, unreadable or invalid
     */
    public static SafetensorsFile open(Path file) {
        FileChannel ch;
        try {
            ch = FileChannel.open(file, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new ModelLoadException("safetensors file not found: " + file, e);
        } catch (IOException | RuntimeException e) {
            throw new ModelLoadException("cannot open safetensors file " + file + ": " + e, e);
        }
        try {
            return read(file, ch);
        } catch (ModelLoadException e) {
            closeQuietly(ch, e);
            throw e;
        } catch (IOException | RuntimeException | OutOfMemoryError | StackOverflowError e) {
            ModelLoadException mle = new ModelLoadException("cannot read safetensors file " + file + ": " + e, e);
            closeQuietly(ch, mle);
            throw mle;
        }
    }

    private static SafetensorsFile read(Path file, FileChannel ch) throws IOException {
        long fileSize = ch.size();
        if (fileSize < 8) {
            throw new ModelLoadException("safetensors file " + file + " is truncated: " + fileSize
                    + " bytes, fewer than the 8-byte header length");
        }
        ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, lenBuf, 0, file);
        long headerLen = lenBuf.getLong(0);
        if (headerLen <= 0 || headerLen > MAX_HEADER_BYTES) {
            throw new ModelLoadException("safetensors file " + file + " has a corrupt header length " + Long.toUnsignedString(headerLen)
                    + " (must be 1.." + MAX_HEADER_BYTES + ")");
        }
        if (8 + headerLen > fileSize) {
            throw new ModelLoadException("safetensors file " + file + " is truncated or corrupt: header length " + headerLen
                    + " exceeds the file size " + fileSize);
        }
        ByteBuffer headerBuf = ByteBuffer.allocate((int) headerLen);
        readFully(ch, headerBuf, 8, file);
        headerBuf.flip();
        String headerText;
        try {
            headerText = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(headerBuf).toString();
        } catch (CharacterCodingException e) {
            throw new ModelLoadException("safetensors file " + file + " has a corrupt header: not valid UTF-8", e);
        }
        JsonNode root;
        try {
            root = JSON.readTree(headerText);
        } catch (JsonProcessingException e) {
            throw new ModelLoadException("safetensors file " + file + " has a corrupt header: invalid JSON ("
                    + e.getOriginalMessage() + ")", e);
        }
        if (root == null || !root.isObject()) {
            throw new ModelLoadException("safetensors file " + file + " has a corrupt header: the JSON is not an object");
        }
        long dataStart = 8 + headerLen;
        long dataSize = fileSize - dataStart;
        Map<String, String> metadata = new LinkedHashMap<>();
        List<Entry> entries = new ArrayList<>();
        for (Map.Entry<String, JsonNode> field : root.properties()) {
            if (field.getKey().equals("__metadata__")) {
                parseMetadata(file, field.getValue(), metadata);
            } else {
                entries.add(parseEntry(file, field.getKey(), field.getValue(), dataSize));
            }
        }
        entries.sort(Comparator.comparingLong((Entry e) -> e.begin).thenComparingLong(e -> e.end));
        Entry previous = null;
        for (Entry e : entries) {
            // Empty tensors occupy no bytes and may share an offset with a neighbour.
            if (previous != null && e.begin < previous.end && e.end > e.begin) {
                throw new ModelLoadException("safetensors file " + file + " is corrupt: tensor " + e.name + " bytes ["
                        + e.begin + ", " + e.end + ") overlap tensor " + previous.name + " [" + previous.begin + ", "
                        + previous.end + ")");
            }
            if (e.end > e.begin) {
                previous = e;
            }
        }
        Map<String, TensorData> tensors = new LinkedHashMap<>();
        for (Entry e : entries) {
            tensors.put(e.name, map(file, ch, dataStart, e));
        }
        return new SafetensorsFile(file, ch, Collections.unmodifiableMap(metadata), Collections.unmodifiableMap(tensors));
    }

    private static void parseMetadata(Path file, JsonNode node, Map<String, String> out) {
        if (!node.isObject()) {
            throw new ModelLoadException("safetensors file " + file + " has a corrupt header: __metadata__ is not an object");
        }
        for (Map.Entry<String, JsonNode> f : node.properties()) {
            if (!f.getValue().isTextual()) {
                throw new ModelLoadException("safetensors file " + file + " has a corrupt header: __metadata__ value of '"
                        + f.getKey() + "' is not a string");
            }
            out.put(f.getKey(), f.getValue().asText());
        }
    }

    private static Entry parseEntry(Path file, String name, JsonNode node, long dataSize) {
        String where = "tensor " + name + " in safetensors file " + file;
        if (!node.isObject()) {
            throw new ModelLoadException("corrupt header for " + where + ": entry is not an object");
        }
        JsonNode dtypeNode = node.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) {
            throw new ModelLoadException("corrupt header for " + where + ": missing or non-string dtype");
        }
        DType dtype = DType.fromSafetensors(dtypeNode.asText()).orElseThrow(() -> new ModelLoadException(
                "unsupported dtype " + dtypeNode.asText() + " for " + where + " (supported: F32, F16, BF16)"));
        JsonNode shapeNode = node.get("shape");
        if (shapeNode == null || !shapeNode.isArray()) {
            throw new ModelLoadException("corrupt header for " + where + ": missing or non-array shape");
        }
        long[] shape = new long[shapeNode.size()];
        long elements = 1;
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = shapeNode.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToLong() || d.asLong() < 0) {
                throw new ModelLoadException("corrupt header for " + where + ": shape entry " + d + " is not a non-negative integer");
            }
            shape[i] = d.asLong();
            try {
                elements = Math.multiplyExact(elements, shape[i]);
            } catch (ArithmeticException e) {
                throw new ModelLoadException("corrupt header for " + where + ": shape " + shapeNode + " overflows", e);
            }
        }
        JsonNode offsets = node.get("data_offsets");
        if (offsets == null || !offsets.isArray() || offsets.size() != 2) {
            throw new ModelLoadException("corrupt header for " + where + ": data_offsets must be [begin, end]");
        }
        for (JsonNode o : offsets) {
            if (!o.isIntegralNumber() || !o.canConvertToLong() || o.asLong() < 0) {
                throw new ModelLoadException("corrupt header for " + where + ": data offset " + o + " is not a non-negative integer");
            }
        }
        long begin = offsets.get(0).asLong();
        long end = offsets.get(1).asLong();
        if (begin > end) {
            throw new ModelLoadException("corrupt header for " + where + ": data_offsets [" + begin + ", " + end + "] are reversed");
        }
        long expected;
        try {
            expected = Math.multiplyExact(elements, dtype.byteSize());
        } catch (ArithmeticException e) {
            throw new ModelLoadException("corrupt header for " + where + ": shape " + shapeNode + " overflows", e);
        }
        if (end - begin != expected) {
            throw new ModelLoadException("corrupt header for " + where + ": shape " + shapeNode + " of " + dtype + " needs "
                    + expected + " bytes but data_offsets [" + begin + ", " + end + "] hold " + (end - begin));
        }
        if (end > dataSize) {
            throw new ModelLoadException("safetensors file " + file + " is truncated or corrupt: " + "tensor " + name
                    + " ends at data byte " + end + " but the data section has only " + dataSize + " bytes");
        }
        return new Entry(name, dtype, shape, begin, end);
    }

    private static TensorData map(Path file, FileChannel ch, long dataStart, Entry e) throws IOException {
        long length = e.end - e.begin;
        long rowBytes = e.shape.length == 0 || e.shape[0] == 0 ? length : length / e.shape[0];
        // Chunks hold whole rows so that row() never needs a copy; fall back to element alignment
        // for (non-Gemma) rows above the chunk limit.
        long chunk = rowBytes > 0 && rowBytes <= MAX_CHUNK_BYTES ? (MAX_CHUNK_BYTES / rowBytes) * rowBytes : MAX_CHUNK_BYTES;
        List<ByteBuffer> chunks = new ArrayList<>();
        long pos = 0;
        do {
            long n = Math.min(chunk, length - pos);
            ByteBuffer b = length == 0 ? ByteBuffer.allocate(0)
                    : ch.map(FileChannel.MapMode.READ_ONLY, dataStart + e.begin + pos, n);
            chunks.add(b.asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN));
            pos += n;
        } while (pos < length);
        return new TensorData(e.name, e.dtype, e.shape, file, length, chunk, chunks);
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long position, Path file) throws IOException {
        long pos = position;
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos);
            if (n < 0) {
                throw new ModelLoadException("safetensors file " + file + " is truncated: unexpected end of file at byte " + pos);
            }
            pos += n;
        }
    }

    private static void closeQuietly(FileChannel ch, Throwable primary) {
        try {
            ch.close();
        } catch (IOException e) {
            primary.addSuppressed(e);
        }
    }

    /** @return the path this file was opened from */
    public Path path() {
        return path;
    }

    /** @return the string map under {@code __metadata__} (empty when absent) */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** @return tensor names in data-offset order */
    public Set<String> tensorNames() {
        return tensors.keySet();
    }

    /** @return whether a tensor of that name exists */
    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    /** @return all tensors in data-offset order */
    public Collection<TensorData> tensors() {
        return tensors.values();
    }

    /**
     * @param name tensor key as stored
     * @return the tensor
     * @throws ModelLoadException when the file has no such tensor
     */
    public TensorData tensor(String name) {
        TensorData t = tensors.get(name);
        if (t == null) {
            throw new ModelLoadException("tensor " + name + " not found in safetensors file " + path);
        }
        return t;
    }

    /** Closes the file channel; tensors already obtained stay readable (mappings outlive the channel). */
    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            throw new ModelLoadException("cannot close safetensors file " + path + ": " + e, e);
        }
    }

    private static final class Entry {
        final String name;
        final DType dtype;
        final long[] shape;
        final long begin;
        final long end;

        Entry(String name, DType dtype, long[] shape, long begin, long end) {
            this.name = name;
            this.dtype = dtype;
            this.shape = shape;
            this.begin = begin;
            this.end = end;
        }
    }
}
