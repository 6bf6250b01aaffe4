package dev.gemmaflink.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExternalizedCheckpointRetention;
import org.apache.flink.configuration.FallbackKey;
import org.apache.flink.configuration.HighAvailabilityOptions;
import org.junit.jupiter.api.Test;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

import dev.gemmaflink.operators.config.EnrichmentOptions;
import dev.gemmaflink.operators.config.EnrichmentOptions.RestoreMode;
import dev.gemmaflink.operators.config.OptionsLoader;
import dev.gemmaflink.operators.kafka.KafkaClientProperties;
import dev.gemmaflink.operators.model.DeadLetters;

/**
 * The deployment files parse and agree with the job: jar, entry class, GPU keys, restarts from Flink state (last-state
 * upgrades, Kubernetes HA, job.restore FLINK), topics and their record size limits.
 */
class DeployFilesTest {

    private static final Path DEPLOY = Path.of("..", "deploy");

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> documents() throws IOException {
        List<Map<String, Object>> docs = new ArrayList<>();
        try (Stream<Path> files = Files.walk(DEPLOY)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".yaml") || f.toString().endsWith(".yml"))
                    .toList()) {
                for (Object doc : new Load(LoadSettings.builder().build()).loadAllFromString(Files.readString(file))) {
                    assertThat(doc).as("a YAML document of " + file).isInstanceOf(Map.class);
                    docs.add((Map<String, Object>) doc);
                }
            }
        }
        return docs;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Map<String, Object> m, String key) {
        assertThat(m).containsKey(key);
        return (Map<String, Object>) m.get(key);
    }

    private static Map<String, Object> flinkDeployment() throws IOException {
        List<Map<String, Object>> found = documents().stream().filter(d -> "FlinkDeployment".equals(d.get("kind")))
                .toList();
        assertThat(found).hasSize(1);
        return found.get(0);
    }

    @Test
    void flinkDeploymentRunsTheShadedJarsEntryClassFromTheImage() throws IOException {
        Map<String, Object> job = map(map(flinkDeployment(), "spec"), "job");
        String jarUri = (String) job.get("jarURI");
        assertThat(job.get("entryClass")).isEqualTo(EnrichmentJob.class.getName());
        String dockerfile = Files.readString(DEPLOY.resolve("Dockerfile"));
        Matcher copy = Pattern.compile("(?m)^COPY (\\S+) (\\S+)$").matcher(dockerfile);
        assertThat(copy.find()).as("a COPY of the job jar in the Dockerfile").isTrue();
        assertThat(jarUri).isEqualTo("local://" + copy.group(2));
        // The jar the Dockerfile copies is the one the jobs build shades.
        String pom = Files.readString(Path.of("pom.xml"));
        assertThat(copy.group(1)).isEqualTo("jobs/target/jobs-0.1.0-SNAPSHOT-job.jar");
        assertThat(pom).contains("<shadedClassifierName>job</shadedClassifierName>");
        assertThat(dockerfile).doesNotContain("http://", "https://", "curl", "wget");
    }

    @Test
    void taskManagersOfferTheGpuAndCheckpointsHaveAHome() throws IOException {
        Map<String, Object> spec = map(flinkDeployment(), "spec");
        Map<String, Object> conf = map(spec, "flinkConfiguration");
        assertThat(conf).containsEntry("external-resources", "gpu")
                .containsEntry("external-resource.gpu.amount", "1")
                .containsEntry("external-resource.gpu.driver-factory.class",
                        "org.apache.flink.externalresource.gpu.GPUDriverFactory")
                .containsKey("external-resource.gpu.param.discovery-script.path")
                .containsKey(CheckpointingOptions.CHECKPOINTS_DIRECTORY.key())
                .containsKey("metrics.reporter.prom.factory.class");
        String podTemplate = spec.get("taskManager").toString();
        assertThat(podTemplate).contains("nvidia.com/gpu=1", "PYTORCH_LIBRARY_PATH", "PYTORCH_FLAVOR",
                "tolerations", "nodeSelector");
    }

    @SuppressWarnings("unchecked")
    private static Map<String, String> jobArguments() throws IOException {
        List<Object> args = (List<Object>) map(map(flinkDeployment(), "spec"), "job").get("args");
        Map<String, String> settings = new LinkedHashMap<>();
        for (int i = 0; i < args.size(); i += 2) {
            assertThat(args.get(i)).isEqualTo("--set");
            String assignment = String.valueOf(args.get(i + 1));
            settings.put(assignment.substring(0, assignment.indexOf('=')),
                    assignment.substring(assignment.indexOf('=') + 1));
        }
        return settings;
    }

    @Test
    void jobArgumentsAreAValidConfigurationUsingTheDefaultTopicsThatKafkaTopicsCreate() throws IOException {
        Map<String, String> settings = jobArguments();
        var conf = OptionsLoader.fromMap(settings);
        assertThat(conf.get(EnrichmentOptions.INFERENCE_GPU_AMOUNT)).isEqualTo(1.0);
        // The stages' parallelism comes from the job's options, not from the operator's spec.job.parallelism.
        assertThat(conf.get(EnrichmentOptions.PARALLELISM))
                .isEqualTo(map(map(flinkDeployment(), "spec"), "job").get("parallelism"));
        List<String> jobTopics = new ArrayList<>(conf.get(EnrichmentOptions.REQUEST_TOPICS));
        jobTopics.add(conf.get(EnrichmentOptions.RESULT_TOPIC));
        jobTopics.add(conf.get(EnrichmentOptions.DEAD_LETTER_TOPIC));
        List<String> defaults = new ArrayList<>(EnrichmentOptions.REQUEST_TOPICS.defaultValue());
        defaults.add(EnrichmentOptions.RESULT_TOPIC.defaultValue());
        defaults.add(EnrichmentOptions.DEAD_LETTER_TOPIC.defaultValue());
        assertThat(jobTopics).containsExactlyElementsOf(defaults);

        List<String> kafkaTopics = documents().stream().filter(d -> "KafkaTopic".equals(d.get("kind")))
                .map(d -> (String) map(d, "metadata").get("name")).toList();
        assertThat(kafkaTopics).containsExactlyInAnyOrderElementsOf(defaults);
        String script = Files.readString(DEPLOY.resolve("kafka/create-topics.sh"));
        defaults.forEach(topic -> assertThat(script).contains("create " + topic + " "));
    }

    /**
     * Each GPU TaskManager fits one inference slot and one io slot, and only the inference slot asks for the GPU:
     * the job needs as many TaskManagers as inference subtasks, no extra GPU pods for the io slots.
     */
    @Test
    void eachTaskManagerHostsAnInferenceSlotAndAnIoSlot() throws IOException {
        Map<String, Object> spec = map(flinkDeployment(), "spec");
        Map<String, Object> flinkConf = map(spec, "flinkConfiguration");
        var conf = OptionsLoader.fromMap(jobArguments());
        var inference = EnrichmentPipeline.inferenceGroup(conf);
        var io = EnrichmentPipeline.ioGroup(conf);

        assertThat(io.getExternalResources()).as("external resources of the io group").isEmpty();
        assertThat(inference.getExternalResources().get("gpu"))
                .isLessThanOrEqualTo(Double.parseDouble((String) flinkConf.get("external-resource.gpu.amount")));
        Map<String, Object> taskManager = map(map(spec, "taskManager"), "resource");
        double cores = ((Number) taskManager.get("cpu")).doubleValue();
        assertThat(inference.getCpuCores().orElseThrow() + io.getCpuCores().orElseThrow()).isLessThanOrEqualTo(cores);
        long memoryMb = Long.parseLong(((String) taskManager.get("memory")).replace("m", ""));
        long heapMb = inference.getTaskHeapMemory().orElseThrow().getMebiBytes()
                + io.getTaskHeapMemory().orElseThrow().getMebiBytes();
        // Room for the framework, network buffers and JVM overhead besides the two slots' heaps.
        assertThat(heapMb).isLessThan(memoryMb / 4);
    }

    /**
     * Every restart resumes from Flink state, never from group offsets: the operator upgrades with last-state, HA
     * keeps the latest checkpoint across JobManagers, and the job leaves restore and checkpoint storage to them.
     */
    @Test
    @SuppressWarnings("unchecked")
    void restartsResumeFromFlinkStateThroughLastStateUpgradesAndKubernetesHa() throws IOException {
        Map<String, Object> spec = map(flinkDeployment(), "spec");
        Map<String, Object> job = map(spec, "job");
        assertThat(job).containsEntry("upgradeMode", "last-state");
        // The operator chart's job service account: its Role lets the HA services edit ConfigMaps.
        assertThat(spec).containsEntry("serviceAccount", "flink");

        Map<String, String> flinkConf = new LinkedHashMap<>();
        map(spec, "flinkConfiguration").forEach((k, v) -> flinkConf.put(k, String.valueOf(v)));
        Configuration flink = Configuration.fromMap(flinkConf);
        assertThat(flink.get(HighAvailabilityOptions.HA_MODE)).isEqualToIgnoringCase("kubernetes");
        String checkpoints = flink.get(CheckpointingOptions.CHECKPOINTS_DIRECTORY);
        String ha = flink.get(HighAvailabilityOptions.HA_STORAGE_PATH);
        assertThat(checkpoints).as("checkpoint dir").isNotBlank();
        assertThat(flink.get(CheckpointingOptions.SAVEPOINT_DIRECTORY)).as("savepoint dir").isNotBlank();
        assertThat(ha).as("HA storage dir").isNotBlank().isNotEqualTo(checkpoints);
        // HA metadata on the same durable storage as the checkpoints it points to, not a pod's local disk.
        assertThat(scheme(ha)).isEqualTo(scheme(checkpoints)).isNotIn("", "file");
        assertThat(flink.get(CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION))
                .isEqualTo(ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION);
        // Flink 2 keys, not the deprecated ones they replace.
        for (ConfigOption<?> option : List.of(HighAvailabilityOptions.HA_MODE, HighAvailabilityOptions.HA_STORAGE_PATH,
                CheckpointingOptions.CHECKPOINTS_DIRECTORY, CheckpointingOptions.SAVEPOINT_DIRECTORY)) {
            assertThat(flinkConf).containsKey(option.key());
            for (FallbackKey old : option.fallbackKeys()) {
                assertThat(flinkConf).doesNotContainKey(old.getKey());
            }
        }

        Map<String, String> args = jobArguments();
        assertThat(args).containsEntry(EnrichmentOptions.RESTORE.key(), "FLINK");
        assertThat(OptionsLoader.fromMap(args).get(EnrichmentOptions.RESTORE)).isEqualTo(RestoreMode.FLINK);
        // With FLINK the job's own checkpoint folder would be ignored: keep it out of the arguments.
        assertThat(args).doesNotContainKey(EnrichmentOptions.CHECKPOINT_DIR.key());
    }

    private static String scheme(String uri) {
        int end = uri.indexOf("://");
        return end < 0 ? "" : uri.substring(0, end);
    }

    /** The result and dead-letter topics take the largest record the job's producers may send. */
    @Test
    @SuppressWarnings("unchecked")
    void outputTopicsTakeTheLargestRecordTheProducersSend() throws IOException {
        var conf = OptionsLoader.fromMap(jobArguments());
        int maxRequestSize = KafkaClientProperties.maxRequestSize(conf);
        assertThat(maxRequestSize).isGreaterThanOrEqualTo(KafkaClientProperties.DEFAULT_MAX_REQUEST_SIZE);
        assertThat((long) conf.get(EnrichmentOptions.DEAD_LETTER_MAX_ORIGINAL_BYTES) + DeadLetters.MAX_OVERHEAD_BYTES)
                .isLessThanOrEqualTo(maxRequestSize);

        List<String> outputs = List.of(conf.get(EnrichmentOptions.RESULT_TOPIC),
                conf.get(EnrichmentOptions.DEAD_LETTER_TOPIC));
        Map<String, Long> maxMessageBytes = new LinkedHashMap<>();
        for (Map<String, Object> topic : documents().stream().filter(d -> "KafkaTopic".equals(d.get("kind")))
                .toList()) {
            Map<String, Object> config = map(map(topic, "spec"), "config");
            if (config.containsKey("max.message.bytes")) {
                maxMessageBytes.put((String) map(topic, "metadata").get("name"),
                        Long.parseLong(String.valueOf(config.get("max.message.bytes"))));
            }
        }
        String script = Files.readString(DEPLOY.resolve("kafka/create-topics.sh"));
        for (String topic : outputs) {
            assertThat(maxMessageBytes).as("max.message.bytes of KafkaTopic " + topic).containsKey(topic);
            assertThat(maxMessageBytes.get(topic)).as("max.message.bytes of KafkaTopic " + topic)
                    .isGreaterThanOrEqualTo(maxRequestSize);
            Matcher line = Pattern.compile(
                    "(?m)^create " + Pattern.quote(topic) + " .*--config max\\.message\\.bytes=(\\d+)").matcher(script);
            assertThat(line.find()).as("max.message.bytes of " + topic + " in create-topics.sh").isTrue();
            assertThat(Long.parseLong(line.group(1))).as("max.message.bytes of " + topic + " in create-topics.sh")
                    .isGreaterThanOrEqualTo(maxRequestSize);
        }
    }
}
