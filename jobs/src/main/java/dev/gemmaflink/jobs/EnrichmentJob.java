package dev.gemmaflink.jobs;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.gemmaflink.operators.config.EnrichmentOptions;
import dev.gemmaflink.operators.config.OptionsLoader;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Entry point of the enrichment job: {@code --config job.yaml} and {@code -Dkey=value} / {@code --set key=value}
 * overrides, then the pipeline runs on the environment Flink provides (a cluster under {@code flink run}, a local
 * MiniCluster when started as a plain Java program).
 */
@Command(name = "enrichment-job", mixinStandardHelpOptions = true,
        description = "Kafka -> validate -> enrich -> Kafka, exactly once.")
public final class EnrichmentJob implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(EnrichmentJob.class);

    @Option(names = "--config", paramLabel = "FILE", description = "YAML configuration file.")
    Path configFile;

    @Option(names = {"-D", "--set"}, paramLabel = "KEY=VALUE", mapFallbackValue = "",
            description = "Override one option; repeatable. Wins over the file.")
    Map<String, String> overrides = new LinkedHashMap<>();

    @Option(names = "--print-options", description = "Print the options table (Markdown) and exit.")
    boolean printOptions;

    public static void main(String[] args) {
        System.exit(commandLine(new EnrichmentJob()).execute(args));
    }

    /**
     * The command line of a job-like program: a configuration mistake ({@link IllegalArgumentException}) prints
     * its message, not a stack trace, and exits with 2.
     */
    public static CommandLine commandLine(Callable<Integer> program) {
        return new CommandLine(program).setExecutionExceptionHandler((e, cli, parsed) -> {
            if (e instanceof IllegalArgumentException) {
                cli.getErr().println("configuration error: " + e.getMessage());
                return 2;
            }
            throw e;
        });
    }

    @Override
    public Integer call() throws Exception {
        if (printOptions) {
            System.out.print(OptionsLoader.markdownTable());
            return 0;
        }
        Configuration conf = OptionsLoader.load(configFile, overrides);
        JobExecutionResult result = run(conf);
        LOG.info("job {} finished after {} ms", result.getJobID(), result.getNetRuntime());
        return 0;
    }

    /**
     * Checks the output topics' size limits ({@link TopicLimits}), registers the output schemas when they are written
     * in the Confluent framing ({@link OutputSchemas}), then builds and executes the pipeline with the configured
     * enricher; returns when the job ends.
     */
    public static JobExecutionResult run(Configuration conf) throws Exception {
        TopicLimits.check(conf);
        OutputSchemas.register(conf);
        StreamExecutionEnvironment env = environment(conf);
        EnrichmentPipeline.builder(conf).build().addTo(env);
        return env.execute(conf.get(EnrichmentOptions.JOB_NAME));
    }

    /**
     * The execution environment for a configuration: its {@code flink.*} settings, parallelism, exactly-once
     * checkpointing with retained checkpoints, and the state to resume from ({@link StartingState}).
     *
     * @throws IllegalArgumentException when the start would ignore existing checkpoints of the job
     */
    public static StreamExecutionEnvironment environment(Configuration conf) {
        Configuration flink = OptionsLoader.flinkSettings(conf);
        if (!flink.contains(TaskManagerOptions.NUM_TASK_SLOTS)) {
            // Only a local MiniCluster reads this (a cluster's TaskManagers have their own): the inference stage has
            // its own slot sharing group, so the job needs slots for both groups.
            flink.set(TaskManagerOptions.NUM_TASK_SLOTS, EnrichmentPipeline.requiredSlots(conf));
        }
        StartingState.apply(conf, flink);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(flink);
        env.setParallelism(conf.get(EnrichmentOptions.PARALLELISM));
        // Exactly-once is the default mode; sinks commit their transactions when a checkpoint completes.
        env.enableCheckpointing(conf.get(EnrichmentOptions.CHECKPOINT_INTERVAL).toMillis());
        return env;
    }
}
