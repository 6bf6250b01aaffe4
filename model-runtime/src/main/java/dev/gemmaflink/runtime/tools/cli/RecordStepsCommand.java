package dev.gemmaflink.runtime.tools.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.gemmaflink.runtime.config.GemmaConfig;
import dev.gemmaflink.runtime.engine.EngineConfig;
import dev.gemmaflink.runtime.engine.EngineFinishReason;
import dev.gemmaflink.runtime.engine.EngineRequest;
import dev.gemmaflink.runtime.engine.EngineResult;
import dev.gemmaflink.runtime.engine.GemmaEngine;
import dev.gemmaflink.runtime.engine.RequestHandle;
import dev.gemmaflink.runtime.generate.GenerationParams;
import dev.gemmaflink.runtime.model.GemmaModel;
import dev.gemmaflink.runtime.model.LoadProgress;
import dev.gemmaflink.runtime.model.MatmulPath;
import dev.gemmaflink.runtime.model.ModelOptions;
import dev.gemmaflink.runtime.model.Precision;
import dev.gemmaflink.runtime.model.RecordedStep;
import dev.gemmaflink.runtime.model.StepRecorder;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code gemma record-steps}: runs a fixed scenario through the real {@link GemmaEngine} on the CPU and records every
 * step the engine's model ran ({@link GemmaModel#recordSteps}): the exact inputs of each TorchScript
 * {@code forward} and {@code sample} call and the token ids the run sampled, as {@code .npy} files under
 * {@code steps/}, a {@code manifest.json}, and the generated TorchScript.
 *
 * <p>This is the Java half of a replay check: {@code tools/hf_parity.py --replay DIR} runs the same calls on a GPU
 * against a KV cache of the recorded geometry and compares the tokens. The scenario, scaled to the checkpoint's
 * sliding window W and the block size: request A (greedy) has a prompt of a shared prefix (at least 1.5 W tokens and
 * two steps' worth) plus a few tokens, so its prefill is chunked and its context outgrows the window; B (seeded
 * sampling, short prompt) is submitted just before A and decodes beside A's prefill chunks; C (seeded sampling) shares A's
 * prefix and is submitted once A has sampled its first token, when A's prefix blocks are in the prefix cache, so C's
 * prefill starts with a prefix-cache hit and runs beside the decodes of A and B.
 */
@Command(name = "record-steps", mixinStandardHelpOptions = true,
        description = "Run a fixed engine scenario (chunked prefills beside decodes, a prefix-cache hit, greedy and "
                + "seeded sampling, contexts beyond the sliding window) on the CPU and record every model step's "
                + "inputs and sampled tokens, with the generated TorchScript, for tools/hf_parity.py --replay.")
final class RecordStepsCommand implements Callable<Integer> {

    /** The recording's format tag in the manifest. */
    static final String FORMAT = "gemma-step-recording/1";

    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Checkpoint directory.")
    Path model;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Directory to write.")
    Path out;

    @Option(names = "--precision", defaultValue = "f32", paramLabel = "f32|bf16",
            description = "Precision of the run (default ${DEFAULT-VALUE}); tokens must replay exactly in f32.")
    String precision;

    @Option(names = "--block-size", defaultValue = "16", description = "KV block size (default ${DEFAULT-VALUE}).")
    int blockSize;

    @Option(names = "--chunk", defaultValue = "32",
            description = "Tokens per engine step (maxTokensPerStep, default ${DEFAULT-VALUE}).")
    int chunk;

    @Option(names = "--threads", defaultValue = "0", description = "Intra-op CPU threads (0 = libtorch default).")
    int threads;

