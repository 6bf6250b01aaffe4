package dev.gemmaflink.runtime.model;

import ai.djl.Device;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.jni.IValue;
import dev.gemmaflink.runtime.config.GemmaConfig;
import dev.gemmaflink.runtime.config.LayerType;
import dev.gemmaflink.runtime.weights.FusedSlot;
import dev.gemmaflink.runtime.weights.GemmaWeights;
import dev.gemmaflink.runtime.weights.TensorData;
import dev.gemmaflink.runtime.weights.TensorKind;
import dev.gemmaflink.runtime.weights.TensorSlot;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Gemma 3 text model on DJL's PyTorch engine: weights resident on the device, the forward pass one call into a
 * TorchScript module that this class generates ({@link GemmaScript}) and writes as an archive at load.
 *
 * <p>Weights: the tensors of the checkpoint's {@link dev.gemmaflink.runtime.weights.TensorTable#text()}, uploaded
 * one by one from the memory-mapped checkpoint by {@link TorchScriptModule}, converted to the {@link Precision}'s
 * dtype and joined as {@link dev.gemmaflink.runtime.weights.TensorTable#textModule()} lists them (Q/K/V one matrix,
 * gate/up one matrix, the q/k norms one table); norm weights are stored as {@code 1 + w} in float32. The weights live in one TorchScript
 * {@code List[Tensor]}; they never become DJL arrays. See {@link Precision} for the dtype policy per device.
 *
 * <p>Step API: {@link #forward(ForwardBatch, KvStorage)} runs the new tokens of several sequences at once against a
 * slot-addressed {@link KvStorage}; prefill, chunked prefill and decode are the same call. Serving uses
 * {@link #forwardSample(ForwardBatch, KvStorage, List)}, which samples on the device and returns token ids only;
 * {@code forward} copies the logits to the host (tests, parity checks, dump-logits). Both take a {@link GraphMode}:
 * whether the step runs with libtorch's graph-executor optimisation and bucketed shapes (default: off).
 *
 * <p>Thread safety: {@code forward} may be called from several threads with distinct {@link KvStorage}s; calls on
 * one storage must not overlap. Keep a reference to this object while it is used: the DJL model behind it frees
 * the native module when collected.
 */
public final class GemmaModel implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(GemmaModel.class);

    private final GemmaConfig config;
    private final MatmulPath path;
    private final TorchScriptModule module;
    private final long weightBytes;
    private final LongAdder deviceToHostBytes = new LongAdder();
    /** Null unless steps are being recorded: the steps then check it once each. */
    private volatile StepRecorder recorder;

    private GemmaModel(GemmaConfig config, MatmulPath path, TorchScriptModule module, long weightBytes) {
        this.config = config;
        this.path = path;
        this.module = module;
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
        TorchThreads.initialize(options.threads()); // the probe choosing the path needs the engine
        MatmulPath path = options.forcedPath().orElseGet(() -> choosePath(cfg, precision, device));
        TorchScriptModule module = TorchScriptModule.load(GemmaScript.module(cfg, precision, path), device,
                options.threads());
        try {
            long total = 0;
            for (TensorSlot slot : weights.table().text()) {
                total += weights.tensor(slot).byteLength();
            }
            long bytesTotal = total;
            long[] done = {0};
            LongConsumer uploaded = n -> {
                done[0] += n;
                progress.onProgress(done[0], bytesTotal);
            };
            long resident = 0;
            boolean packed = path.packed();
            for (FusedSlot slot : weights.table().textModule()) {
                List<TensorData> parts = new ArrayList<>();
                List<TensorKind.Form> forms = new ArrayList<>();
                for (TensorSlot part : slot.parts()) {
                    parts.add(weights.tensor(part));
                    forms.add(part.kind().form());
                }
                resident += module.appendFused(parts, forms, GemmaScript.prepMethod(slot.kind()), uploaded);
            }
            if (packed) {
                // The lookup needs the plain embedding; the output head gets a packed copy.
                resident += module.appendWeight(weights.embedTokens(), TensorKind.Form.MATRIX, "pack", n -> { });
            }
            LOG.info("Loaded Gemma 3 ({} layers, hidden {}) on {} in {} with matmul path {}: {} MB of weights",
                    cfg.numHiddenLayers(), cfg.hiddenSize(), device, precision, path, resident >> 20);
            return new GemmaModel(cfg, path, module, resident);
        } catch (RuntimeException e) {
            module.close();
            throw e;
        }
    }

    /**
     * Hidden size from which float32 products on a CPU take oneDNN's packed weights. oneDNN's call costs about 10 µs
     * more than {@code torch.mm}'s, which dominates at test widths (hidden 64: a decode step 40% slower), while at
     * Gemma 3's widths (1152 and up) its products at 16 rows take half MKL's time (docs/benchmarks.md).
     */
    static final int F32_ONEDNN_MIN_HIDDEN = 1024;

    private static MatmulPath choosePath(GemmaConfig cfg, Precision precision, Device device) {
        if (precision == Precision.FLOAT32) {
            return device.isGpu() || cfg.hiddenSize() < F32_ONEDNN_MIN_HIDDEN || !OneDnnProbe.packedF32Works()
                    ? MatmulPath.F32 : MatmulPath.F32_ONEDNN_PACKED;
        }
        if (device.isGpu()) {
            return MatmulPath.BF16_PLAIN;
        }
        return OneDnnProbe.packedBf16Works() ? MatmulPath.BF16_ONEDNN_PACKED : MatmulPath.BF16_PLAIN_CPU;
    }

    /**
     * Writes the TorchScript module that {@link #load} would generate for {@code cfg}, to {@code dir/gemma.pt}, so
     * that the forward pass can be run outside Java (e.g. {@code torch.jit.load} in a reference check on a GPU).
     * Its methods and argument layout are described in {@code GemmaScript} and {@link TorchScriptModule}.
     *
     * @return the archive's path
     */
    public static Path writeTorchScript(GemmaConfig cfg, Precision precision, MatmulPath path, Path dir)
            throws java.io.IOException {
        return GemmaScript.module(cfg, precision, path).archive().writeTo(dir);
    }

    public GemmaConfig config() {
        return config;
    }

    public Precision precision() {
        return module.precision();
    }

    public MatmulPath matmulPath() {
        return path;
    }

    public Device device() {
        return module.device();
    }

    /**
     * Diagnostics: DJL arrays currently attached to this model's manager tree (sub-managers included). Stays
     * constant between steps: every step's temporaries live in a sub-manager closed at the end of the step.
     */
    public int managedArrayCount() {
        return module.managedArrayCount();
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
        return (perLayer * config.numHiddenLayers() + head) * module.precision().bytesPerElement();
    }

    /**
     * Allocates zeroed K/V storage for every layer (and one scratch slot per layer, see {@link KvStorage}).
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
        // + 1 per layer: the scratch slot padding tokens write to (KvStorage.scratchSlot).
        long[] slots = KvStorage.slotsPerLayer(config, slidingSlots, fullSlots);
        long totalSlots = Arrays.stream(slots).sum();
        long bytes = 2 * totalSlots * config.numKeyValueHeads() * config.headDim()
                * module.precision().bytesPerElement();
        TorchThreads.prepareCallingThread(0);
        try (PtNDManager sub = module.newSubManager();
             IValue slotsIv = IValue.listFrom(slots);
             IValue like = IValue.from((PtNDArray) sub.zeros(new Shape(1)))) {
            IValue cache = module.call("alloc_cache", slotsIv, like);
            try {
                return new KvStorage(this, cache, module.call("rows_view", cache), slidingSlots, fullSlots, bytes);
            } catch (RuntimeException e) {
                cache.close();
                throw e;
            }
        }
    }

    /**
     * Runs one step: writes the new tokens' K/V into their slots and returns float32 logits for each sequence's
     * last new token (or all of them when its step asks).
     *
     * @throws IllegalArgumentException when a slot lies outside the storage or the storage belongs to another model
     */
    public ForwardResult forward(ForwardBatch batch, KvStorage kv) {
        return forward(batch, kv, GraphMode.PLAIN);
    }

    /**
     * {@link #forward(ForwardBatch, KvStorage)} with the graph run as {@code mode} says; the logits are the same
     * rows (padding rows of {@link GraphMode#OPTIMIZED} are dropped).
     */
    public ForwardResult forward(ForwardBatch batch, KvStorage kv, GraphMode mode) {
        return run(batch, kv, mode, (bt, out, sub) -> {
            float[] data = out.toTensor(sub).toFloatArray();
            deviceToHostBytes.add((long) data.length * Float.BYTES);
            StepRecorder rec = recorder;
            if (rec != null) {
                rec.onStep(recorded(RecordedStep.Call.FORWARD, bt, kv, mode == GraphMode.OPTIMIZED, null));
            }
            return new ForwardResult(data, config.vocabSize(), bt.firstRow(), bt.rowCount());
        });
    }

    /**
     * Runs one step as {@link #forward} does and samples the next token of the sequences {@code rows} name, on the
     * device ({@link DeviceSampler}, right after the forward pass in the same step): only token ids and the
     * log-probabilities rows ask for come back, never logits. Each row samples from the logits of its sequence's
     * last new token. With no rows, nothing is copied back (a prefill chunk that does not end the prompt).
     *
     * <p>The result is the Java reference sampler's ({@code generate.Sampler}) choice on the same logits: exactly
     * for greedy rows, and for sampled rows up to float64 rounding at a bucket boundary of the inverse CDF (the
     * two compute the same float64 expressions; see {@link DeviceSampler}).
     *
     * @throws IllegalArgumentException when a row names a sequence outside the batch, two rows the same one, or a
     *                                  row's mask another vocabulary (checked before the step runs)
     */
    public SampledTokens forwardSample(ForwardBatch batch, KvStorage kv, List<SampleRow> rows) {
        return forwardSample(batch, kv, rows, GraphMode.PLAIN);
    }

    /**
     * {@link #forwardSample(ForwardBatch, KvStorage, List)} with the forward pass run as {@code mode} says (the
     * sampling itself always runs unoptimised); the tokens are the same.
     */
    public SampledTokens forwardSample(ForwardBatch batch, KvStorage kv, List<SampleRow> rows, GraphMode mode) {
        java.util.Objects.requireNonNull(mode, "mode");
        int n = batch.steps().size();
        boolean[] seen = new boolean[n];
        for (SampleRow row : rows) {
            if (row.sequence() >= n) {
                throw new IllegalArgumentException("sample row for sequence " + row.sequence() + " of a batch of "
                        + n + " sequences");
            }
            if (seen[row.sequence()]) {
                throw new IllegalArgumentException("two sample rows for sequence " + row.sequence());
            }
            if (row.mask() != null && row.mask().vocabSize() != config.vocabSize()) {
                throw new IllegalArgumentException("sample row for sequence " + row.sequence() + ": mask over "
                        + row.mask().vocabSize() + " tokens but the model's vocabulary has " + config.vocabSize());
            }
            seen[row.sequence()] = true;
        }
        return run(batch, kv, mode, (bt, out, sub) -> {
            int[] first = bt.firstRow();
            int[] count = bt.rowCount();
            int[] logitRow = rows.stream().mapToInt(r -> first[r.sequence()] + count[r.sequence()] - 1).toArray();
            StepRecorder rec = recorder;
            RecordedStep.Sample[] sample = {null};
            SampledTokens tokens = DeviceSampler.sample(module, sub, out, Arrays.stream(count).sum(), logitRow, rows,
                    config.vocabSize(), deviceToHostBytes::add, rec == null ? null : s -> sample[0] = s);
            if (rec != null) {
                rec.onStep(recorded(RecordedStep.Call.FORWARD_SAMPLE, bt, kv, mode == GraphMode.OPTIMIZED, sample[0]));
            }
            return tokens;
        });
    }

    /**
     * Hands every later step of this model to {@code stepRecorder} (see {@link StepRecorder}), or stops recording
     * when it is null. Steps already running may or may not be recorded.
     */
    public void recordSteps(StepRecorder stepRecorder) {
        this.recorder = stepRecorder;
    }

    /**
     * Runs a recorded step again, exactly as recorded: the same {@code forward} inputs into {@code kv} (which must
     * have the recorded geometry), then the recorded {@code sample} call when there was one.
     *
     * @return the sampled token ids per row, or null when the step sampled nothing
     */
    long[] replay(RecordedStep step, KvStorage kv) {
        checkOpen();
        if (kv.owner() != this) {
            throw new IllegalArgumentException("KV storage was allocated by another model");
        }
        if (kv.slots(LayerType.SLIDING_ATTENTION) != step.slidingSlots()
                || kv.slots(LayerType.FULL_ATTENTION) != step.fullSlots()) {
            throw new IllegalArgumentException("the step was recorded against " + step.slidingSlots() + " sliding and "
                    + step.fullSlots() + " full slots per layer");
        }
        module.prepareCallingThread(step.optimized());
        try (PtNDManager sub = module.newSubManager();
             IValue buf = IValue.from((PtNDArray) sub.create(step.buffer(), new Shape(step.buffer().length)));
             IValue sizes = IValue.listFrom(step.sizes());
             IValue dims = IValue.listFrom(step.dims());
             IValue soft = IValue.from((PtNDArray) sub.create(step.soft(),
                     new Shape(step.softRows(), step.softColumns())));
             IValue logits = forwardCall(kv, buf, sizes, dims, soft, step.optimized())) {
            RecordedStep.Sample s = step.sample();
            if (s == null) {
                return null;
            }
            long[] out = DeviceSampler.call(module, sub, logits, s.params(), s.kmax(), s.logprobs(), s.allowed(),
                    s.whole());
            long[] tokens = new long[s.rows()];
            for (int i = 0; i < tokens.length; i++) {
                tokens[i] = out[2 * i];
            }
            return tokens;
        }
    }

    /** The step as it crossed into the module, for the recorder. */
    private RecordedStep recorded(RecordedStep.Call call, BatchTensors bt, KvStorage kv, boolean optimized,
            RecordedStep.Sample sample) {
        int softRows = bt.softRows();
        int softColumns = softRows == 0 ? config.hiddenSize() : bt.soft().length / softRows;
        return new RecordedStep(call, optimized, kv.id(),
                kv.slots(LayerType.SLIDING_ATTENTION),
                kv.slots(LayerType.FULL_ATTENTION),
                Arrays.copyOf(bt.buffer(), bt.bufferLength()), bt.sizes(), bt.dims(), bt.soft().clone(), softRows,
                softColumns, sample);
    }

    /**
     * Diagnostics: bytes copied from the device to the host by {@link #forward} (logits) and {@link #forwardSample}
     * (token ids) since load.
     */
    public long deviceToHostBytes() {
        return deviceToHostBytes.sum();
    }

    /** What a step does with the logits {@code forward} left on the device. */
    private interface StepOutput<T> {
        T take(BatchTensors bt, IValue logits, PtNDManager sub);
    }

    private <T> T run(ForwardBatch batch, KvStorage kv, GraphMode mode, StepOutput<T> then) {
        checkOpen();
        if (kv.owner() != this) {
            throw new IllegalArgumentException("KV storage was allocated by another model");
        }
        boolean optimized = mode == GraphMode.OPTIMIZED;
        BatchTensors bt = BatchTensors.build(batch, config, kv, optimized);
        module.prepareCallingThread(optimized);
        try (PtNDManager sub = module.newSubManager();
             IValue buf = IValue.from((PtNDArray) sub.create(
                     java.nio.LongBuffer.wrap(bt.buffer(), 0, bt.bufferLength()), new Shape(bt.bufferLength())));
             IValue sizes = IValue.listFrom(bt.sizes());
             IValue dims = IValue.listFrom(bt.dims());
             IValue soft = IValue.from((PtNDArray) sub.create(bt.soft(),
                     new Shape(bt.softRows(), bt.softRows() == 0 ? config.hiddenSize() : bt.soft().length / bt.softRows())));
             IValue logits = forwardCall(kv, buf, sizes, dims, soft, optimized)) {
            return then.take(bt, logits, sub);
        } catch (ai.djl.engine.EngineException e) {
            throw new IllegalStateException("forward step failed: " + e.getMessage(), e);
        }
    }

    /** The module's forward call; an optimised call turns the thread's optimisation off again before returning. */
    private IValue forwardCall(KvStorage kv, IValue buf, IValue sizes, IValue dims, IValue soft, boolean optimized) {
        try {
            return module.call("forward", module.weights(), kv.cache(), kv.rows(), buf, sizes, dims, soft);
        } finally {
            if (optimized) {
                TorchThreads.endOptimizedCall();
            }
        }
    }

    private void checkOpen() {
        if (module.isClosed()) {
            throw new IllegalStateException("model is closed");
        }
    }

    /** Frees the weights and the module; KV storages allocated from this model must be closed by their owners. */
    @Override
    public void close() {
        module.close();
    }
}
