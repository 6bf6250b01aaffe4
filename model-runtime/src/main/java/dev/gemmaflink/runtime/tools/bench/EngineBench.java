package dev.gemmaflink.runtime.tools.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemmaflink.runtime.config.LayerType;
import dev.gemmaflink.runtime.engine.EngineFinishReason;
import dev.gemmaflink.runtime.engine.EngineConfig;
import dev.gemmaflink.runtime.engine.EngineMetrics;
import dev.gemmaflink.runtime.engine.EngineRequest;
import dev.gemmaflink.runtime.engine.EngineResult;
import dev.gemmaflink.runtime.engine.GemmaEngine;
import dev.gemmaflink.runtime.engine.GemmaEngineBuilder;
import dev.gemmaflink.runtime.engine.RequestHandle;
import dev.gemmaflink.runtime.generate.GenerationParams;
import dev.gemmaflink.runtime.kvcache.KvCacheLayout;
import dev.gemmaflink.runtime.model.GemmaModel;
import dev.gemmaflink.runtime.model.LoadProgress;
import dev.gemmaflink.runtime.model.MatmulPath;
import dev.gemmaflink.runtime.model.ModelOptions;
import dev.gemmaflink.runtime.model.Precision;
import dev.gemmaflink.runtime.tokenizer.GemmaTokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Engine throughput and latency benchmark (a program, not a test): for each concurrency C, C requests of
 * {@code --prompt-len} tokens (the first {@code --shared-prefix} of them shared) and {@code --gen-len} greedy tokens are
 * submitted at once; one JSON line per configuration. With a shared prefix, one cold request (empty cache) runs first
 * and its time to first token is reported beside the cached ones.
 *
 * <pre>
 * engine-bench --model DIR --concurrency 1,4,16,32 --prompt-len 32 --gen-len 32 --shared-prefix 0
 *              [--graph-optimization true]   (EngineConfig.graphOptimization: optimised graph, bucketed shapes)
 * engine-bench --kv-accounting 4b --seq-len 32768       (analytic KV bytes, no model)
 * </pre>
 *
 * Aggregate decode tokens/s is measured over the window in which every request of the configuration was decoding
 * (from the last first token to the first finish), from per-token timestamps; TTFT percentiles are over the
 * configuration's requests. A concurrency may be listed twice ({@code 1,1,16,16}): with graph optimisation on, the
 * first run of a new shape is a profiling run, so the second run of a configuration shows the steady state.
 */
public final class EngineBench {

    private static final ObjectMapper JSON = new ObjectMapper();

    private EngineBench() {
    }

    public static void main(String[] argv) throws Exception {
        Map<String, String> a = BenchArgs.parse(argv);
        if (a.containsKey("kv-accounting")) {
            System.out.println(kvAccounting(a.get("kv-accounting"), Integer.parseInt(a.getOrDefault("seq-len", "32768")),
                    Integer.parseInt(a.getOrDefault("block-size", "16"))));
            return;
        }
        Path model = Path.of(BenchArgs.require(a, "model", " (or --kv-accounting SHAPE)"));
        int[] concurrency = Arrays.stream(a.getOrDefault("concurrency", "1,4,16,32").split(","))
                .mapToInt(s -> Integer.parseInt(s.trim())).toArray();
        int promptLen = Integer.parseInt(a.getOrDefault("prompt-len", "32"));
        int genLen = Integer.parseInt(a.getOrDefault("gen-len", "32"));
        int shared = Integer.parseInt(a.getOrDefault("shared-prefix", "0"));
        if (promptLen < 1 || genLen < 1 || shared < 0 || shared >= promptLen) {
            throw new IllegalArgumentException("need --prompt-len >= 1, --gen-len >= 1 and 0 <= --shared-prefix < "
                    + "--prompt-len, got " + promptLen + ", " + genLen + ", " + shared);
        }
        int maxC = Arrays.stream(concurrency).max().orElse(1);
        EngineConfig config = EngineConfig.builder()
                .precision(Precision.parse(a.getOrDefault("precision", "bf16")))
                .device(a.getOrDefault("device", "cpu")).threads(Integer.parseInt(a.getOrDefault("threads", "0")))
                .kvCacheBytes(Long.parseLong(a.getOrDefault("kv-bytes", String.valueOf(1L << 30))))
                .blockSize(Integer.parseInt(a.getOrDefault("block-size", "16")))
                .targetSequenceLength(Integer.parseInt(a.getOrDefault("target-seq-len", "4096")))
                .maxTokensPerStep(Integer.parseInt(a.getOrDefault("max-tokens-per-step", "2048")))
                .maxBatchSize(Math.max(maxC, 1))
                .graphOptimization(Boolean.parseBoolean(a.getOrDefault("graph-optimization", "false"))).build();
        long t0 = System.nanoTime();
        // --matmul-path forces one of the precision's paths (A/B of products); the default is the engine's choice.
        String forced = a.get("matmul-path");
        GemmaModel loaded = forced == null ? null : GemmaModel.load(model, ModelOptions.builder()
                .precision(config.precision()).device(config.device()).threads(config.threads())
                .forcedPath(MatmulPath.valueOf(forced)).build(), LoadProgress.NONE);
        GemmaTokenizer tokenizer = forced == null ? null : GemmaTokenizer.load(model);
        GemmaEngineBuilder builder = forced == null ? GemmaEngine.builder().modelDir(model)
                : GemmaEngine.builder().model(loaded, tokenizer);
        try (GemmaEngine engine = builder.config(config).build()) {
            System.err.printf("engine-bench: loaded in %.1f s%n", (System.nanoTime() - t0) / 1e9);
            int vocab = Math.min(engine.model().config().vocabSize(), 200_000);
            run(engine, new int[] {1}, 16, 4, 0, vocab, false); // warm-up, not printed
            for (int c : concurrency) {
                System.out.println(run(engine, new int[] {c}, promptLen, genLen, shared, vocab, true));
                System.out.flush();
            }
        } finally {
            if (loaded != null) {
                loaded.close();
                tokenizer.close();
            }
        }
    }

