package dev.gemmaflink.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

import org.apache.flink.api.common.resources.CPUResource;
import org.apache.flink.api.common.resources.ExternalResource;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.runtime.clusterframework.types.ResourceProfile;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.jobgraph.JobVertex;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.graph.StreamGraph;
import org.apache.flink.streaming.api.graph.StreamNode;
import org.junit.jupiter.api.Test;

import dev.gemmaflink.operators.config.EnrichmentOptions;
import dev.gemmaflink.operators.config.OptionsLoader;

/**
 * The pipeline's slot sharing groups and resource specs, read from the graphs Flink submits: every operator (the
 * Kafka sinks' writers and committers included) is in the io or the inference group, never in {@code default}, and
 * with {@code inference.gpu.amount > 0} both groups carry a spec, only the inference one with GPUs.
 */
class EnrichmentPipelineTest {

    private static final String IO = EnrichmentOptions.IO_SLOT_SHARING_GROUP;
    private static final String INFERENCE = EnrichmentOptions.INFERENCE_SLOT_SHARING_GROUP;

    private static StreamGraph streamGraph(Map<String, String> settings, boolean interceptor) {
        Configuration conf = OptionsLoader.fromMap(settings);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(conf.get(EnrichmentOptions.PARALLELISM));
        env.enableCheckpointing(conf.get(EnrichmentOptions.CHECKPOINT_INTERVAL).toMillis());
        EnrichmentPipeline.Builder pipeline = EnrichmentPipeline.builder(conf);
        if (interceptor) {
            pipeline.requestInterceptor(request -> request);
        }
        pipeline.build().addTo(env);
        return env.getStreamGraph();
    }

    /** Slot sharing group of each operator by name. */
    private static Map<String, String> groupsByOperator(StreamGraph graph) {
        Map<String, String> groups = new TreeMap<>();
        for (StreamNode node : graph.getStreamNodes()) {
            groups.put(node.getOperatorName(), node.getSlotSharingGroup());
        }
        return groups;
    }

    /** Parallelism of each operator by name. */
    private static Map<String, Integer> parallelismByOperator(StreamGraph graph) {
        Map<String, Integer> parallelism = new TreeMap<>();
        for (StreamNode node : graph.getStreamNodes()) {
            parallelism.put(node.getOperatorName(), node.getParallelism());
        }
        return parallelism;
    }

    private static Map<String, String> gpuSettings() {
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("job.parallelism", "4");
        settings.put("source.parallelism", "2");
        settings.put("inference.parallelism", "3");
        settings.put("inference.gpu.amount", "1");
        settings.put("inference.cpu-cores", "2.5");
        settings.put("inference.task-heap-mb", "700");
        settings.put("io.cpu-cores", "0.5");
        settings.put("io.task-heap-mb", "96");
        return settings;
    }

    private static ResourceProfile cpuAndHeap(double cores, int heapMb) {
        return ResourceProfile.newBuilder().setCpuCores(cores).setTaskHeapMemoryMB(heapMb)
                .setTaskOffHeapMemory(MemorySize.ZERO).setManagedMemory(MemorySize.ZERO).build();
    }

    @Test
    void everyOperatorIsInTheIoOrTheInferenceGroup() {
        StreamGraph graph = streamGraph(Map.of(), true);

        assertThat(groupsByOperator(graph)).containsExactlyInAnyOrderEntriesOf(Map.of(
                "Source: requests", IO,
                "decode-validate", IO,
                "request-interceptor", IO,
                "enrich", INFERENCE,
                "split-outcomes", INFERENCE,
                "results: Writer", INFERENCE,
                "results: Committer", INFERENCE,
                "dead-letters: Writer", IO,
                "dead-letters: Committer", IO));
    }

