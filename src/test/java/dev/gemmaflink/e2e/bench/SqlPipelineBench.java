package dev.gemmaflink.e2e.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.TableEnvironment;

import dev.gemmaflink.e2e.support.Requests;
import dev.gemmaflink.jobs.EnrichmentJob;
import dev.gemmaflink.jobs.EnrichmentPipeline;
import dev.gemmaflink.jobs.local.EmbeddedKafkaCluster;
import dev.gemmaflink.jobs.local.TopicReader;
import dev.gemmaflink.jobs.sql.SqlKafka;
import dev.gemmaflink.operators.config.OptionsLoader;
import dev.gemmaflink.operators.gemma.GemmaOptions;
import dev.gemmaflink.operators.gemma.SharedEngines;
import dev.gemmaflink.operators.gemma.SharedResources;
import dev.gemmaflink.runtime.engine.EngineMetrics;
import dev.gemmaflink.runtime.engine.GemmaEngine;
import dev.gemmaflink.schemas.EnrichmentRequest;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Rows per second of {@code ML_PREDICT} with the gemma model provider against the DataStream enrichment job, on the
 * same requests, the same checkpoint and the very same engine. JSON lines on stdout: one per round, one summary.
 *
 * <p>How it measures (one JVM: embedded Kafka broker, local MiniCluster, engine):
 * <ul>
 *   <li>One engine for both sides: the bench leases it from {@link SharedEngines} with the settings both sides
 *       derive theirs from, so the job's enrichment subtasks and the SQL predict subtasks lease that engine (model
 *       loading is outside every round).</li>
 *   <li>The same requests: N SUMMARIZE requests with fresh documents each round (only the instruction prefix is ever
 *       a cache hit), greedy, the same max new tokens; the job reads them in its wire format, SQL as JSON rows.</li>
 *   <li>The same concurrency: the job's {@code enrich.async-capacity} and ML_PREDICT's
 *       {@code max-concurrent-operations} are equal, with the same parallelism and request partitions; requests
 *       carry 16 session keys, so the job's keyBy spreads them over its subtasks as SQL's rebalance does.</li>
 *   <li>A round is one bounded job from submission to its end: start-up, reading, inference, the final checkpoint
 *       and its exactly-once commit, on both sides alike; then every output is checked to be committed.</li>
 *   <li>Back to back in ABBA order, after a GC and 2 s of quiet.</li>
 * </ul>
 * Run with the jobs test class path: {@code bin/sql-bench --requests 2000 --cycles 2}.
 */
@Command(name = "sql-bench", mixinStandardHelpOptions = true,
        description = "ML_PREDICT (gemma provider) vs the DataStream job: rows/s, JSON lines on stdout.")
public final class SqlPipelineBench implements Callable<Integer> {

    @Mixin
    BenchModelOptions modelOptions = new BenchModelOptions();

    @Option(names = "--requests", defaultValue = "2000", description = "Requests per round.")
    int requests;

    @Option(names = "--cycles", defaultValue = "2", description = "ABBA cycles (each one round per side).")
    int cycles;

    @Option(names = "--parallelism", defaultValue = "2", description = "Parallelism of both jobs.")
    int parallelism;

    @Option(names = "--concurrency", defaultValue = "16",
            description = "Rows in flight per subtask: enrich.async-capacity and max-concurrent-operations.")
    int concurrency;

    @Option(names = "--checkpoint-interval", defaultValue = "1 s", description = "Both jobs' checkpoint interval.")
    String checkpointInterval;

    public static void main(String[] args) {
        // Flink and Kafka leave non-daemon threads behind.
        System.exit(new CommandLine(new SqlPipelineBench()).execute(args));
    }


    /** The gemma settings both sides use (the job's keys; SQL takes them under their short names). */
    private Map<String, String> gemmaSettings(Path modelDir) {
        Map<String, String> s = new LinkedHashMap<>();
        s.put("enrich.gemma.model-dir", modelDir.toAbsolutePath().normalize().toString());
        s.put("enrich.gemma.model-id", "sql-bench");
        s.put("enrich.gemma.precision", modelOptions.precision);
        s.put("enrich.gemma.threads", String.valueOf(modelOptions.threads));
        s.put("enrich.gemma.kv-cache-bytes", String.valueOf(256L << 20));
        s.put("enrich.gemma.target-sequence-length", "1024");
        s.put("enrich.gemma.max-batch", String.valueOf(modelOptions.maxBatch));
        s.put("enrich.gemma.max-new-tokens", String.valueOf(modelOptions.maxNewTokens));
        return s;
    }

