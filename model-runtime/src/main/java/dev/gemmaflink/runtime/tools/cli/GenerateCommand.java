package dev.gemmaflink.runtime.tools.cli;

import dev.gemmaflink.runtime.constrain.Constraint;
import dev.gemmaflink.runtime.generate.FinishReason;
import dev.gemmaflink.runtime.generate.GenerationParams;
import dev.gemmaflink.runtime.generate.GenerationResult;
import dev.gemmaflink.runtime.generate.Generator;
import dev.gemmaflink.runtime.model.GemmaModel;
import dev.gemmaflink.runtime.tokenizer.GemmaTokenizer;
import dev.gemmaflink.runtime.generate.TokenListener;
import dev.gemmaflink.runtime.vision.ImageCaptioner;
import dev.gemmaflink.runtime.vision.ImageDecodeException;
import dev.gemmaflink.runtime.vision.ImageDecoder;
import dev.gemmaflink.runtime.vision.ImageEncoder;
import dev.gemmaflink.runtime.vision.MultimodalPrompt;
import dev.gemmaflink.runtime.vision.PanAndScanOptions;
import dev.gemmaflink.runtime.weights.GemmaWeights;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code gemma generate}: streams a completion to stdout, then one line of figures. With a constraint
 * ({@code --json-schema}, {@code --choice}, {@code --regex}) the output alone goes to stdout (one line) and the figures
 * to stderr, so the output can be piped; an output cut by {@code --max-new-tokens} before it is complete exits 3.
 * With {@code --choice} the figures include the output's probability ({@code GenerationParams.outputLogprob()}), and
 * {@code --max-labels N} above 1 makes the output a JSON array of up to N distinct labels.
 */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate a continuation of PROMPT, streaming text to stdout; then print prompt tokens, "
                + "generated tokens, finish reason, time to first token and decode tokens/s. With --json-schema, "
                + "--choice or --regex the output is constrained to match, printed alone on stdout, and the figures "
                + "go to stderr.",
        exitCodeListHeading = "Exit codes:%n",
        exitCodeList = {"0:done", "1:failure", "2:bad input (unsupported schema keyword, unreadable file, ...)",
                "3:constrained output incomplete (--max-new-tokens reached before it closed)"})
final class GenerateCommand implements Callable<Integer> {

    /** Exit code of a constrained output cut short by --max-new-tokens. */
    static final int EXIT_INCOMPLETE = 3;

    @Spec
    CommandSpec spec;

    @Mixin
    ModelArgs modelArgs = new ModelArgs();

    @Option(names = "--prompt", required = true, description = "Prompt text.")
    String prompt;

    @Option(names = "--chat", description = "Wrap the prompt in the chat turn format.")
    boolean chat;

    @Option(names = "--image", paramLabel = "FILE", description = "An image (JPEG, PNG, GIF, BMP, WebP) for a multimodal "
            + "checkpoint; repeat for several. Placed at <start_of_image> markers of the prompt, or before its text.")
    List<Path> images = new ArrayList<>();

    @Option(names = "--pan-and-scan", description = "Also encode Pan & Scan crops of elongated images (min crop 256, "
            + "at most 4 crops, aspect ratio >= 1.2).")
    boolean panAndScan;

    @Option(names = "--max-new-tokens", defaultValue = "256") int maxNewTokens;
    @Option(names = "--temperature", defaultValue = "1.0", description = "0 = greedy.") double temperature;
    @Option(names = "--top-k", defaultValue = "64", description = "0 = off.") int topK;
    @Option(names = "--top-p", defaultValue = "0.95") double topP;
    @Option(names = "--seed", description = "Seed for reproducible sampling (default: random).") Long seed;
    @Option(names = "--context", defaultValue = "0",
            description = "Context limit in tokens (0 = max_position_embeddings).") int context;

    @Option(names = "--json-schema", paramLabel = "FILE", description = "Constrain the output to JSON valid against "
            + "this JSON Schema (supported: type, properties, required, additionalProperties, enum, const, "
            + "minLength, maxLength, pattern, items, minItems, maxItems, anyOf; any other keyword is refused).")
    Path jsonSchema;

    @Option(names = "--choice", split = ",", paramLabel = "LABEL",
            description = "Constrain the output to exactly one of these labels (comma-separated); the figures "
                    + "include its probability.")
    List<String> choice;

