package dev.gemmaflink.runtime.tools.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gemmaflink.runtime.model.BandwidthProbe;
import dev.gemmaflink.runtime.model.DispatchProbe;
import dev.gemmaflink.runtime.model.ForwardBatch;
import dev.gemmaflink.runtime.model.GemmaModel;
import dev.gemmaflink.runtime.model.KvStorage;
import dev.gemmaflink.runtime.model.OpProfile;
import dev.gemmaflink.runtime.model.SampleRow;
import dev.gemmaflink.runtime.model.SequenceCache;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code gemma bench}: prefill and batch-1 decode speed on random tokens, printed as one JSON line with the
 * memory-bandwidth floor (weight bytes read per token over measured read bandwidth), and what one decode step costs
 * apart from time: the graph operations it runs (libtorch's profiler, after the timed runs; see {@link OpProfile}) and
 * the bytes it copies from the device to the host ({@code device_to_host_bytes_per_step}: tokens are chosen on the
 * device, greedy, as in serving; {@code logits_bytes_per_step} is what copying the step's logit row would cost).
 * Beside the bandwidth floor it prints the dispatch floor: the step's graph operations at the cost of a trivial one
 * on the device ({@link DispatchProbe}), the least time a step of that many operations can take, however small the
 * model.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Measure prefill tokens/s (one PROMPT_LEN prompt) and batch-1 greedy decode tokens/s; print "
                + "one JSON line with weight bytes and the memory-bandwidth floor.")
final class BenchCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ModelArgs modelArgs = new ModelArgs();

    @Option(names = "--prompt-len", defaultValue = "512") int promptLen;
    @Option(names = "--gen-len", defaultValue = "64") int genLen;
    @Option(names = "--runs", defaultValue = "2", description = "Timed runs (after one warm-up); best is reported.")
    int runs;

    @Override
    public Integer call() {
        if (promptLen < 1 || genLen < 1 || runs < 1) {
            throw new IllegalArgumentException("--prompt-len, --gen-len and --runs must be >= 1");
        }
        try (GemmaModel model = modelArgs.load(spec.commandLine().getErr())) {
            if (promptLen + genLen + 1 > model.config().maxPositionEmbeddings()) {
                throw new IllegalArgumentException("prompt-len + gen-len + 1 exceed max_position_embeddings "
                        + model.config().maxPositionEmbeddings());
            }
            int[] prompt = new int[promptLen];
            SplittableRandom rnd = new SplittableRandom(1);
            prompt[0] = 2;
            for (int i = 1; i < promptLen; i++) {
                prompt[i] = 3 + rnd.nextInt(Math.min(model.config().vocabSize(), 200_000) - 3);
            }
            double bestPrefill = 0;
            double bestDecode = 0;
            long copiedPerStep = 0;
            List<SampleRow> greedy = List.of(SampleRow.greedy(0));
            OpProfile.Counts ops = null;
            int capacity = promptLen + genLen + 1; // one more step, profiled after the timed runs
            try (KvStorage kv = model.allocateKv(capacity, capacity)) {
                for (int run = 0; run <= runs; run++) { // run 0 is the warm-up
                    SequenceCache cache = new SequenceCache(model.config(), 0, capacity);
                    long t0 = System.nanoTime();
                    int next = model.forwardSample(ForwardBatch.of(cache.append(prompt, false)), kv, greedy).token(0);
                    long t1 = System.nanoTime();
                    int steps = run == 0 ? Math.min(4, genLen) : genLen;
                    long copied0 = model.deviceToHostBytes();
                    long t2 = System.nanoTime();
                    for (int i = 0; i < steps; i++) {
                        next = model.forwardSample(ForwardBatch.of(cache.append(new int[] {next}, false)), kv, greedy)
                                .token(0);
                    }
                    long t3 = System.nanoTime();
                    copiedPerStep = (model.deviceToHostBytes() - copied0) / steps;
                    if (run > 0) {
                        bestPrefill = Math.max(bestPrefill, promptLen * 1e9 / (t1 - t0));
                        bestDecode = Math.max(bestDecode, steps * 1e9 / (t3 - t2));
                    }
                    if (run == runs) {
                        ForwardBatch step = ForwardBatch.of(cache.append(new int[] {next}, false));
                        ops = OpProfile.of(() -> model.forwardSample(step, kv, greedy));
                    }
                }
            }
            double bandwidth = BandwidthProbe.readBytesPerSecond(model.device(), 1L << 30, 5);
            double perOperation = DispatchProbe.secondsPerOperation(model.device(), 5);
            long perToken = model.weightBytesReadPerToken();
            double floor = bandwidth / perToken;
            ObjectMapper m = new ObjectMapper();
            ObjectNode j = m.createObjectNode();
            j.put("model", modelArgs.model.toString());
            j.put("layers", model.config().numHiddenLayers());
            j.put("hidden", model.config().hiddenSize());
            j.put("vocab", model.config().vocabSize());
            j.put("precision", model.precision().name());
            j.put("matmul_path", model.matmulPath().name());
            j.put("device", model.device().toString());
            j.put("threads", modelArgs.threads);
            j.put("prompt_len", promptLen);
            j.put("prefill_tokens_per_s", round(bestPrefill));
            j.put("gen_len", genLen);
            j.put("decode_tokens_per_s", round(bestDecode));
            j.put("weight_bytes", model.weightBytes());
            j.put("weight_bytes_read_per_token", perToken);
            j.put("read_bandwidth_gb_per_s", round(bandwidth / 1e9));
            j.put("bandwidth_floor_ms_per_token", round(1000.0 / floor));
            j.put("bandwidth_bound_tokens_per_s", round(floor));
            j.put("decode_ms_per_token", round(1000.0 / bestDecode));
            j.put("decode_time_over_floor", round(floor / bestDecode));
            j.put("dispatch_floor_us_per_op", round(perOperation * 1e6));
            j.put("device_to_host_bytes_per_step", copiedPerStep);
            j.put("logits_bytes_per_step", (long) Float.BYTES * model.config().vocabSize());
            if (ops != null) {
                j.put("ops_per_decode_step", ops.graphOps());
                j.put("ops_per_decode_layer", round(ops.graphOpsPerLayer()));
                j.put("dispatched_ops_per_decode_step", ops.dispatchedOps());
                double dispatchFloorMs = ops.graphOps() * perOperation * 1e3;
                j.put("dispatch_floor_ms_per_token", round(dispatchFloorMs));
                j.put("decode_time_over_dispatch_floor", round(1000.0 / bestDecode / dispatchFloorMs));
            }
            spec.commandLine().getOut().println(j.toString());
            spec.commandLine().getOut().flush();
        }
        return 0;
    }

    private static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }
}
