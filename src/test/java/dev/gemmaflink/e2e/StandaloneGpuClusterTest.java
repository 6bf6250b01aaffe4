package dev.gemmaflink.e2e;

import static dev.gemmaflink.e2e.support.Expectation.deadLetter;
import static dev.gemmaflink.e2e.support.Expectation.result;
import static dev.gemmaflink.e2e.support.Requests.binary;
import static dev.gemmaflink.e2e.support.Requests.summarize;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.RegisterExtension;

import com.fasterxml.jackson.databind.JsonNode;

import dev.gemmaflink.e2e.support.Expectation;
import dev.gemmaflink.e2e.support.KafkaFlinkExtension;
import dev.gemmaflink.e2e.support.KafkaFlinkExtension.Scenario;
import dev.gemmaflink.e2e.support.PipelineRuns;
import dev.gemmaflink.e2e.support.RequestProducer;
import dev.gemmaflink.e2e.support.RequestProducer.Sent;
import dev.gemmaflink.e2e.support.Requests;
import dev.gemmaflink.e2e.support.StandaloneFlinkCluster;
import dev.gemmaflink.jobs.EnrichmentPipeline;
import dev.gemmaflink.operators.config.EnrichmentOptions;
import dev.gemmaflink.operators.config.OptionsLoader;
import dev.gemmaflink.schemas.EnrichmentResult;
import dev.gemmaflink.schemas.ErrorCode;
import dev.gemmaflink.schemas.wire.WireCodec;

/**
 * GPU placement with Flink's real GPU discovery, on a standalone cluster of separate JVMs: a JobManager, a CPU-only
 * TaskManager and a TaskManager that offers one {@code gpu} through Flink's GPU driver plugin
 * ({@code GPUDriverFactory} from a plugins folder) and a fake discovery script that reports GPU index
 * {@value #FAKE_GPU_INDEX}. The job (echo enricher, {@code inference.gpu.amount: 1}) must run its inference subtasks
 * only on the GPU TaskManager, where they see index {@value #FAKE_GPU_INDEX} (the {@code enrich.gpuIndex} gauge), and
 * write each outcome exactly once.
 *
 * <p>Both TaskManagers are up before the job is submitted. The CPU TaskManager has room for an inference slot in
 * everything but the GPU, and too few cores for the {@code io} slot (source, decode/validate, dead-letter sink), so
 * the io slot must share the GPU TaskManager with the inference slot. The job runs only because the io group's
 * resource spec asks for no GPU: a slot without a spec would take a share of the TaskManager's GPU (half of it with
 * two slots) and leave less than the one the inference slot needs.
 */
class StandaloneGpuClusterTest {

    /** Not 0: an index the slot can only have got from the discovery script. */
    static final int FAKE_GPU_INDEX = 3;
    private static final String CPU_TM = "cpu-tm";
    private static final String GPU_TM = "gpu-tm";
    private static final Duration STARTUP = Duration.ofSeconds(90);
    private static final int REQUESTS = 12;
    /** Cores of the CPU TaskManager: room for an inference slot ({@link #INFERENCE_CORES}), not for an io slot. */
    private static final String CPU_TM_CORES = "1.0";
    /** Cores of the GPU TaskManager: exactly an io slot plus an inference slot. */
    private static final String GPU_TM_CORES = "2.0";
    private static final double IO_CORES = 1.5;
    private static final double INFERENCE_CORES = 0.5;
    private static final int INFERENCE_HEAP_MB = 16;

    /** Starts the cluster's JVMs before the broker, so they start at the same time. */
    @RegisterExtension
    @Order(1)
    static final BeforeAllCallback FLINK_PROCESSES = context -> startCluster();

    @RegisterExtension
    @Order(2)
    static final KafkaFlinkExtension KAFKA = KafkaFlinkExtension.embeddedKafkaOnly();

    private static Path workDir;
    private static StandaloneFlinkCluster flink;

