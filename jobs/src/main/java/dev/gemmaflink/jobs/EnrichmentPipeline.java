package dev.gemmaflink.jobs;

import java.util.Objects;
import java.util.concurrent.TimeUnit;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.annotation.VisibleForTesting;
import org.apache.flink.api.common.operators.SlotSharingGroup;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.datastream.AsyncDataStream;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.KeyedStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import dev.gemmaflink.operators.config.EnrichmentOptions;
import dev.gemmaflink.operators.enrich.EnrichAsyncFunction;
import dev.gemmaflink.operators.enrich.Enricher;
import dev.gemmaflink.operators.enrich.EnricherProvider;
import dev.gemmaflink.operators.enrich.OutcomeSplitter;
import dev.gemmaflink.operators.gemma.DeviceSelector;
import dev.gemmaflink.operators.kafka.KafkaConnectors;
import dev.gemmaflink.operators.model.AvroTypes;
import dev.gemmaflink.operators.model.EnrichmentOutcome;
import dev.gemmaflink.operators.model.SourceRecord;
import dev.gemmaflink.operators.model.ValidatedRequest;
import dev.gemmaflink.operators.registry.RecordDecoder;
import dev.gemmaflink.operators.validate.DecodeAndValidateFunction;
import dev.gemmaflink.operators.validate.RequestValidator;
import dev.gemmaflink.operators.validate.TaskRegistry;
import dev.gemmaflink.operators.validate.ValidationLimits;
import dev.gemmaflink.schemas.DeadLetter;
import dev.gemmaflink.schemas.EnrichmentResult;

/**
 * The enrichment topology:
 *
 * <pre>
 * [io]        KafkaSource(request topics) -> decode+validate --invalid--> dead letters
 *                 -> keyBy(routing key)
 * [inference] -> async enrich -> split --failed--> dead letters
 *                 -> KafkaSink(results, EXACTLY_ONCE)
 * [io]        dead letters -> KafkaSink(dead-letter topic, EXACTLY_ONCE)
 * </pre>
 *
 * <p>Every operator is in one of two named slot sharing groups, never in Flink's {@code default} one:
 * {@value EnrichmentOptions#INFERENCE_SLOT_SHARING_GROUP} (enrich, split and the result sink chained to it, at
 * {@code inference.parallelism}) and {@value EnrichmentOptions#IO_SLOT_SHARING_GROUP} (source, decode/validate and
 * the dead-letter sink, at {@code source.parallelism}). With {@code inference.gpu.amount > 0} both carry a
 * fine-grained resource spec, the io group's without GPUs: a slot without a spec would take a share of all its
 * TaskManager has, GPUs included, and keep a GPU TaskManager from hosting an inference slot.
 *
 * <pre>{@code
 * EnrichmentPipeline.builder(conf).build().addTo(env);
 * env.execute(conf.get(EnrichmentOptions.JOB_NAME));
 * }</pre>
 */
public final class EnrichmentPipeline {

    private final Configuration conf;
    private final Enricher enricher;
    private final TaskRegistry tasks;
    private final MapFunction<ValidatedRequest, ValidatedRequest> requestInterceptor;

    private EnrichmentPipeline(Builder builder) {
        this.conf = builder.conf;
        this.enricher = builder.enricher != null ? builder.enricher : EnricherProvider.fromConfig(builder.conf);
        this.tasks = builder.tasks;
        this.requestInterceptor = builder.requestInterceptor;
    }

    /** @param conf a configuration validated by {@code OptionsLoader} */
    public static Builder builder(Configuration conf) {
        return new Builder(conf);
    }

    /** Adds the sources, operators and sinks to {@code env}; call {@code env.execute} afterwards. */
    public void addTo(StreamExecutionEnvironment env) {
        int sourceParallelism = parallelism(conf, EnrichmentOptions.SOURCE_PARALLELISM);
        SingleOutputStreamOperator<SourceRecord> records = env
                .fromSource(KafkaConnectors.requestSource(conf), WatermarkStrategy.noWatermarks(), "requests")
                .uid("requests");
        SlotSharingGroup io = ioGroup(conf);
        // Set on the source only: decode/validate (and the interceptor) inherit their input's group.
        records.setParallelism(sourceParallelism).slotSharingGroup(io);

        SingleOutputStreamOperator<ValidatedRequest> valid = records
                .process(new DecodeAndValidateFunction(new RequestValidator(tasks, ValidationLimits.from(conf)),
                        RecordDecoder.requests(conf)))
                .name("decode-validate").uid("decode-validate");
        valid.setParallelism(sourceParallelism);

        DataStream<ValidatedRequest> toEnrich = valid;
        if (requestInterceptor != null) {
            // Chained to the source: checkpoints interleave with it, so a test can fail between two of them.
            toEnrich = valid.map(requestInterceptor).returns(ValidatedRequest.class).name("request-interceptor")
                    .uid("request-interceptor").setParallelism(sourceParallelism);
        }
        // Cache affinity: the routing key is the session key, else tenant and task (the template and the prefix-cache
        // salt), so requests that share a cached instruction prefix meet on one subtask, hence one engine.
        KeyedStream<ValidatedRequest, String> routed = toEnrich.keyBy(ValidatedRequest::routingKey);
        EnrichAsyncFunction enrich = new EnrichAsyncFunction(enricher, conf);
        long timeoutMs = conf.get(EnrichmentOptions.ASYNC_TIMEOUT).toMillis();
        int capacity = conf.get(EnrichmentOptions.ASYNC_CAPACITY);
        // Flink retries requests the enricher was too busy for; the timeout spans every attempt.
        SingleOutputStreamOperator<EnrichmentOutcome> outcomes = conf.get(EnrichmentOptions.ORDERED)
                ? AsyncDataStream.orderedWaitWithRetry(routed, enrich, timeoutMs, TimeUnit.MILLISECONDS, capacity,
                        EnrichAsyncFunction.retryStrategy())
                : AsyncDataStream.unorderedWaitWithRetry(routed, enrich, timeoutMs, TimeUnit.MILLISECONDS, capacity,
                        EnrichAsyncFunction.retryStrategy());
        int inferenceParallelism = parallelism(conf, EnrichmentOptions.INFERENCE_PARALLELISM);
        outcomes.name("enrich").uid("enrich")
                .setParallelism(inferenceParallelism)
                .slotSharingGroup(inferenceGroup(conf));

        // Split and result sink at the inference parallelism, so they chain to enrich: no network hop, no extra
        // inference slots. They inherit its group; the sink's writer and committer inherit the sink's.
        SingleOutputStreamOperator<EnrichmentResult> results = outcomes
                .process(new OutcomeSplitter()).returns(AvroTypes.RESULT).name("split-outcomes").uid("split-outcomes")
                .setParallelism(inferenceParallelism);

        results.sinkTo(KafkaConnectors.resultSink(conf)).name("results").uid("results")
                .setParallelism(inferenceParallelism);

        // Inputs from both groups: Flink would put it in the default group, so name the group.
        DataStream<DeadLetter> deadLetters = valid.getSideOutput(DecodeAndValidateFunction.DEAD_LETTERS)
                .union(results.getSideOutput(OutcomeSplitter.DEAD_LETTERS));
        deadLetters.sinkTo(KafkaConnectors.deadLetterSink(conf)).name("dead-letters").uid("dead-letters")
                .setParallelism(sourceParallelism).slotSharingGroup(io);
    }

