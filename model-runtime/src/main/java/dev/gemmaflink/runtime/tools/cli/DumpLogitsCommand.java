package dev.gemmaflink.runtime.tools.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.gemmaflink.runtime.config.GemmaConfig;
import dev.gemmaflink.runtime.kvcache.ImageSpan;
import dev.gemmaflink.runtime.model.ForwardBatch;
import dev.gemmaflink.runtime.model.ForwardResult;
import dev.gemmaflink.runtime.model.GemmaModel;
import dev.gemmaflink.runtime.model.KvStorage;
import dev.gemmaflink.runtime.model.LoadProgress;
import dev.gemmaflink.runtime.model.MatmulPath;
import dev.gemmaflink.runtime.model.ModelOptions;
import dev.gemmaflink.runtime.model.Precision;
import dev.gemmaflink.runtime.model.PromptImages;
import dev.gemmaflink.runtime.model.SequenceCache;
import dev.gemmaflink.runtime.model.SequenceStep;
import dev.gemmaflink.runtime.model.StepImages;
import dev.gemmaflink.runtime.tokenizer.GemmaTokenizer;
import dev.gemmaflink.runtime.vision.ImageCaptioner;
import dev.gemmaflink.runtime.vision.ImageDecoder;
import dev.gemmaflink.runtime.vision.ImageEncoder;
import dev.gemmaflink.runtime.vision.MultimodalPrompt;
import dev.gemmaflink.runtime.vision.PanAndScanOptions;
import dev.gemmaflink.runtime.vision.PreprocessedImage;
import dev.gemmaflink.runtime.weights.GemmaWeights;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code gemma dump-logits}: the runtime's logits for every position of one prompt, in float32 and bf16, with the
 * inputs that produced them and the generated TorchScript, as {@code .npy} files and a {@code manifest.json}.
 *
 * <p>This is the Java half of a parity check against an independent implementation: {@code tools/hf_parity.py}
 * loads the same checkpoint with Hugging Face transformers ({@code Gemma3ForCausalLM} or
 * {@code Gemma3ForConditionalGeneration}), feeds it these ids (and pixel values), and compares the logits; it also
 * runs the TorchScript written here on a GPU, the CUDA path that no test on a CPU machine can reach.
 */
@Command(name = "dump-logits", mixinStandardHelpOptions = true,
        description = "Write the runtime's logits for a prompt (float32 and bf16, every position), its token ids, "
                + "pixel values and soft tokens, and the generated TorchScript, for tools/hf_parity.py.")
