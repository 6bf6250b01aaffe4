package dev.gemmaflink.runtime.vision;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpoint;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointSpec;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointWriter;
import dev.gemmaflink.runtime.config.VisionConfig;
import dev.gemmaflink.runtime.model.ModelOptions;
import dev.gemmaflink.runtime.model.Precision;
import dev.gemmaflink.runtime.weights.DType;
import dev.gemmaflink.runtime.weights.GemmaWeights;
import dev.gemmaflink.runtime.weights.TensorNaming;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Vision encoder benchmark, a program printing JSON lines (not a test): writes a random checkpoint whose vision
 * tower and projector have the released Gemma 3 shape (SigLIP so400m: 27 layers, hidden 1152, MLP 4304, 16 heads,
 * image 896, patch 14, 256 soft tokens; text hidden 2560 as in 4B) with bf16 weights, loads the encoder and times
 * {@code encode} of random 896x896 inputs at each batch size (after one batch-1 warm-up).
 *
 * <pre>java -Xmx10g -cp target/test-classes:target/classes:$(deps) dev.gemmaflink.runtime.vision.VisionBench \
 *     [precision bf16|f32] [batch sizes, e.g. 1,8] [runs per batch, e.g. 1] [threads, 0 = libtorch default]</pre>
 */
public final class VisionBench {
    private VisionBench() {
    }

    public static void main(String[] args) throws Exception {
        Precision precision = Precision.parse(args.length > 0 ? args[0] : "bf16");
        int[] batches = Arrays.stream((args.length > 1 ? args[1] : "1,8").split(",")).mapToInt(Integer::parseInt).toArray();
        int runs = args.length > 2 ? Integer.parseInt(args[2]) : 1;
        int threads = args.length > 3 ? Integer.parseInt(args[3]) : 0;
        ObjectMapper json = new ObjectMapper();
        Path dir = Files.createTempDirectory("visionbench-");
        long t0 = System.nanoTime();
        VisionConfig v = VisionConfig.gemma3Siglip();
        TinyCheckpoint ckpt = TinyCheckpointWriter.write(dir, TinyCheckpointSpec.builder().layers(1).hidden(2560)
                .intermediate(256).heads(8).kvHeads(4).headDim(256).scheme(TensorNaming.LANGUAGE_MODEL)
                .dtype(DType.BF16).vision(v).mmTokensPerImage(256).build());
        double writeS = (System.nanoTime() - t0) / 1e9;
        try (GemmaWeights w = GemmaWeights.open(ckpt.directory(), ckpt.config())) {
            long t1 = System.nanoTime();
            try (ImageEncoder enc = ImageEncoder.load(w, ModelOptions.builder().precision(precision).threads(threads).build())) {
                double loadS = (System.nanoTime() - t1) / 1e9;
                ObjectNode start = json.createObjectNode();
                start.put("event", "loaded").put("precision", precision.name()).put("path", enc.describePath())
                        .put("write_checkpoint_s", round(writeS)).put("load_s", round(loadS))
                        .put("cores", Runtime.getRuntime().availableProcessors()).put("threads", threads);
                System.out.println(json.writeValueAsString(start));
                List<PreprocessedImage> pool = new ArrayList<>();
                Random rnd = new Random(1);
                int max = Arrays.stream(batches).max().orElse(1);
                for (int i = 0; i < max; i++) {
                    float[] px = new float[3 * 896 * 896];
                    for (int j = 0; j < px.length; j++) {
                        px[j] = rnd.nextFloat() * 2 - 1;
                    }
                    pool.add(new PreprocessedImage(896, px, "bench" + i, 0));
                }
                long tw = System.nanoTime();
                enc.encode(pool.subList(0, 1)).close();
                ObjectNode warm = json.createObjectNode();
                warm.put("event", "warmup").put("batch", 1).put("seconds", round((System.nanoTime() - tw) / 1e9));
                System.out.println(json.writeValueAsString(warm));
                for (int b : batches) {
                    for (int r = 0; r < runs; r++) {
                        long ts = System.nanoTime();
                        try (ImageEmbeddings e = enc.encode(pool.subList(0, b))) {
                            double s = (System.nanoTime() - ts) / 1e9;
                            ObjectNode line = json.createObjectNode();
                            line.put("event", "encode").put("precision", precision.name()).put("batch", b).put("run", r)
                                    .put("seconds", round(s)).put("images_per_s", round(b / s))
                                    .put("soft_tokens", e.count() * e.tokensPerImage());
                            System.out.println(json.writeValueAsString(line));
                        }
                    }
                }
            }
        } finally {
            try (var s = Files.walk(dir)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static double round(double x) {
        return Math.round(x * 1000) / 1000.0;
    }
}
