package dev.gemmaflink.e2e.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.clusterframework.TaskExecutorProcessSpec;
import org.apache.flink.runtime.clusterframework.TaskExecutorProcessUtils;
import org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint;
import org.apache.flink.runtime.jobmanager.JobManagerProcessSpec;
import org.apache.flink.runtime.jobmanager.JobManagerProcessUtils;
import org.apache.flink.runtime.taskexecutor.TaskManagerRunner;
import org.apache.flink.runtime.util.config.memory.ProcessMemoryUtils;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * A Flink standalone session cluster of separate JVMs, started the way {@code bin/jobmanager.sh} and
 * {@code bin/taskmanager.sh} start them: the entry point classes with {@code --configDir}, the JVM memory flags and
 * the resolved memory settings ({@code -D key=value}) Flink computes from the process size. The JVMs run on this
 * JVM's class path, so user classes load from the system class path and a job needs no jar.
 *
 * <p>Each process gets its own configuration folder ({@code config.yaml}) and log file under the work folder;
 * {@link #logTails} shows the end of each log. {@link #close} kills every process, and a shutdown hook does if
 * this JVM ends first. Talks to the REST API with {@link #get}.
 *
 * <pre>{@code
 * try (StandaloneFlinkCluster flink = StandaloneFlinkCluster.startJobManager(dir, settings)) {
 *     flink.startTaskManager("tm-1", Map.of("taskmanager.numberOfTaskSlots", "2"), Map.of());
 *     flink.awaitTaskManagers(1, Duration.ofSeconds(60));
 * }
 * }</pre>
 */
public final class StandaloneFlinkCluster implements AutoCloseable {

    private static final Duration POLL = Duration.ofMillis(200);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path workDir;
    private final Map<String, String> common;
    private final Map<String, String> commonEnv;
    private final int restPort;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final List<Node> nodes = new ArrayList<>();
    private final Thread killOnExit = new Thread(this::killAll, "standalone-flink-cluster-kill");

    /** A started JVM and its log. */
    private record Node(String name, Process process, Path log) {
    }

    private StandaloneFlinkCluster(Path workDir, Map<String, String> common, Map<String, String> commonEnv,
            int restPort) {
        this.workDir = workDir;
        this.common = common;
        this.commonEnv = Map.copyOf(commonEnv);
        this.restPort = restPort;
        Runtime.getRuntime().addShutdownHook(killOnExit);
    }

    /**
     * Starts the JobManager ({@link StandaloneSessionClusterEntrypoint}) on free ports of localhost.
     *
     * @param workDir folder for the configuration folders, logs and Flink's temporary files (created)
     * @param settings settings of every process of the cluster (the JobManager's and each TaskManager's), on top of
     *        the addresses and ports this class sets
     * @param env environment variables of every process (e.g. {@code FLINK_PLUGINS_DIR})
     */
    public static StandaloneFlinkCluster startJobManager(Path workDir, Map<String, String> settings,
            Map<String, String> env) throws IOException {
        Files.createDirectories(workDir);
        int restPort = freePort();
        Map<String, String> common = new LinkedHashMap<>();
        common.put("jobmanager.rpc.address", "localhost");
        common.put("jobmanager.rpc.port", Integer.toString(freePort()));
        common.put("jobmanager.bind-host", "localhost");
        common.put("rest.address", "localhost");
        common.put("rest.bind-address", "localhost");
        common.put("rest.port", Integer.toString(restPort));
        common.put("taskmanager.host", "localhost");
        common.put("taskmanager.bind-host", "localhost");
        common.put("io.tmp.dirs", workDir.resolve("tmp").toAbsolutePath().toString());
        common.putAll(settings);
        StandaloneFlinkCluster cluster = new StandaloneFlinkCluster(workDir.toAbsolutePath(), common, env, restPort);
        try {
            Files.createDirectories(workDir.resolve("tmp"));
            Files.writeString(cluster.workDir.resolve("log4j2.properties"), LOG4J, StandardCharsets.UTF_8);
            Configuration conf = Configuration.fromMap(common);
            JobManagerProcessSpec spec = JobManagerProcessUtils.processSpecFromConfig(conf);
            cluster.start("jobmanager", StandaloneSessionClusterEntrypoint.class.getName(), common,
                    JobManagerProcessUtils.generateJvmParametersStr(spec, conf),
                    JobManagerProcessUtils.generateDynamicConfigsStr(spec), Map.of());
        } catch (IOException | RuntimeException e) {
            cluster.close();
            throw e;
        }
        return cluster;
    }

    /**
     * Starts a TaskManager ({@link TaskManagerRunner}) with the cluster's settings plus its own.
     *
     * @param resourceId its id ({@code taskmanager.resource-id}), as the REST API and subtask details show it
     * @param settings its own settings, e.g. slots, CPU cores, external resources
     * @param env its own environment variables, on top of the cluster's
     */
    public void startTaskManager(String resourceId, Map<String, String> settings, Map<String, String> env)
            throws IOException {
        Map<String, String> conf = new LinkedHashMap<>(common);
        conf.put("taskmanager.resource-id", resourceId);
        conf.putAll(settings);
        TaskExecutorProcessSpec spec = TaskExecutorProcessUtils.processSpecFromConfig(Configuration.fromMap(conf));
        start(resourceId, TaskManagerRunner.class.getName(), conf, ProcessMemoryUtils.generateJvmParametersStr(spec),
                TaskExecutorProcessUtils.generateDynamicConfigsStr(spec), env);
    }

    private void start(String name, String mainClass, Map<String, String> conf, String jvmMemoryFlags,
            String dynamicConfigs, Map<String, String> env) throws IOException {
        Path confDir = workDir.resolve("conf-" + name);
        Files.createDirectories(confDir);
        Files.writeString(confDir.resolve("config.yaml"), yaml(conf), StandardCharsets.UTF_8);
        Path log = workDir.resolve(name + ".log");

        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(split(jvmMemoryFlags));
        // Short-lived JVMs on a small machine: the client compiler only starts faster and costs less CPU.
        command.addAll(List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"));
        command.add("-Dlog4j2.configurationFile=" + workDir.resolve("log4j2.properties"));
        command.add("-Dlog.file=" + log);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), mainClass, "--configDir",
                confDir.toString()));
        command.addAll(split(dynamicConfigs));

        ProcessBuilder builder = new ProcessBuilder(command).directory(workDir.toFile())
                .redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().putAll(commonEnv);
        builder.environment().putAll(env);
        nodes.add(new Node(name, builder.start(), log));
    }

    /** Base address of the REST API, {@code http://localhost:PORT}. */
    public String restAddress() {
        return "http://localhost:" + restPort;
    }

    /** The REST port, for a client that submits jobs. */
    public int restPort() {
        return restPort;
    }

    /**
     * GET on the REST API.
     *
     * @param path e.g. {@code /taskmanagers}
     * @throws IOException when the request fails or the answer is not 200
     */
    public JsonNode get(String path) throws IOException {
        HttpRequest request = HttpRequest.newBuilder(URI.create(restAddress() + path))
                .timeout(Duration.ofSeconds(10)).GET().build();
        try {
            HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                throw new IOException("GET " + path + " answered " + response.statusCode() + ": " + response.body());
            }
            return JSON.readTree(response.body());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted during GET " + path, e);
        }
    }

    /**
     * Waits until {@code count} TaskManagers are registered with the ResourceManager's slot manager (REST
     * {@code /taskmanagers}); returns their details. A TaskManager is listed as soon as the ResourceManager knows
     * it, but its total resource (CPU cores, external resources such as {@code gpu}) reads as zero until the slot
     * manager has registered it too, a moment later: wait for that.
     */
    public JsonNode awaitTaskManagers(int count, Duration timeout) throws Exception {
        return await(count + " TaskManagers registered with the slot manager", timeout, () -> {
            JsonNode tms = get("/taskmanagers").path("taskmanagers");
            int ready = 0;
            for (JsonNode tm : tms) {
                if (tm.at("/totalResource/cpuCores").asDouble() > 0) {
                    ready++;
                }
            }
            return ready >= count ? tms : null;
        });
    }

    /**
     * Polls {@code probe} until it returns non-null; fails when the timeout passes or a process of the cluster has
     * exited (no point waiting for a dead JobManager). Exceptions of the probe count as "not yet" (e.g. the REST
     * endpoint not up); the last one is the failure's cause.
     */
    public <T> T await(String what, Duration timeout, Callable<T> probe) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        Exception last = null;
        while (true) {
            for (Node node : nodes) {
                if (!node.process().isAlive()) {
                    throw new AssertionError("waiting for " + what + ": " + node.name() + " exited with "
                            + node.process().exitValue() + "\n" + logTails(40));
                }
            }
            try {
                T value = probe.call();
                if (value != null) {
                    return value;
                }
            } catch (IOException | RuntimeException e) {
                last = e;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout + " waiting for " + what, last);
            }
            Thread.sleep(POLL.toMillis());
        }
    }

    /** The last {@code lines} lines of each process's log, for a failure message. */
    public String logTails(int lines) {
        StringBuilder out = new StringBuilder();
        for (Node node : nodes) {
            out.append("----- ").append(node.name()).append(" (").append(node.log()).append(", ")
                    .append(node.process().isAlive() ? "running" : "exited " + node.process().exitValue())
                    .append(") -----\n");
            try {
                List<String> all = Files.readAllLines(node.log(), StandardCharsets.UTF_8);
                all.subList(Math.max(0, all.size() - lines), all.size()).forEach(l -> out.append(l).append('\n'));
            } catch (IOException | UncheckedIOException e) {
                out.append("(log unreadable: ").append(e).append(")\n");
            }
        }
        return out.toString();
    }

    /** Kills every process (TaskManagers first) and waits for them to end. */
    @Override
    public void close() {
        killAll();
        try {
            Runtime.getRuntime().removeShutdownHook(killOnExit);
        } catch (IllegalStateException e) {
            // the JVM is shutting down: the hook runs anyway
        }
    }

    private void killAll() {
        for (int i = nodes.size() - 1; i >= 0; i--) {
            nodes.get(i).process().destroy();
        }
        for (int i = nodes.size() - 1; i >= 0; i--) {
            Process process = nodes.get(i).process();
            try {
                if (!process.waitFor(10, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Flat {@code key: 'value'} lines, which Flink's {@code config.yaml} reader accepts; quoted so YAML keeps strings. */
    private static String yaml(Map<String, String> conf) {
        StringBuilder out = new StringBuilder("# Written by StandaloneFlinkCluster\n");
        conf.forEach((k, v) -> out.append(k).append(": '").append(Objects.requireNonNull(v, k).replace("'", "''"))
                .append("'\n"));
        return out.toString();
    }

    private static List<String> split(String flags) {
        return Arrays.stream(flags.trim().split("\\s+")).filter(s -> !s.isEmpty()).toList();
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            socket.setReuseAddress(true);
            return socket.getLocalPort();
        }
    }

    /** Logging of the cluster's JVMs: Flink at INFO (the log is a file), the Kafka clients at WARN. */
    private static final String LOG4J = """
            rootLogger.level = INFO
            rootLogger.appenderRef.console.ref = console
            appender.console.type = Console
            appender.console.name = console
            appender.console.layout.type = PatternLayout
            appender.console.layout.pattern = %d{HH:mm:ss,SSS} %-5p %c{1} - %m%n
            logger.kafka.name = org.apache.kafka
            logger.kafka.level = WARN
            """;
}
