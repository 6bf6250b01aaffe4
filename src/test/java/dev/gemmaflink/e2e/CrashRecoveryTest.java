package dev.gemmaflink.e2e;

import static dev.gemmaflink.e2e.support.Expectation.result;
import static dev.gemmaflink.e2e.support.Requests.binary;
import static dev.gemmaflink.e2e.support.Requests.summarize;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.IntPredicate;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import dev.gemmaflink.e2e.support.ChildJvm;
import dev.gemmaflink.e2e.support.Expectation;
import dev.gemmaflink.e2e.support.FaultInjectingJob;
import dev.gemmaflink.e2e.support.KafkaBrokerProcess;
import dev.gemmaflink.e2e.support.KafkaFlinkExtension;
import dev.gemmaflink.e2e.support.KafkaFlinkExtension.Scenario;
import dev.gemmaflink.e2e.support.PipelineRuns;
import dev.gemmaflink.e2e.support.RequestProducer;
import dev.gemmaflink.e2e.support.RequestProducer.Sent;
import dev.gemmaflink.jobs.EnrichmentJob;
import dev.gemmaflink.jobs.local.EmbeddedKafkaCluster;
import dev.gemmaflink.jobs.local.TopicReader;

/**
 * The job in a process of its own, killed the hard way and started again as the README documents
 * ({@code EnrichmentJob} with the same configuration): it resumes from its retained checkpoint, never from the
 * consumer group's offsets, and every request has exactly one committed outcome.
 */
class CrashRecoveryTest {

    @RegisterExtension
    static final KafkaFlinkExtension CLUSTER = KafkaFlinkExtension.embeddedKafkaOnly();

    @TempDir
    Path work;

    @Test
    void aKilledJobProcessResumesFromItsCheckpointAndLosesNothing() throws Exception {
        Scenario scenario = CLUSTER.newScenario("sigkill");
        List<String> args = jobArgs(scenario.settings());
        List<Expectation> inputs = summaries("k-", 200);

        int beforeKill;
        CompletableFuture<List<Sent>> sending;
        try (ChildJvm first = ChildJvm.start("job-1", EnrichmentJob.class.getName(), args, work.resolve("job.log"),
                768)) {
            // The first requests show the job running; the rest arrive over about 4 s, so the kill lands mid-stream.
            sending = sendRunningStream(CLUSTER.bootstrapServers(), scenario, inputs, 20, 45, first);
            beforeKill = awaitOutcomes(CLUSTER.bootstrapServers(), scenario, n -> n >= 60, first);
            first.kill();
        }
        assertThat(beforeKill).as("killed mid-stream").isLessThan(200);

        try (ChildJvm second = ChildJvm.start("job-2", EnrichmentJob.class.getName(), args,
                work.resolve("job-2.log"), 768)) {
            assertThat(awaitOutput(second, "resuming from checkpoint", Duration.ofSeconds(60)))
                    .as("the restart resumes from the retained checkpoint").isTrue();
            List<Sent> sent = sending.get(60, TimeUnit.SECONDS);
            awaitOutcomes(CLUSTER.bootstrapServers(), scenario, n -> n >= 200, second);
            // One more checkpoint, so that a duplicate written after the last outcome would be committed too.
            Thread.sleep(1_500);
            PipelineRuns.assertExactlyOneOutcomeEach(CLUSTER, scenario, sent, "echo");
        }
    }

    @Test
    void tenThousandRequestsSurviveATaskFailureAKilledProcessAndABrokerRestart() throws Exception {
        try (KafkaBrokerProcess kafka = KafkaBrokerProcess.start(work.resolve("kafka"))) {
            String bootstrap = kafka.bootstrapServers();
            Scenario scenario = scenarioOn(bootstrap, CLUSTER.newScenario("three-failures"));
            Path trigger = work.resolve("fail-now");
            List<String> args = new ArrayList<>(List.of(trigger.toString()));
            args.addAll(jobArgs(scenario.settings()));
            List<Expectation> inputs = summaries("t-", 10_000);

            ChildJvm job = ChildJvm.start("job-1", FaultInjectingJob.class.getName(), args,
                    work.resolve("job.log"), 768);
            try {
                // Once the job runs, requests arrive over about 25 s: each failure meets a stream in full flow.
                CompletableFuture<List<Sent>> sending = sendRunningStream(bootstrap, scenario, inputs, 200, 400, job);
                awaitOutcomes(bootstrap, scenario, n -> n >= 1_000, job);
                Files.createFile(trigger); // 1: a task failure; Flink restarts the job in its process
                awaitOutput(job, "injected task failure", Duration.ofSeconds(60));
                awaitOutcomes(bootstrap, scenario, n -> n >= 3_000, job);

                job.kill(); // 2: the process dies; started again, it resumes from the retained checkpoint
                job = ChildJvm.start("job-2", FaultInjectingJob.class.getName(), args, work.resolve("job-2.log"),
                        768);
                assertThat(awaitOutput(job, "resuming from checkpoint", Duration.ofSeconds(60))).isTrue();
                awaitOutcomes(bootstrap, scenario, n -> n >= 5_000, job);

                kafka.restart(); // 3: the broker goes away under the running job and comes back

                List<Sent> sent = sending.get(120, TimeUnit.SECONDS);
                awaitOutcomes(bootstrap, scenario, n -> n >= 10_000, job);
                Thread.sleep(1_500);
                assertThat(Files.exists(trigger)).isFalse();
                assertExactlyOneOutcomeEach(bootstrap, scenario, sent);
            } finally {
                job.close();
            }
        }
    }

