package dev.gemmaflink.e2e;

import static dev.gemmaflink.e2e.support.Expectation.deadLetter;
import static dev.gemmaflink.e2e.support.Expectation.result;
import static dev.gemmaflink.e2e.support.Requests.binary;
import static dev.gemmaflink.e2e.support.Requests.garbage;
import static dev.gemmaflink.e2e.support.Requests.request;
import static dev.gemmaflink.e2e.support.Requests.summarize;
import static dev.gemmaflink.e2e.support.Requests.truncated;
import static org.assertj.core.api.Assertions.assertThat;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

import javax.imageio.ImageIO;

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
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointSpec;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointWriter;
import dev.gemmaflink.runtime.config.VisionConfig;
import dev.gemmaflink.runtime.engine.EngineMetrics;
import dev.gemmaflink.runtime.weights.TensorNaming;
import dev.gemmaflink.schemas.DeadLetter;
import dev.gemmaflink.schemas.EnrichmentResult;
import dev.gemmaflink.schemas.ErrorCode;
import dev.gemmaflink.schemas.ImageData;
import dev.gemmaflink.schemas.Stage;
import dev.gemmaflink.schemas.wire.WireCodec;

/**
 * Captions through the whole job: a tiny random multimodal checkpoint (SigLIP tower + projector), PNG and JPEG
 * events in, one committed result per image request, and an unreadable image as its own dead letter while the
 * requests around it complete; then text and image requests with bad records among them through a job that fails
 * once in the middle and resumes from its last checkpoint, still one committed outcome per request.
 */
class GemmaCaptionPipelineTest {

    @RegisterExtension
    static final KafkaFlinkExtension CLUSTER = KafkaFlinkExtension.embeddedKafka();

    @TempDir
    static Path tmp;
    static Path modelDir;

    @BeforeAll
    static void writeCheckpoint() {
        modelDir = tmp.resolve("tiny-gemma-mm");
        // Tiny tower: 56 x 56 images, patch 14, 4 soft tokens per image; image token ids inside the tiny vocabulary.
        TinyCheckpointWriter.write(modelDir, TinyCheckpointSpec.builder().layers(2).seed(5).maxPositions(512)
                .scheme(TensorNaming.LANGUAGE_MODEL)
                .vision(new VisionConfig(32, 64, 2, 2, 3, 56, 14, 1e-6)).mmTokensPerImage(4)
                .imageTokenIds(6, 7, 262_144).build());
    }

    private static ImageData encoded(String format, Color color, int width, int height) throws IOException {
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setColor(color);
        g.fillRect(0, 0, width, height);
        g.setColor(Color.WHITE);
        g.fillOval(width / 4, height / 4, width / 2, height / 2);
        g.dispose();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertThat(ImageIO.write(img, format, out)).as("a %s writer", format).isTrue();
        return ImageData.newBuilder().setData(ByteBuffer.wrap(out.toByteArray()))
                .setMediaType("image/" + format).build();
    }

