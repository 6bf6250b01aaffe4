package dev.gemmaflink.runtime.tools.cli;

import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpoint;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointSpec;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointWriter;
import dev.gemmaflink.runtime.config.VisionConfig;
import dev.gemmaflink.runtime.weights.DType;
import dev.gemmaflink.runtime.weights.TensorNaming;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code gemma make-tiny}: writes a random Gemma 3 checkpoint (tiny by default, or the 1B shape for benchmarks). */
@Command(name = "make-tiny", mixinStandardHelpOptions = true,
        description = "Write a random Gemma 3 checkpoint in Hugging Face layout (tiny by default; --preset 1b "
                + "writes the real 1B shape, about 2 GB in bf16: write it outside the repository).")
final class MakeTinyCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Directory to write.")
    Path out;

    @Option(names = "--vision", description = "Add a SigLIP vision tower and projector (tiny: image 56, patch 14, "
            + "hidden 32, 2 layers, 4 soft tokens, <start_of_image>/<end_of_image> at ids 6/7 of a small vocabulary; "
            + "1b preset: the released so400m shape, 256 soft tokens). Implies a multimodal naming scheme.")
    boolean vision;

    @Option(names = "--seed", defaultValue = "42", description = "Random seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--real-tokenizer", description = "Copy the real Gemma 3 tokenizer (fetched into a cache) "
            + "instead of a generated one; the vocabulary becomes 262144.")
    boolean realTokenizer;

    @Option(names = "--preset", defaultValue = "tiny", paramLabel = "tiny|1b",
            description = "Shape preset; the explicit options below override it.")
    String preset;

    @Option(names = "--layers") Integer layers;
    @Option(names = "--hidden") Integer hidden;
    @Option(names = "--intermediate") Integer intermediate;
    @Option(names = "--heads") Integer heads;
    @Option(names = "--kv-heads") Integer kvHeads;
    @Option(names = "--head-dim") Integer headDim;
    @Option(names = "--window") Integer window;
    @Option(names = "--vocab") Integer vocab;
    @Option(names = "--max-positions") Integer maxPositions;
    @Option(names = "--shards", description = "Number of safetensors files (default 1; 4 for --preset 1b).")
    Integer shards;

    @Option(names = "--dtype", paramLabel = "f32|bf16", description = "File dtype (default f32; bf16 for 1b).")
    String dtype;

    @Option(names = "--scheme", defaultValue = "text", paramLabel = "text|language_model|model_language_model",
            description = "Tensor naming scheme (default ${DEFAULT-VALUE}).")
    String scheme;

    @Option(names = "--rope-scaling", description = "Linear RoPE scaling factor 8 on global layers.")
    boolean ropeScaling;

    @Override
    public Integer call() {
        TinyCheckpointSpec.Builder b = TinyCheckpointSpec.builder().seed(seed).realTokenizer(realTokenizer)
                .scheme(parseScheme(scheme)).ropeScaling(ropeScaling);
        if (vision) {
            TensorNaming naming = parseScheme(scheme);
            b.scheme(naming == TensorNaming.TEXT ? TensorNaming.LANGUAGE_MODEL : naming);
            if (preset.equalsIgnoreCase("1b")) {
                b.vision(VisionConfig.gemma3Siglip()).mmTokensPerImage(256);
            } else {
                b.vision(new VisionConfig(32, 64, 2, 2, 3, 56, 14, 1e-6)).mmTokensPerImage(4);
            }
        }
        switch (preset.toLowerCase(Locale.ROOT)) {
            case "tiny":
                b.dtype(DType.F32);
                break;
            case "1b":
                b.layers(26).hidden(1152).intermediate(6912).heads(4).kvHeads(1).headDim(256).window(512)
                        .vocab(TinyCheckpointSpec.REAL_VOCAB).maxPositions(32768).dtype(DType.BF16).shards(4);
                break;
            default:
                throw new IllegalArgumentException("unknown --preset '" + preset + "': use tiny or 1b");
        }
        if (layers != null) b.layers(layers);
        if (hidden != null) b.hidden(hidden);
        if (intermediate != null) b.intermediate(intermediate);
        if (heads != null) b.heads(heads);
        if (kvHeads != null) b.kvHeads(kvHeads);
        if (headDim != null) b.headDim(headDim);
        if (window != null) b.window(window);
        if (vocab != null) b.vocab(vocab);
        if (maxPositions != null) b.maxPositions(maxPositions);
        if (shards != null) b.shards(shards);
        if (dtype != null) b.dtype(parseDtype(dtype));
        int vocabSize = vocab != null ? vocab : preset.equalsIgnoreCase("1b") || realTokenizer ? TinyCheckpointSpec.REAL_VOCAB : 512;
        if (vision && vocabSize <= 256_000) {
            // <start_of_image>/<end_of_image> are embedded like text: keep them inside a small vocabulary
            // (<unused0>, <unused1> of the tiny tokenizer); the soft-token id may stay outside.
            b.imageTokenIds(6, 7, 262_144);
        }
        TinyCheckpoint ckpt = TinyCheckpointWriter.write(out, b.build());
        TinyCheckpointSpec s = ckpt.spec();
        spec.commandLine().getOut().printf("wrote %s: %d layers, hidden %d, intermediate %d, heads %d/%d x %d, "
                        + "window %d, vocab %d, %s, %s naming, %d file(s)%n", ckpt.directory(), s.layers(), s.hidden(),
                s.intermediate(), s.heads(), s.kvHeads(), s.headDim(), s.window(), s.vocab(), s.dtype(), s.scheme(),
                ckpt.files().size());
        spec.commandLine().getOut().flush();
        return 0;
    }

    private static DType parseDtype(String s) {
        switch (s.toLowerCase(Locale.ROOT)) {
            case "f32":
            case "float32":
                return DType.F32;
            case "bf16":
            case "bfloat16":
                return DType.BF16;
            default:
                throw new IllegalArgumentException("unknown --dtype '" + s + "': use f32 or bf16");
        }
    }

    private static TensorNaming parseScheme(String s) {
        switch (s.toLowerCase(Locale.ROOT)) {
            case "text":
                return TensorNaming.TEXT;
            case "language_model":
                return TensorNaming.LANGUAGE_MODEL;
            case "model_language_model":
                return TensorNaming.MODEL_LANGUAGE_MODEL;
            default:
                throw new IllegalArgumentException("unknown --scheme '" + s
                        + "': use text, language_model or model_language_model");
        }
    }
}
