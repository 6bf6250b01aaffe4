package dev.gemmaflink.e2e.support;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import dev.gemmaflink.jobs.EnrichmentJob;
import dev.gemmaflink.jobs.EnrichmentPipeline;
import dev.gemmaflink.operators.config.EnrichmentOptions;
import dev.gemmaflink.operators.config.OptionsLoader;
import dev.gemmaflink.operators.model.ValidatedRequest;

/**
 * The enrichment job as {@code EnrichmentJob} runs it, plus a task failure on demand: while the file named by the
 * first argument exists, the next request deletes it and throws, so the job fails once and Flink restarts it from
 * its last checkpoint. The other arguments are {@code -D key=value} options. For tests that run the job in a process
 * of its own.
 */
public final class FaultInjectingJob {

    private FaultInjectingJob() {
    }

    public static void main(String[] args) throws Exception {
        Path trigger = Path.of(args[0]);
        // The options as EnrichmentJob takes them: "-D key=value" pairs.
        Map<String, String> settings = new LinkedHashMap<>(OptionsLoader.parseOverrides(Arrays
                .asList(args).subList(1, args.length).stream().filter(a -> !"-D".equals(a)).toList()));
        Configuration conf = OptionsLoader.load(null, settings);
        StreamExecutionEnvironment env = EnrichmentJob.environment(conf);
        EnrichmentPipeline.builder(conf).requestInterceptor(new FailOnTrigger(trigger.toString())).build().addTo(env);
        env.execute(conf.get(EnrichmentOptions.JOB_NAME));
    }

    /** Throws once per creation of the trigger file. */
    static final class FailOnTrigger implements MapFunction<ValidatedRequest, ValidatedRequest> {
        private static final long serialVersionUID = 1L;
        private final String trigger;

        FailOnTrigger(String trigger) {
            this.trigger = trigger;
        }

        @Override
        public ValidatedRequest map(ValidatedRequest request) throws Exception {
            if (Files.deleteIfExists(Path.of(trigger))) {
                throw new IllegalStateException("injected task failure at request " + request.request()
                        .getRequestId());
            }
            return request;
        }
    }
}
