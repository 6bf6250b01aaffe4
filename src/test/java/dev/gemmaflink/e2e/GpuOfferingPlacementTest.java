package dev.gemmaflink.e2e;

import static dev.gemmaflink.e2e.support.Expectation.result;
import static dev.gemmaflink.e2e.support.Requests.binary;
import static dev.gemmaflink.e2e.support.Requests.summarize;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import dev.gemmaflink.e2e.support.KafkaFlinkExtension;
import dev.gemmaflink.e2e.support.KafkaFlinkExtension.Scenario;
import dev.gemmaflink.e2e.support.PipelineRuns;
import dev.gemmaflink.e2e.support.RequestProducer;
import dev.gemmaflink.e2e.support.RequestProducer.Sent;

/** The inference group asking for a GPU runs on a MiniCluster whose TaskManager offers GPUs (see {@link GpuPlacementTest}). */
class GpuOfferingPlacementTest {

    @RegisterExtension
    static final KafkaFlinkExtension CLUSTER = KafkaFlinkExtension.embeddedKafka(GpuPlacementTest.miniCluster(true));

    @Test
    void runsTheJob() throws Exception {
        Scenario scenario = GpuPlacementTest.gpuScenario(CLUSTER, "with-gpu");
        List<Sent> sent = RequestProducer.send(CLUSTER.bootstrapServers(), scenario.requestTopics(),
                List.of(result(binary(summarize("a", "text")), "a", "[SUMMARIZE] text"),
                        result(binary(summarize("b", "more text")), "b", "[SUMMARIZE] more text")));
        PipelineRuns.runToCompletion(scenario, null);
        assertThat(PipelineRuns.assertExactlyOneOutcomeEach(CLUSTER, scenario, sent, "echo")).hasSize(2);
    }
}