    @Test
    void eachGroupRunsAtItsOwnParallelismSoRequiredSlotsCoverIt() {
        StreamGraph graph = streamGraph(gpuSettings(), false);

        Map<String, Integer> parallelism = parallelismByOperator(graph);
        Map<String, String> groups = groupsByOperator(graph);
        groups.forEach((operator, group) -> assertThat(parallelism.get(operator))
                .as("parallelism of %s (group %s)", operator, group)
                .isEqualTo(group.equals(IO) ? 2 : 3));
        assertThat(EnrichmentPipeline.requiredSlots(OptionsLoader.fromMap(gpuSettings()))).isEqualTo(2 + 3);
    }

    @Test
    void withoutGpusNoGroupHasAResourceSpec() {
        StreamGraph graph = streamGraph(Map.of(), false);

        assertThat(graph.getSlotSharingGroupResource(IO)).isEmpty();
        assertThat(graph.getSlotSharingGroupResource(INFERENCE)).isEmpty();
        JobGraph job = graph.getJobGraph();
        for (JobVertex vertex : job.getVertices()) {
            assertThat(vertex.getSlotSharingGroup().getResourceProfile()).as("resource profile of " + vertex.getName())
                    .isEqualTo(ResourceProfile.UNKNOWN);
        }
    }

    @Test
    void withGpusBothGroupsHaveASpecAndOnlyTheInferenceOneAsksForAGpu() {
        StreamGraph graph = streamGraph(gpuSettings(), false);

        ResourceProfile io = cpuAndHeap(0.5, 96);
        ResourceProfile inference = ResourceProfile.newBuilder(cpuAndHeap(2.5, 700))
                .setExtendedResource(new ExternalResource("gpu", 1.0)).build();
        assertThat(graph.getSlotSharingGroupResource(IO)).contains(io);
        assertThat(graph.getSlotSharingGroupResource(INFERENCE)).contains(inference);
        assertThat(graph.getSlotSharingGroupResource("default")).isEmpty();

        // What the JobManager schedules: each vertex's group and its profile.
        Map<String, ResourceProfile> profiles = new TreeMap<>();
        for (JobVertex vertex : graph.getJobGraph().getVertices()) {
            profiles.put(vertex.getName(), vertex.getSlotSharingGroup().getResourceProfile());
        }
        assertThat(profiles).containsOnlyKeys(
                "Source: requests -> decode-validate",
                "enrich -> split-outcomes -> results: Writer -> results: Committer",
                "dead-letters: Writer -> dead-letters: Committer");
        assertThat(profiles.get("Source: requests -> decode-validate")).isEqualTo(io);
        assertThat(profiles.get("dead-letters: Writer -> dead-letters: Committer")).isEqualTo(io);
        assertThat(profiles.get("enrich -> split-outcomes -> results: Writer -> results: Committer"))
                .isEqualTo(inference);
        assertThat(io.getExtendedResources()).doesNotContainKey("gpu");
        assertThat(io.getCpuCores()).isEqualTo(new CPUResource(0.5));
    }

    @Test
    void ioDefaultsFitASmallSlot() {
        Configuration conf = OptionsLoader.fromMap(Map.of("inference.gpu.amount", "0.5"));

        assertThat(EnrichmentPipeline.ioGroup(conf).getCpuCores()).contains(1.0);
        assertThat(EnrichmentPipeline.ioGroup(conf).getTaskHeapMemory()).contains(MemorySize.ofMebiBytes(256));
        assertThat(EnrichmentPipeline.ioGroup(conf).getExternalResources()).isEmpty();
        assertThat(EnrichmentPipeline.inferenceGroup(conf).getExternalResources()).containsEntry("gpu", 0.5);
    }

    @Test
    void ioResourcesMustBePositive() {
        assertThatThrownBy(() -> OptionsLoader.fromMap(Map.of("io.cpu-cores", "0")))
                .hasMessageContaining("option 'io.cpu-cores' must be > 0, got 0.0");
        assertThatThrownBy(() -> OptionsLoader.fromMap(Map.of("io.task-heap-mb", "-1")))
                .hasMessageContaining("option 'io.task-heap-mb' must be > 0, got -1");
    }
}
