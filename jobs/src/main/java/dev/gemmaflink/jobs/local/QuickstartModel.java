package dev.gemmaflink.jobs.local;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;

import dev.gemmaflink.runtime.ModelLoadException;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointSpec;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointWriter;
import dev.gemmaflink.runtime.config.GemmaConfig;
import dev.gemmaflink.runtime.config.VisionConfig;
import dev.gemmaflink.runtime.weights.TensorNaming;

/**
 * The model of {@code bin/quickstart} when the user gives none: a tiny random multimodal Gemma 3 checkpoint (so its
 * output is gibberish; the point is the pipeline), with a tiny SigLIP tower so that CAPTION requests get results,
 * and the real Gemma 3 tokenizer when it can be fetched, else the generated tiny tokenizer. Written once under
 * {@code ~/.cache/gemma-flink/quickstart-model}; a text-only checkpoint left there by an earlier version is
 * replaced.
 */
public final class QuickstartModel {

    /** A tower of 56 x 56 images in 4 x 4 patches of 14: 4 soft tokens per image, a few milliseconds each. */
    static final VisionConfig TOWER = new VisionConfig(32, 64, 2, 2, 3, 56, 14, 1e-6);
    /** Soft tokens per image (2 x 2 pooled patches each). */
    static final int TOKENS_PER_IMAGE = 4;
    /**
     * Image token ids with the generated tiny tokenizer: {@code <start_of_image>} and {@code <end_of_image>} must be
     * inside its 512-piece vocabulary (its unused pieces 6 and 7); the soft-token id's embedding is replaced anyway.
     */
    private static final int TINY_BOI = 6;
    private static final int TINY_EOI = 7;

    private QuickstartModel() {
    }

    /** The default folder. */
    public static Path defaultDir() {
        return Path.of(System.getProperty("user.home"), ".cache", "gemma-flink", "quickstart-model");
    }

    /**
     * Returns {@code dir}, writing the tiny multimodal checkpoint into it first unless it holds one already.
     *
     * @param log where notes go (stderr)
     */
    public static Path prepare(Path dir, PrintStream log) {
        return prepare(dir, log, true);
    }

    /**
     * As {@link #prepare(Path, PrintStream)}; {@code tryRealTokenizer = false} goes straight to the generated tiny
     * tokenizer (tests, and machines that cannot fetch the real one).
     */
    static Path prepare(Path dir, PrintStream log, boolean tryRealTokenizer) {
        if (holdsMultimodalCheckpoint(dir)) {
            return dir;
        }
        if (Files.isRegularFile(dir.resolve("config.json"))) {
            log.println("quickstart: " + dir + " holds no multimodal checkpoint (an earlier text-only one?); "
                    + "writing the multimodal one over it");
        }
        TinyCheckpointSpec.Builder spec = TinyCheckpointSpec.builder().layers(2).hidden(64).seed(2026)
                .scheme(TensorNaming.LANGUAGE_MODEL).vision(TOWER).mmTokensPerImage(TOKENS_PER_IMAGE);
        if (tryRealTokenizer) {
            try {
                // The spec's default image token ids are the real tokenizer's own.
                TinyCheckpointWriter.write(dir, spec.realTokenizer(true).build());
                log.println("quickstart: wrote a tiny random multimodal Gemma 3 checkpoint with the real Gemma 3 "
                        + "tokenizer to " + dir);
                return dir;
            } catch (ModelLoadException e) {
                log.println("quickstart: note: the real Gemma 3 tokenizer could not be fetched (" + e.getMessage()
                        + "); using the generated tiny tokenizer instead");
            }
        }
        TinyCheckpointWriter.write(dir, spec.realTokenizer(false)
                .imageTokenIds(TINY_BOI, TINY_EOI, TinyCheckpointSpec.REAL_IMAGE_TOKEN_ID).build());
        log.println("quickstart: wrote a tiny random multimodal Gemma 3 checkpoint with a generated tiny tokenizer to "
                + dir);
        return dir;
    }

    /** Whether {@code dir} holds a complete checkpoint whose config has a vision tower (CAPTION gets results). */
    static boolean holdsMultimodalCheckpoint(Path dir) {
        if (!Files.isRegularFile(dir.resolve("config.json")) || !Files.isRegularFile(dir.resolve("tokenizer.json"))
                || !Files.isRegularFile(dir.resolve("model.safetensors"))) {
            return false;
        }
        try {
            return GemmaConfig.load(dir).vision().isPresent();
        } catch (ModelLoadException e) {
            return false; // unreadable or from an incompatible version: write a fresh one
        }
    }
}
