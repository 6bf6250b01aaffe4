package dev.gemmaflink.runtime.model;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.IValue;
import ai.djl.pytorch.jni.IValueUtils;
import dev.gemmaflink.runtime.ModelLoadException;
import dev.gemmaflink.runtime.weights.TensorData;
import dev.gemmaflink.runtime.weights.TensorKind;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.LongConsumer;

/**
 * A generated TorchScript module loaded on a device, with the weight list its methods take: what the text model
 * and the image encoder share. It loads the archive, uploads checkpoint tensors to the device in the module's
 * precision, knows its device and frees the native module and weights on {@link #close()}.
 *
 * <p>Every module built from a {@link Source} has, besides its own methods, the weight-loading methods written
 * here ({@link Source#archive()}):
 * <pre>
 *   load(raw: uint8 bytes, dtype: int, shape: List[int], held: int) -> Tensor   raw little-endian bytes viewed as
 *                      their dtype (15 bf16, 5 f16, 6 f32), reshaped and converted to the form they are held in:
 *                      0 compute dtype; 1 float32 (1 + w), for Gemma RMSNorm weights; 2 float32 as is;
 *                      3 compute dtype transposed
 *   cat(parts: List[Tensor], dim: int) -> Tensor, new_list() -> List[Tensor], append(list, t) -> List[Tensor],
 *   numel(t) -> int
 * </pre>
 * A weight may also be several checkpoint tensors joined by a module method ({@link #appendFused}).
 * Raw bytes keep bf16 away from DJL, whose own bf16 support aborts the JVM. Tensors are uploaded in chunks of
 * rows, so a tensor larger than a Java buffer still loads.
 *
 * <p>Thread safety: methods may be called from several threads; {@link #close()} must not overlap a call.
 */
public final class TorchScriptModule implements AutoCloseable {

    /** Bytes of checkpoint data uploaded per call. */
    static final long MAX_UPLOAD_CHUNK = 256L << 20;

    private final Model model; // strong reference: DJL frees the native module when the Model is collected
    private final PtSymbolBlock block;
    private final PtNDManager manager;
    private final Precision precision;
    private final int threads;
    private final IValue weights; // List[Tensor], appended to by appendWeight
    private final long maxChunkBytes;
    private volatile boolean closed;

    private TorchScriptModule(Model model, Precision precision, int threads, long maxChunkBytes) {
        this.model = model;
        this.block = (PtSymbolBlock) model.getBlock();
        this.manager = (PtNDManager) model.getNDManager();
        this.precision = precision;
        this.threads = threads;
        this.maxChunkBytes = maxChunkBytes;
        this.weights = IValueUtils.runMethod(block, "new_list");
    }

    /**
     * The generated source of one module: archive and class name, the precision its weights are held in and its
     * own methods (each starting with {@code def} at indentation zero, first parameter {@code self: __torch__.CLASS}).
     */
    public record Source(String archiveName, String className, Precision precision, String methods) {
        /** Validates presence; names are checked by {@link TorchScriptArchive}. */
        public Source {
            Objects.requireNonNull(archiveName, "archiveName");
            Objects.requireNonNull(className, "className");
            Objects.requireNonNull(precision, "precision");
            Objects.requireNonNull(methods, "methods");
        }

        /** @return the archive: the weight-loading methods followed by the module's own */
        public TorchScriptArchive archive() {
            return new TorchScriptArchive(archiveName, className, weightLoaderSource(className, precision) + methods);
        }
    }

    /**
     * Loads a generated module on {@code device}, after loading DJL's PyTorch engine and preparing the calling
     * thread ({@link TorchThreads#initialize}).
     *
     * @param threads intra-op CPU threads for this module's calls; 0 leaves libtorch's default
     * @throws ModelLoadException when PyTorch rejects the generated module, or {@code device} is a GPU the loaded
     *     engine cannot use ({@link CudaStartCheck})
     */
    public static TorchScriptModule load(Source source, Device device, int threads) {
        return load(source, device, threads, MAX_UPLOAD_CHUNK);
    }

