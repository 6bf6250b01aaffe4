package dev.gemmaflink.e2e.support;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.stream.Collectors;

import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import dev.gemmaflink.e2e.support.KafkaFlinkExtension.Scenario;
import dev.gemmaflink.e2e.support.RequestProducer.Sent;
import dev.gemmaflink.jobs.EnrichmentJob;
import dev.gemmaflink.jobs.EnrichmentPipeline;
import dev.gemmaflink.operators.config.EnrichmentOptions;
import dev.gemmaflink.operators.config.OptionsLoader;
import dev.gemmaflink.operators.model.ValidatedRequest;
import dev.gemmaflink.schemas.DeadLetter;
import dev.gemmaflink.schemas.EnrichmentResult;
import dev.gemmaflink.schemas.wire.WireCodec;

/** Runs a scenario's job to its end and checks that each input has exactly one committed outcome. */
public final class PipelineRuns {

    private PipelineRuns() {
    }

    /** Runs the pipeline of a scenario (bounded) on the MiniCluster; fails after 3 minutes. */
    public static void runToCompletion(Scenario scenario, MapFunction<ValidatedRequest, ValidatedRequest> injector)
            throws Exception {
        Configuration conf = OptionsLoader.load(null, scenario.settings());
        StreamExecutionEnvironment env = EnrichmentJob.environment(conf);
        EnrichmentPipeline.Builder pipeline = EnrichmentPipeline.builder(conf);
        if (injector != null) {
            pipeline.requestInterceptor(injector);
        }
        pipeline.build().addTo(env);
        JobClient client = env.executeAsync(scenario.id());
        try {
            // A safety net so a broken job cannot hang the build; the job normally ends in a few seconds.
            JobExecutionResult result = client.getJobExecutionResult().get(3, TimeUnit.MINUTES);
            assertThat(result.getJobID()).isEqualTo(client.getJobID());
        } catch (TimeoutException e) {
            client.cancel().get(30, TimeUnit.SECONDS);
            throw new AssertionError("job " + scenario.id() + " did not finish within 3 minutes", e);
        }
    }

    /**
     * Reads both output topics with {@code read_committed}: exactly one result per valid input (with the expected
     * output when the expectation names one, and the model id), exactly one dead letter per invalid input with the
     * expected code, request id and original bytes, nothing else.
     *
     * @return the committed results
     */
    public static List<EnrichmentResult> assertExactlyOneOutcomeEach(KafkaFlinkExtension cluster, Scenario scenario,
            List<Sent> sent, String modelId) {
        List<EnrichmentResult> results = cluster.readCommitted(scenario.resultTopic(), WireCodec.results());
        List<DeadLetter> deadLetters = cluster.readCommitted(scenario.deadLetterTopic(), WireCodec.deadLetters());
        assertExactlyOneOutcomeEach(results, deadLetters, scenario, sent, modelId);
        return results;
    }

    /**
     * As {@link #assertExactlyOneOutcomeEach(KafkaFlinkExtension, Scenario, List, String)}, for outcomes read and
     * decoded by the caller (another wire format).
     */
    public static void assertExactlyOneOutcomeEach(List<EnrichmentResult> results, List<DeadLetter> deadLetters,
            Scenario scenario, List<Sent> sent, String modelId) {
        List<Sent> valid = sent.stream().filter(s -> s.expectation().expectsResult()).toList();
        List<Sent> invalid = sent.stream().filter(s -> !s.expectation().expectsResult()).toList();

        Map<String, Long> resultsPerId = results.stream()
                .collect(Collectors.groupingBy(EnrichmentResult::getRequestId, Collectors.counting()));
        assertThat(resultsPerId).as("results per request id")
                .containsOnlyKeys(valid.stream().map(s -> s.expectation().requestId()).toList())
                .allSatisfy((id, count) -> assertThat(count).as("results for " + id).isEqualTo(1L));
        Map<String, Sent> validById = valid.stream()
                .collect(Collectors.toMap(s -> s.expectation().requestId(), Function.identity()));
        for (EnrichmentResult r : results) {
            String expected = validById.get(r.getRequestId()).expectation().output();
            if (expected != null) {
                assertThat(r.getOutputText()).as("output of " + r.getRequestId()).isEqualTo(expected);
            }
            assertThat(r.getModelId()).isEqualTo(modelId);
        }

        Map<String, Long> deadLettersPerOrigin = deadLetters.stream().collect(Collectors.groupingBy(
                d -> d.getSourceTopic() + "/" + d.getSourcePartition() + "/" + d.getSourceOffset(),
                Collectors.counting()));
        assertThat(deadLettersPerOrigin).as("dead letters per origin")
                .containsOnlyKeys(invalid.stream().map(Sent::origin).toList())
                .allSatisfy((origin, count) -> assertThat(count).as("dead letters for " + origin).isEqualTo(1L));
        Map<String, Sent> invalidByOrigin = invalid.stream()
                .collect(Collectors.toMap(Sent::origin, Function.identity()));
        for (DeadLetter d : deadLetters) {
            Sent s = invalidByOrigin.get(d.getSourceTopic() + "/" + d.getSourcePartition() + "/"
                    + d.getSourceOffset());
            assertThat(d.getErrorCode()).as("code of " + s.origin() + " (" + d.getReason() + ")")
                    .isEqualTo(s.expectation().errorCode().name());
            assertThat(d.getRequestId()).as("request id of " + s.origin()).isEqualTo(s.expectation().requestId());
            assertThat(d.getReason()).isNotBlank();
            if (s.value() == null) {
                assertThat(d.getOriginalBytes()).isNull();
            } else {
                byte[] original = new byte[d.getOriginalBytes().remaining()];
                d.getOriginalBytes().duplicate().get(original);
                assertThat(d.getOriginalSize()).as("original size of " + s.origin()).isEqualTo(s.value().length);
                assertThat(d.getOriginalSha256()).as("SHA-256 of " + s.origin()).isEqualTo(sha256(s.value()));
                // Values over dead-letter.max-original-bytes keep their first bytes, the rest whole.
                byte[] expected = d.getOriginalTruncated() ? Arrays.copyOf(s.value(), original.length) : s.value();
                assertThat(original).as("original bytes of " + s.origin()).isEqualTo(expected);
                assertThat(d.getOriginalTruncated()).as("truncated: " + s.origin())
                        .isEqualTo(s.value().length > maxOriginalBytes(scenario));
            }
        }
    }

    private static int maxOriginalBytes(Scenario scenario) {
        return OptionsLoader.load(null, scenario.settings()).get(EnrichmentOptions.DEAD_LETTER_MAX_ORIGINAL_BYTES);
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
