package dev.gemmaflink.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
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
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.config.ConfigurationSource;
import org.apache.logging.log4j.core.config.LoggerConfig;
import org.apache.logging.log4j.core.config.properties.PropertiesConfigurationFactory;
import org.apache.logging.log4j.core.impl.Log4jLogEvent;
import org.apache.logging.log4j.message.SimpleMessage;
import org.junit.jupiter.api.Test;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

import dev.gemmaflink.e2e.support.MetricNameCollisions;
import dev.gemmaflink.operators.config.EnrichmentOptions;
import dev.gemmaflink.operators.config.EnrichmentOptions.RestoreMode;
import dev.gemmaflink.operators.config.OptionsLoader;
import dev.gemmaflink.operators.kafka.KafkaClientProperties;
import dev.gemmaflink.operators.model.DeadLetters;
import dev.gemmaflink.runtime.model.CudaStartCheck;

/**
 * The deployment files parse and agree with the job: jar, entry class, GPU keys, the CUDA libtorch of the GPU image,
 * restarts from Flink state (last-state upgrades, Kubernetes HA, job.restore FLINK), topics and their record size
 * limits.
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
        assertThat(podTemplate).contains("nvidia.com/gpu=1", "tolerations", "nodeSelector");
    }

    /** One Dockerfile instruction: its keyword, its arguments (continuation lines joined) and the stage it is in. */
    private record Instruction(String stage, String keyword, String arguments) {
    }

    private static List<Instruction> dockerfile() throws IOException {
        List<Instruction> out = new ArrayList<>();
        String joined = Files.readString(DEPLOY.resolve("Dockerfile")).replaceAll("(?m)^\\s*#.*\\n", "")
                .replaceAll("\\\\\\n", " ");
        String stage = "";
        for (String line : joined.split("\\n")) {
            Matcher m = Pattern.compile("^([A-Z]+)\\s+(.*)$").matcher(line.strip());
            if (!m.matches()) {
                assertThat(line.strip()).as("a Dockerfile line that is no instruction").isEmpty();
                continue;
            }
            if (m.group(1).equals("FROM")) {
                Matcher as = Pattern.compile("(?i).*\\sAS\\s+(\\S+)$").matcher(m.group(2));
                stage = as.matches() ? as.group(1) : m.group(2);
            }
            out.add(new Instruction(stage, m.group(1), m.group(2).strip()));
        }
        return out;
    }

    /** The variables that ENV instructions of {@code stage} and the stages it is built FROM set. */
    private static Map<String, String> environment(List<Instruction> instructions, String stage) {
        Map<String, String> env = new LinkedHashMap<>();
        Map<String, String> parent = new LinkedHashMap<>();
        for (Instruction i : instructions) {
            if (i.keyword().equals("FROM")) {
                parent.put(i.stage(), i.arguments().split("\\s+")[0]);
            }
        }
        List<String> chain = new ArrayList<>();
        for (String s = stage; s != null; s = parent.get(s)) {
            chain.add(0, s);
        }
        for (Instruction i : instructions) {
            if (i.keyword().equals("ENV") && chain.contains(i.stage())) {
                Matcher kv = Pattern.compile("(\\w+)=(\\S+)").matcher(i.arguments());
                while (kv.find()) {
                    env.put(kv.group(1), kv.group(2));
                }
            }
        }
        return env;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, String> taskManagerEnvironment() throws IOException {
        Map<String, Object> podSpec = map(map(map(map(flinkDeployment(), "spec"), "taskManager"), "podTemplate"),
                "spec");
        List<Map<String, Object>> containers = (List<Map<String, Object>>) podSpec.get("containers");
        Map<String, String> env = new LinkedHashMap<>();
        for (Map<String, Object> var : (List<Map<String, Object>>) containers.get(0).get("env")) {
            env.put((String) var.get("name"), String.valueOf(var.get("value")));
        }
        return env;
    }

    /**
     * The gpu image bakes libtorch 2.7.1 for CUDA 12.8 from the official PyTorch image (a FROM stage, no download)
     * and selects it with the three variables the engine's start check names; the FlinkDeployment runs that image
     * with the same values, and the README states them and the driver they need.
     */
    @Test
    void theGpuImageBakesTheCudaLibtorchDjlLoadsAndTheDeploymentSelectsIt() throws IOException {
        List<Instruction> instructions = dockerfile();
        String dockerfile = Files.readString(DEPLOY.resolve("Dockerfile"));
        Matcher torchImage = Pattern.compile("(?m)^ARG PYTORCH_IMAGE=(\\S+)$").matcher(dockerfile);
        assertThat(torchImage.find()).as("ARG PYTORCH_IMAGE in the Dockerfile").isTrue();
        assertThat(torchImage.group(1)).isEqualTo("pytorch/pytorch:" + CudaStartCheck.REQUIRED_VERSION
                + "-cuda12.8-cudnn9-runtime");
        assertThat(instructions).contains(new Instruction("libtorch-cu128", "FROM",
                "${PYTORCH_IMAGE} AS libtorch-cu128"));
        assertThat(instructions).contains(new Instruction("gpu", "FROM", "cpu AS gpu"));
        assertThat(instructions).contains(new Instruction("gpu", "COPY", "--from=libtorch-cu128 /libtorch /opt/libtorch"));
        assertThat(instructions.get(instructions.size() - 1).stage()).as("the default target").isEqualTo("gpu");
        // The stage checks what it copies: torch 2.7.1, CUDA 12.8, the cxx11 ABI.
        String stageRun = instructions.stream().filter(i -> i.stage().equals("libtorch-cu128")
                && i.keyword().equals("RUN")).map(Instruction::arguments).findFirst().orElseThrow();
        assertThat(stageRun).contains("assert v == '2.7.1'", "torch.version.cuda == '12.8'",
                "torch._C._GLIBCXX_USE_CXX11_ABI", "cp -a \"$site/torch/lib\" /libtorch/torch/lib",
                "cp -a \"$site/nvidia\" /libtorch/nvidia");
        for (Instruction i : instructions) {
            if (i.keyword().equals("RUN") || i.keyword().equals("ADD")) {
                assertThat(i.arguments()).as(i.keyword() + " in stage " + i.stage() + " downloads nothing")
                        .doesNotContain("http://", "https://", "curl", "wget", "pip install", "conda install",
                                "apt-get install");
            }
        }

        Map<String, String> gpu = environment(instructions, "gpu");
        assertThat(gpu).containsEntry(CudaStartCheck.LIBRARY_PATH_VARIABLE, "/opt/libtorch/torch/lib")
                .containsEntry(CudaStartCheck.VERSION_VARIABLE, CudaStartCheck.REQUIRED_VERSION)
                .containsEntry(CudaStartCheck.FLAVOR_VARIABLE, CudaStartCheck.REQUIRED_FLAVOR)
                .containsEntry("CUDA_DEVICE_ORDER", "PCI_BUS_ID")
                .containsEntry("NVIDIA_DRIVER_CAPABILITIES", "compute,utility")
                .containsEntry("DJL_OFFLINE", "true");
        assertThat(environment(instructions, "cpu")).doesNotContainKeys(CudaStartCheck.LIBRARY_PATH_VARIABLE,
                CudaStartCheck.FLAVOR_VARIABLE);

        Map<String, String> pod = taskManagerEnvironment();
        for (String name : List.of(CudaStartCheck.LIBRARY_PATH_VARIABLE, CudaStartCheck.VERSION_VARIABLE,
                CudaStartCheck.FLAVOR_VARIABLE, "CUDA_DEVICE_ORDER", "NVIDIA_DRIVER_CAPABILITIES")) {
            assertThat(pod).as("TaskManager env " + name).containsEntry(name, gpu.get(name));
        }
        String image = (String) map(flinkDeployment(), "spec").get("image");
        String readme = Files.readString(DEPLOY.resolve("README.md"));
        assertThat(readme).as("the README builds the image the FlinkDeployment runs")
                .contains("docker build -f deploy/Dockerfile --target gpu -t " + image + " .");
        assertThat(readme).contains("PYTORCH_FLAVOR=" + CudaStartCheck.REQUIRED_FLAVOR,
                "PYTORCH_VERSION=" + CudaStartCheck.REQUIRED_VERSION,
                "driver >= " + CudaStartCheck.MIN_DRIVER_VERSION);
        assertThat(dockerfile).contains("driver >= " + CudaStartCheck.MIN_DRIVER_VERSION);
        assertThat(Files.readString(DEPLOY.resolve("flink/gemma-enrichment.yaml")))
                .contains("driver >= " + CudaStartCheck.MIN_DRIVER_VERSION);
        for (String file : List.of("README.md", "Dockerfile", "flink/gemma-enrichment.yaml")) {
            // DJL 0.36's JNI has no other CUDA flavor: any other would fail at engine load.
            assertThat(Files.readString(DEPLOY.resolve(file))).as(file).doesNotContainPattern("\\bcu1(1|2[0-7])\\d?\\b");
        }
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

    /**
     * The FlinkDeployment's console logging drops FLINK-35321's recurring warning (docs/pipeline.md, "Known log
     * noise") and nothing else: the same warning for another metric, other warnings of the metric groups and the
     * rest of Flink's log still pass. Checked with log4j's own properties parser and the logger's filter.
     */
    @Test
    void deploymentLoggingDropsOnlyTheFlink35321Warning() throws IOException {
        Object properties = map(map(flinkDeployment(), "spec"), "logConfiguration").get("log4j-console.properties");
        assertThat(properties).isInstanceOf(String.class);
        ConfigurationSource source = new ConfigurationSource(
                new ByteArrayInputStream(((String) properties).getBytes(StandardCharsets.UTF_8)));
        org.apache.logging.log4j.core.config.Configuration config =
                new PropertiesConfigurationFactory().getConfiguration(new LoggerContext("deploy-logging"), source);
        config.initialize();
        assertThat(config.getAppenders()).containsKey("ConsoleAppender");
        assertThat(config.getRootLogger().getLevel()).isEqualTo(Level.INFO);

        String metricGroup = MetricNameCollisions.LOGGER;
        LoggerConfig metrics = config.getLoggerConfig(metricGroup);
        assertThat(metrics.getName()).isEqualTo(metricGroup);
        String scope = "[gemma-tm-1, taskmanager, tm-1, gemma-enrichment, results: Committer, 0]";
        String pending = "Name collision: Group already contains a Metric with the name 'pendingCommittables'. "
                + "Metric will not be reported." + scope;
        assertThat(MetricNameCollisions.named("pendingCommittables", List.of(pending))).as("Flink's wording")
                .hasSize(1);
        assertThat(metrics.isFiltered(event(metricGroup, Level.WARN, pending))).as("FLINK-35321's warning").isTrue();
        for (String other : List.of(pending.replace("pendingCommittables", "numRecordsIn"),
                "Name collision: Adding a metric with the same name as a metric subgroup: 'pendingCommittables'. "
                        + "Metric might not get properly reported. " + scope)) {
            assertThat(metrics.isFiltered(event(metricGroup, Level.WARN, other))).as(other).isFalse();
        }
        LoggerConfig checkpoints = config.getLoggerConfig("org.apache.flink.runtime.checkpoint.CheckpointCoordinator");
        assertThat(checkpoints.isFiltered(event(checkpoints.getName(), Level.WARN, pending))).isFalse();
    }

    private static LogEvent event(String logger, Level level, String message) {
        return Log4jLogEvent.newBuilder().setLoggerName(logger).setLevel(level).setMessage(new SimpleMessage(message))
                .build();
    }
}