    private static String run(GemmaEngine engine, int[] cs, int promptLen, int genLen, int shared, int vocab,
            boolean print) throws Exception {
        int c = cs[0];
        SplittableRandom rnd = new SplittableRandom(31L * c + promptLen + 7L * shared + System.nanoTime());
        int[] prefix = TokenTimes.randomIds(shared, vocab, rnd, true);
        GenerationParams params = GenerationParams.builder().temperature(0).maxNewTokens(genLen).stopIds().build();
        EngineMetrics before = engine.metrics();
        double coldTtft = -1;
        if (shared > 0) {
            int[] p = concat(prefix, TokenTimes.randomIds(promptLen - shared, vocab, rnd, false));
            EngineResult cold = engine.submit(EngineRequest.builder().promptIds(p)
                    .params(GenerationParams.builder().temperature(0).maxNewTokens(1).stopIds().build()).build())
                    .result().get(30, TimeUnit.MINUTES);
            coldTtft = cold.timeToFirstTokenMillis();
        }
        EngineMetrics afterCold = engine.metrics();
        long copiedBefore = engine.model().deviceToHostBytes();
        TokenTimes times = new TokenTimes();
        List<RequestHandle> handles = new ArrayList<>();
        long start = System.nanoTime();
        for (int i = 0; i < c; i++) {
            int[] p = shared > 0 ? concat(prefix, TokenTimes.randomIds(promptLen - shared, vocab, rnd, false))
                    : TokenTimes.randomIds(promptLen, vocab, rnd, true);
            handles.add(engine.submit(EngineRequest.builder().promptIds(p).params(params).build(), times.listener()));
        }
        List<EngineResult> results = new ArrayList<>();
        for (RequestHandle h : handles) {
            results.add(h.result().get(30, TimeUnit.MINUTES));
        }
        long end = System.nanoTime();
        EngineMetrics after = engine.metrics();
        long copied = engine.model().deviceToHostBytes() - copiedBefore;
        if (!print) {
            return "";
        }
        for (EngineResult r : results) {
            if (r.finishReason() != EngineFinishReason.LENGTH) {
                throw new IllegalStateException("request " + r.requestId() + " ended " + r.finishReason() + ": "
                        + r.error());
            }
        }
        int generated = results.stream().mapToInt(EngineResult::numTokens).sum();
        double[] ttft = results.stream().mapToDouble(EngineResult::timeToFirstTokenMillis).sorted().toArray();
        ObjectNode o = JSON.createObjectNode();
        o.put("bench", "engine");
        o.put("concurrency", c);
        o.put("prompt_tokens", promptLen);
        o.put("shared_prefix_tokens", shared);
        o.put("generated_tokens", generated);
        o.put("wall_s", BenchArgs.round((end - start) / 1e9));
        o.put("decode_tokens_per_s", BenchArgs.round(times.decodeTokensPerSecond(start, end)));
        o.put("output_tokens_per_s_end_to_end", BenchArgs.round(generated / ((end - start) / 1e9)));
        o.put("ttft_p50_ms", BenchArgs.round(quantile(ttft, 0.5)));
        o.put("ttft_p99_ms", BenchArgs.round(quantile(ttft, 0.99)));
        if (shared > 0) {
            o.put("ttft_cold_ms", BenchArgs.round(coldTtft));
        }
        o.put("prefix_hit_tokens", after.prefixHitTokens() - afterCold.prefixHitTokens());
        o.put("cached_prompt_tokens_mean", BenchArgs.round(results.stream().mapToInt(EngineResult::cachedPromptTokens)
                .average().orElse(0)));
        o.put("preemptions", after.preemptions() - before.preemptions());
        o.put("mean_batch_size", BenchArgs.round(after.meanBatchSizeSince(before)));
        long steps = after.steps() - afterCold.steps();
        // Tokens are sampled on the device; logits_bytes_per_step is what copying each sequence's logit row cost.
        o.put("device_to_host_bytes_per_step", steps == 0 ? 0 : copied / steps);
        o.put("logits_bytes_per_step", BenchArgs.round((double) Float.BYTES * engine.model().config().vocabSize()
                * after.meanBatchSizeSince(afterCold)));
        o.put("kv_storage_bytes", after.kvStorageBytes());
        long peak = 0;
        for (EngineMetrics.KvGroupMetrics g : after.kv()) {
            peak += g.peakUsedBlocks() * g.bytesPerBlock();
        }
        o.put("kv_peak_used_bytes", peak);
        o.put("precision", engine.model().precision().name());
        o.put("matmul_path", engine.model().matmulPath().name());
        o.put("graph_optimization", engine.config().graphOptimization());
        o.put("threads_available", Runtime.getRuntime().availableProcessors());
        return JSON.writeValueAsString(o);
    }