    private static void startCluster() throws Exception {
        String plugins = System.getProperty("flink.plugins.dir");
        assertThat(plugins).as("system property flink.plugins.dir (jobs/pom.xml sets it for surefire; the build "
                + "copies Flink's GPU plugin there in generate-test-resources)").isNotBlank();
        Path pluginsDir = Path.of(plugins).toAbsolutePath();
        assertThat(pluginsDir.resolve("external-resource-gpu")).as("Flink's GPU plugin folder").isDirectory();

        workDir = Path.of("target", "standalone-gpu-cluster", UUID.randomUUID().toString().substring(0, 8))
                .toAbsolutePath();
        Map<String, String> settings = new LinkedHashMap<>();
        // Slots cut to the slot sharing groups' resource specs, as deploy/ runs it.
        settings.put("cluster.fine-grained-resource-management.enabled", "true");
        settings.put("jobmanager.memory.process.size", "768m");
        settings.put("taskmanager.memory.process.size", "1g"); // about 220 MB task heap
        settings.put("taskmanager.memory.managed.size", "32m");
        // Bounded, with room for slow TaskManager registration on a busy machine.
        settings.put("slot.request.timeout", "90 s");
        // REST metric queries see values at most this old.
        settings.put("metrics.fetcher.update-interval", "500 ms");
        // Both TaskManagers load the same plugins; only the GPU one is configured to use the GPU driver.
        flink = StandaloneFlinkCluster.startJobManager(workDir, settings,
                Map.of("FLINK_PLUGINS_DIR", pluginsDir.toString()));
        flink.startTaskManager(CPU_TM, Map.of("taskmanager.numberOfTaskSlots", "2",
                "taskmanager.cpu.cores", CPU_TM_CORES), Map.of());
        // As deploy/ runs them: two slots per TaskManager, one GPU.
        flink.startTaskManager(GPU_TM, Map.of(
                "taskmanager.numberOfTaskSlots", "2",
                "taskmanager.cpu.cores", GPU_TM_CORES,
                "external-resources", "gpu",
                "external-resource.gpu.amount", "1",
                "external-resource.gpu.driver-factory.class",
                "org.apache.flink.externalresource.gpu.GPUDriverFactory",
                "external-resource.gpu.param.discovery-script.path", discoveryScript().toString()), Map.of());
    }

    @BeforeAll
    static void awaitTaskManagers() throws Exception {
        try {
            flink.awaitTaskManagers(2, STARTUP);
            assertThat(flink.get("/taskmanagers/" + GPU_TM).at("/totalResource/extendedResources/gpu").asDouble())
                    .as("gpu offered by " + GPU_TM).isEqualTo(1.0);
            assertThat(flink.get("/taskmanagers/" + CPU_TM).at("/totalResource/extendedResources").path("gpu")
                    .isMissingNode()).as(CPU_TM + " offers no gpu").isTrue();
        } catch (Exception | AssertionError e) {
            e.addSuppressed(new AssertionError("cluster logs:\n" + flink.logTails(60)));
            throw e;
        }
    }

    @AfterAll
    static void stopCluster() {
        if (flink != null) {
            flink.close();
        }
    }

    @Test
    void inferenceRunsOnlyOnTheGpuTaskManagerAndSeesTheDiscoveredIndex() throws Exception {
        try {
            runScenario();
        } catch (Exception | AssertionError e) {
            String tails = flink.logTails(60);
            System.err.println(tails);
            e.addSuppressed(new AssertionError("cluster logs:\n" + tails));
            throw e;
        }
    }

    private void runScenario() throws Exception {
        Scenario scenario = KAFKA.newScenario("standalone-gpu");
        Map<String, String> job = scenario.settings();
        job.put(EnrichmentOptions.BOUNDED.key(), "false"); // metrics of a finished job are gone: query it running
        job.put(EnrichmentOptions.PARALLELISM.key(), "1");
        job.put(EnrichmentOptions.INFERENCE_GPU_AMOUNT.key(), "1");
        // Small enough for the CPU TaskManager: only the GPU keeps the inference group off it.
        job.put(EnrichmentOptions.INFERENCE_CPU_CORES.key(), Double.toString(INFERENCE_CORES));
        job.put(EnrichmentOptions.INFERENCE_TASK_HEAP_MB.key(), Integer.toString(INFERENCE_HEAP_MB));
        // More cores than the CPU TaskManager has: the io slot goes to the GPU TaskManager. The default heap
        // (256 MB) is more than these small TaskManagers have (about 220 MB).
        job.put(EnrichmentOptions.IO_CPU_CORES.key(), Double.toString(IO_CORES));
        job.put(EnrichmentOptions.IO_TASK_HEAP_MB.key(), "32");

        JobClient client = submit(scenario);
        String jobId = client.getJobID().toHexString();
        List<Sent> sent;
        try {
            sent = checkPlacement(scenario, jobId);
        } catch (Exception | AssertionError e) {
            try {
                cancel(client);
            } catch (Exception cancelFailure) {
                e.addSuppressed(cancelFailure);
            }
            throw e;
        }
        // Cancelling aborts the open transactions; what was committed must be each outcome exactly once.
        cancel(client);
        List<EnrichmentResult> results = PipelineRuns.assertExactlyOneOutcomeEach(KAFKA, scenario, sent, "echo");
        assertThat(results).hasSize(REQUESTS);
    }

