package dev.gemmaflink.runtime.engine;

import dev.gemmaflink.runtime.config.GemmaConfig;
import dev.gemmaflink.runtime.model.GemmaModel;
import dev.gemmaflink.runtime.model.LoadProgress;
import dev.gemmaflink.runtime.sched.ScheduledRequest;
import dev.gemmaflink.runtime.tokenizer.GemmaTokenizer;
import dev.gemmaflink.runtime.vision.ImageDecoder;
import dev.gemmaflink.runtime.vision.ImageEncoder;
import dev.gemmaflink.runtime.weights.GemmaWeights;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

/**
 * Builds a {@link GemmaEngine} ({@link GemmaEngine#builder()}). Required: {@link #modelDir(Path)} or
 * {@link #model(GemmaModel, GemmaTokenizer)}; the settings come from {@link #config(EngineConfig)} (default
 * {@link EngineConfig#DEFAULTS}).
 */
public final class GemmaEngineBuilder {
    Path modelDir;
    private GemmaModel model;
    private GemmaTokenizer tokenizer;
    EngineConfig config = EngineConfig.DEFAULTS;
    private ImageEncoder imageEncoder;
    ImageDecoder imageDecoder;
    Consumer<List<ScheduledRequest>> beforeIteration = running -> { };
    UnaryOperator<VisionStage.ViewEncoder> viewEncoders = UnaryOperator.identity();

    GemmaEngineBuilder() {
    }

    /**
     * Called on the engine thread at the top of each iteration that has work, with the running requests: lets
     * tests hold the thread, or act on a request at a known token count, at a known point.
     */
    GemmaEngineBuilder beforeIteration(Consumer<List<ScheduledRequest>> hook) {
        this.beforeIteration = Objects.requireNonNull(hook, "beforeIteration");
        return this;
    }

    /**
     * Wraps the engine's calls into the image encoder: lets tests see each call's views, or make one fail.
     */
    GemmaEngineBuilder viewEncoders(UnaryOperator<VisionStage.ViewEncoder> wrap) {
        this.viewEncoders = Objects.requireNonNull(wrap, "viewEncoders");
        return this;
    }

    /**
     * Loads {@code config.json}, the weights, {@code tokenizer.json} when present and the image encoder of a
     * multimodal checkpoint from a folder, with the configuration's precision, device and threads.
     */
    public GemmaEngineBuilder modelDir(Path dir) {
        this.modelDir = Objects.requireNonNull(dir, "modelDir");
        return this;
    }

    /**
     * A loaded model and its tokenizer (null for id-only use). The engine does not close them; close them after
     * the engine. The configuration's precision, device and threads do not apply.
     */
    public GemmaEngineBuilder model(GemmaModel loaded, GemmaTokenizer tok) {
        this.model = Objects.requireNonNull(loaded, "model");
        this.tokenizer = tok;
        return this;
    }

    /** Every setting of the engine (default {@link EngineConfig#DEFAULTS}). */
    public GemmaEngineBuilder config(EngineConfig value) {
        this.config = Objects.requireNonNull(value, "config");
        return this;
    }

    /** With {@link #model(GemmaModel, GemmaTokenizer)} on a multimodal model: its loaded encoder (not closed). */
    public GemmaEngineBuilder imageEncoder(ImageEncoder encoder) {
        this.imageEncoder = Objects.requireNonNull(encoder, "imageEncoder");
        return this;
    }

    /** The decoder and its limits (default {@code new ImageDecoder()}). */
    public GemmaEngineBuilder imageDecoder(ImageDecoder decoder) {
        this.imageDecoder = Objects.requireNonNull(decoder, "imageDecoder");
        return this;
    }

    /**
     * Loads the model when given a folder, allocates the KV storage and starts the engine's threads.
     *
     * @throws IllegalArgumentException for conflicting settings, a {@code maxSequenceLength} beyond the model's
     *     context (checked before the weights load), or a KV budget too small for one sequence of
     *     {@code targetSequenceLength} tokens
     */
    public GemmaEngine build() {
        if ((modelDir == null) == (model == null)) {
            throw new IllegalArgumentException("set exactly one of modelDir and model"
                    + (model == null ? " (neither is set)" : " (both are set)"));
        }
        if (imageEncoder != null && modelDir != null) {
            throw new IllegalArgumentException("imageEncoder goes with model(...); with modelDir the engine loads "
                    + "the encoder of a multimodal checkpoint itself");
        }
        if (imageEncoder != null && model.config().vision().isEmpty()) {
            throw new IllegalArgumentException("an imageEncoder was given but the model is text-only (no "
                    + "vision_config)");
        }
        if (model != null) {
            return new GemmaEngine(this, model, tokenizer, false, imageEncoder, false);
        }
        if (config.maxSequenceLength() > 0) {
            config.longestSequence(GemmaConfig.load(modelDir.resolve("config.json"))); // fails before the weights load
        }
        GemmaModel loaded = GemmaModel.load(modelDir, config.modelOptions(), LoadProgress.NONE);
        GemmaTokenizer tok = null;
        ImageEncoder enc = null;
        try {
            if (Files.exists(modelDir.resolve("tokenizer.json"))) {
                tok = GemmaTokenizer.load(modelDir);
            }
            if (loaded.config().vision().isPresent()) {
                // The encoder uploads its tensors, so the mapped weights can be closed right after.
                try (GemmaWeights w = GemmaWeights.open(modelDir, loaded.config())) {
                    enc = ImageEncoder.load(w, config.modelOptions());
                }
            }
            return new GemmaEngine(this, loaded, tok, true, enc, true);
        } catch (RuntimeException e) {
            if (enc != null) {
                enc.close();
            }
            if (tok != null) {
                tok.close();
            }
            loaded.close();
            throw e;
        }
    }
}