    /** KV bytes of one sequence under the paged, window-aware accounting vs every layer global (analytic). */
    static String kvAccounting(String shape, int seqLen, int blockSize) throws Exception {
        int layers;
        int kvHeads;
        int headDim;
        int window;
        switch (shape) {
            case "1b": layers = 26; kvHeads = 1; headDim = 256; window = 512; break;
            case "4b": layers = 34; kvHeads = 4; headDim = 256; window = 1024; break;
            case "12b": layers = 48; kvHeads = 8; headDim = 256; window = 1024; break;
            case "27b": layers = 62; kvHeads = 16; headDim = 128; window = 1024; break;
            default: throw new IllegalArgumentException("unknown --kv-accounting shape '" + shape
                    + "': use 1b, 4b, 12b or 27b");
        }
        List<LayerType> types = new ArrayList<>();
        for (int i = 0; i < layers; i++) {
            types.add((i + 1) % 6 == 0 ? LayerType.FULL_ATTENTION : LayerType.SLIDING_ATTENTION);
        }
        KvCacheLayout layout = KvCacheLayout.fromLayerTypes(types, window, kvHeads, headDim, 2, blockSize);
        long paged = 0;
        int[] held = layout.blocksHeld(seqLen);
        for (int g = 0; g < held.length; g++) {
            paged += held[g] * layout.bytesPerBlock(g);
        }
        long allGlobal = layout.allGlobalBytes(seqLen);
        ObjectNode o = JSON.createObjectNode();
        o.put("bench", "kv_accounting");
        o.put("shape", shape);
        o.put("seq_len", seqLen);
        o.put("block_size", blockSize);
        o.put("dtype", "bf16");
        o.put("kv_bytes_paged_window", paged);
        o.put("kv_bytes_analytic_minimum", layout.analyticMinimumBytes(seqLen));
        o.put("kv_bytes_all_global", allGlobal);
        o.put("ratio_all_global_over_paged", BenchArgs.round((double) allGlobal / paged));
        return JSON.writeValueAsString(o);
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static double quantile(double[] sorted, double q) {
        if (sorted.length == 0) {
            return 0;
        }
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(q * sorted.length) - 1)];
    }
}