    /** Sends the requests, waits for their results and checks where the job runs; returns the requests sent. */
    private List<Sent> checkPlacement(Scenario scenario, String jobId) throws Exception {
        List<Expectation> inputs = new ArrayList<>();
        for (int i = 0; i < REQUESTS; i++) {
            inputs.add(result(binary(summarize("gpu-" + i, "text " + i)), "gpu-" + i, "[SUMMARIZE] text " + i));
        }
        inputs.add(deadLetter(Requests.garbage(), null, ErrorCode.DECODE_FAILED));
        List<Sent> sent = RequestProducer.send(KAFKA.bootstrapServers(), scenario.requestTopics(), inputs);

        flink.await("all results committed", STARTUP, () -> {
            String state = flink.get("/jobs/" + jobId).path("state").asText();
            if (!state.equals("RUNNING")) {
                throw new AssertionError("job " + jobId + " is " + state + " before all results were committed");
            }
            return KAFKA.readCommitted(scenario.resultTopic(), WireCodec.results()).size() >= REQUESTS
                    ? Boolean.TRUE : null;
        });

        reportFailovers(jobId);
        JsonNode enrich = vertex(jobId, "enrich");
        JsonNode subtasks = runningSubtasks(jobId, enrich);
        assertThat(subtasks).as("inference subtasks").hasSize(1);
        subtasks.forEach(s -> assertThat(s.path("taskmanager-id").asText())
                .as("TaskManager of inference subtask " + s.path("subtask")).isEqualTo(GPU_TM));
        for (String ioVertex : List.of("requests", "dead-letters")) {
            JsonNode vertex = vertex(jobId, ioVertex);
            runningSubtasks(jobId, vertex)
                    .forEach(s -> assertThat(s.path("taskmanager-id").asText())
                            .as("TaskManager of a subtask of " + vertex.path("name").asText()).isEqualTo(GPU_TM));
        }
        checkSlots();

        Map<String, String> gauges = flink.await("the enrich.gpuIndex gauge of every inference subtask",
                Duration.ofSeconds(30), () -> gpuIndexGauges(jobId, enrich.path("id").asText(),
                        subtasks.size()));
        assertThat(gauges).as("enrich.gpuIndex by metric").isNotEmpty()
                .allSatisfy((metric, value) -> assertThat(value).as(metric)
                        .isEqualTo(Integer.toString(FAKE_GPU_INDEX)));
        return sent;
    }

    /**
     * The GPU TaskManager holds the job's two slots: the inference slot with the whole GPU, the io slot with none;
     * the CPU TaskManager holds none although it has room for the inference slot in everything but the GPU.
     */
    private static void checkSlots() throws Exception {
        JsonNode gpuTm = flink.get("/taskmanagers/" + GPU_TM);
        JsonNode slots = gpuTm.path("allocatedSlots");
        assertThat(slots).as("slots allocated on " + GPU_TM + ": " + slots).hasSize(2);
        JsonNode inferenceSlot = null;
        JsonNode ioSlot = null;
        for (JsonNode slot : slots) {
            if (slot.at("/resource/extendedResources/gpu").asDouble(0) > 0) {
                inferenceSlot = slot;
            } else {
                ioSlot = slot;
            }
        }
        assertThat(inferenceSlot).as("a slot with a gpu on " + GPU_TM + ": " + slots).isNotNull();
        assertThat(ioSlot).as("a slot without a gpu on " + GPU_TM + ": " + slots).isNotNull();
        assertThat(inferenceSlot.at("/resource/extendedResources/gpu").asDouble()).isEqualTo(1.0);
        assertThat(inferenceSlot.at("/resource/cpuCores").asDouble()).isEqualTo(INFERENCE_CORES);
        assertThat(ioSlot.at("/resource/cpuCores").asDouble()).as("io slot " + ioSlot).isEqualTo(IO_CORES);
        // Flink leaves a resource with nothing left out of the free resources.
        assertThat(gpuTm.at("/freeResource/extendedResources/gpu").asDouble(0.0))
                .as("gpu free on " + GPU_TM + ": " + gpuTm.path("freeResource")).isEqualTo(0.0);
        assertThat(ioSlot.at("/resource/extendedResources/gpu").asDouble(0.0)).as("gpu of the io slot").isZero();

        JsonNode cpuTm = flink.get("/taskmanagers/" + CPU_TM);
        assertThat(cpuTm.path("allocatedSlots")).as("slots allocated on " + CPU_TM).isEmpty();
        JsonNode cpuTmFree = cpuTm.path("freeResource");
        assertThat(cpuTmFree.path("cpuCores").asDouble()).as("CPU cores free on " + CPU_TM + ": " + cpuTmFree)
                .isGreaterThanOrEqualTo(INFERENCE_CORES).isLessThan(IO_CORES);
        assertThat(cpuTmFree.path("taskHeapMemory").asLong()).as("task heap MB free on " + CPU_TM + ": " + cpuTmFree)
                .isGreaterThanOrEqualTo(INFERENCE_HEAP_MB);
    }