    @Option(names = "--max-labels", defaultValue = "1", paramLabel = "N", description = "With --choice: up to N "
            + "distinct labels, printed as a JSON array in the order of --choice, e.g. [\"billing\", \"returns\"] "
            + "(default 1: the bare label).")
    int maxLabels;

    @Option(names = "--regex", paramLabel = "PATTERN", description = "Constrain the output to a full match of "
            + "this regular expression.")
    String regex;

    @Option(names = "--json-whitespace", defaultValue = "1", paramLabel = "N", description = "With --json-schema: "
            + "whitespace bytes allowed at each separator (0 = compact; 1 = one space, the default; up to 8).")
    int jsonWhitespace;

    /** The constraint of the options, null for none; checked before the model loads. */
    private Constraint constraint() {
        int given = (jsonSchema != null ? 1 : 0) + (choice != null ? 1 : 0) + (regex != null ? 1 : 0);
        if (given > 1) {
            throw new IllegalArgumentException("give at most one of --json-schema, --choice and --regex");
        }
        if (jsonSchema != null) {
            String text;
            try {
                text = Files.readString(jsonSchema);
            } catch (IOException e) {
                throw new IllegalArgumentException("cannot read --json-schema " + jsonSchema + ": " + e.getMessage(), e);
            }
            return Constraint.jsonSchema(text, jsonWhitespace); // ConstraintException is an IllegalArgumentException
        }
        if (choice != null) {
            return Constraint.choice(choice, maxLabels);
        }
        if (maxLabels != 1) {
            throw new IllegalArgumentException("--max-labels goes with --choice");
        }
        return regex != null ? Constraint.regex(regex) : null;
    }

    @Override
    public Integer call() {
        GenerationParams.Builder pb = GenerationParams.builder().maxNewTokens(maxNewTokens).temperature(temperature)
                .topK(topK).topP(topP);
        if (seed != null) {
            pb.seed(seed);
        }
        Constraint constraint = constraint();
        pb.constraint(constraint);
        pb.outputLogprob(choice != null); // one more reduction per token: only where a label's probability is shown
        GenerationParams params = pb.build(); // validate everything before the (possibly long) load
        modelArgs.options();
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        PrintWriter stats = constraint == null ? out : err;
        List<byte[]> imageBytes = new ArrayList<>();
        for (Path p : images) {
            try {
                imageBytes.add(Files.readAllBytes(p));
            } catch (IOException e) {
                throw new IllegalArgumentException("cannot read --image " + p + ": " + e.getMessage(), e);
            }
        }
        try (GemmaTokenizer tok = GemmaTokenizer.load(modelArgs.model);
             GemmaModel model = modelArgs.load(err);
             Generator gen = new Generator(model, tok, context)) {
            TokenListener listener = (id, text) -> {
                out.print(text);
                out.flush();
            };
            GenerationResult r;
            if (imageBytes.isEmpty()) {
                r = gen.generate(prompt, chat, params, listener);
            } else {
                MultimodalPrompt mp;
                try (GemmaWeights w = GemmaWeights.open(modelArgs.model, model.config());
                     ImageEncoder enc = ImageEncoder.load(w, modelArgs.options())) {
                    mp = new ImageCaptioner(enc, tok, new ImageDecoder()).prepare(prompt, chat, imageBytes,
                            PanAndScanOptions.DISABLED.withEnabled(panAndScan));
                } catch (ImageDecodeException e) {
                    throw new IllegalArgumentException("--image: " + e.getMessage(), e);
                }
                r = gen.generate(mp.ids(), mp.images(), params, listener);
            }
            out.println();
            out.flush();
            stats.printf("prompt tokens: %d, generated tokens: %d, finish: %s, TTFT: %.1f ms, decode: %.2f tokens/s%n",
                    r.promptTokens(), r.tokens().length, r.finishReason(), r.timeToFirstTokenNanos() / 1e6,
                    r.decodeTokensPerSecond());
            if (r.outputProbability().isPresent()) {
                stats.printf("probability: %.6g (log %.6f)%n", r.outputProbability().getAsDouble(),
                        r.outputLogprob().getAsDouble());
            }
            stats.flush();
            if (r.incomplete()) {
                err.println("incomplete: the output does not match the constraint yet ("
                        + (r.finishReason() == FinishReason.LENGTH ? "--max-new-tokens " + maxNewTokens + " reached"
                        : "context limit reached") + "); raise --max-new-tokens");
                err.flush();
                return EXIT_INCOMPLETE;
            }
        }
        return 0;
    }
}
