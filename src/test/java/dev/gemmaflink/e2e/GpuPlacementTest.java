package dev.gemmaflink.e2e;

import static dev.gemmaflink.e2e.support.Expectation.result;
import static dev.gemmaflink.e2e.support.Requests.binary;
import static dev.gemmaflink.e2e.support.Requests.summarize;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.jobmanager.scheduler.NoResourceAvailableException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import dev.gemmaflink.e2e.support.KafkaFlinkExtension;
import dev.gemmaflink.e2e.support.KafkaFlinkExtension.Scenario;
import dev.gemmaflink.e2e.support.PipelineRuns;
import dev.gemmaflink.e2e.support.RequestProducer;

/**
 * Placement of the inference slot sharing group by the {@code gpu} external resource: Flink schedules it only on a
 * TaskManager that offers GPUs. This class: a TaskManager without GPUs cannot run it; {@link GpuOfferingPlacementTest}:
 * one that offers them does. (A MiniCluster gives operators no GPU infos, so the echo enricher runs here; device
 * selection from the infos is unit-tested in operators.)
 */
class GpuPlacementTest {

    @RegisterExtension
    static final KafkaFlinkExtension CLUSTER = KafkaFlinkExtension.embeddedKafka(miniCluster(false));

    static Scenario gpuScenario(KafkaFlinkExtension cluster, String name) throws Exception {
        Scenario scenario = cluster.newScenario(name);
        scenario.settings().put("inference.gpu.amount", "1");
        scenario.settings().put("job.parallelism", "1");
        // Two io slots next to the one inference slot: with a resource spec of their own they take no GPU.
        scenario.settings().put("source.parallelism", "2");
        scenario.settings().put("inference.parallelism", "1");
        return scenario;
    }

    /**
     * The MiniCluster settings of both cases: fine-grained resource management (slots cut to the group's resource
     * spec) and a short slot request timeout, so a group that can never be placed fails fast (default 5 minutes).
     */
    static Configuration miniCluster(boolean offerGpu) {
        Configuration conf = new Configuration();
        conf.setString("cluster.fine-grained-resource-management.enabled", "true");
        // Fails fast where the group can never be placed; generous where it can (a cold test JVM is slow).
        conf.setString("slot.request.timeout", offerGpu ? "60 s" : "5 s");
        conf.setString("taskmanager.cpu.cores", "4"); // a MiniCluster TaskManager reports no cores otherwise
        if (offerGpu) {
            conf.setString("external-resources", "gpu");
            // Exactly the inference slot's GPU: the io slots' resource spec asks for none. (A slot without a spec
            // would get 1/slots of everything the TaskManager has, GPUs included, and leave less than one.)
            conf.setString("external-resource.gpu.amount", "1");
        }
        return conf;
    }

    @Test
    void cannotScheduleTheInferenceGroup() throws Exception {
        Scenario scenario = gpuScenario(CLUSTER, "no-gpu");
        RequestProducer.send(CLUSTER.bootstrapServers(), scenario.requestTopics(),
                List.of(result(binary(summarize("a", "text")), "a", "[SUMMARIZE] text")));
        assertThatThrownBy(() -> PipelineRuns.runToCompletion(scenario, null))
                .hasRootCauseInstanceOf(NoResourceAvailableException.class);
    }
}