    static TorchScriptModule load(Source source, Device device, int threads, long maxChunkBytes) {
        TorchThreads.initialize(threads);
        CudaStartCheck.require(device); // before anything is loaded: a CPU-only engine fails here, clearly
        Model model = source.archive().load(device);
        try {
            return new TorchScriptModule(model, source.precision(), threads, maxChunkBytes);
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    private static String weightLoaderSource(String className, Precision precision) {
        String self = "self: __torch__." + className;
        int cdt = precision.torchScalarType();
        StringBuilder s = new StringBuilder();
        s.append("def load(").append(self).append(", raw: Tensor, dtype: int, shape: List[int], held: int) -> Tensor:\n");
        s.append("  t = torch.reshape(torch.view_copy(raw, dtype), shape)\n");
        s.append("  if held == ").append(Held.GEMMA_NORM.code).append(":\n");
        s.append("    return torch.add(torch.to(t, 6), 1.0)\n");
        s.append("  if held == ").append(Held.FLOAT32.code).append(":\n");
        s.append("    return torch.contiguous(torch.to(t, 6))\n");
        s.append("  if held == ").append(Held.COMPUTE_TRANSPOSED.code).append(":\n");
        s.append("    return torch.contiguous(torch.transpose(torch.to(t, ").append(cdt).append("), 0, 1))\n");
        s.append("  return torch.contiguous(torch.to(t, ").append(cdt).append("))\n");
        s.append("def cat(").append(self).append(", parts: List[Tensor], dim: int) -> Tensor:\n");
        s.append("  return torch.cat(parts, dim)\n");
        s.append("def numel(").append(self).append(", t: Tensor) -> int:\n");
        s.append("  return torch.numel(t)\n");
        s.append("def new_list(").append(self).append(") -> List[Tensor]:\n");
        s.append("  return annotate(List[Tensor], [])\n");
        s.append("def append(").append(self).append(", l: List[Tensor], t: Tensor) -> List[Tensor]:\n");
        s.append("  l.append(t)\n");
        s.append("  return l\n");
        return s.toString();
    }

    /** How a module holds a tensor; {@code code} is the {@code held} argument of the generated {@code load}. */
    private enum Held {
        /** In the module's compute dtype (bf16 or float32). */
        COMPUTE(0, false),
        /** As {@code 1 + w} in float32. */
        GEMMA_NORM(1, true),
        /** In float32, as stored. */
        FLOAT32(2, true),
        /** Transposed, in the compute dtype, so that every product is a {@code linear}. */
        COMPUTE_TRANSPOSED(3, false);

        final int code;
        final boolean float32;

        Held(int code, boolean float32) {
            this.code = code;
            this.float32 = float32;
        }

        static Held of(TensorKind.Form form) {
            switch (form) {
                case MATRIX:
                    return COMPUTE;
                case MATRIX_IN_OUT:
                    return COMPUTE_TRANSPOSED;
                case GEMMA_NORM:
                    return GEMMA_NORM;
                case LAYER_NORM:
                case BIAS:
                case POSITION_EMBEDDING:
                    return FLOAT32;
                default:
                    throw new IllegalStateException("unknown form " + form);
            }
        }

        /** Chunks of rows are joined along this axis: a transposed chunk holds columns of the result. */
        int joinAxis() {
            return this == COMPUTE_TRANSPOSED ? 1 : 0;
        }
    }

    /**
     * Uploads one checkpoint tensor, converts it to the form its kind is held in and appends it to the weight list.
     *
     * @param form     what the values are used as (see {@link TensorKind#form()})
     * @param uploaded receives the bytes of each chunk as it is uploaded
     * @return bytes the tensor occupies on the device
     * @throws ModelLoadException naming the tensor and its file when the upload fails
     */
    public long appendWeight(TensorData tensor, TensorKind.Form form, LongConsumer uploaded) {
        return appendWeight(tensor, form, null, uploaded);
    }

    /**
     * As {@link #appendWeight(TensorData, TensorKind.Form, LongConsumer)}, passing the converted tensor through the
     * one-argument module method {@code then} (e.g. one that packs a matrix for oneDNN) before appending it.
     *
     * @param then a method name, or null for none
     */
    public long appendWeight(TensorData tensor, TensorKind.Form form, String then, LongConsumer uploaded) {
        checkOpen();
        Held held = Held.of(form);
        IValue converted = null;
        try {
            converted = upload(tensor, held, uploaded);
            if (then != null) {
                IValue next = IValueUtils.runMethod(block, then, converted);
                converted.close();
                converted = next;
            }
            IValueUtils.runMethod(block, "append", weights, converted).close();
        } catch (RuntimeException e) {
            throw new ModelLoadException("cannot load tensor " + tensor.name() + " from " + tensor.sourceFile() + ": "
                    + e.getMessage(), e);
        } finally {
            if (converted != null) {
                converted.close(); // the list holds its own reference
            }
        }
        return tensor.numElements() * (held.float32 ? Float.BYTES : precision.bytesPerElement());
    }

    /**
     * Uploads one or more checkpoint tensors, each converted to the form it is held in, turns them into one tensor with
     * the module method {@code join} ({@code (parts: List[Tensor]) -> Tensor}) and appends it: one weight-list
     * entry, e.g. Q, K and V stacked into one matrix.
     *
     * @param forms what each part's values are used as; the joined tensor is held like the first
     * @return bytes the joined tensor occupies on the device
     * @throws ModelLoadException naming the tensors when the upload or the join fails
     */
    public long appendFused(List<TensorData> parts, List<TensorKind.Form> forms, String join, LongConsumer uploaded) {
        checkOpen();
        if (parts.size() != forms.size() || parts.isEmpty()) {
            throw new IllegalArgumentException(parts.size() + " parts but " + forms.size() + " forms");
        }
        List<IValue> loaded = new ArrayList<>();
        IValue joined = null;
        try {
            for (int i = 0; i < parts.size(); i++) {
                loaded.add(upload(parts.get(i), Held.of(forms.get(i)), uploaded));
            }
            try (IValue list = IValue.listFrom(loaded.toArray(new IValue[0]))) {
                joined = IValueUtils.runMethod(block, join, list);
            }
            loaded.forEach(IValue::close);
            loaded.clear();
            long elements;
            try (IValue n = IValueUtils.runMethod(block, "numel", joined)) {
                elements = n.toLong();
            }
            IValueUtils.runMethod(block, "append", weights, joined).close();
            return elements * (Held.of(forms.get(0)).float32 ? Float.BYTES : precision.bytesPerElement());
        } catch (RuntimeException e) {
            StringBuilder names = new StringBuilder();
            for (TensorData t : parts) {
                names.append(names.length() == 0 ? "" : ", ").append(t.name());
            }
            throw new ModelLoadException("cannot load tensors " + names + " from " + parts.get(0).sourceFile() + ": "
                    + e.getMessage(), e);
        } finally {
            loaded.forEach(IValue::close);
            if (joined != null) {
                joined.close(); // the list holds its own reference
            }
        }
    }

    /** Uploads the tensor in chunks of whole rows, converts each and joins them. */
    private IValue upload(TensorData t, Held held, LongConsumer uploaded) {
        long rowBytes = Math.max(1, t.rowBytes());
        long rows = t.rank() == 0 ? 1 : t.dim(0);
        long rowsPerChunk = Math.max(1, Math.min(rows, maxChunkBytes / rowBytes));
        List<IValue> parts = new ArrayList<>();
        try {
            for (long r0 = 0; r0 < rows; r0 += rowsPerChunk) {
                long n = Math.min(rowsPerChunk, rows - r0);
                long[] shape = t.shape();
                if (shape.length > 0) {
                    shape[0] = n;
                }
                parts.add(loadChunk(t, t.slice(r0 * rowBytes, Math.toIntExact(n * rowBytes)), shape, held));
                uploaded.accept(n * rowBytes);
            }
            if (parts.size() == 1) {
                return parts.remove(0);
            }
            try (IValue list = IValue.listFrom(parts.toArray(new IValue[0]));
                 IValue axis = IValue.from((long) held.joinAxis())) {
                return IValueUtils.runMethod(block, "cat", list, axis);
            }
        } finally {
            parts.forEach(IValue::close);
        }
    }

    private IValue loadChunk(TensorData t, ByteBuffer bytes, long[] shape, Held held) {
        try (NDManager sub = manager.newSubManager()) {
            // Raw bits as bytes: DJL must never see a bf16 dtype.
            PtNDArray raw = (PtNDArray) sub.create(bytes, new Shape(bytes.remaining()), DataType.UINT8);
            try (IValue rawIv = IValue.from(raw);
                 IValue dtypeIv = IValue.from((long) torchScalarType(t));
                 IValue shapeIv = IValue.listFrom(shape);
                 IValue heldIv = IValue.from((long) held.code)) {
                return IValueUtils.runMethod(block, "load", rawIv, dtypeIv, shapeIv, heldIv);
            }
        }
    }

    private static int torchScalarType(TensorData t) {
        switch (t.dtype()) {
            case BF16:
                return 15;
            case F16:
                return 5;
            case F32:
                return 6;
            default:
                throw new ModelLoadException("unsupported dtype " + t.dtype() + " of tensor " + t.name());
        }
    }

    /** @return the weight list, in upload order; owned by this module (do not close it) */
    public IValue weights() {
        checkOpen();
        return weights;
    }

    /**
     * Runs a method of the module.
     *
     * @return its result, owned by the caller
     */
    public IValue call(String method, IValue... args) {
        checkOpen();
        return IValueUtils.runMethod(block, method, args);
    }

    /** @return a manager for a call's temporary arrays on this module's device; close it after the call */
    public PtNDManager newSubManager() {
        checkOpen();
        return (PtNDManager) manager.newSubManager();
    }

    /** Applies the per-thread libtorch settings on the calling thread, with this module's thread count. */
    public void prepareCallingThread() {
        prepareCallingThread(false);
    }

    /**
     * Applies the per-thread libtorch settings on the calling thread, with this module's thread count and
     * graph-executor optimisation on or off ({@link TorchThreads#prepareCallingThread(int, boolean)}).
     */
    public void prepareCallingThread(boolean optimize) {
        TorchThreads.prepareCallingThread(threads, optimize);
    }

    /** @return the device the module and its weights live on */
    public Device device() {
        return manager.getDevice();
    }

    /** @return the precision weights are held in */
    public Precision precision() {
        return precision;
    }

    /**
     * Diagnostics: DJL arrays currently attached to this module's manager tree (sub-managers included); constant
     * between calls when every call closes its sub-manager.
     */
    public int managedArrayCount() {
        return manager.getManagedArrays().size();
    }

    /** @return whether {@link #close()} was called */
    public boolean isClosed() {
        return closed;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("TorchScript module is closed");
        }
    }

    /** Frees the weight list and the native module; results handed out must be closed by their owners. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            weights.close();
            model.close();
        }
    }
}
