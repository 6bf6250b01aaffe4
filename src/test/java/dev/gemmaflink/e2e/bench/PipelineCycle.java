package dev.gemmaflink.e2e.bench;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import dev.gemmaflink.jobs.EnrichmentJob;
import dev.gemmaflink.jobs.EnrichmentPipeline;
import dev.gemmaflink.jobs.local.EmbeddedKafkaCluster;
import dev.gemmaflink.operators.config.OptionsLoader;
import dev.gemmaflink.runtime.engine.EngineMetrics;
import dev.gemmaflink.runtime.engine.GemmaEngine;
import dev.gemmaflink.schemas.EnrichmentRequest;
import dev.gemmaflink.schemas.EnrichmentResult;
import dev.gemmaflink.schemas.wire.WireCodec;

/**
 * One running enrichment job (unbounded, exactly once, on a local MiniCluster) with fresh topics, a producer for the
 * requests and a {@code read_committed} consumer of both output topics, so rounds can be timed on a warm job:
 * the clock runs from the first publish to the moment the last result of the round is visible to the consumer
 * (the final checkpoint's commit included).
 */
final class PipelineCycle implements AutoCloseable {

    private static final WireCodec<EnrichmentRequest> REQUESTS = WireCodec.requests();
    private static final WireCodec<EnrichmentResult> RESULTS = WireCodec.results();

    private final String requestTopic;
    private final JobClient job;
    private final KafkaProducer<byte[], byte[]> producer;
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final String resultTopic;

    /**
     * Creates the cycle's topics and starts the job.
     *
     * @param settings the job's settings without the Kafka topics and addresses
     * @param requestPartitions partitions of the request topic
     */
    PipelineCycle(EmbeddedKafkaCluster kafka, Map<String, String> settings, int cycle, int requestPartitions)
            throws Exception {
        requestTopic = "bench-requests-" + cycle;
        resultTopic = "bench-results-" + cycle;
        String deadLetterTopic = "bench-dead-letters-" + cycle;
        kafka.createTopics(requestPartitions, requestTopic);
        kafka.createTopics(1, resultTopic, deadLetterTopic);
        Map<String, String> all = new LinkedHashMap<>(settings);
        all.put("kafka.bootstrap-servers", kafka.bootstrapServers());
        all.put("kafka.request-topics", requestTopic);
        all.put("kafka.result-topic", resultTopic);
        all.put("kafka.dead-letter-topic", deadLetterTopic);
        all.put("kafka.group-id", "bench-" + cycle);
        all.put("kafka.transactional-id-prefix", "bench-" + cycle);
        all.put("kafka.starting-offsets", "EARLIEST");
        all.put("job.restore", "NONE");
        all.put("job.checkpoint-dir", java.nio.file.Files.createTempDirectory("bench-checkpoints-").toUri().toString());
        all.put("kafka.bounded", "false");
        all.put("flink.restart-strategy.type", "none");
        Configuration conf = OptionsLoader.fromMap(all);
        StreamExecutionEnvironment env = EnrichmentJob.environment(conf);
        EnrichmentPipeline.builder(conf).build().addTo(env);
        job = env.executeAsync("pipeline-bench-" + cycle);

        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());

        Properties c = new Properties();
        c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        consumer = new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        List<TopicPartition> outputs = List.of(new TopicPartition(resultTopic, 0),
                new TopicPartition(deadLetterTopic, 0));
        consumer.assign(outputs);
        consumer.seekToBeginning(outputs);
    }

    /**
     * Publishes the requests and waits until every one has a committed result or dead letter.
     *
     * @param engine the engine the job's subtasks share (metrics of the round)
     * @throws TimeoutException when the round does not finish within {@code timeout}
     */
    RoundResult round(List<EnrichmentRequest> requests, GemmaEngine engine, Duration timeout) throws Exception {
        Set<String> pending = new HashSet<>();
        requests.forEach(r -> pending.add(r.getRequestId()));
        List<EnrichmentResult> results = new ArrayList<>(requests.size());
        int deadLetters = 0;
        EngineMetrics before = engine.metrics();
        Instant wallStart = Instant.now();
        long start = System.nanoTime();
        for (EnrichmentRequest r : requests) {
            producer.send(new ProducerRecord<>(requestTopic, null, REQUESTS.encode(r)));
        }
        producer.flush();
        double publishSeconds = (System.nanoTime() - start) / 1e9;
        long deadline = start + timeout.toNanos();
        while (!pending.isEmpty()) {
            if (System.nanoTime() > deadline) {
                throw new TimeoutException("round not done after " + timeout + ": " + pending.size() + " of "
                        + requests.size() + " requests have no committed outcome");
            }
            for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(100))) {
                if (record.topic().equals(resultTopic)) {
                    EnrichmentResult result = RESULTS.decode(record.value());
                    if (pending.remove(result.getRequestId())) {
                        results.add(result);
                    }
                } else {
                    String id = WireCodec.deadLetters().decode(record.value()).getRequestId();
                    if (id != null && pending.remove(id)) {
                        deadLetters++;
                    }
                }
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        EngineMetrics after = engine.metrics();
        long prompt = 0;
        long generated = 0;
        Instant lastProduced = wallStart;
        for (EnrichmentResult r : results) {
            prompt += r.getPromptTokens();
            generated += r.getOutputTokens();
            if (r.getProcessingTime().isAfter(lastProduced)) {
                lastProduced = r.getProcessingTime();
            }
        }
        double producedSeconds = Duration.between(wallStart, lastProduced).toNanos() / 1e9;
        JsonLine extra = new JsonLine().put("deadLetters", deadLetters).put("publishSeconds", publishSeconds)
                .put("lastResultProducedSeconds", producedSeconds)
                .put("commitWaitSeconds", Math.max(0, seconds - producedSeconds));
        return new RoundResult("pipeline", requests.size(), results.size(), seconds, prompt, generated,
                EngineWindow.between(before, after), extra);
    }

    /** Cancels the job and waits for it to end (its subtasks release their engine leases), then closes clients. */
    @Override
    public void close() throws Exception {
        try {
            job.cancel().get(60, TimeUnit.SECONDS);
            job.getJobExecutionResult().get(60, TimeUnit.SECONDS);
        } catch (ExecutionException expected) {
            // A cancelled job's result future fails; that is how it ends here.
        } finally {
            producer.close(Duration.ofSeconds(5));
            consumer.close(Duration.ofSeconds(5));
        }
    }
}
