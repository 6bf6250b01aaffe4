package dev.gemmaflink.e2e.bench;

import java.io.DataInputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.CheckpointType;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.runtime.checkpoint.AbstractCheckpointStats;
import org.apache.flink.runtime.checkpoint.Checkpoints;
import org.apache.flink.runtime.checkpoint.CompletedCheckpointStats;
import org.apache.flink.runtime.checkpoint.OperatorState;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.checkpoint.SubtaskStateStats;
import org.apache.flink.runtime.checkpoint.TaskStateStats;
import org.apache.flink.runtime.checkpoint.metadata.CheckpointMetadata;
import org.apache.flink.runtime.execution.ExecutionState;
import org.apache.flink.runtime.executiongraph.AccessExecutionGraph;
import org.apache.flink.runtime.executiongraph.AccessExecutionJobVertex;
import org.apache.flink.runtime.executiongraph.AccessExecutionVertex;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.util.TestStreamEnvironment;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import dev.gemmaflink.e2e.support.Requests;
import dev.gemmaflink.jobs.EnrichmentJob;
import dev.gemmaflink.jobs.EnrichmentPipeline;
import dev.gemmaflink.jobs.local.EmbeddedKafkaCluster;
import dev.gemmaflink.jobs.local.TopicReader;
import dev.gemmaflink.operators.config.OptionsLoader;
import dev.gemmaflink.operators.model.SourceRecord;
import dev.gemmaflink.operators.model.ValidatedRequest;
import dev.gemmaflink.schemas.EnrichmentRequest;
import dev.gemmaflink.schemas.EnrichmentResult;
import dev.gemmaflink.schemas.wire.WireCodec;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * How big a checkpoint gets while caption requests with large images are in flight in the enrich stage.
 *
 * <p>Runs the enrichment job ({@link EnrichmentPipeline}, exactly once, its own checkpoint settings: aligned unless
 * {@code --unaligned}) on a local MiniCluster against an embedded Kafka broker, with an enricher that holds every
 * request until the bench releases it ({@link HoldingEnricher}, echo answers). Then:
 * <ol>
 *   <li>checkpoint {@code idle}: the job running, nothing sent;</li>
 *   <li>publishes {@code --requests} CAPTION requests, each with an image of {@code --image-bytes} random bytes
 *       (PNG signature first, so validation passes), waits until all of them are held by the enricher (in flight in
 *       the async operator, {@code enrich.async-capacity} at least {@code --requests}) and takes checkpoint
 *       {@code in-flight};</li>
 *   <li>releases them, and takes checkpoints ({@code released}) until every result is committed (the first ones
 *       may still hold answered requests the operator has not emitted yet); checks that each result shows that the
 *       enricher saw the whole image ({@code <image/png N bytes>}).</li>
 * </ol>
 * Checkpoints are triggered by hand ({@link MiniCluster#triggerCheckpoint(JobID, CheckpointType)}, the periodic
 * interval is 10 min). For each it prints JSON lines: the checkpoint's totals from Flink's checkpoint statistics
 * ({@code stateSize}, {@code checkpointedSize}, {@code persistedData} of unaligned in-flight buffers), one line per
 * task (job vertex, chained operators together) from the same statistics, and one line per operator read back from
 * the checkpoint's {@code _metadata} (operator state, keyed state, in-flight channel state). A first line gives the
 * serialized size of one {@link ValidatedRequest} as the job's serializer writes it.
 *
 * <p>Run with the jobs test class path (see {@code bin/checkpoint-size-bench}); about 2 GiB of heap for the default
 * 64 requests of 8 MiB: {@code java -Xmx6g -cp ... dev.gemmaflink.e2e.bench.CheckpointSizeBench}.
 */
@Command(name = "checkpoint-size-bench", mixinStandardHelpOptions = true,
        description = "Checkpoint size with caption requests in flight in the enrich stage; JSON lines on stdout.")
public final class CheckpointSizeBench implements Callable<Integer> {

    private static final String JOB_NAME = "checkpoint-size-bench";
    private static final WireCodec<EnrichmentResult> RESULTS = WireCodec.results();

    @Option(names = "--requests", defaultValue = "64", description = "Caption requests held in flight.")
    int requests;

    @Option(names = "--image-bytes", defaultValue = "8388608", description = "Bytes of each image (default 8 MiB).")
    int imageBytes;

    @Option(names = "--async-capacity", defaultValue = "64",
            description = "enrich.async-capacity; at least --requests.")
    int asyncCapacity;

    @Option(names = "--unaligned", defaultValue = "false",
            description = "Unaligned checkpoints (flink.execution.checkpointing.unaligned.enabled).")
    boolean unaligned;

    @Option(names = "--ordered", defaultValue = "false", description = "enrich.ordered (ordered async wait).")
    boolean ordered;

    @Option(names = "--timeout", defaultValue = "PT10M", description = "Longest wait for any phase (ISO-8601).")
    Duration timeout;

    public static void main(String[] args) {
        int code = new CommandLine(new CheckpointSizeBench()).execute(args);
        // Flink and Kafka leave non-daemon threads behind.
        System.exit(code);
    }

    @Override
    public Integer call() throws Exception {
        if (asyncCapacity < requests) {
            throw new IllegalArgumentException("--async-capacity " + asyncCapacity + " is below --requests "
                    + requests + ": not all of them could be in flight");
        }
        String runId = "ckpt-" + UUID.randomUUID().toString().substring(0, 8);
        Path work = Files.createTempDirectory("checkpoint-size-bench-");
        JsonLine setup = new JsonLine().put("bench", "checkpoint-size").put("requests", requests)
                .put("imageBytes", imageBytes).put("asyncCapacity", asyncCapacity).put("unaligned", unaligned)
                .put("ordered", ordered);

        Configuration cluster = new Configuration();
        MiniCluster flink = new MiniCluster(new MiniClusterConfiguration.Builder().setConfiguration(cluster)
                .setNumTaskManagers(1).setNumSlotsPerTaskManager(4).withRandomPorts().build());
        flink.start();
        TestStreamEnvironment.setAsContext(flink, 1);
        try (EmbeddedKafkaCluster kafka = EmbeddedKafkaCluster.start()) {
            String requestTopic = runId + "-requests";
            String resultTopic = runId + "-results";
            int maxRecord = imageBytes + (1 << 20);
            createTopic(kafka, requestTopic, maxRecord);
            createTopic(kafka, resultTopic, null);
            createTopic(kafka, runId + "-dead-letters", null);

            Configuration conf = OptionsLoader.fromMap(jobSettings(kafka, runId, work));
            StreamExecutionEnvironment env = EnrichmentJob.environment(conf);
            EnrichmentPipeline.builder(conf).enricher(new HoldingEnricher(runId)).build().addTo(env);
            TypeSerializer<ValidatedRequest> serializer = TypeInformation.of(ValidatedRequest.class)
                    .createSerializer(env.getConfig().getSerializerConfig());
            JobClient job = env.executeAsync(JOB_NAME);
            JobID jobId = job.getJobID();
            try {
                awaitRunning(flink, jobId);
                byte[] first = encoded(0);
                System.out.println(new JsonLine().putAll(setup).put("phase", "element")
                        .put("recordValueBytes", first.length)
                        .put("validatedRequestSerializer", serializer.getClass().getSimpleName())
                        .put("validatedRequestSerializedBytes", serializedSize(serializer, first)));

                long idle = report(flink, jobId, "idle", setup, runId);

                publish(kafka, requestTopic, maxRecord);
                await("all " + requests + " requests held by the enricher",
                        () -> HoldingEnricher.held(runId) >= requests);
                long inFlight = report(flink, jobId, "in-flight", setup, runId);
                System.out.println(new JsonLine().putAll(setup).put("phase", "summary")
                        .put("idleStateSize", idle).put("inFlightStateSize", inFlight)
                        .put("inFlightStateSizeMiB", inFlight / 1048576.0)
                        .put("bytesPerInFlightRequest", (inFlight - idle) / requests)
                        .put("bytesPerInFlightRequestOverImage", (double) (inFlight - idle) / requests / imageBytes));

                HoldingEnricher.release(runId);
                List<EnrichmentResult> committed = List.of();
                long deadline = System.nanoTime() + timeout.toNanos();
                while (committed.size() < requests) {
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("only " + committed.size() + " of " + requests
                                + " results committed after " + timeout);
                    }
                    report(flink, jobId, "released", setup, runId);
                    committed = TopicReader.readCommitted(kafka.bootstrapServers(), resultTopic, RESULTS,
                            Duration.ofSeconds(60));
                }
                String seen = "<image/png " + imageBytes + " bytes>";
                long whole = committed.stream().filter(r -> r.getOutputText().contains(seen)).count();
                System.out.println(new JsonLine().putAll(setup).put("phase", "results").put("committed",
                        committed.size()).put("enricherSawWholeImage", whole));
                if (whole != requests) {
                    throw new IllegalStateException("the enricher did not see every image whole: " + committed);
                }
            } finally {
                job.cancel().get(60, TimeUnit.SECONDS);
            }
        } finally {
            TestStreamEnvironment.unsetAsContext();
            flink.close();
            org.apache.flink.util.FileUtils.deleteDirectoryQuietly(work.toFile());
        }
        return 0;
    }

    private Map<String, String> jobSettings(EmbeddedKafkaCluster kafka, String runId, Path work) {
        Map<String, String> s = new LinkedHashMap<>();
        s.put("kafka.bootstrap-servers", kafka.bootstrapServers());
        s.put("kafka.request-topics", runId + "-requests");
        s.put("kafka.result-topic", runId + "-results");
        s.put("kafka.dead-letter-topic", runId + "-dead-letters");
        s.put("kafka.group-id", runId);
        s.put("kafka.transactional-id-prefix", runId);
        s.put("kafka.starting-offsets", "EARLIEST");
        s.put("kafka.bounded", "false");
        s.put("kafka.transaction-timeout", "15 min");
        s.put("job.name", JOB_NAME);
        s.put("job.restore", "NONE");
        s.put("job.checkpoint-dir", work.resolve("checkpoints").toUri().toString());
        // Checkpoints are triggered by hand; the periodic ones must not interfere.
        s.put("job.checkpoint-interval", "10 min");
        s.put("job.parallelism", "1");
        s.put("inference.parallelism", "1");
        s.put("enrich.async-capacity", String.valueOf(asyncCapacity));
        s.put("enrich.async-timeout", timeout.toString());
        s.put("enrich.ordered", String.valueOf(ordered));
        s.put("validation.max-image-bytes", String.valueOf(Math.max(imageBytes, 8 << 20)));
        s.put("flink.restart-strategy.type", "none");
        s.put("flink.execution.checkpointing.unaligned.enabled", String.valueOf(unaligned));
        return s;
    }

    /** Request {@code i}: CAPTION, an image of random bytes behind a PNG signature, in the binary wire format. */
    private byte[] encoded(int i) {
        byte[] image = new byte[imageBytes];
        new Random(i).nextBytes(image);
        byte[] png = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
        System.arraycopy(png, 0, image, 0, Math.min(png.length, image.length));
        EnrichmentRequest request = Requests.request("cap-" + i, "CAPTION").setText("Describe it.")
                .setImage(Requests.imageBytes(ByteBuffer.wrap(image), "image/png")).build();
        return Requests.binary(request);
    }

    /** Bytes the job's serializer writes for the request the decode stage makes of {@code value}. */
    private static int serializedSize(TypeSerializer<ValidatedRequest> serializer, byte[] value) throws Exception {
        ValidatedRequest validated = ValidatedRequest.of(new SourceRecord("t", 0, 0L, 0L, null, value),
                Requests.CODEC.decode(value));
        DataOutputSerializer out = new DataOutputSerializer(1 << 20);
        serializer.serialize(validated, out);
        return out.length();
    }

    private void publish(EmbeddedKafkaCluster kafka, String topic, int maxRecord) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, String.valueOf(maxRecord));
        p.put(ProducerConfig.BUFFER_MEMORY_CONFIG, String.valueOf(4L * maxRecord));
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(),
                new ByteArraySerializer())) {
            for (int i = 0; i < requests; i++) {
                producer.send(new ProducerRecord<>(topic, null, encoded(i)));
            }
            producer.flush();
        }
    }

    /** Triggers a checkpoint, waits for it, prints its totals, its tasks and its operators; returns its state size. */
    private long report(MiniCluster flink, JobID jobId, String phase, JsonLine setup, String runId)
            throws Exception {
        int held = HoldingEnricher.held(runId);
        long started = System.nanoTime();
        long id = flink.triggerCheckpoint(jobId, CheckpointType.FULL).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        double seconds = (System.nanoTime() - started) / 1e9;
        CompletedCheckpointStats stats = completedStats(flink, jobId, id);
        JsonLine base = new JsonLine().putAll(setup).put("phase", phase).put("checkpointId", id)
                .put("heldByEnricher", held);
        System.out.println(new JsonLine().putAll(base).put("scope", "checkpoint")
                .put("stateSize", stats.getStateSize()).put("checkpointedSize", stats.getCheckpointedSize())
                .put("persistedData", stats.getPersistedData()).put("processedData", stats.getProcessedData())
                .put("unalignedCheckpoint", stats.isUnalignedCheckpoint())
                .put("endToEndMillis", stats.getEndToEndDuration()).put("triggerToCompleteSeconds", seconds)
                .put("stateSizeMiB", stats.getStateSize() / 1048576.0));

        AccessExecutionGraph graph = flink.getExecutionGraph(jobId).get(60, TimeUnit.SECONDS);
        for (AccessExecutionJobVertex vertex : graph.getVerticesTopologically()) {
            TaskStateStats task = stats.getTaskStateStats(vertex.getJobVertexId());
            if (task == null) {
                continue;
            }
            long sync = 0;
            long async = 0;
            for (SubtaskStateStats subtask : task.getSubtaskStats()) {
                if (subtask != null) {
                    sync = Math.max(sync, subtask.getSyncCheckpointDuration());
                    async = Math.max(async, subtask.getAsyncCheckpointDuration());
                }
            }
            System.out.println(new JsonLine().putAll(base).put("scope", "task").put("task", vertex.getName())
                    .put("stateSize", task.getStateSize()).put("checkpointedSize", task.getCheckpointedSize())
                    .put("persistedData", task.getPersistedDataStats()).put("syncMillis", sync)
                    .put("asyncMillis", async));
        }

        for (OperatorState operator : metadata(stats).getOperatorStates()) {
            long managedOperator = 0;
            long managedKeyed = 0;
            long raw = 0;
            long channels = 0;
            for (OperatorSubtaskState s : operator.getStates()) {
                managedOperator += s.getManagedOperatorState().getStateSize();
                managedKeyed += s.getManagedKeyedState().getStateSize();
                raw += s.getRawOperatorState().getStateSize() + s.getRawKeyedState().getStateSize();
                channels += s.getInputChannelState().getStateSize() + s.getResultSubpartitionState().getStateSize();
            }
            long coordinator = operator.getCoordinatorState() == null ? 0
                    : operator.getCoordinatorState().getStateSize();
            System.out.println(new JsonLine().putAll(base).put("scope", "operator")
                    .put("operator", operator.getOperatorName().orElse(operator.getOperatorID().toString()))
                    .put("uid", operator.getOperatorUid().orElse(null))
                    .put("stateSize", operator.getStateSize()).put("managedOperatorState", managedOperator)
                    .put("managedKeyedState", managedKeyed).put("rawState", raw).put("channelState", channels)
                    .put("coordinatorState", coordinator));
        }
        System.out.flush();
        return stats.getStateSize();
    }

    private CompletedCheckpointStats completedStats(MiniCluster flink, JobID jobId, long id) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            AbstractCheckpointStats stats = flink.getExecutionGraph(jobId).get(60, TimeUnit.SECONDS)
                    .getCheckpointStatsSnapshot().getHistory().getCheckpointById(id);
            if (stats instanceof CompletedCheckpointStats completed) {
                return completed;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("no statistics of completed checkpoint " + id + ": " + stats);
            }
            Thread.sleep(100);
        }
    }

    /** The checkpoint's {@code _metadata}, read back from the retained checkpoint folder. */
    private static CheckpointMetadata metadata(CompletedCheckpointStats stats) throws Exception {
        String pointer = stats.getExternalPath();
        org.apache.flink.core.fs.Path file = pointer.endsWith("/_metadata") ? new org.apache.flink.core.fs.Path(pointer)
                : new org.apache.flink.core.fs.Path(pointer, "_metadata");
        try (DataInputStream in = new DataInputStream(file.getFileSystem().open(file))) {
            return Checkpoints.loadCheckpointMetadata(in, CheckpointSizeBench.class.getClassLoader(), pointer);
        }
    }

    private void awaitRunning(MiniCluster flink, JobID jobId) throws Exception {
        await("every task running", () -> {
            try {
                AccessExecutionGraph graph = flink.getExecutionGraph(jobId).get(60, TimeUnit.SECONDS);
                if (graph.getState().isGloballyTerminalState()) {
                    throw new IllegalStateException("the job ended: " + graph.getState()
                            + (graph.getFailureInfo() == null ? "" : " " + graph.getFailureInfo().getExceptionAsString()));
                }
                if (graph.getState() != JobStatus.RUNNING) {
                    return false;
                }
                for (AccessExecutionVertex v : graph.getAllExecutionVertices()) {
                    if (v.getExecutionState() != ExecutionState.RUNNING) {
                        return false;
                    }
                }
                return true;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    private void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("timed out after " + timeout + " waiting for " + what);
            }
            Thread.sleep(100);
        }
    }

    /** One partition; {@code maxMessageBytes} null keeps the broker's limit. */
    private static void createTopic(EmbeddedKafkaCluster kafka, String topic, Integer maxMessageBytes)
            throws Exception {
        Map<String, String> configs = new LinkedHashMap<>();
        configs.put("min.insync.replicas", "1");
        if (maxMessageBytes != null) {
            configs.put("max.message.bytes", String.valueOf(maxMessageBytes));
        }
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        try (Admin admin = Admin.create(props)) {
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1).configs(configs))).all()
                    .get(60, TimeUnit.SECONDS);
        }
    }
}