final class DumpLogitsCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Checkpoint directory.")
    Path model;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Directory to write.")
    Path out;

    @Option(names = "--prompt", description = "Prompt text, tokenized with the checkpoint's tokenizer (BOS added).")
    String prompt;

    @Option(names = "--ids", split = ",", paramLabel = "ID", description = "Token ids instead of --prompt.")
    int[] ids;

    @Option(names = "--image", paramLabel = "FILE", description = "An image for a multimodal checkpoint "
            + "(repeatable); placed at <start_of_image> markers of --prompt, or before its text.")
    List<Path> images = new ArrayList<>();

    @Option(names = "--threads", defaultValue = "0", description = "Intra-op CPU threads (0 = libtorch default).")
    int threads;

    @Option(names = "--torchscript-only", description = "Write only the TorchScript and the manifest; needs only "
            + "config.json (e.g. for a full-size shape whose weights the checking side makes up).")
    boolean torchscriptOnly;

    @Override
    public Integer call() throws IOException {
        if (!torchscriptOnly && (prompt == null) == (ids == null)) {
            throw new IllegalArgumentException("give exactly one of --prompt and --ids");
        }
        if (!images.isEmpty() && prompt == null) {
            throw new IllegalArgumentException("--image needs --prompt (the image markers come from the tokenizer)");
        }
        PrintWriter stdout = spec.commandLine().getOut();
        Files.createDirectories(out);
        GemmaConfig cfg = GemmaConfig.load(model.resolve("config.json"));
        Map<String, Object> manifest = new LinkedHashMap<>();
        manifest.put("model", model.toAbsolutePath().toString());
        for (Precision precision : torchscriptOnly ? new Precision[0] : Precision.values()) {
            ModelOptions options = ModelOptions.builder().precision(precision).threads(threads).build();
            Prompt p = prepare(cfg, options);
            String tag = precision == Precision.FLOAT32 ? "f32" : "bf16";
            if (precision == Precision.FLOAT32) {
                long[] idsLong = Arrays.stream(p.ids).asLongStream().toArray();
                NpyWriter.writeInt64(out.resolve("ids.npy"), idsLong, idsLong.length);
                manifest.put("ids", p.ids);
                manifest.put("tokens", p.ids.length);
                if (p.images != null) {
                    writeImages(p, manifest);
                }
            }
            if (p.images != null) {
                NpyWriter.writeFloat32(out.resolve("soft_" + tag + ".npy"), p.images.embeddings(),
                        p.images.positions().length, cfg.hiddenSize());
            }
            float[] logits = allLogits(p, options);
            NpyWriter.writeFloat32(out.resolve("logits_" + tag + ".npy"), logits, p.ids.length, cfg.vocabSize());
            stdout.printf("%s: %d x %d logits%n", tag, p.ids.length, cfg.vocabSize());
        }
        // The module as it runs on a GPU (bf16 throughout) and the float32 one; the CPU-only bf16 paths are not
        // exported: their products are the same operations on other hardware.
        manifest.put("torchscript", Map.of(
                "BF16_PLAIN", export(cfg, Precision.BF16, MatmulPath.BF16_PLAIN),
                "F32", export(cfg, Precision.FLOAT32, MatmulPath.F32)));
        if (cfg.vision().isPresent()) {
            manifest.put("siglip", Map.of("BF16", exportSiglip(cfg, Precision.BF16),
                    "F32", exportSiglip(cfg, Precision.FLOAT32)));
        }
        manifest.put("layers", cfg.numHiddenLayers());
        manifest.put("hidden", cfg.hiddenSize());
        manifest.put("vocab", cfg.vocabSize());
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
                .writeValue(out.resolve("manifest.json").toFile(), manifest);
        stdout.printf("wrote %s%n", out.toAbsolutePath());
        stdout.flush();
        return 0;
    }

    /** Prompt ids and, for images, the soft tokens the encoder of this precision produced. */
    private record Prompt(int[] ids, PromptImages images, List<PreprocessedImage> views) {
    }

    private Prompt prepare(GemmaConfig cfg, ModelOptions options) {
        if (prompt == null) {
            return new Prompt(ids.clone(), null, List.of());
        }
        try (GemmaTokenizer tok = GemmaTokenizer.load(model)) {
            if (images.isEmpty()) {
                return new Prompt(tok.encode(prompt, true), null, List.of());
            }
            List<byte[]> bytes = new ArrayList<>();
            for (Path f : images) {
                try {
                    bytes.add(Files.readAllBytes(f));
                } catch (IOException e) {
                    throw new IllegalArgumentException("cannot read --image " + f + ": " + e.getMessage(), e);
                }
            }
            try (GemmaWeights w = GemmaWeights.open(model, cfg);
                 ImageEncoder enc = ImageEncoder.load(w, options)) {
                MultimodalPrompt mp = new ImageCaptioner(enc, tok, new ImageDecoder()).prepare(prompt, false, bytes,
                        PanAndScanOptions.DISABLED);
                List<PreprocessedImage> views = mp.prepared().stream().flatMap(pi -> pi.views().stream()).toList();
                return new Prompt(mp.ids(), mp.images(), views);
            }
        }
    }

    private float[] allLogits(Prompt p, ModelOptions options) {
        int n = p.ids.length;
        try (GemmaModel m = GemmaModel.load(model, options, LoadProgress.NONE);
             KvStorage kv = m.allocateKv(n, n)) {
            SequenceStep step = new SequenceCache(m.config(), 0, n).append(p.ids, true);
            if (p.images != null) {
                StepImages si = p.images.slice(0, n);
                step = step.withImages(si);
            }
            ForwardResult r = m.forward(ForwardBatch.of(step), kv);
            int v = r.vocabSize();
            float[] all = new float[n * v];
            for (int i = 0; i < n; i++) {
                System.arraycopy(r.row(0, i), 0, all, i * v, v);
            }
            return all;
        }
    }

    private void writeImages(Prompt p, Map<String, Object> manifest) throws IOException {
        int size = p.views.get(0).size();
        float[] pixels = new float[p.views.size() * 3 * size * size];
        for (int i = 0; i < p.views.size(); i++) {
            System.arraycopy(p.views.get(i).pixels(), 0, pixels, i * 3 * size * size, 3 * size * size);
        }
        NpyWriter.writeFloat32(out.resolve("pixel_values.npy"), pixels, p.views.size(), 3, size, size);
        List<String> copied = new ArrayList<>();
        for (int i = 0; i < images.size(); i++) {
            String name = "image" + i + "-" + images.get(i).getFileName();
            Files.copy(images.get(i), out.resolve(name), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            copied.add(name);
        }
        manifest.put("images", copied);
        manifest.put("imageSize", size);
        manifest.put("softPositions", p.images.positions());
        manifest.put("spanStarts", p.images.spans().stream().mapToInt(ImageSpan::start).toArray());
        manifest.put("spanLengths", p.images.spans().stream().mapToInt(ImageSpan::length).toArray());
    }

    private String exportSiglip(GemmaConfig cfg, Precision precision) throws IOException {
        Path dir = out.resolve("torchscript-siglip-" + (precision == Precision.FLOAT32 ? "f32" : "bf16"));
        return out.relativize(ImageEncoder.writeTorchScript(cfg, precision, dir)).toString();
    }

    private String export(GemmaConfig cfg, Precision precision, MatmulPath path) throws IOException {
        return exportTorchScript(out, cfg, precision, path);
    }

    /**
     * Writes the text model's TorchScript for {@code path} into {@code out/torchscript-<path>}, as the parity tools
     * read it, and returns that folder relative to {@code out}.
     */
    static String exportTorchScript(Path out, GemmaConfig cfg, Precision precision, MatmulPath path)
            throws IOException {
        Path dir = out.resolve("torchscript-" + path.name().toLowerCase(java.util.Locale.ROOT));
        return out.relativize(GemmaModel.writeTorchScript(cfg, precision, path, dir)).toString();
    }
}
