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
import dev.gemmaflink.runtime.config.GemmaConfig;
import dev.gemmaflink.runtime.config.LayerType;
import dev.gemmaflink.runtime.weights.GemmaWeights;
import dev.gemmaflink.runtime.weights.TensorData;
import dev.gemmaflink.runtime.weights.TensorKind;
import dev.gemmaflink.runtime.weights.TensorSlot;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Gemma 3 text model on DJL's PyTorch engine: weights resident on the device, the forward pass one call into a
 * TorchScript module that this class generates ({@link GemmaScript}) and writes as an archive at load.
 *
 * <p>Weights: uploaded tensor by tensor from the memory-mapped checkpoint as raw bytes (bf16 as {@code uint8}, then
 * {@code view_copy} to bfloat16 inside TorchScript: DJL's own bf16 support aborts the JVM) and converted to the
 * {@link Precision}'s dtype; norm weights are stored as {@code 1 + w} in float32. The weights live in one
 * TorchScript {@code List[Tensor]} held as an {@link IValue}; they never become DJL arrays. See {@link Precision} for
 * the dtype policy per device.
 *
 * <p>Step API: {@link #forward(ForwardBatch, KvStorage)} runs the new tokens of several sequences at once against a
 * slot-addressed {@link KvStorage}; prefill, chunked prefill and decode are the same call.
 *
 * <p>Thread safety: {@code forward} may be called from several threads with distinct {@link KvStorage}s; calls on
 * one storage must not overlap. Keep a reference to this object while it is used: the DJL model behind it frees
 * the native module when collected.
 */
public final class GemmaModel implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(GemmaModel.class);
    private static final String ARCHIVE = "gemma";
    private static final long MAX_UPLOAD_CHUNK = 256L << 20;
    private static final int KIND_MATRIX = 0;
    private static final int KIND_NORM = 1;

    private final GemmaConfig config;
    private final Precision precision;
    private final MatmulPath path;
    private final Model djlModel; // strong reference: the module is freed when the Model is collected
    private final PtSymbolBlock block;
    private final PtNDManager manager;
    private final IValue weights; // List[Tensor]
    private final long weightBytes;
    private final int threads;
    private volatile boolean closed;

    private GemmaModel(GemmaConfig config, Precision precision, MatmulPath path, Model djlModel, IValue weights,
            long weightBytes, int threads) {
        this.threads = threads;
        this.config = config;
        this.precision = precision;
        this.path = path;
        this.djlModel = djlModel;
        this.block = (PtSymbolBlock) djlModel.getBlock();
        this.manager = (PtNDManager) djlModel.getNDManager();
        this.weights = weights;
        this.weightBytes = weightBytes;
    }

    /** Loads {@code config.json} and the safetensors weights of a model directory. */
    public static GemmaModel load(Path modelDir, ModelOptions options, LoadProgress progress) {
        GemmaConfig cfg = GemmaConfig.load(modelDir.resolve("config.json"));
        try (GemmaWeights w = GemmaWeights.open(modelDir, cfg)) {
            return load(w, options, progress);
        }
    }

    /** Uploads opened weights; the {@link GemmaWeights} may be closed afterwards. */
    public static GemmaModel load(GemmaWeights weights, ModelOptions options, LoadProgress progress) {
        GemmaConfig cfg = weights.config();
        Device device = options.device();
        Precision precision = options.precision();
        TorchThreads.initialize(options.threads());
        MatmulPath path = options.forcedPath().orElseGet(() -> choosePath(precision, device));
        Model model = loadArchive(ARCHIVE, "Gemma", GemmaScript.source(cfg, precision, path), device);
        try {
            PtSymbolBlock block = (PtSymbolBlock) model.getBlock();
            PtNDManager mgr = (PtNDManager) model.getNDManager();
            IValue list = IValueUtils.runMethod(block, "new_list");
            List<TensorSlot> slots = weights.table().text();
            long total = 0;
            for (TensorSlot slot : slots) {
                total += weights.tensor(slot).byteLength();
            }
            long[] done = {0};
            long resident = 0;
            for (TensorSlot slot : slots) {
                TensorKind kind = slot.kind();
                boolean norm = kind.form() == TensorKind.Form.GEMMA_NORM;
                boolean pack = path == MatmulPath.BF16_ONEDNN_PACKED && kind.isPerLayer() && !norm;
                resident += addWeight(block, mgr, list, weights.tensor(slot), norm ? KIND_NORM : KIND_MATRIX, pack,
                        precision, done, total, progress);
            }
            if (path == MatmulPath.BF16_ONEDNN_PACKED) {
                // The lookup needs the plain embedding; the output head gets a packed copy.
                resident += addWeight(block, mgr, list, weights.embedTokens(), KIND_MATRIX, true, precision,
                        new long[] {0}, total, LoadProgress.NONE);
            }
            LOG.info("Loaded Gemma 3 ({} layers, hidden {}) on {} in {} with matmul path {}: {} MB of weights",
                    cfg.numHiddenLayers(), cfg.hiddenSize(), device, precision, path, resident >> 20);
            return new GemmaModel(cfg, precision, path, model, list, resident, options.threads());
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /** Uploads one tensor, converts it in TorchScript, appends it to the weight list; returns its resident bytes. */
    private static long addWeight(PtSymbolBlock block, PtNDManager mgr, IValue list, TensorData t, int kind,
            boolean pack, Precision precision, long[] done, long total, LoadProgress progress) {
        long rowBytes = Math.max(1, t.rowBytes());
        long rows = t.rank() == 0 ? 1 : t.dim(0);
        long rowsPerChunk = Math.max(1, Math.min(rows, MAX_UPLOAD_CHUNK / rowBytes));
        List<IValue> parts = new ArrayList<>();
        try {
            for (long r0 = 0; r0 < rows; r0 += rowsPerChunk) {
                long n = Math.min(rowsPerChunk, rows - r0);
                long[] shape = t.shape().clone();
                if (shape.length > 0) {
                    shape[0] = n;
                }
                ByteBuffer bytes = t.slice(r0 * rowBytes, Math.toIntExact(n * rowBytes));
                parts.add(uploadConverted(block, mgr, t, bytes, shape, kind));
                done[0] += n * rowBytes;
                progress.onProgress(done[0], total);
            }
            IValue tensor;
            if (parts.size() == 1) {
                tensor = parts.remove(0);
            } else {
                try (IValue partList = IValue.listFrom(parts.toArray(new IValue[0]))) {
                    tensor = IValueUtils.runMethod(block, "cat0", partList);
                }
            }
            if (pack) {
                IValue packed = IValueUtils.runMethod(block, "pack", tensor);
                tensor.close();
                tensor = packed;
            }
            IValueUtils.runMethod(block, "append", list, tensor).close();
            tensor.close();
        } catch (RuntimeException e) {
            throw new ModelLoadException("cannot load tensor " + t.name() + " from " + t.sourceFile() + ": "
                    + e.getMessage(), e);
        } finally {
            parts.forEach(IValue::close);
        }
        long elements = t.numElements();
        return elements * (kind == KIND_NORM ? 4 : precision.bytesPerElement());
    }

    private static IValue uploadConverted(PtSymbolBlock block, PtNDManager mgr, TensorData t, ByteBuffer bytes,
            long[] shape, int kind) {
        try (NDManager sub = mgr.newSubManager()) {
            String method;
            PtNDArray raw;
            switch (t.dtype()) {
                case BF16:
                    // Raw bits as bytes; DJL must never see a bf16 dtype.
                    raw = (PtNDArray) sub.create(bytes, new Shape(bytes.remaining()), DataType.UINT8);
                    method = "load_bf16";
                    break;
                case F16:
                    raw = (PtNDArray) sub.create(bytes, new Shape(bytes.remaining() / 2), DataType.FLOAT16);
                    method = "load_f16";
                    break;
                case F32:
                    raw = (PtNDArray) sub.create(bytes, new Shape(bytes.remaining() / 4), DataType.FLOAT32);
                    method = "load_f32";
                    break;
                default:
                    throw new ModelLoadException("unsupported dtype " + t.dtype() + " of tensor " + t.name());
            }
            try (IValue rawIv = IValue.from(raw);
                 IValue shapeIv = IValue.listFrom(shape);
                 IValue kindIv = IValue.from((long) kind)) {
                return IValueUtils.runMethod(block, method, rawIv, shapeIv, kindIv);
            }
        }
    }

    private static MatmulPath choosePath(Precision precision, Device device) {
        if (precision == Precision.FLOAT32) {
            return MatmulPath.F32;
        }
        if (device.isGpu()) {
            return MatmulPath.BF16_PLAIN;
        }
        return OneDnnProbe.packedBf16Works() ? MatmulPath.BF16_ONEDNN_PACKED : MatmulPath.BF16_PLAIN_CPU;
    }

    /**
     * Writes the TorchScript module that {@link #load} would generate for {@code cfg}, to {@code dir/gemma.pt}, so
     * that the forward pass can be run outside Java (e.g. {@code torch.jit.load} in a reference check on a GPU).
     * Its methods and argument layout are described in {@code GemmaScript}.
     *
     * @return the archive's path
     */
    public static Path writeTorchScript(GemmaConfig cfg, Precision precision, MatmulPath path, Path dir)
            throws java.io.IOException {
        return new TorchScriptArchive(ARCHIVE, "Gemma", GemmaScript.source(cfg, precision, path)).writeTo(dir);
    }

    /** Writes a generated archive to a temporary folder and loads it; the folder is removed afterwards. */
    static Model loadArchive(String name, String className, String methods, Device device) {
        return new TorchScriptArchive(name, className, methods).load(device);
    }

    public GemmaConfig config() {
        return config;
    }

    public Precision precision() {
        return precision;
    }

    public MatmulPath matmulPath() {
        return path;
    }

    public Device device() {
        return djlModel.getNDManager().getDevice();
    }

    /**
     * Diagnostics: DJL arrays currently attached to this model's manager tree (sub-managers included). Stays
     * constant between steps: every step's temporaries live in a sub-manager closed at the end of the step.
     */
    public int managedArrayCount() {
        return manager.getManagedArrays().size();
    }

    /** Resident bytes of the weights on the device (the packed output head of the oneDNN path included). */
    public long weightBytes() {
        return weightBytes;
    }

    /**
     * Bytes of weights read per decoded token: every layer matrix plus the output head (the tied embedding); the
     * embedding lookup itself reads one row only.
     */
    public long weightBytesReadPerToken() {
        long perLayer = (long) config.hiddenSize() * config.headDim()
                * (2L * config.numAttentionHeads() + 2L * config.numKeyValueHeads())
                + 3L * config.hiddenSize() * config.intermediateSize();
        long head = (long) config.vocabSize() * config.hiddenSize();
        return (perLayer * config.numHiddenLayers() + head) * precision.bytesPerElement();
    }

    /**
     * Allocates zeroed K/V storage for every layer.
     *
     * @param slidingSlots slots of each sliding-window layer
     * @param fullSlots    slots of each full-attention layer
     */
    public KvStorage allocateKv(int slidingSlots, int fullSlots) {
        checkOpen();
        if (slidingSlots < 1 || fullSlots < 1) {
            throw new IllegalArgumentException("KV storage needs at least one slot per layer type, got "
                    + slidingSlots + " sliding and " + fullSlots + " full");
        }
        long[] slots = new long[config.numHiddenLayers()];
        long totalSlots = 0;
        for (int i = 0; i < slots.length; i++) {
            slots[i] = config.layerType(i) == LayerType.SLIDING_ATTENTION ? slidingSlots : fullSlots;
            totalSlots += slots[i];
        }
        long bytes = 2 * totalSlots * config.numKeyValueHeads() * config.headDim() * precision.bytesPerElement();
        TorchThreads.prepareCallingThread(0);
        try (NDManager sub = manager.newSubManager();
             IValue slotsIv = IValue.listFrom(slots);
             IValue like = IValue.from((PtNDArray) sub.zeros(new Shape(1)))) {
            IValue k = IValueUtils.runMethod(block, "alloc_cache", slotsIv, like);
            IValue v = IValueUtils.runMethod(block, "alloc_cache", slotsIv, like);
            return new KvStorage(this, k, v, slidingSlots, fullSlots, bytes);
        }
    }

    /**
     * Runs one step: writes the new tokens' K/V into their slots and returns float32 logits for each sequence's
     * last new token (or all of them when its step asks).
     *
     * @throws IllegalArgumentException when a slot lies outside the storage or the storage belongs to another model
     */
    public ForwardResult forward(ForwardBatch batch, KvStorage kv) {
        checkOpen();
        if (kv.owner() != this) {
            throw new IllegalArgumentException("KV storage was allocated by another model");
        }
        BatchTensors bt = BatchTensors.build(batch, config, kv);
        TorchThreads.prepareCallingThread(threads);
        try (NDManager sub = manager.newSubManager()) {
            List<IValue> args = new ArrayList<>();
            try {
                args.add(weights);
                args.add(kv.keys());
                args.add(kv.values());
                int owned = args.size();
                for (BatchTensors.Arg a : bt.args()) {
                    PtNDArray[] arrays = new PtNDArray[a.tensors().size()];
                    for (int i = 0; i < arrays.length; i++) {
                        long[][] tensor = a.tensors().get(i);
                        arrays[i] = (PtNDArray) sub.create(tensor[0], new Shape(tensor[1]));
                    }
                    args.add(a.isList() ? IValue.listFrom(arrays) : IValue.from(arrays[0]));
                }
                args.add(IValue.from((PtNDArray) sub.create(bt.soft(),
                        new Shape(bt.softRows(), bt.softRows() == 0 ? config.hiddenSize() : bt.soft().length / bt.softRows()))));
                try (IValue out = IValueUtils.runMethod(block, "forward", args.toArray(new IValue[0]))) {
                    PtNDArray logits = out.toTensor((PtNDManager) sub);
                    float[] data = logits.toFloatArray();
                    return new ForwardResult(data, config.vocabSize(), bt.firstRow(), bt.rowCount());
                } finally {
                    for (int i = owned; i < args.size(); i++) {
                        args.get(i).close();
                    }
                }
            } catch (ai.djl.engine.EngineException e) {
                throw new IllegalStateException("forward step failed: " + e.getMessage(), e);
            }
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("model is closed");
        }
    }

    /** Frees the weights and the module; KV storages allocated from this model must be closed by their owners. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            weights.close();
            djlModel.close();
        }
    }
}
