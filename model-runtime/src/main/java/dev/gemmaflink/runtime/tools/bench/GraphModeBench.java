package dev.gemmaflink.runtime.tools.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemmaflink.runtime.model.ForwardBatch;
import dev.gemmaflink.runtime.model.GemmaModel;
import dev.gemmaflink.runtime.model.GraphMode;
import dev.gemmaflink.runtime.model.KvStorage;
import dev.gemmaflink.runtime.model.LoadProgress;
import dev.gemmaflink.runtime.model.ModelOptions;
import dev.gemmaflink.runtime.model.OpProfile;
import dev.gemmaflink.runtime.model.Precision;
import dev.gemmaflink.runtime.model.SequenceCache;
import dev.gemmaflink.runtime.model.SequenceStep;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A/B of the model's {@link GraphMode}s in one JVM (a program, not a test): B sequences prefill a prompt, then decode
 * {@code --steps} tokens, each step run once per mode on its own KV storage, the order of the two modes alternating
 * from step to step, so that a noisy host weighs on both alike. Prints one JSON line per mode with the mean decode
 * step time (after the first {@code --warmup} steps, which include the profiling runs of new shapes), then one per
 * mode with the operations of one decode step ({@link OpProfile}): with a fuser at work the optimised step would run
 * fewer of them.
 *
 * <pre>
 * graph-mode-bench --model DIR --precision bf16|f32 --threads 1 --batch 1 --prompt-len 32 --steps 200 --warmup 16
 * </pre>
 */
public final class GraphModeBench {

    private static final ObjectMapper JSON = new ObjectMapper();

    private GraphModeBench() {
    }

    public static void main(String[] argv) throws Exception {
        Map<String, String> a = BenchArgs.parse(argv);
        Path model = Path.of(BenchArgs.require(a, "model", "a model folder"));
        Precision precision = Precision.parse(a.getOrDefault("precision", "bf16"));
        int threads = Integer.parseInt(a.getOrDefault("threads", "1"));
        int batch = Integer.parseInt(a.getOrDefault("batch", "1"));
        int promptLen = Integer.parseInt(a.getOrDefault("prompt-len", "32"));
        int steps = Integer.parseInt(a.getOrDefault("steps", "200"));
        int warmup = Integer.parseInt(a.getOrDefault("warmup", "16"));
        if (batch < 1 || promptLen < 1 || warmup < 0 || steps <= warmup) {
            throw new IllegalArgumentException("need --batch >= 1, --prompt-len >= 1 and --steps > --warmup >= 0");
        }
        try (GemmaModel m = GemmaModel.load(model, ModelOptions.builder().threads(threads).precision(precision).build(),
                LoadProgress.NONE)) {
            int cap = promptLen + steps + 1;
            SplittableRandom rnd = new SplittableRandom(1);
            int[] prompt = new int[promptLen];
            for (int i = 0; i < promptLen; i++) {
                prompt[i] = 3 + rnd.nextInt(Math.min(m.config().vocabSize(), 500) - 3);
            }
            Map<GraphMode, KvStorage> kv = new EnumMap<>(GraphMode.class);
            Map<GraphMode, SequenceCache[]> seqs = new EnumMap<>(GraphMode.class);
            try {
                for (GraphMode mode : GraphMode.values()) {
                    kv.put(mode, m.allocateKv(cap * batch, cap * batch));
                    SequenceCache[] s = new SequenceCache[batch];
                    for (int b = 0; b < batch; b++) {
                        s[b] = new SequenceCache(m.config(), b * cap, cap);
                        m.forward(ForwardBatch.of(s[b].append(prompt, false)), kv.get(mode), mode);
                    }
                    seqs.put(mode, s);
                }
                long[] nanos = new long[GraphMode.values().length];
                for (int i = 0; i < steps; i++) {
                    GraphMode[] order = i % 2 == 0 ? GraphMode.values()
                            : new GraphMode[] {GraphMode.OPTIMIZED, GraphMode.PLAIN};
                    for (GraphMode mode : order) {
                        ForwardBatch step = decodeStep(seqs.get(mode));
                        long t0 = System.nanoTime();
                        m.forward(step, kv.get(mode), mode);
                        if (i >= warmup) {
                            nanos[mode.ordinal()] += System.nanoTime() - t0;
                        }
                    }
                }
                for (GraphMode mode : GraphMode.values()) {
                    ObjectNode o = line("decode_step", m, batch, mode);
                    o.put("steps_timed", steps - warmup);
                    o.put("ms_per_step", BenchArgs.round(nanos[mode.ordinal()] / 1e6 / (steps - warmup)));
                    System.out.println(JSON.writeValueAsString(o));
                }
                for (GraphMode mode : GraphMode.values()) {
                    ForwardBatch step = decodeStep(seqs.get(mode));
                    OpProfile.Counts c = OpProfile.of(() -> m.forward(step, kv.get(mode), mode));
                    ObjectNode o = line("ops_per_decode_step", m, batch, mode);
                    o.put("graph_ops", c.graphOps());
                    o.put("dispatched_ops", c.dispatchedOps());
                    System.out.println(JSON.writeValueAsString(o));
                }
            } finally {
                kv.values().forEach(KvStorage::close);
            }
        }
    }

    private static ForwardBatch decodeStep(SequenceCache[] seqs) {
        List<SequenceStep> st = new ArrayList<>();
        for (SequenceCache s : seqs) {
            st.add(s.append(new int[] {5}, false));
        }
        return new ForwardBatch(st);
    }

    private static ObjectNode line(String bench, GemmaModel m, int batch, GraphMode mode) {
        ObjectNode o = JSON.createObjectNode();
        o.put("bench", bench);
        o.put("precision", m.precision().name());
        o.put("matmul_path", m.matmulPath().name());
        o.put("batch", batch);
        o.put("mode", mode.name());
        return o;
    }
}
