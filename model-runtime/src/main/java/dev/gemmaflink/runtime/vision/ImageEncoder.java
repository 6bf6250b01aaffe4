package dev.gemmaflink.runtime.vision;

import ai.djl.Device;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.jni.IValue;
import dev.gemmaflink.runtime.ModelLoadException;
import dev.gemmaflink.runtime.config.GemmaConfig;
import dev.gemmaflink.runtime.config.VisionConfig;
import dev.gemmaflink.runtime.model.MatmulPath;
import dev.gemmaflink.runtime.model.ModelOptions;
import dev.gemmaflink.runtime.model.Precision;
import dev.gemmaflink.runtime.model.TorchScriptModule;
import dev.gemmaflink.runtime.weights.GemmaWeights;
import dev.gemmaflink.runtime.weights.TensorSlot;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Gemma 3 vision encoder (SigLIP tower + multimodal projector) on DJL's PyTorch engine: one call into a
 * generated TorchScript module ({@link SiglipScript}) encodes a batch of images, crops included, into soft-token
 * embeddings {@code (N, mm_tokens_per_image, text hidden)}.
 *
 * <p>Weights: the tensors of the checkpoint's {@link dev.gemmaflink.runtime.weights.TensorTable#vision()}, uploaded by
 * {@link TorchScriptModule}. With {@link Precision#BF16} matrices stay bf16 and every product takes bf16 operands
 * (on a CPU the weight is widened to float32 per product, see {@link SiglipScript.Path}); LayerNorm, attention
 * softmax, the residual stream and the output are float32. {@link Precision#FLOAT32} is the reference mode.
 *
 * <pre>{@code
 * try (GemmaWeights w = GemmaWeights.open(dir, cfg); ImageEncoder enc = ImageEncoder.load(w, ModelOptions.defaults())) {
 *     PreparedImage img = ImagePreprocessor.forVision(cfg.vision().get()).prepare(bytes, new ImageDecoder(), pas);
 *     try (ImageEmbeddings e = enc.encode(img.views())) { ... }
 * }
 * }</pre>
 *
 * <p>Thread safety: {@code encode} may be called from several threads. Keep a reference to the encoder while its
 * embeddings are used.
 */
public final class ImageEncoder implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ImageEncoder.class);

    private final GemmaConfig config;
    private final VisionConfig vision;
    private final SiglipScript.Path path;
    private final TorchScriptModule module;

    private ImageEncoder(GemmaConfig config, SiglipScript.Path path, TorchScriptModule module) {
        this.config = config;
        this.vision = config.vision().orElseThrow();
        this.path = path;
        this.module = module;
    }

    /**
     * Uploads the vision tower and projector of an opened multimodal checkpoint (the {@link GemmaWeights} may be
     * closed afterwards). Uses the precision, device and threads of {@code options}.
     *
     * @throws ModelLoadException when the config has no vision tower, the soft-token count does not fit the patch
     *     grid, or a tensor cannot be uploaded
     */
    public static ImageEncoder load(GemmaWeights weights, ModelOptions options) {
        GemmaConfig cfg = weights.config();
        if (cfg.vision().isEmpty()) {
            throw new ModelLoadException("checkpoint in " + weights.directory() + " has no vision_config: it is text-only");
        }
        VisionConfig v = cfg.vision().get();
        SiglipScript.Path path = choosePath(options);
        TorchScriptModule.Source source = SiglipScript.module(cfg, path); // validates the pooling geometry first
        TorchScriptModule module = TorchScriptModule.load(source, options.device(), options.threads());
        try {
            for (TensorSlot slot : weights.table().vision()) {
                module.appendWeight(weights.tensor(slot), slot.kind().form(), n -> { });
            }
            LOG.info("Loaded SigLIP tower ({} layers, hidden {}, image {}) and projector on {} in {} ({})",
                    v.numHiddenLayers(), v.hiddenSize(), v.imageSize(), options.device(), options.precision(), path);
            return new ImageEncoder(cfg, path, module);
        } catch (RuntimeException e) {
            module.close();
            throw e;
        }
    }

    /**
     * Writes the TorchScript module that {@link #load} generates for {@code cfg}, as it runs on a GPU ({@code BF16}:
     * bf16 weights and products) or in the float32 reference mode, to {@code dir/siglip.pt}, so the encoder can be
     * checked outside Java (e.g. against transformers on a GPU). Methods: those of {@link TorchScriptModule}
     * ({@code load(raw, dtype, shape, held)}, {@code new_list}, {@code append}) and {@code forward(weights, pixels)};
     * the weight order is {@link dev.gemmaflink.runtime.weights.TensorTable#vision()}.
     *
     * @return the archive's path
     * @throws ModelLoadException when the configuration has no vision tower
     */
    public static Path writeTorchScript(GemmaConfig cfg, Precision precision, Path dir) throws java.io.IOException {
        if (cfg.vision().isEmpty()) {
            throw new ModelLoadException("the configuration has no vision_config: it is text-only");
        }
        SiglipScript.Path path = precision == Precision.FLOAT32 ? SiglipScript.Path.F32 : SiglipScript.Path.BF16;
        return SiglipScript.module(cfg, path).archive().writeTo(dir);
    }

    private static SiglipScript.Path choosePath(ModelOptions options) {
        if (options.precision() == Precision.FLOAT32) {
            return SiglipScript.Path.F32;
        }
        MatmulPath forced = options.forcedPath().orElse(null);
        if (forced == MatmulPath.BF16_PLAIN_CPU) {
            return SiglipScript.Path.BF16_WIDEN;
        }
        if (forced == MatmulPath.BF16_PLAIN || forced == MatmulPath.BF16_ONEDNN_PACKED) {
            return SiglipScript.Path.BF16;
        }
        return options.device().isGpu() ? SiglipScript.Path.BF16 : SiglipScript.Path.BF16_WIDEN;
    }

    /**
     * Encodes a batch in one call (an image and its crops, or several images).
     *
     * @param images preprocessed inputs, all of the tower's image size
     * @return embeddings {@code (N, mm_tokens_per_image, text hidden)} float32, in input order
     * @throws IllegalArgumentException when the list is empty or an input has the wrong size
     */
    public ImageEmbeddings encode(List<PreprocessedImage> images) {
        checkOpen();
        Objects.requireNonNull(images, "images");
        if (images.isEmpty()) {
            throw new IllegalArgumentException("no images to encode");
        }
        int s = vision.imageSize();
        int plane = 3 * s * s;
        float[] batch = new float[Math.multiplyExact(images.size(), plane)];
        List<String> hashes = new ArrayList<>(images.size());
        List<Integer> views = new ArrayList<>(images.size());
        for (int i = 0; i < images.size(); i++) {
            PreprocessedImage img = images.get(i);
            if (img.size() != s) {
                throw new IllegalArgumentException("image " + i + " is " + img.size() + "x" + img.size()
                        + " but the vision tower takes " + s + "x" + s);
            }
            System.arraycopy(img.pixels(), 0, batch, i * plane, plane);
            hashes.add(img.contentHash());
            views.add(img.view());
        }
        module.prepareCallingThread();
        try (PtNDManager sub = module.newSubManager()) {
            PtNDArray px = (PtNDArray) sub.create(batch, new Shape(images.size(), 3, s, s));
            try (IValue pxIv = IValue.from(px)) {
                IValue out = module.call("forward", module.weights(), pxIv);
                return new ImageEmbeddings(this, out, hashes, views, config.mmTokensPerImage(), config.hiddenSize());
            } catch (ai.djl.engine.EngineException e) {
                throw new IllegalStateException("vision encoder failed: " + e.getMessage(), e);
            }
        }
    }

    /** @return the configuration */
    public GemmaConfig config() {
        return config;
    }

    /** @return the numeric precision */
    public Precision precision() {
        return module.precision();
    }

    /** @return the device */
    public Device device() {
        return module.device();
    }

    /** @return a manager for temporary arrays on the encoder's device; close it after use */
    PtNDManager newSubManager() {
        return module.newSubManager();
    }

    String describePath() {
        return path.name();
    }

    private void checkOpen() {
        if (module.isClosed()) {
            throw new IllegalStateException("image encoder is closed");
        }
    }

    /** Frees the weights and the module; open {@link ImageEmbeddings} must be closed by their owners first. */
    @Override
    public void close() {
        module.close();
    }
}