    @Test
    void pngAndJpegEventsAreCaptionedAndAnUnreadableImageIsItsOwnDeadLetter() throws Exception {
        Scenario scenario = GemmaScenarios.configure(CLUSTER.newScenario("gemma-caption"), modelDir);

        List<Expectation> inputs = new ArrayList<>();
        Color[] colors = {Color.RED, Color.BLUE, Color.GREEN};
        for (int i = 0; i < colors.length; i++) {
            inputs.add(result(binary(request("png-" + i, "CAPTION").setImage(encoded("png", colors[i], 80, 60))
                    .build()), "png-" + i, null));
            inputs.add(result(binary(request("jpg-" + i, "CAPTION").setImage(encoded("jpeg", colors[i], 60, 90))
                    .setText("Mention the colour.").build()), "jpg-" + i, null));
        }
        // Pan & Scan on a wide image: the original plus crops go through the encoder.
        inputs.add(result(binary(request("wide", "CAPTION").setImage(encoded("png", Color.ORANGE, 1200, 400))
                .setPanAndScan(true).build()), "wide", null));
        inputs.add(result(binary(summarize("text-0", "A text request beside the images.")), "text-0", null));
        // The PNG signature, then filler: validation passes it, the engine cannot read it, only this request fails.
        byte[] notPng = new byte[64];
        Arrays.fill(notPng, (byte) 7);
        System.arraycopy(new byte[] {(byte) 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A}, 0, notPng, 0, 8);
        inputs.add(deadLetter(binary(request("broken", "CAPTION").setImage(ImageData.newBuilder()
                .setData(ByteBuffer.wrap(notPng)).setMediaType("image/png").build()).build()), "broken",
                ErrorCode.IMAGE_UNREADABLE));
        // A JPEG declared as PNG: refused by validation, before the engine.
        inputs.add(deadLetter(binary(request("mislabelled", "CAPTION").setImage(ImageData.newBuilder(
                encoded("jpeg", Color.PINK, 40, 30)).setMediaType("image/png").build()).build()), "mislabelled",
                ErrorCode.IMAGE_UNREADABLE));

        List<Sent> sent = RequestProducer.send(CLUSTER.bootstrapServers(), scenario.requestTopics(), inputs);
        PipelineRuns.runToCompletion(scenario, null);

        List<EnrichmentResult> results =
                PipelineRuns.assertExactlyOneOutcomeEach(CLUSTER, scenario, sent, scenario.id());
        assertThat(results).hasSize(8);
        // Images encoded together and prompts batched in the job: each request still produces exactly what the
        // engine alone produces for it (greedy decoding).
        EngineReference.assertMatches(results, EngineReference.expected(scenario.settings(), sent));
        // An image prompt holds the 4 soft tokens plus the image markers: longer than any text-only prompt here.
        int textPrompt = results.stream().filter(r -> r.getRequestId().equals("text-0")).findFirst().orElseThrow()
                .getPromptTokens();
        assertThat(results.stream().filter(r -> r.getTask().equals("CAPTION")))
                .allSatisfy(r -> assertThat(r.getPromptTokens()).isGreaterThan(4));
        assertThat(textPrompt).isPositive();

        DeadLetter broken = CLUSTER.readCommitted(scenario.deadLetterTopic(), WireCodec.deadLetters()).stream()
                .filter(d -> "broken".equals(d.getRequestId())).findFirst().orElseThrow();
        assertThat(broken.getReason()).startsWith("image: ");
        assertThat(broken.getStage()).isEqualTo(Stage.ENRICH.name());
        DeadLetter mislabelled = CLUSTER.readCommitted(scenario.deadLetterTopic(), WireCodec.deadLetters()).stream()
                .filter(d -> "mislabelled".equals(d.getRequestId())).findFirst().orElseThrow();
        assertThat(mislabelled.getReason()).isEqualTo("image declared image/png but its bytes are JPEG");
        assertThat(mislabelled.getStage()).isEqualTo(Stage.VALIDATE.name());

        EngineMetrics m = GemmaScenarios.finalMetrics(scenario);
        assertThat(m.imageViewsEncoded()).as("images and Pan & Scan crops encoded").isGreaterThanOrEqualTo(8);
        // 8 captions, and the unreadable image, which the engine ends with IMAGE_UNREADABLE.
        assertThat(m.completed()).isEqualTo(9);
        assertThat(m.failed()).isEqualTo(1);
    }

    @Test
    void textAndImageRequestsThroughAnInjectedFailureGetExactlyOneOutcomeEach() throws Exception {
        Scenario scenario = GemmaScenarios.configure(CLUSTER.newScenario("gemma-mm-failover"), modelDir);
        // This job must survive its one injected failure; a second one would still fail the test.
        scenario.settings().put("flink.restart-strategy.type", "fixed-delay");
        scenario.settings().put("flink.restart-strategy.fixed-delay.attempts", "3");
        scenario.settings().put("flink.restart-strategy.fixed-delay.delay", "200 ms");

        List<Expectation> inputs = new ArrayList<>();
        Color[] colors = {Color.RED, Color.BLUE, Color.GREEN, Color.MAGENTA, Color.CYAN};
        // Images between the text requests, so both kinds are in flight when the job fails.
        for (int i = 0; i < 40; i++) {
            if (i % 4 == 0) {
                inputs.add(result(binary(request("tr-" + i, "TRANSLATE").setText("good evening " + i)
                        .setTargetLanguage("de").build()), "tr-" + i, null));
            } else {
                inputs.add(result(binary(summarize("sum-" + i, "Event " + i + " arrived on the stream.")),
                        "sum-" + i, null));
            }
            if (i % 4 == 1) {
                String format = i % 8 == 1 ? "png" : "jpeg";
                String id = "cap-" + format + "-" + i;
                inputs.add(result(binary(request(id, "CAPTION").setImage(encoded(format, colors[i % 5], 48, 40))
                        .build()), id, null));
            }
        }
        // The bad ones, spread over the input: undecodable, truncated Avro, an unknown task, two unreadable images.
        inputs.add(3, deadLetter(garbage(), null, ErrorCode.DECODE_FAILED));
        inputs.add(17, deadLetter(truncated(summarize("cut", "cut short")), null, ErrorCode.DECODE_FAILED));
        inputs.add(23, deadLetter(binary(request("odd-task", "DESCRIBE").setText("what is this").build()),
                "odd-task", ErrorCode.UNKNOWN_TASK));
        // JPEG's start of image, then filler: validation passes it, the engine cannot read it.
        byte[] notAnImage = new byte[64];
        Arrays.fill(notAnImage, (byte) 7);
        System.arraycopy(new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF}, 0, notAnImage, 0, 3);
        inputs.add(29, deadLetter(binary(request("bad-bytes", "CAPTION").setImage(ImageData.newBuilder()
                .setData(ByteBuffer.wrap(notAnImage)).setMediaType("image/jpeg").build()).build()), "bad-bytes",
                ErrorCode.IMAGE_UNREADABLE));
        // A real PNG cut after its header: the size reads, the pixels do not.
        ByteBuffer png = encoded("png", Color.YELLOW, 48, 40).getData();
        byte[] cutPng = new byte[Math.min(60, png.remaining())];
        png.duplicate().get(cutPng);
        inputs.add(41, deadLetter(binary(request("cut-png", "CAPTION").setImage(ImageData.newBuilder()
                .setData(ByteBuffer.wrap(cutPng)).setMediaType("image/png").build()).build()), "cut-png",
                ErrorCode.IMAGE_UNREADABLE));