    /**
     * The slot sharing group of the inference stage: named {@value EnrichmentOptions#INFERENCE_SLOT_SHARING_GROUP}
     * so it gets slots of its own; with {@code inference.gpu.amount > 0} it carries a fine-grained resource spec
     * (CPU, heap, {@code gpu}), so Flink places it only on TaskManagers that offer the GPUs.
     */
    public static SlotSharingGroup inferenceGroup(Configuration conf) {
        SlotSharingGroup.Builder group = SlotSharingGroup.newBuilder(EnrichmentOptions.INFERENCE_SLOT_SHARING_GROUP);
        double gpus = conf.get(EnrichmentOptions.INFERENCE_GPU_AMOUNT);
        if (gpus > 0) {
            group.setCpuCores(conf.get(EnrichmentOptions.INFERENCE_CPU_CORES))
                    .setTaskHeapMemoryMB(conf.get(EnrichmentOptions.INFERENCE_TASK_HEAP_MB))
                    .setExternalResource(DeviceSelector.GPU_RESOURCE, gpus);
        }
        return group.build();
    }

    /**
     * The slot sharing group of the operators outside the inference stage, named
     * {@value EnrichmentOptions#IO_SLOT_SHARING_GROUP}; with {@code inference.gpu.amount > 0} it carries a resource
     * spec of CPU and heap only ({@code io.cpu-cores}, {@code io.task-heap-mb}), so its slots take no GPU.
     */
    public static SlotSharingGroup ioGroup(Configuration conf) {
        SlotSharingGroup.Builder group = SlotSharingGroup.newBuilder(EnrichmentOptions.IO_SLOT_SHARING_GROUP);
        if (conf.get(EnrichmentOptions.INFERENCE_GPU_AMOUNT) > 0) {
            group.setCpuCores(conf.get(EnrichmentOptions.IO_CPU_CORES))
                    .setTaskHeapMemoryMB(conf.get(EnrichmentOptions.IO_TASK_HEAP_MB));
        }
        return group.build();
    }

    /** Slots a job of this configuration needs with slot sharing: the io group's plus the inference group's. */
    public static int requiredSlots(Configuration conf) {
        return parallelism(conf, EnrichmentOptions.SOURCE_PARALLELISM)
                + parallelism(conf, EnrichmentOptions.INFERENCE_PARALLELISM);
    }

    private static int parallelism(Configuration conf, org.apache.flink.configuration.ConfigOption<Integer> stage) {
        int value = conf.get(stage);
        return value > 0 ? value : conf.get(EnrichmentOptions.PARALLELISM);
    }

    /** Builder; the enricher defaults to the one {@code enrich.enricher} names. */
    public static final class Builder {
        private final Configuration conf;
        private Enricher enricher;
        private TaskRegistry tasks = TaskRegistry.defaults();
        private MapFunction<ValidatedRequest, ValidatedRequest> requestInterceptor;

        private Builder(Configuration conf) {
            this.conf = Objects.requireNonNull(conf, "conf");
        }

        /** Uses this enricher instead of the configured provider's. */
        public Builder enricher(Enricher enricher) {
            this.enricher = Objects.requireNonNull(enricher, "enricher");
            return this;
        }

        /** The accepted tasks (default: {@link TaskRegistry#defaults()}). */
        public Builder tasks(TaskRegistry tasks) {
            this.tasks = Objects.requireNonNull(tasks, "tasks");
            return this;
        }

        /** A map between validation and enrichment, for failure injection in tests. */
        @VisibleForTesting
        public Builder requestInterceptor(MapFunction<ValidatedRequest, ValidatedRequest> interceptor) {
            this.requestInterceptor = Objects.requireNonNull(interceptor, "interceptor");
            return this;
        }

        public EnrichmentPipeline build() {
            return new EnrichmentPipeline(this);
        }
    }
}