    /** Cancels the job unless it already ended, and waits until it has. */
    private static void cancel(JobClient client) throws Exception {
        if (!client.getJobStatus().get(30, TimeUnit.SECONDS).isGloballyTerminalState()) {
            client.cancel().get(60, TimeUnit.SECONDS);
        }
    }

    /** Submits the pipeline to the cluster's REST endpoint, as {@code flink run} would, without a jar. */
    private static JobClient submit(Scenario scenario) throws Exception {
        Configuration conf = OptionsLoader.load(null, scenario.settings());
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createRemoteEnvironment("localhost",
                flink.restPort(), OptionsLoader.flinkSettings(conf));
        env.setParallelism(conf.get(EnrichmentOptions.PARALLELISM));
        env.enableCheckpointing(conf.get(EnrichmentOptions.CHECKPOINT_INTERVAL).toMillis());
        EnrichmentPipeline.builder(conf).build().addTo(env);
        return env.executeAsync(scenario.id());
    }

    /** A discovery script as Flink's GPU driver runs it (argument: the amount); prints the indices it found. */
    private static Path discoveryScript() throws Exception {
        Path dir = workDir;
        if (dir.toString().matches(".*\\s.*")) {
            // The GPU driver splits its command line at whitespace.
            dir = Files.createTempDirectory("gpu-discovery");
        }
        Path script = dir.resolve("fake-gpu-discovery.sh");
        Files.writeString(script, """
                #!/bin/sh
                # Fake GPU discovery for StandaloneGpuClusterTest: Flink's GPUDriver passes the amount of GPUs.
                if [ "$1" != "1" ]; then echo "expected amount 1, got '$1'" >&2; exit 1; fi
                echo %d
                """.formatted(FAKE_GPU_INDEX), StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        return script;
    }

    private static JsonNode vertex(String jobId, String namePart) throws Exception {
        for (JsonNode v : flink.get("/jobs/" + jobId).path("vertices")) {
            if (v.path("name").asText().contains(namePart)) {
                return v;
            }
        }
        throw new AssertionError("job " + jobId + " has no vertex whose name contains " + namePart);
    }

    /**
     * The subtasks of a vertex once each is running on a TaskManager. A task failover (which the exactly-once check
     * at the end tolerates) leaves the new attempts unassigned until their slots are allocated again.
     */
    private static JsonNode runningSubtasks(String jobId, JsonNode vertex) throws Exception {
        String path = "/jobs/" + jobId + "/vertices/" + vertex.path("id").asText();
        return flink.await("every subtask of " + vertex.path("name").asText() + " running", STARTUP, () -> {
            JsonNode subtasks = flink.get(path).path("subtasks");
            for (JsonNode s : subtasks) {
                if (!s.path("status").asText().equals("RUNNING")) {
                    return null;
                }
            }
            return subtasks.isEmpty() ? null : subtasks;
        });
    }

    /** Prints the job's exception history, so that a failover during the run is explained in the test output. */
    private static void reportFailovers(String jobId) throws Exception {
        JsonNode history = flink.get("/jobs/" + jobId + "/exceptions").path("exceptionHistory").path("entries");
        for (JsonNode entry : history) {
            System.err.println("job " + jobId + " failed over: " + entry.path("exceptionName").asText() + " in "
                    + entry.path("taskName").asText() + "\n" + entry.path("stacktrace").asText());
        }
    }

    /** The {@code enrich.gpuIndex} gauge values of a vertex by metric id; null until each subtask reports one. */
    private static Map<String, String> gpuIndexGauges(String jobId, String vertexId, int subtasks) throws Exception {
        String base = "/jobs/" + jobId + "/vertices/" + vertexId + "/metrics";
        List<String> ids = new ArrayList<>();
        for (JsonNode m : flink.get(base)) {
            if (m.path("id").asText().endsWith(".enrich.gpuIndex")) {
                ids.add(m.path("id").asText());
            }
        }
        if (ids.size() < subtasks) {
            return null;
        }
        Map<String, String> values = new LinkedHashMap<>();
        for (JsonNode m : flink.get(base + "?get=" + String.join(",", ids))) {
            values.put(m.path("id").asText(), m.path("value").asText());
        }
        return values;
    }
}