    @Override
    public Integer call() throws IOException, InterruptedException, ExecutionException, TimeoutException {
        Precision p = switch (precision.toLowerCase(Locale.ROOT)) {
            case "f32", "float32" -> Precision.FLOAT32;
            case "bf16" -> Precision.BF16;
            default -> throw new IllegalArgumentException("--precision must be f32 or bf16, got " + precision);
        };
        PrintWriter stdout = spec.commandLine().getOut();
        Files.createDirectories(out.resolve("steps"));
        GemmaConfig cfg = GemmaConfig.load(model.resolve("config.json"));
        Scenario scenario = Scenario.of(cfg, blockSize, chunk);
        Map<String, Object> manifest = new LinkedHashMap<>();
        manifest.put("format", FORMAT);
        manifest.put("model", model.toAbsolutePath().toString());
        manifest.put("modelRelative", out.toAbsolutePath().relativize(model.toAbsolutePath()).toString());
        manifest.put("precision", p.name());
        FolderRecorder recorder = new FolderRecorder(out);
        List<Map<String, Object>> requests = new ArrayList<>();
        try (GemmaModel m = GemmaModel.load(model, ModelOptions.builder().precision(p).threads(threads).build(),
                LoadProgress.NONE)) {
            manifest.put("matmulPath", m.matmulPath().name());
            m.recordSteps(recorder);
            try (GemmaEngine engine = GemmaEngine.builder().model(m, null).config(scenario.engineConfig(cfg, p))
                    .build()) {
                CountDownLatch aSampled = new CountDownLatch(1);
                // B first: its short prompt is prefilled at once, so it decodes beside A's prefill chunks.
                RequestHandle b = engine.submit(scenario.b);
                RequestHandle a = engine.submit(scenario.a, (id, delta) -> aSampled.countDown());
                if (!aSampled.await(30, TimeUnit.MINUTES)) {
                    throw new TimeoutException("request A sampled no token");
                }
                RequestHandle c = engine.submit(scenario.c);
                for (RequestHandle h : List.of(a, b, c)) {
                    EngineResult r = h.result().get(30, TimeUnit.MINUTES);
                    if (r.finishReason() == EngineFinishReason.ERROR) {
                        throw new IllegalStateException("request " + r.requestId() + " failed: " + r.error());
                    }
                    requests.add(describe(r, scenario.request(r.requestId())));
                }
            } finally {
                m.recordSteps(null);
            }
        }
        recorder.rethrow();
        manifest.put("torchscript", Map.of(
                "BF16_PLAIN", export(cfg, Precision.BF16, MatmulPath.BF16_PLAIN),
                "F32", export(cfg, Precision.FLOAT32, MatmulPath.F32)));
        // On a GPU bf16 runs BF16_PLAIN; its inputs are those of any CPU path (the packed one only adds a weight).
        manifest.put("replayScript", p == Precision.FLOAT32 ? "F32" : "BF16_PLAIN");
        manifest.put("layers", cfg.numHiddenLayers());
        manifest.put("hidden", cfg.hiddenSize());
        manifest.put("vocab", cfg.vocabSize());
        manifest.put("slidingWindow", cfg.slidingWindow());
        manifest.put("kv", recorder.kvGeometry(cfg, p));
        manifest.put("calls", Map.of(
                "forward", "logits = forward(weights, cache, rows, buffer: int64 (L), sizes: List[int], "
                        + "dims: List[int], soft: float32 softShape) -> float32 (N, vocab)",
                "sample", "out = sample(logits, params: int64 (R, 7), kmax: int, logprobs: bool, "
                        + "allowed: int32 (R, W) or int32 (0), whole: bool) -> int64 (R, 2); out[:, 0] are the "
                        + "tokens"));
        manifest.put("engine", Map.of("blockSize", blockSize, "maxTokensPerStep", chunk, "prefixCaching", true,
                "prefixTokens", scenario.prefix.length));
        manifest.put("requests", requests);
        manifest.put("summary", recorder.summary());
        manifest.put("steps", recorder.steps);
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
                .writeValue(out.resolve("manifest.json").toFile(), manifest);
        stdout.printf("recorded %s%n", recorder.summary());
        stdout.printf("wrote %s%n", out.toAbsolutePath());
        stdout.flush();
        return 0;
    }

    private static Map<String, Object> describe(EngineResult r, EngineRequest req) {
        Map<String, Object> d = new LinkedHashMap<>();
        GenerationParams g = req.params();
        d.put("id", r.requestId());
        d.put("promptTokens", r.promptTokens());
        d.put("cachedPromptTokens", r.cachedPromptTokens());
        d.put("greedy", g.greedy());
        d.put("temperature", g.temperature());
        d.put("topK", g.topK());
        d.put("topP", g.topP());
        d.put("seed", g.seed());
        d.put("tokens", r.tokens());
        return d;
    }

    private String export(GemmaConfig cfg, Precision p, MatmulPath path) throws IOException {
        return DumpLogitsCommand.exportTorchScript(out, cfg, p, path);
    }

