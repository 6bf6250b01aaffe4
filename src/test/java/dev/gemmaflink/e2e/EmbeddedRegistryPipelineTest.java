package dev.gemmaflink.e2e;

import static dev.gemmaflink.e2e.support.Expectation.result;
import static dev.gemmaflink.e2e.support.Requests.summarize;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.logging.log4j.Level;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import dev.gemmaflink.e2e.support.ConfluentRecords;
import dev.gemmaflink.e2e.support.Expectation;
import dev.gemmaflink.e2e.support.KafkaFlinkExtension;
import dev.gemmaflink.e2e.support.KafkaFlinkExtension.Scenario;
import dev.gemmaflink.e2e.support.LogCapture;
import dev.gemmaflink.e2e.support.PipelineRuns;
import dev.gemmaflink.e2e.support.RequestProducer;
import dev.gemmaflink.e2e.support.RequestProducer.Sent;
import dev.gemmaflink.jobs.EnrichmentJob;
import dev.gemmaflink.jobs.EnrichmentPipeline;
import dev.gemmaflink.jobs.local.InMemorySchemaRegistry;
import dev.gemmaflink.operators.config.OptionsLoader;
import dev.gemmaflink.operators.registry.SchemaRegistryClient;
import dev.gemmaflink.schemas.EnrichmentRequest;

/**
 * The registry scenarios on the embedded broker with {@link InMemorySchemaRegistry}, the in-JVM stand-in that serves
 * the documented endpoints of Confluent's REST API (no registry server can be had from Maven Central here; with
 * Docker, {@code ContainerRegistryPipelineTest} runs the same scenarios against Confluent's own image). Also: a
 * registry that cannot be reached fails the job, which restarts from its checkpoint and, once the registry is back,
 * writes every result, with no dead letter for the records it could not read meanwhile.
 */
class EmbeddedRegistryPipelineTest extends RegistryPipelineScenarios {

    @RegisterExtension
    static final KafkaFlinkExtension CLUSTER = KafkaFlinkExtension.embeddedKafka();

    static InMemorySchemaRegistry registry;

    @BeforeAll
    static void startRegistry() throws Exception {
        registry = InMemorySchemaRegistry.start();
    }

    @AfterAll
    static void stopRegistry() {
        registry.close();
    }

    @Override
    KafkaFlinkExtension cluster() {
        return CLUSTER;
    }

    @Override
    String registryUrl() {
        return registry.url();
    }

    @Override
    int schemaFetches(int id) {
        return registry.schemaFetches(id);
    }

    @Test
    void anUnreachableRegistryFailsTheJobWhichResumesFromItsCheckpointWithoutDeadLetters() throws Exception {
        int port;
        try (ServerSocket free = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = free.getLocalPort();
        }
        // The producers' registry: up while they register and write, down when the job starts reading.
        InMemorySchemaRegistry first = InMemorySchemaRegistry.start(port);
        String url = first.url();
        Scenario scenario = CLUSTER.newScenario("registry-down");
        scenario.settings().put("schema-registry.url", url);
        scenario.settings().put("schema-registry.retry-timeout", "300 ms");
        scenario.settings().put("schema-registry.retry-backoff", "50 ms");
        scenario.settings().put("flink.restart-strategy.type", "fixed-delay");
        scenario.settings().put("flink.restart-strategy.fixed-delay.attempts", "100");
        scenario.settings().put("flink.restart-strategy.fixed-delay.delay", "200 ms");
        int id = first.register(scenario.requestTopics().get(0) + "-value", EnrichmentRequest.getClassSchema());
        List<Expectation> inputs = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            inputs.add(result(ConfluentRecords.current(id, summarize("down-" + i, "text " + i)), "down-" + i,
                    "[SUMMARIZE] text " + i));
        }
        List<Sent> sent = RequestProducer.send(CLUSTER.bootstrapServers(), scenario.requestTopics(), inputs);
        first.close();

        Configuration conf = OptionsLoader.load(null, scenario.settings());
        StreamExecutionEnvironment env = EnrichmentJob.environment(conf);
        EnrichmentPipeline.builder(conf).build().addTo(env);
        InMemorySchemaRegistry back = null;
        try (LogCapture retries = LogCapture.start(Level.WARN, SchemaRegistryClient.class.getName());
                LogCapture states = LogCapture.start(Level.INFO, "org.apache.flink.runtime.executiongraph")) {
            JobClient job = env.executeAsync(scenario.id());
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            // Wait until the job has retried the registry, failed and restarted (from its checkpoint) twice.
            while (retries.messages().isEmpty()
                    || states.messages().stream().filter(m -> m.contains("to RESTARTING")).count() < 2) {
                assertThat(System.nanoTime()).as("the job tried the registry").isLessThan(deadline);
                assertThat(job.getJobStatus().get().isGloballyTerminalState()).as("the job still restarts").isFalse();
                Thread.sleep(50);
            }
            // Back, with the same schema under the same id (a restarted registry keeps its schemas).
            back = InMemorySchemaRegistry.start(port);
            assertThat(back.register(scenario.requestTopics().get(0) + "-value", EnrichmentRequest.getClassSchema()))
                    .isEqualTo(id);
            job.getJobExecutionResult().get(3, TimeUnit.MINUTES);
        } finally {
            if (back != null) {
                back.close();
            }
        }
        // Every request has its result; nothing became a dead letter while the registry was away.
        PipelineRuns.assertExactlyOneOutcomeEach(CLUSTER, scenario, sent, "echo");
    }
}
