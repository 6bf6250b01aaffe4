package dev.gemmaflink.runtime.engine;

import dev.gemmaflink.runtime.config.VisionConfig;
import dev.gemmaflink.runtime.model.GemmaModel;
import dev.gemmaflink.runtime.model.LoadProgress;
import dev.gemmaflink.runtime.model.ModelOptions;
import dev.gemmaflink.runtime.model.Precision;
import dev.gemmaflink.runtime.tokenizer.GemmaTokenizer;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpoint;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointSpec;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointWriter;
import dev.gemmaflink.runtime.vision.ImageEncoder;
import dev.gemmaflink.runtime.weights.DType;
import dev.gemmaflink.runtime.weights.GemmaWeights;
import dev.gemmaflink.runtime.weights.TensorNaming;
import java.nio.file.Path;

/**
 * The engine's image tests' checkpoint: a tiny random multimodal Gemma 3 (language-model tensor names, 512
 * positions) with a 2-layer SigLIP tower of 56 x 56 images giving 4 soft tokens, loaded in float32 with one thread,
 * with its tokenizer and image encoder.
 */
final class TinyMultimodal implements AutoCloseable {

    final TinyCheckpoint checkpoint;
    final GemmaModel model;
    final GemmaTokenizer tokenizer;
    final ImageEncoder encoder;

    private TinyMultimodal(TinyCheckpoint checkpoint, GemmaModel model, GemmaTokenizer tokenizer,
            ImageEncoder encoder) {
        this.checkpoint = checkpoint;
        this.model = model;
        this.tokenizer = tokenizer;
        this.encoder = encoder;
    }

    /** Writes the checkpoint into {@code dir} and loads it. */
    static TinyMultimodal write(Path dir) {
        TinyCheckpoint ckpt = TinyCheckpointWriter.write(dir, TinyCheckpointSpec.builder()
                .scheme(TensorNaming.LANGUAGE_MODEL).dtype(DType.F32).seed(21).maxPositions(512)
                .vision(new VisionConfig(32, 64, 2, 2, 3, 56, 14, 1e-6)).mmTokensPerImage(4)
                .imageTokenIds(6, 7, 262_144).build());
        ModelOptions f32 = ModelOptions.builder().precision(Precision.FLOAT32).threads(1).build();
        GemmaModel model = GemmaModel.load(ckpt.directory(), f32, LoadProgress.NONE);
        GemmaTokenizer tokenizer = GemmaTokenizer.load(ckpt.directory());
        try (GemmaWeights w = GemmaWeights.open(ckpt.directory(), ckpt.config())) {
            return new TinyMultimodal(ckpt, model, tokenizer, ImageEncoder.load(w, f32));
        }
    }

    @Override
    public void close() {
        encoder.close();
        tokenizer.close();
        model.close();
    }
}