    @Override
    public Integer call() throws Exception {
        Path modelDir = modelOptions.checkpoint("sql-bench-model-", 3L);
        Map<String, String> gemma = gemmaSettings(modelDir);
        SharedEngines.Key key = new SharedEngines.Key(modelDir.toAbsolutePath().normalize().toString(),
                GemmaOptions.engineConfig(OptionsLoader.fromMap(withEnricher(gemma))));
        BenchRequests factory = new BenchRequests(1, modelOptions.maxNewTokens);
        JsonLine setup = new JsonLine().put("bench", "sql-vs-datastream").put("model", modelOptions.model)
                .put("precision", modelOptions.precision).put("threads", modelOptions.threads)
                .put("maxBatch", modelOptions.maxBatch)
                .put("maxNewTokens", modelOptions.maxNewTokens).put("parallelism", parallelism)
                .put("concurrency", concurrency)
                .put("requests", requests).put("checkpointInterval", checkpointInterval);
        List<Double> jobRates = new ArrayList<>();
        List<Double> sqlRates = new ArrayList<>();
        try (SharedResources.Lease<SharedEngines.Key, GemmaEngine> lease = SharedEngines.acquire(key);
                EmbeddedKafkaCluster kafka = EmbeddedKafkaCluster.start()) {
            GemmaEngine engine = lease.get();
            // Warm-up: one small round per side (JIT, Kafka clients, planner), not counted.
            dataStreamRound(kafka, gemma, factory.next("warm-job", 64), "warm-job", engine);
            sqlRound(kafka, gemma, factory.next("warm-sql", 64), "warm-sql", engine);
            for (int cycle = 1; cycle <= cycles; cycle++) {
                boolean jobFirst = cycle % 2 == 1;
                for (int side = 0; side < 2; side++) {
                    boolean job = (side == 0) == jobFirst;
                    String label = (job ? "job-" : "sql-") + cycle;
                    List<EnrichmentRequest> round = factory.next(label, requests);
                    quiet();
                    ThreadCpu cpu = ThreadCpu.start();
                    Round r = job ? dataStreamRound(kafka, gemma, round, label, engine)
                            : sqlRound(kafka, gemma, round, label, engine);
                    JsonLine load = cpu == null ? new JsonLine() : cpu.stop(3);
                    (job ? jobRates : sqlRates).add(r.rowsPerSecond());
                    System.out.println(new JsonLine().putAll(setup).put("cycle", cycle)
                            .put("side", job ? "datastream" : "ml_predict").put("seconds", r.seconds())
                            .put("rowsPerSecond", r.rowsPerSecond()).put("engineSteps", r.steps())
                            .put("meanBatch", r.meanBatch()).put("prefixHitTokens", r.prefixHitTokens()).putAll(load));
                }
            }
        }
        double job = median(jobRates);
        double sql = median(sqlRates);
        System.out.println(new JsonLine().putAll(setup).put("summary", true).put("datastreamRowsPerSecond", job)
                .put("mlPredictRowsPerSecond", sql).put("ratio", sql / job));
        return 0;
    }

    private static Map<String, String> withEnricher(Map<String, String> gemma) {
        Map<String, String> s = new LinkedHashMap<>(gemma);
        s.put("enrich.enricher", "gemma");
        return s;
    }

    /** What one round did. */
    record Round(double seconds, int rows, long steps, double meanBatch, long prefixHitTokens) {
        double rowsPerSecond() {
            return rows / seconds;
        }
    }

    /** Requests spread over 16 session keys (the job's routing keys), one tenant. */
    private static List<EnrichmentRequest> keyed(List<EnrichmentRequest> round) {
        for (int i = 0; i < round.size(); i++) {
            round.get(i).setKey("session-" + (i % 16));
        }
        return round;
    }

