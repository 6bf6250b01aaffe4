package dev.gemmaflink.e2e.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import org.apache.flink.configuration.Configuration;

import dev.gemmaflink.e2e.support.Expectation;
import dev.gemmaflink.e2e.support.RequestProducer;
import dev.gemmaflink.e2e.support.Requests;
import dev.gemmaflink.jobs.EnrichmentJob;
import dev.gemmaflink.jobs.local.EmbeddedKafkaCluster;
import dev.gemmaflink.jobs.local.TopicReader;
import dev.gemmaflink.operators.config.OptionsLoader;
import dev.gemmaflink.operators.gemma.PromptTemplates;
import dev.gemmaflink.runtime.checkpoint.TinyCheckpointSpec;
import dev.gemmaflink.runtime.checkpoint.TinyCheckpointWriter;
import dev.gemmaflink.runtime.engine.EngineRequest;
import dev.gemmaflink.runtime.engine.EngineResult;
import dev.gemmaflink.runtime.engine.GemmaEngine;
import dev.gemmaflink.runtime.generate.GenerationParams;
import dev.gemmaflink.runtime.model.ModelOptions;
import dev.gemmaflink.runtime.model.Precision;
import dev.gemmaflink.schemas.EnrichmentRequest;
import dev.gemmaflink.schemas.wire.WireCodec;

/**
 * Step 5 benchmark: the same N SUMMARIZE requests through the whole pipeline (Kafka in, gemma enricher on a tiny
 * random checkpoint, results committed exactly once, read back) and through the engine alone. Prints JSON lines.
 * Run: {@code java -cp <jobs test class path> dev.gemmaflink.e2e.bench.PipelineBench [N]}.
 */
public final class PipelineBench {

    private PipelineBench() {
    }

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 200;
        Path dir = Files.createTempDirectory("pipeline-bench");
        Path model = dir.resolve("tiny");
        TinyCheckpointWriter.write(model, TinyCheckpointSpec.builder().layers(2).seed(5).build());
        List<EnrichmentRequest> requests = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            requests.add(Requests.summarize("b-" + i, "Document " + i + " describes a stream of events and "
                    + "the operators that enrich them."));
        }
        Map<String, String> gemma = new LinkedHashMap<>();
        gemma.put("enrich.enricher", "gemma");
        gemma.put("enrich.gemma.model-dir", model.toString());
        gemma.put("enrich.gemma.precision", "FLOAT32");
        gemma.put("enrich.gemma.threads", "1");
        gemma.put("enrich.gemma.kv-cache-bytes", String.valueOf(64L << 20));
        gemma.put("enrich.gemma.block-size", "16");
        gemma.put("enrich.gemma.target-sequence-length", "512");
        gemma.put("enrich.gemma.max-new-tokens", "16");
        gemma.put("enrich.gemma.max-batch", "32");

        // Engine alone: the same prompts, all submitted at once.
        PromptTemplates templates = PromptTemplates.defaults();
        try (GemmaEngine engine = GemmaEngine.builder().modelDir(model)
                .modelOptions(ModelOptions.builder().precision(Precision.FLOAT32).threads(1).build())
                .kvCacheBytes(64L << 20).blockSize(16).targetSequenceLength(512).maxBatchSize(32).build()) {
            long start = System.nanoTime();
            List<CompletableFuture<EngineResult>> futures = new ArrayList<>();
            for (EnrichmentRequest r : requests) {
                futures.add(engine.submit(EngineRequest.builder().text(templates.prompt(r)).tenant(r.getTenant())
                        .params(GenerationParams.builder().temperature(0).maxNewTokens(16).build()).build())
                        .result());
            }
            CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).join();
            double s = (System.nanoTime() - start) / 1e9;
            System.out.println(String.format(Locale.ROOT, "{\"bench\":\"engine-alone\",\"requests\":%d,"
                    + "\"seconds\":%.3f,\"requestsPerSecond\":%.1f,\"meanBatch\":%.2f,\"prefixHitRate\":%.3f}", n, s,
                    n / s, engine.metrics().meanBatchSize(), engine.metrics().prefixHitRate()));
        }

        try (EmbeddedKafkaCluster kafka = EmbeddedKafkaCluster.start()) {
            kafka.createTopics(2, "bench-requests");
            kafka.createTopics(1, "bench-results", "bench-dead-letters");
            List<Expectation> inputs = new ArrayList<>();
            requests.forEach(r -> inputs.add(Expectation.result(Requests.binary(r), r.getRequestId(), null)));
            RequestProducer.send(kafka.bootstrapServers(), List.of("bench-requests"), inputs);
            Map<String, String> settings = new LinkedHashMap<>(gemma);
            settings.put("kafka.bootstrap-servers", kafka.bootstrapServers());
            settings.put("kafka.request-topics", "bench-requests");
            settings.put("kafka.result-topic", "bench-results");
            settings.put("kafka.dead-letter-topic", "bench-dead-letters");
            settings.put("kafka.bounded", "true");
            settings.put("kafka.starting-offsets", "EARLIEST");
            settings.put("job.checkpoint-interval", "500 ms");
            settings.put("job.parallelism", "2");
            settings.put("flink.restart-strategy.type", "none");
            Configuration conf = OptionsLoader.fromMap(settings);
            long start = System.nanoTime();
            EnrichmentJob.run(conf);
            double s = (System.nanoTime() - start) / 1e9;
            int committed = TopicReader.readCommitted(kafka.bootstrapServers(), "bench-results", WireCodec.results(),
                    java.time.Duration.ofSeconds(60)).size();
            System.out.println(String.format(Locale.ROOT, "{\"bench\":\"pipeline\",\"requests\":%d,\"committed\":%d,"
                    + "\"seconds\":%.3f,\"requestsPerSecond\":%.1f,\"note\":\"job submit to finish on a local "
                    + "MiniCluster, model load and 500 ms checkpoints included\"}", n, committed, s, committed / s));
        }
        System.exit(0);
    }
}