    /** The scenario's settings, unbounded and restarting on failure, as command line arguments. */
    private static List<String> jobArgs(Map<String, String> scenarioSettings) {
        Map<String, String> settings = new LinkedHashMap<>(scenarioSettings);
        settings.put("kafka.bounded", "false");
        settings.put("job.checkpoint-interval", "300 ms");
        settings.put("flink.restart-strategy.type", "fixed-delay");
        settings.put("flink.restart-strategy.fixed-delay.attempts", "20");
        settings.put("flink.restart-strategy.fixed-delay.delay", "500 ms");
        List<String> args = new ArrayList<>();
        settings.forEach((key, value) -> args.addAll(List.of("-D", key + "=" + value)));
        return args;
    }

    /** The same scenario with its topics created on another broker. */
    private static Scenario scenarioOn(String bootstrap, Scenario scenario) throws Exception {
        EmbeddedKafkaCluster.createTopics(bootstrap, 2, scenario.requestTopics());
        EmbeddedKafkaCluster.createTopics(bootstrap, 1, List.of(scenario.resultTopic(), scenario.deadLetterTopic()));
        Map<String, String> settings = new LinkedHashMap<>(scenario.settings());
        settings.put("kafka.bootstrap-servers", bootstrap);
        return new Scenario(scenario.id(), scenario.requestTopics(), scenario.resultTopic(),
                scenario.deadLetterTopic(), settings);
    }

    private static List<Expectation> summaries(String prefix, int count) {
        List<Expectation> inputs = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            inputs.add(result(binary(summarize(prefix + i, "text " + i)), prefix + i, "[SUMMARIZE] text " + i));
        }
        return inputs;
    }

    /**
     * Sends the first {@code head} inputs, waits until the job has committed their outcomes, then sends the rest at
     * {@code perSecond} in the background; the future holds every input as sent, in order.
     */
    private static CompletableFuture<List<Sent>> sendRunningStream(String bootstrap, Scenario scenario,
            List<Expectation> inputs, int head, int perSecond, ChildJvm job) throws Exception {
        List<Sent> first = RequestProducer.send(bootstrap, scenario.requestTopics(), inputs.subList(0, head));
        awaitOutcomes(bootstrap, scenario, n -> n >= head, job);
        return sendPaced(bootstrap, scenario.requestTopics(), inputs.subList(head, inputs.size()), perSecond)
                .thenApply(rest -> {
                    List<Sent> all = new ArrayList<>(first);
                    all.addAll(rest);
                    return all;
                });
    }

    private static CompletableFuture<List<Sent>> sendPaced(String bootstrap, List<String> topics,
            List<Expectation> inputs, int perSecond) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return RequestProducer.sendPaced(bootstrap, topics, inputs, perSecond);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    /** Waits until the committed results and dead letters together satisfy {@code until}; returns their number. */
    private static int awaitOutcomes(String bootstrap, Scenario scenario, IntPredicate until, ChildJvm job)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(150);
        while (true) {
            int outcomes = TopicReader.readCommittedRaw(bootstrap, scenario.resultTopic(), Duration.ofSeconds(60))
                    .size() + TopicReader.readCommittedRaw(bootstrap, scenario.deadLetterTopic(),
                            Duration.ofSeconds(60)).size();
            if (until.test(outcomes)) {
                return outcomes;
            }
            if (!job.isAlive() || System.nanoTime() > deadline) {
                throw new AssertionError("only " + outcomes + " committed outcomes; job alive: " + job.isAlive()
                        + "\n" + job.tail(60));
            }
            Thread.sleep(500);
        }
    }

    private static boolean awaitOutput(ChildJvm job, String text, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!job.output().contains(text)) {
            if (System.nanoTime() > deadline || !job.isAlive()) {
                throw new AssertionError("'" + text + "' not in the job's output:\n" + job.tail(60));
            }
            Thread.sleep(100);
        }
        return true;
    }

    /** Exactly one committed result per request, read from a broker outside the extension. */
    private static void assertExactlyOneOutcomeEach(String bootstrap, Scenario scenario, List<Sent> sent) {
        List<String> ids = TopicReader.readCommitted(bootstrap, scenario.resultTopic(),
                dev.gemmaflink.schemas.wire.WireCodec.results(), Duration.ofSeconds(60)).stream()
                .map(r -> r.getRequestId() + " " + r.getOutputText()).sorted().toList();
        List<String> expected = sent.stream()
                .map(s -> s.expectation().requestId() + " " + s.expectation().output()).sorted().toList();
        assertThat(ids).as("one result per request, each with its output").isEqualTo(expected);
        assertThat(TopicReader.readCommittedRaw(bootstrap, scenario.deadLetterTopic(), Duration.ofSeconds(60)))
                .isEmpty();
    }
}