    /** The three requests and the engine settings they are sized for. */
    private record Scenario(int[] prefix, EngineRequest a, EngineRequest b, EngineRequest c, int blockSize,
            int chunk, int longest) {

        static Scenario of(GemmaConfig cfg, int blockSize, int chunk) {
            if (blockSize < 1 || chunk < 2) {
                throw new IllegalArgumentException("--block-size must be >= 1 and --chunk >= 2");
            }
            int window = cfg.slidingWindow();
            int prefixLen = roundUp(Math.max(window + window / 2, Math.max(4 * blockSize, 2 * chunk)), blockSize);
            SplittableRandom r = new SplittableRandom(20_250_611L);
            int vocab = Math.min(cfg.vocabSize(), 4096);
            int[] prefix = ids(r, prefixLen, vocab, true);
            int aNew = 12;
            int cNew = 12;
            // B decodes through A's chunked prefill and C's prefill, beside them.
            int bNew = 2 * (prefixLen / (chunk - 1) + 2) + 16;
            EngineRequest a = EngineRequest.builder().requestId("A").promptIds(concat(prefix, ids(r, 5, vocab, false)))
                    .params(GenerationParams.builder().temperature(0).maxNewTokens(aNew).stopIds().build()).build();
            EngineRequest b = EngineRequest.builder().requestId("B").promptIds(ids(r, 11, vocab, true))
                    .params(GenerationParams.builder().temperature(0.9).topK(40).topP(0.95).seed(1234)
                            .maxNewTokens(bNew).stopIds().build()).build();
            EngineRequest c = EngineRequest.builder().requestId("C").promptIds(concat(prefix, ids(r, 7, vocab, false)))
                    .params(GenerationParams.builder().temperature(0.7).topK(0).topP(1.0).seed(99)
                            .maxNewTokens(cNew).stopIds().build()).build();
            int longest = roundUp(Math.max(prefixLen + 7 + cNew, 11 + bNew), blockSize);
            return new Scenario(prefix, a, b, c, blockSize, chunk, longest);
        }

        EngineRequest request(String id) {
            return switch (id) {
                case "A" -> a;
                case "B" -> b;
                default -> c;
            };
        }

        /** A KV budget for a few sequences of the longest length (the three requests, the prefix kept cached). */
        EngineConfig engineConfig(GemmaConfig cfg, Precision p) {
            long perToken = 2L * cfg.numKeyValueHeads() * cfg.headDim() * cfg.numHiddenLayers()
                    * p.bytesPerElement();
            long budget = perToken * (6L * longest + 4L * chunk + 8L * blockSize);
            return EngineConfig.builder().modelId("record-steps").precision(p).blockSize(blockSize)
                    .maxTokensPerStep(chunk).maxBatchSize(4).targetSequenceLength(longest).kvCacheBytes(budget)
                    .prefixCaching(true).build();
        }

        private static int[] ids(SplittableRandom r, int n, int vocab, boolean bos) {
            int[] ids = new int[n];
            for (int i = 0; i < n; i++) {
                ids[i] = 3 + r.nextInt(vocab - 3);
            }
            if (bos) {
                ids[0] = 2;
            }
            return ids;
        }

        private static int[] concat(int[] x, int[] y) {
            int[] out = java.util.Arrays.copyOf(x, x.length + y.length);
            System.arraycopy(y, 0, out, x.length, y.length);
            return out;
        }

        private static int roundUp(int n, int unit) {
            return (n + unit - 1) / unit * unit;
        }
    }

    /**
     * Writes each step's tensors as it arrives (on the engine thread) and keeps its manifest entry. A failure is
     * kept and rethrown after the run, besides failing the step it happened in.
     */
    private static final class FolderRecorder implements StepRecorder {

        private final Path dir;
        final List<Map<String, Object>> steps = new ArrayList<>();
        private RecordedStep first;
        private int mixed;
        private int prefillChunks;
        private int decodeRows;
        private int sampledRows;
        private volatile RuntimeException failure;

        FolderRecorder(Path dir) {
            this.dir = dir;
        }