        long valid = inputs.stream().filter(Expectation::expectsResult).count();
        // Records the validator passes on: the valid ones and the two unreadable images (the engine rejects those).
        int intercepted = (int) valid + 2;
        List<Sent> sent = RequestProducer.send(CLUSTER.bootstrapServers(), scenario.requestTopics(), inputs);
        PipelineRuns.runToCompletion(scenario, new FailOnceAfterCheckpoint<>(scenario.id(), intercepted / 2));

        assertThat(FailOnceAfterCheckpoint.failed(scenario.id())).as("the failure was injected").isTrue();
        assertThat(FailOnceAfterCheckpoint.highestAttempt(scenario.id()))
                .as("attempt number of the subtasks that finished the job (0 = never restarted)").isPositive();
        assertThat(FailOnceAfterCheckpoint.seen(scenario.id()))
                .as("records seen over both attempts: those after the checkpoint were replayed")
                .isGreaterThan(intercepted);

        List<EnrichmentResult> results =
                PipelineRuns.assertExactlyOneOutcomeEach(CLUSTER, scenario, sent, scenario.id());
        assertThat(results).hasSize((int) valid);
        Map<String, Long> perTask = results.stream()
                .collect(Collectors.groupingBy(EnrichmentResult::getTask, Collectors.counting()));
        assertThat(perTask).containsOnly(Map.entry("SUMMARIZE", 30L), Map.entry("TRANSLATE", 10L),
                Map.entry("CAPTION", 10L));
        // Text and image requests replayed after the restore produce what the engine alone produces for them.
        EngineReference.assertMatches(results, EngineReference.expected(scenario.settings(), sent));
        assertThat(results.stream().filter(r -> r.getTask().equals("CAPTION")))
                .as("image prompts hold the soft tokens and image markers")
                .allSatisfy(r -> assertThat(r.getPromptTokens()).isGreaterThan(4));

        Map<String, DeadLetter> deadLetters = CLUSTER.readCommitted(scenario.deadLetterTopic(),
                WireCodec.deadLetters()).stream().collect(Collectors.toMap(
                        d -> d.getRequestId() != null ? d.getRequestId()
                                : d.getSourceTopic() + "/" + d.getSourcePartition() + "/" + d.getSourceOffset(),
                        Function.identity()));
        assertThat(deadLetters.values()).filteredOn(d -> d.getRequestId() == null).hasSize(2)
                .allSatisfy(d -> assertThat(d.getStage()).isEqualTo(Stage.DECODE.name()));
        assertThat(deadLetters.get("odd-task").getStage()).isEqualTo(Stage.VALIDATE.name());
        assertThat(deadLetters.get("odd-task").getReason()).contains("'DESCRIBE'");
        for (String id : List.of("bad-bytes", "cut-png")) {
            assertThat(deadLetters.get(id).getStage()).as("stage of " + id).isEqualTo(Stage.ENRICH.name());
            assertThat(deadLetters.get(id).getReason()).as("reason of " + id).startsWith("image: ");
        }
    }
}
