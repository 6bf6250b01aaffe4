package dev.gemmaflink.jobs.local;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;

import dev.gemmaflink.runtime.ModelLoadException;
import dev.gemmaflink.runtime.checkpoint.TinyCheckpointSpec;
import dev.gemmaflink.runtime.checkpoint.TinyCheckpointWriter;

/**
 * The model of {@code bin/quickstart} when the user gives none: a tiny random Gemma 3 checkpoint (so its output is
 * gibberish; the point is the pipeline) with the real Gemma 3 tokenizer when it can be fetched, else the generated
 * tiny tokenizer. Written once under {@code ~/.cache/gemma-flink/quickstart-model}.
 */
public final class QuickstartModel {

    private QuickstartModel() {
    }

    /** The default folder. */
    public static Path defaultDir() {
        return Path.of(System.getProperty("user.home"), ".cache", "gemma-flink", "quickstart-model");
    }

    /**
     * Returns {@code dir}, writing the tiny checkpoint into it first when it holds none.
     *
     * @param log where notes go (stderr)
     */
    public static Path prepare(Path dir, PrintStream log) {
        if (Files.isRegularFile(dir.resolve("config.json")) && Files.isRegularFile(dir.resolve("tokenizer.json"))) {
            return dir;
        }
        TinyCheckpointSpec.Builder spec = TinyCheckpointSpec.builder().layers(2).hidden(64).seed(2026);
        try {
            TinyCheckpointWriter.write(dir, spec.realTokenizer(true).build());
            log.println("quickstart: wrote a tiny random Gemma 3 checkpoint with the real Gemma 3 tokenizer to " + dir);
        } catch (ModelLoadException e) {
            log.println("quickstart: note: the real Gemma 3 tokenizer could not be fetched (" + e.getMessage()
                    + "); using the generated tiny tokenizer instead");
            TinyCheckpointWriter.write(dir, spec.realTokenizer(false).build());
        }
        return dir;
    }
}
