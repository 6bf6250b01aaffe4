package dev.gemmaflink.e2e.bench;

import java.nio.file.Files;
import java.nio.file.Path;

import picocli.CommandLine.Option;

import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointSpec;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointWriter;

/**
 * The pipeline benchmarks' model options (a picocli mixin): which checkpoint, and how the shared engine runs it.
 */
final class BenchModelOptions {

    @Option(names = "--model", defaultValue = "tiny",
            description = "'tiny' (a generated 2-layer random checkpoint) or a Gemma 3 checkpoint folder.")
    String model;

    @Option(names = "--max-new-tokens", defaultValue = "16", description = "Output tokens per request (greedy).")
    int maxNewTokens;

    @Option(names = "--precision", defaultValue = "FLOAT32", description = "FLOAT32 or BF16.")
    String precision;

    @Option(names = "--threads", defaultValue = "1", description = "Intra-op threads of the model.")
    int threads;

    @Option(names = "--max-batch", defaultValue = "32", description = "Most sequences per engine step.")
    int maxBatch;

    /** Whether {@code --model} asks for a generated checkpoint. */
    boolean tiny() {
        return "tiny".equals(model);
    }

    /**
     * The checkpoint folder: {@code --model}, which must hold a config.json, or for {@code tiny} a 2-layer random
     * checkpoint written into a new temporary folder.
     *
     * @param tempPrefix prefix of that temporary folder
     * @param seed seed of the random weights
     */
    Path checkpoint(String tempPrefix, long seed) throws Exception {
        if (!tiny()) {
            Path dir = Path.of(model);
            if (!Files.isRegularFile(dir.resolve("config.json"))) {
                throw new IllegalArgumentException("--model " + model + ": no config.json there (give 'tiny' or a "
                        + "Gemma 3 checkpoint folder)");
            }
            return dir;
        }
        Path dir = Files.createTempDirectory(tempPrefix).resolve("tiny");
        TinyCheckpointWriter.write(dir, TinyCheckpointSpec.builder().layers(2).seed(seed).build());
        return dir;
    }
}
