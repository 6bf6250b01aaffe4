package dev.gemmaflink.runtime.tools.cli;

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

/** {@code gemma generate}: streams a completion to stdout, then one line of figures. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate a continuation of PROMPT, streaming text to stdout; then print prompt tokens, "
                + "generated tokens, finish reason, time to first token and decode tokens/s.")
final class GenerateCommand implements Callable<Integer> {

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

    @Override
    public Integer call() {
        GenerationParams.Builder pb = GenerationParams.builder().maxNewTokens(maxNewTokens).temperature(temperature)
                .topK(topK).topP(topP);
        if (seed != null) {
            pb.seed(seed);
        }
        GenerationParams params = pb.build(); // validate everything before the (possibly long) load
        modelArgs.options();
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
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
            out.printf("prompt tokens: %d, generated tokens: %d, finish: %s, TTFT: %.1f ms, decode: %.2f tokens/s%n",
                    r.promptTokens(), r.tokens().length, r.finishReason(), r.timeToFirstTokenNanos() / 1e6,
                    r.decodeTokensPerSecond());
            out.flush();
        }
        return 0;
    }
}
