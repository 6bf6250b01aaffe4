package dev.gemmaflink.e2e.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.ToDoubleFunction;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;

import dev.gemmaflink.e2e.support.Requests;
import dev.gemmaflink.jobs.local.EmbeddedKafkaCluster;
import dev.gemmaflink.operators.config.OptionsLoader;
import dev.gemmaflink.operators.gemma.GemmaOptions;
import dev.gemmaflink.operators.gemma.SharedEngines;
import dev.gemmaflink.operators.gemma.SharedResources;
import dev.gemmaflink.operators.model.ValidatedRequest;
import dev.gemmaflink.runtime.engine.GemmaEngine;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Step 5 benchmark: end-to-end throughput of the enrichment job (Kafka in, gemma enricher, results committed
 * exactly once and visible under {@code read_committed}) against the engine alone on the same kind of requests.
 * Prints JSON lines on stdout (one per round, one ratio per cycle, one summary).
 *
 * <p>What makes the comparison fair:
 * <ul>
 *   <li>One engine for both sides. The bench acquires the engine from {@link SharedEngines} with the job's own
 *       settings, so the job's subtasks (same JVM, local MiniCluster) lease that very engine: same weights,
 *       precision, threads, batch limit, KV budget, warm JIT. Model loading is outside every timed window.</li>
 *   <li>The same requests: the enricher's prompt, tenant as cache salt, greedy, the same max new tokens; fresh
 *       documents every round so only the shared instruction prefix is ever a cache hit, on both sides.</li>
 *   <li>The same concurrency: the baseline keeps at most async capacity x inference subtasks requests in
 *       flight, which is what the job's async operators allow.</li>
 *   <li>A warm job: each cycle starts the job on fresh topics, serves warm-up requests to every routing key and
 *       waits for their commit; only then does the clock start. It stops when the round's last result is visible
 *       to a {@code read_committed} consumer, so the final checkpoint and commit are counted.</li>
 *   <li>Back to back in ABBA order: odd cycles run the baseline rounds first, even cycles the pipeline's; the job
 *       is not running during baseline rounds (an idle job's checkpoints would slow them). Every timed round
 *       starts after a GC and 2 s of quiet.</li>
 *   <li>Diagnostics per round: the engine's steps, batch and busy time in that window, CPU per thread group,
 *       JIT and GC time, and the cores other processes used (a shared build machine is noisy).</li>
 * </ul>
 *
 * <p>Run with the jobs test class path (see {@code bin/pipeline-bench}):
 * {@code java -cp ... dev.gemmaflink.e2e.bench.PipelineBench --model tiny --requests 1000}.
 */
@Command(name = "pipeline-bench", mixinStandardHelpOptions = true,
        description = "Pipeline (Kafka -> job -> committed results) vs engine alone; JSON lines on stdout.")
public final class PipelineBench implements Callable<Integer> {

    @Mixin
    BenchModelOptions modelOptions = new BenchModelOptions();

    @Option(names = "--requests", defaultValue = "1000", description = "Requests per timed round.")
    int requests;

    @Option(names = "--kv-cache-mib", defaultValue = "256", description = "KV cache budget in MiB.")
    long kvCacheMib;

    @Option(names = "--target-sequence-length", defaultValue = "512", description = "KV sizing length.")
    int targetSequenceLength;

    @Option(names = "--tenants", defaultValue = "4",
            description = "Tenants the requests are spread over (the job's routing keys and cache salts).")
    int tenants;

    @Option(names = "--parallelism", defaultValue = "1", description = "job.parallelism (source, validation).")
    int parallelism;

    @Option(names = "--inference-parallelism", defaultValue = "1",
            description = "inference.parallelism: enrichment subtasks (they share the one engine).")
    int inferenceParallelism;

    @Option(names = "--async-capacity", defaultValue = "64", description = "enrich.async-capacity per subtask.")
    int asyncCapacity;

    @Option(names = "--request-partitions", defaultValue = "0",
            description = "Partitions of the request topic; 0: the source parallelism.")
    int requestPartitions;

    @Option(names = "--checkpoint-interval", defaultValue = "200 ms", description = "job.checkpoint-interval.")
    String checkpointInterval;

    @Option(names = "--max-in-flight", defaultValue = "0",
            description = "Baseline's most requests in flight; 0: async capacity x inference parallelism.")
    int maxInFlight;

    @Option(names = "--warmup", defaultValue = "0",
            description = "Warm-up requests (untimed) before the rounds; 0: one batch (max batch, at least one per "
                    + "tenant).")
    int warmup;

    @Option(names = "--cycles", defaultValue = "2",
            description = "Cycles: baseline rounds and pipeline rounds (one job per cycle), in ABBA order.")
    int cycles;

    @Option(names = "--rounds", defaultValue = "1",
            description = "Timed rounds per side in a cycle; the pipeline's run one after another on one job.")
    int rounds;

    @Option(names = "--engine-priority", defaultValue = "0",
            description = "Java priority (1-10) for the engine thread, shared by both sides; 0 leaves it. Takes "
                    + "effect on Linux only with -XX:ThreadPriorityPolicy=1 as root (10 -> nice -5).")
    int enginePriority;

    @Option(names = "--round-timeout", defaultValue = "PT15M", description = "Longest a round may take (ISO-8601).")
    Duration roundTimeout;

    public static void main(String[] args) {
        int code = new CommandLine(new PipelineBench()).execute(args);
        // Flink and Kafka leave non-daemon threads behind.
        System.exit(code);
    }

    @Override
    public Integer call() throws Exception {
        Path modelDir = modelOptions.checkpoint("pipeline-bench", 5L);
        int inFlight = maxInFlight > 0 ? maxInFlight : asyncCapacity * inferenceParallelism;
        int partitions = requestPartitions > 0 ? requestPartitions : parallelism;
        int warm = warmup > 0 ? warmup : Math.max(modelOptions.maxBatch, tenants);
        Map<String, String> settings = jobSettings(modelDir);
        Configuration conf = OptionsLoader.fromMap(settings);
        SharedEngines.Key key = new SharedEngines.Key(modelDir.toAbsolutePath().normalize().toString(),
                GemmaOptions.engineConfig(conf));
        BenchRequests factory = new BenchRequests(tenants, modelOptions.maxNewTokens);
        JsonLine setup = new JsonLine().put("bench", "pipeline-vs-engine").put("model", modelName(modelDir))
                .put("precision", modelOptions.precision).put("threads", modelOptions.threads)
                .put("maxBatch", modelOptions.maxBatch)
                .put("maxNewTokens", modelOptions.maxNewTokens).put("tenants", tenants);
        JsonLine pipelineParts = new JsonLine().put("checkpointInterval", checkpointInterval)
                .put("parallelism", parallelism).put("inferenceParallelism", inferenceParallelism)
                .put("asyncCapacity", asyncCapacity).put("inFlightCapacity", asyncCapacity * inferenceParallelism)
                .put("requestPartitions", partitions).put("routingKeysPerSubtask", keysPerSubtask());
        List<RoundResult> engineRounds = new ArrayList<>();
        List<RoundResult> pipelineRounds = new ArrayList<>();
        List<Double> ratios = new ArrayList<>();
        try (SharedResources.Lease<SharedEngines.Key, GemmaEngine> lease = SharedEngines.acquire(key);
                EmbeddedKafkaCluster kafka = EmbeddedKafkaCluster.start()) {
            GemmaEngine engine = lease.get();
            if (enginePriority > 0) {
                Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith("gemma-engine-"))
                        .forEach(t -> t.setPriority(enginePriority));
            }
            setup.put("engineThreadNice", engineThreadNice());
            RoundResult warmRound = EngineAloneRound.run(engine, factory, factory.next("warm", warm), inFlight);
            System.out.println(new JsonLine().putAll(setup).put("phase", "engine-warmup")
                    .put("requests", warm).put("seconds", warmRound.seconds()));
            for (int cycle = 1; cycle <= cycles; cycle++) {
                // ABBA order: odd cycles run the baseline first, even ones the pipeline first, so a drift in the
                // machine's load does not always favour the same side.
                boolean engineFirst = cycle % 2 == 1;
                List<RoundResult> alone = engineFirst ? engineRounds(engine, factory, cycle, inFlight, setup) : null;
                List<RoundResult> piped = pipelineRounds(kafka, settings, key, engine, factory, cycle, partitions,
                        warm, setup, pipelineParts);
                if (!engineFirst) {
                    alone = engineRounds(engine, factory, cycle, inFlight, setup);
                }
                engineRounds.addAll(alone);
                pipelineRounds.addAll(piped);
                double ratio = median(piped, RoundResult::requestsPerSecond)
                        / median(alone, RoundResult::requestsPerSecond);
                ratios.add(ratio);
                System.out.println(new JsonLine().putAll(setup).put("cycle", cycle).put("side", "ratio")
                        .put("requestsPerSecondRatio", ratio)
                        .put("tokensPerSecondRatio", median(piped, RoundResult::tokensPerSecond)
                                / median(alone, RoundResult::tokensPerSecond)));
                System.out.flush();
            }
        }
        System.out.println(new JsonLine().putAll(setup).put("side", "summary").put("cycles", cycles)
                .put("roundsPerCycle", rounds)
                .put("requests", requests)
                .put("engineAloneRequestsPerSecondMedian", median(engineRounds, RoundResult::requestsPerSecond))
                .put("pipelineRequestsPerSecondMedian", median(pipelineRounds, RoundResult::requestsPerSecond))
                .put("engineAloneTokensPerSecondMedian", median(engineRounds, RoundResult::tokensPerSecond))
                .put("pipelineTokensPerSecondMedian", median(pipelineRounds, RoundResult::tokensPerSecond))
                .put("ratioOfMedians", median(pipelineRounds, RoundResult::requestsPerSecond)
                        / median(engineRounds, RoundResult::requestsPerSecond))
                .put("cycleRatios", ratios.toString().replace(" ", ""))
                .put("minCycleRatio", ratios.stream().min(Comparator.naturalOrder()).orElse(Double.NaN))
                .putAll(pipelineParts));
        return 0;
    }

    private List<RoundResult> engineRounds(GemmaEngine engine, BenchRequests factory, int cycle, int inFlight,
            JsonLine setup) throws InterruptedException {
        List<RoundResult> out = new ArrayList<>();
        for (int round = 1; round <= rounds; round++) {
            settle();
            ThreadCpu cpu = ThreadCpu.start();
            RoundResult alone = EngineAloneRound.run(engine, factory, factory.next("e" + cycle + "r" + round,
                    requests), inFlight);
            System.out.println(new JsonLine().putAll(setup).put("cycle", cycle).put("round", round)
                    .putAll(alone.json()).putAll(cpu(cpu)));
            System.out.flush();
            out.add(alone);
        }
        return out;
    }

    /** Starts the job on fresh topics, warms it (every routing key served and committed), times its rounds. */
    private List<RoundResult> pipelineRounds(EmbeddedKafkaCluster kafka, Map<String, String> settings,
            SharedEngines.Key key, GemmaEngine engine, BenchRequests factory, int cycle, int partitions, int warm,
            JsonLine setup, JsonLine pipelineParts) throws Exception {
        try (PipelineCycle job = new PipelineCycle(kafka, settings, cycle, partitions)) {
            RoundResult jobWarm = job.round(factory.next("w" + cycle, warm), engine, roundTimeout);
            int holders = SharedEngines.references(key);
            System.out.println(new JsonLine().putAll(setup).put("cycle", cycle).put("phase", "job-warmup")
                    .put("requests", warm).put("completed", jobWarm.completed()).put("seconds", jobWarm.seconds())
                    .put("engineLeases", holders));
            if (holders != 1 + inferenceParallelism) {
                throw new IllegalStateException("the job's subtasks did not share the bench's engine (" + holders
                        + " leases, expected " + (1 + inferenceParallelism) + ")");
            }
            List<RoundResult> out = new ArrayList<>();
            for (int round = 1; round <= rounds; round++) {
                settle();
                ThreadCpu cpu = ThreadCpu.start();
                RoundResult piped = job.round(factory.next("p" + cycle + "r" + round, requests), engine,
                        roundTimeout);
                System.out.println(new JsonLine().putAll(setup).put("cycle", cycle).put("round", round)
                        .putAll(piped.json()).putAll(pipelineParts).putAll(cpu(cpu)));
                System.out.flush();
                out.add(piped);
            }
            return out;
        }
    }

    /** The OS nice value of the engine thread (Linux), or null where it cannot be read. */
    private static Integer engineThreadNice() {
        try (java.util.stream.Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path task : tasks.toList()) {
                // comm holds the first 15 characters of the thread name.
                if (Files.readString(task.resolve("comm")).startsWith("gemma-engine-")) {
                    String stat = Files.readString(task.resolve("stat"));
                    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    return Integer.parseInt(f[16]); // field 19 of stat: nice
                }
            }
        } catch (java.io.IOException | RuntimeException e) {
            return null;
        }
        return null;
    }

    /**
     * A quiet start for every timed round: garbage of the previous phase collected and the previous job's
     * shutdown (or this job's first checkpoints) given time to finish, so neither side inherits the other's work.
     */
    private static void settle() throws InterruptedException {
        System.gc();
        Thread.sleep(2_000);
    }

    private Map<String, String> jobSettings(Path modelDir) {
        Map<String, String> s = new LinkedHashMap<>();
        s.put("enrich.enricher", "gemma");
        s.put("enrich.gemma.model-dir", modelDir.toString());
        s.put("enrich.gemma.precision", modelOptions.precision);
        s.put("enrich.gemma.threads", String.valueOf(modelOptions.threads));
        s.put("enrich.gemma.kv-cache-bytes", String.valueOf(kvCacheMib << 20));
        s.put("enrich.gemma.block-size", "16");
        s.put("enrich.gemma.target-sequence-length", String.valueOf(targetSequenceLength));
        s.put("enrich.gemma.max-new-tokens", String.valueOf(modelOptions.maxNewTokens));
        s.put("enrich.gemma.max-batch", String.valueOf(modelOptions.maxBatch));
        s.put("enrich.async-capacity", String.valueOf(asyncCapacity));
        s.put("enrich.async-timeout", roundTimeout.toString());
        s.put("job.parallelism", String.valueOf(parallelism));
        s.put("inference.parallelism", String.valueOf(inferenceParallelism));
        s.put("job.checkpoint-interval", checkpointInterval);
        return s;
    }


    private String modelName(Path dir) {
        return modelOptions.tiny() ? "tiny-2-layer" : String.valueOf(dir.toAbsolutePath().normalize().getFileName());
    }

    /**
     * How the job's keyBy spreads the tenants' routing keys over the inference subtasks,
     * as Flink assigns keys at the default max parallelism: a subtask's async capacity bounds the requests of its
     * keys in flight, so a skewed spread lowers the in-flight total the shared engine sees.
     */
    private String keysPerSubtask() {
        int[] counts = new int[inferenceParallelism];
        int maxParallelism = KeyGroupRangeAssignment.computeDefaultMaxParallelism(inferenceParallelism);
        for (int t = 0; t < tenants; t++) {
            String key = ValidatedRequest.routingKeyOf(Requests.request("k", "SUMMARIZE").setTenant("tenant-" + t)
                    .setText("k").build());
            counts[KeyGroupRangeAssignment.assignKeyToParallelOperator(key, maxParallelism, inferenceParallelism)]++;
        }
        return java.util.Arrays.toString(counts).replace(" ", "");
    }

    /** The round's CPU by thread group (JVM-wide), or nothing where thread CPU time is not measurable. */
    private static JsonLine cpu(ThreadCpu cpu) {
        return cpu == null ? new JsonLine() : cpu.stop(12);
    }

    private static double median(List<RoundResult> rounds, ToDoubleFunction<RoundResult> f) {
        double[] v = rounds.stream().mapToDouble(f).sorted().toArray();
        if (v.length == 0) {
            return Double.NaN;
        }
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }
}
