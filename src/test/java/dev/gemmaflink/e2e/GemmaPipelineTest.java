package dev.gemmaflink.e2e;

import static dev.gemmaflink.e2e.support.Expectation.deadLetter;
import static dev.gemmaflink.e2e.support.Expectation.result;
import static dev.gemmaflink.e2e.support.Requests.binary;
import static dev.gemmaflink.e2e.support.Requests.image;
import static dev.gemmaflink.e2e.support.Requests.request;
import static dev.gemmaflink.e2e.support.Requests.summarize;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import dev.gemmaflink.e2e.support.EngineReference;
import dev.gemmaflink.e2e.support.Expectation;
import dev.gemmaflink.e2e.support.FailOnceAfterCheckpoint;
import dev.gemmaflink.e2e.support.GemmaScenarios;
import dev.gemmaflink.e2e.support.KafkaFlinkExtension;
import dev.gemmaflink.e2e.support.KafkaFlinkExtension.Scenario;
import dev.gemmaflink.e2e.support.PipelineRuns;
import dev.gemmaflink.e2e.support.RequestProducer;
import dev.gemmaflink.e2e.support.RequestProducer.Sent;
import dev.gemmaflink.operators.gemma.GemmaEnricher;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointSpec;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointWriter;
import dev.gemmaflink.runtime.engine.EngineMetrics;
import dev.gemmaflink.schemas.DeadLetter;
import dev.gemmaflink.schemas.EnrichmentResult;
import dev.gemmaflink.schemas.ErrorCode;
import dev.gemmaflink.schemas.wire.WireCodec;

/**
 * The job with the gemma enricher on a tiny random checkpoint: Kafka in, the engine shared by the inference
 * subtasks, Kafka out, exactly once. The engine's metrics are read from the shared-engine registry (the MiniCluster
 * runs in this JVM).
 */
class GemmaPipelineTest {

    @RegisterExtension
    static final KafkaFlinkExtension CLUSTER = KafkaFlinkExtension.embeddedKafka();

    @TempDir
    static Path tmp;
    static Path modelDir;

    @BeforeAll
    static void writeCheckpoint() {
        modelDir = tmp.resolve("tiny-gemma");
        TinyCheckpointWriter.write(modelDir, TinyCheckpointSpec.builder().layers(2).seed(3).build());
    }

    /** A scenario running the gemma enricher; the model id is unique so its engine's metrics can be found. */
    private static Scenario gemmaScenario(String name) throws Exception {
        Scenario scenario = GemmaScenarios.configure(CLUSTER.newScenario(name), modelDir);
        // A small step budget: prompts prefill over several steps, so later requests find earlier ones' blocks.
        scenario.settings().put("enrich.gemma.max-tokens-per-step", "64");
        return scenario;
    }

    private static int maxBatch(EngineMetrics m) {
        long[] counts = m.batchSizeCounts();
        for (int b = counts.length - 1; b > 0; b--) {
            if (counts[b] > 0) {
                return b;
            }
        }
        return 0;
    }

    @Test
    void textRequestsGetOneResultEachBatchedInOneEngineAndBadOnesDeadLetters() throws Exception {
        Scenario scenario = gemmaScenario("gemma-text");
        List<Expectation> inputs = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            inputs.add(result(binary(summarize("sum-" + i, "Document number " + i + " talks about streams.")),
                    "sum-" + i, null));
        }
        for (int i = 0; i < 6; i++) {
            inputs.add(result(binary(request("tr-" + i, "TRANSLATE").setText("good morning " + i)
                    .setTargetLanguage("fr").build()), "tr-" + i, null));
        }
        inputs.add(deadLetter(binary(request("cap-1", "CAPTION").setImage(image(64, "image/png")).build()), "cap-1",
                ErrorCode.ENRICHMENT_FAILED));
        inputs.add(deadLetter(binary(request("no-text", "SUMMARIZE").build()), "no-text", ErrorCode.MISSING_TEXT));
        inputs.add(deadLetter(binary(request("bad-len", "SUMMARIZE").setText("x")
                .setAttributes(Map.of("length", "enormous")).build()), "bad-len", ErrorCode.INVALID_PARAMETER));
        inputs.add(deadLetter(dev.gemmaflink.e2e.support.Requests.garbage(), null, ErrorCode.DECODE_FAILED));

        List<Sent> sent = RequestProducer.send(CLUSTER.bootstrapServers(), scenario.requestTopics(), inputs);
        PipelineRuns.runToCompletion(scenario, null);

        List<EnrichmentResult> results =
                PipelineRuns.assertExactlyOneOutcomeEach(CLUSTER, scenario, sent, scenario.id());
        // Greedy decoding: batched, chunked and prefix-cached in the job, each request still produces exactly what
        // the engine alone produces for it.
        EngineReference.assertMatches(results, EngineReference.expected(scenario.settings(), sent));
        assertThat(results).allSatisfy(r ->
                assertThat(r.getOutputText()).doesNotContain("<end_of_turn>", "<start_of_turn>"));
        DeadLetter caption = CLUSTER.readCommitted(scenario.deadLetterTopic(), WireCodec.deadLetters()).stream()
                .filter(d -> "cap-1".equals(d.getRequestId())).findFirst().orElseThrow();
        assertThat(caption.getReason()).isEqualTo(GemmaEnricher.VISION_UNAVAILABLE);

        EngineMetrics m = GemmaScenarios.finalMetrics(scenario);
        // 30 results, and the caption request, which the text-only engine ends with IMAGES_UNSUPPORTED.
        assertThat(m.completed()).as("requests the engine completed").isEqualTo(31);
        assertThat(m.failed()).as("requests the engine could not serve").isEqualTo(1);
        assertThat(maxBatch(m)).as("largest batch of one engine step").isGreaterThan(1);
        assertThat(m.prefixHitTokens()).as("prompt tokens served from the prefix cache").isPositive();
    }

    @Test
    void anInjectedFailureStillGivesExactlyOneResultPerRequest() throws Exception {
        Scenario scenario = gemmaScenario("gemma-failover");
        scenario.settings().put("flink.restart-strategy.type", "fixed-delay");
        scenario.settings().put("flink.restart-strategy.fixed-delay.attempts", "3");
        scenario.settings().put("flink.restart-strategy.fixed-delay.delay", "200 ms");
        int valid = 60;
        List<Expectation> inputs = new ArrayList<>();
        for (int i = 0; i < valid; i++) {
            inputs.add(result(binary(summarize("r-" + i, "text " + i)), "r-" + i, null));
        }
        inputs.add(deadLetter(binary(request("cap", "CAPTION").setImage(image(8, "image/png")).build()), "cap",
                ErrorCode.ENRICHMENT_FAILED));

        List<Sent> sent = RequestProducer.send(CLUSTER.bootstrapServers(), scenario.requestTopics(), inputs);
        PipelineRuns.runToCompletion(scenario, new FailOnceAfterCheckpoint<>(scenario.id(), 30));

        assertThat(FailOnceAfterCheckpoint.failed(scenario.id())).as("the failure was injected").isTrue();
        List<EnrichmentResult> results =
                PipelineRuns.assertExactlyOneOutcomeEach(CLUSTER, scenario, sent, scenario.id());
        // Requests replayed after the restore produce what they would have produced without the failure.
        EngineReference.assertMatches(results, EngineReference.expected(scenario.settings(), sent));
    }
}
