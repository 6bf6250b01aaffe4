package dev.gemmaflink.jobs.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointSpec;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointWriter;
import dev.gemmaflink.runtime.config.GemmaConfig;
import dev.gemmaflink.runtime.vision.ImageDecodeException;
import dev.gemmaflink.runtime.vision.ImageDecoder;

/** The quick start's default model: multimodal, written once, and never an old text-only one reused. */
class QuickstartModelTest {

    @TempDir
    Path tmp;

    private static GemmaConfig prepareWithTinyTokenizer(Path dir, ByteArrayOutputStream log) {
        QuickstartModel.prepare(dir, new PrintStream(log, true, StandardCharsets.UTF_8), false);
        return GemmaConfig.load(dir);
    }

    @Test
    void writesAMultimodalCheckpointOnceAndReusesIt() throws Exception {
        Path dir = tmp.resolve("quickstart-model");
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        GemmaConfig config = prepareWithTinyTokenizer(dir, log);

        assertThat(config.vision()).contains(QuickstartModel.TOWER);
        assertThat(config.mmTokensPerImage()).isEqualTo(QuickstartModel.TOKENS_PER_IMAGE);
        // The image markers are embedded like text: they must be inside the tiny vocabulary.
        assertThat(config.boiTokenId()).isLessThan(config.vocabSize());
        assertThat(config.eoiTokenId()).isLessThan(config.vocabSize());
        assertThat(QuickstartModel.holdsMultimodalCheckpoint(dir)).isTrue();

        Path weights = dir.resolve("model.safetensors");
        FileTime written = FileTime.fromMillis(1_000_000_000_000L);
        Files.setLastModifiedTime(weights, written);
        log.reset();
        QuickstartModel.prepare(dir, new PrintStream(log, true, StandardCharsets.UTF_8), false);
        assertThat(Files.getLastModifiedTime(weights)).as("a second start reuses the checkpoint").isEqualTo(written);
        assertThat(log.toString(StandardCharsets.UTF_8)).isEmpty();
    }

    @Test
    void replacesATextOnlyCheckpointLeftByAnEarlierVersion() {
        Path dir = tmp.resolve("quickstart-model");
        TinyCheckpointWriter.write(dir, TinyCheckpointSpec.builder().layers(2).hidden(64).seed(2026).build());
        assertThat(QuickstartModel.holdsMultimodalCheckpoint(dir)).isFalse();

        ByteArrayOutputStream log = new ByteArrayOutputStream();
        GemmaConfig config = prepareWithTinyTokenizer(dir, log);

        assertThat(config.vision()).isPresent();
        assertThat(config.architecture()).isEqualTo(GemmaConfig.CONDITIONAL_GENERATION);
        assertThat(log.toString(StandardCharsets.UTF_8)).contains("holds no multimodal checkpoint");
    }

    @Test
    void samplesCaptionAPngAndAJpegAndCarryOneUnreadableImage() {
        assertThat(SampleRequests.all()).extracting(SampleRequests.Sample::key)
                .contains("qs-caption-png", "qs-caption-jpeg", "qs-broken-image").doesNotHaveDuplicates();
        // Read as the enricher reads them.
        ImageDecoder decoder = new ImageDecoder();
        assertThat(decoder.decode(SampleRequests.tinyPng()).width()).isEqualTo(64);
        assertThat(decoder.decode(SampleRequests.tinyJpeg()).width()).isEqualTo(80);
        assertThat(SampleRequests.brokenPng()).startsWith(0x89, 'P', 'N', 'G');
        assertThatThrownBy(() -> decoder.decode(SampleRequests.brokenPng())).isInstanceOf(ImageDecodeException.class)
                .hasMessageContaining("png");
    }
}