        @Override
        public synchronized void onStep(RecordedStep s) {
            try {
                if (first == null) {
                    first = s;
                } else if (first.storageId() != s.storageId()) {
                    throw new IllegalStateException("a recording covers one KV storage; step " + steps.size()
                            + " ran against another");
                }
                String base = String.format(Locale.ROOT, "steps/%06d-", steps.size());
                Map<String, Object> e = new LinkedHashMap<>();
                e.put("index", steps.size());
                e.put("call", s.call().name());
                e.put("optimized", s.optimized());
                e.put("buffer", base + "buffer.npy");
                NpyWriter.writeInt64(dir.resolve(base + "buffer.npy"), s.buffer(), s.buffer().length);
                e.put("sizes", s.sizes());
                e.put("dims", s.dims());
                e.put("softShape", new int[] {s.softRows(), s.softColumns()});
                if (s.softRows() > 0) {
                    e.put("soft", base + "soft.npy");
                    NpyWriter.writeFloat32(dir.resolve(base + "soft.npy"), s.soft(), s.softRows(), s.softColumns());
                } else {
                    e.put("soft", null);
                }
                RecordedStep.Sample sm = s.sample();
                if (sm == null) {
                    e.put("sample", null);
                } else {
                    Map<String, Object> d = new LinkedHashMap<>();
                    d.put("rows", sm.rows());
                    d.put("params", base + "params.npy");
                    NpyWriter.writeInt64(dir.resolve(base + "params.npy"), sm.params(), sm.rows(),
                            sm.params().length / sm.rows());
                    d.put("kmax", sm.kmax());
                    d.put("logprobs", sm.logprobs());
                    if (sm.allowed().length > 0) {
                        d.put("allowed", base + "allowed.npy");
                        NpyWriter.writeInt32(dir.resolve(base + "allowed.npy"), sm.allowed(), sm.rows(),
                                sm.allowed().length / sm.rows());
                    } else {
                        d.put("allowed", null);
                    }
                    d.put("whole", sm.whole());
                    d.put("tokens", base + "tokens.npy");
                    NpyWriter.writeInt64(dir.resolve(base + "tokens.npy"), sm.tokens(), sm.rows());
                    d.put("tokenIds", sm.tokens());
                    e.put("sample", d);
                    sampledRows += sm.rows();
                }
                count(s.dims());
                steps.add(e);
            } catch (IOException ex) {
                failure = new UncheckedIOException(ex);
                throw failure;
            } catch (RuntimeException ex) {
                failure = ex;
                throw ex;
            }
        }

        /** Groups of the step ({@code dims}: T, N, S, groups, then 8 per group with Q third): decode or prefill. */
        private void count(long[] dims) {
            int groups = (int) dims[3];
            boolean decode = false;
            int multi = 0;
            for (int g = 0; g < groups; g++) {
                long b = dims[4 + 8 * g + 1];
                long q = dims[4 + 8 * g + 2];
                if (q == 1) {
                    decode = true;
                    decodeRows += (int) b;
                } else {
                    multi++;
                }
            }
            prefillChunks += multi;
            if (decode && multi > 0) {
                mixed++;
            }
        }

        void rethrow() {
            if (failure != null) {
                throw new IllegalStateException("recording failed: " + failure.getMessage(), failure);
            }
            if (first == null) {
                throw new IllegalStateException("the engine ran no step");
            }
        }

        synchronized Map<String, Object> summary() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("steps", steps.size());
            m.put("mixedSteps", mixed);
            m.put("prefillChunks", prefillChunks);
            m.put("decodeRows", decodeRows);
            m.put("sampledRows", sampledRows);
            return m;
        }

        Map<String, Object> kvGeometry(GemmaConfig cfg, Precision p) {
            Map<String, Object> kv = new LinkedHashMap<>();
            kv.put("slidingSlots", first.slidingSlots());
            kv.put("fullSlots", first.fullSlots());
            kv.put("slotsPerLayer", first.slotsPerLayer(cfg));
            kv.put("kvHeads", cfg.numKeyValueHeads());
            kv.put("headDim", cfg.headDim());
            kv.put("dtype", p == Precision.FLOAT32 ? "float32" : "bfloat16");
            kv.put("allocate", "cache = alloc_cache(slotsPerLayer, like) with like a float32 (1) tensor on the "
                    + "device, then rows = rows_view(cache); per layer (slots, 2 * kvHeads, headDim), zeroed");
            return kv;
        }
    }
}