    private Round dataStreamRound(EmbeddedKafkaCluster kafka, Map<String, String> gemma,
            List<EnrichmentRequest> round, String label, GemmaEngine engine) throws Exception {
        String id = label + "-" + System.nanoTime();
        kafka.createTopics(parallelism, id + "-requests");
        kafka.createTopics(1, id + "-results", id + "-dead-letters");
        SqlKafka.sendBytes(kafka.bootstrapServers(), id + "-requests",
                keyed(round).stream().map(Requests::binary).toList());
        Map<String, String> s = withEnricher(gemma);
        s.put("kafka.bootstrap-servers", kafka.bootstrapServers());
        s.put("kafka.request-topics", id + "-requests");
        s.put("kafka.result-topic", id + "-results");
        s.put("kafka.dead-letter-topic", id + "-dead-letters");
        s.put("kafka.group-id", id);
        s.put("kafka.transactional-id-prefix", id);
        s.put("kafka.bounded", "true");
        s.put("kafka.starting-offsets", "EARLIEST");
        s.put("job.restore", "NONE");
        s.put("job.checkpoint-dir", Files.createTempDirectory("sql-bench-ckpt-").toUri().toString());
        s.put("job.checkpoint-interval", checkpointInterval);
        s.put("job.parallelism", String.valueOf(parallelism));
        s.put("enrich.async-capacity", String.valueOf(concurrency));
        s.put("flink.restart-strategy.type", "none");
        Configuration conf = OptionsLoader.fromMap(s);
        EngineMetrics before = engine.metrics();
        long start = System.nanoTime();
        StreamExecutionEnvironment env = EnrichmentJob.environment(conf);
        EnrichmentPipeline.builder(conf).build().addTo(env);
        env.execute(id);
        double seconds = (System.nanoTime() - start) / 1e9;
        int rows = TopicReader.readCommittedRaw(kafka.bootstrapServers(), id + "-results", Duration.ofSeconds(60))
                .size();
        return round(seconds, rows, round.size(), before, engine.metrics(), label);
    }

    private Round sqlRound(EmbeddedKafkaCluster kafka, Map<String, String> gemma, List<EnrichmentRequest> round,
            String label, GemmaEngine engine) throws Exception {
        String id = label + "-" + System.nanoTime();
        kafka.createTopics(parallelism, id + "-requests");
        kafka.createTopics(1, id + "-results");
        List<Map<String, Object>> rows = new ArrayList<>();
        for (EnrichmentRequest r : round) {
            rows.add(Map.of("id", r.getRequestId(), "text", r.getText()));
        }
        SqlKafka.send(kafka.bootstrapServers(), id + "-requests", rows);
        Configuration conf = new Configuration();
        conf.setString("parallelism.default", String.valueOf(parallelism));
        conf.setString("execution.checkpointing.interval", checkpointInterval);
        conf.setString("restart-strategy.type", "none");
        EngineMetrics before = engine.metrics();
        long start = System.nanoTime();
        TableEnvironment t = TableEnvironment.create(EnvironmentSettings.newInstance().inStreamingMode()
                .withConfiguration(conf).build());
        t.executeSql(SqlKafka.sourceTable("requests", "id STRING, text STRING", id + "-requests",
                kafka.bootstrapServers(), id));
        t.executeSql(SqlKafka.exactlyOnceSinkTable("results", "id STRING, summary STRING, error_code STRING",
                id + "-results", kafka.bootstrapServers(), id));
        t.executeSql("CREATE TEMPORARY MODEL summarizer INPUT (text STRING) OUTPUT (summary STRING, "
                + "error_code STRING) WITH ('provider' = 'gemma', 'task' = 'summarize', "
                + SqlKafka.modelOptions(gemma) + ")");
        t.executeSql("INSERT INTO results SELECT id, summary, error_code FROM ML_PREDICT(TABLE requests, "
                + "MODEL summarizer, DESCRIPTOR(text), MAP['max-concurrent-operations', '" + concurrency
                + "', 'output-mode', 'allow_unordered'])").await(30, TimeUnit.MINUTES);
        double seconds = (System.nanoTime() - start) / 1e9;
        int committed = TopicReader.readCommittedRaw(kafka.bootstrapServers(), id + "-results",
                Duration.ofSeconds(60)).size();
        return round(seconds, committed, round.size(), before, engine.metrics(), label);
    }

    private static Round round(double seconds, int rows, int expected, EngineMetrics before, EngineMetrics after,
            String label) {
        if (rows != expected) {
            throw new IllegalStateException(label + ": " + rows + " committed outputs for " + expected
                    + " requests");
        }
        return new Round(seconds, rows, after.steps() - before.steps(), after.meanBatchSizeSince(before),
                after.prefixHitTokens() - before.prefixHitTokens());
    }

    private static void quiet() throws InterruptedException {
        System.gc();
        Thread.sleep(2_000);
    }

    private static double median(List<Double> values) {
        List<Double> sorted = values.stream().sorted().toList();
        int n = sorted.size();
        return n == 0 ? Double.NaN : n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }
}
