package dev.gemmaflink.jobs.local;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import javax.imageio.ImageIO;

import dev.gemmaflink.schemas.EnrichmentRequest;
import dev.gemmaflink.schemas.GenerationParameters;
import dev.gemmaflink.schemas.ImageData;
import dev.gemmaflink.schemas.wire.WireCodec;

/**
 * Example request records for the quick start: valid ones of every task (captions of a PNG and a JPEG drawn here)
 * and a few bad ones, one of each stage: undecodable, invalid, and an image only the enricher finds unreadable.
 */
public final class SampleRequests {

    /**
     * One record to publish.
     *
     * @param key Kafka key
     * @param value record value (wire format, JSON or garbage)
     * @param note what it demonstrates
     */
    public record Sample(String key, byte[] value, String note) {
    }

    private SampleRequests() {
    }

    /** Valid and invalid samples, in publishing order. */
    public static List<Sample> all() {
        WireCodec<EnrichmentRequest> codec = WireCodec.requests();
        List<Sample> samples = new ArrayList<>();
        samples.add(new Sample("qs-summarize", codec.encode(base("qs-summarize", "SUMMARIZE")
                .setText("Apache Flink is a framework and distributed processing engine for stateful computations "
                        + "over unbounded and bounded data streams.").build()), "valid SUMMARIZE"));
        samples.add(new Sample("qs-translate", codec.encode(base("qs-translate", "TRANSLATE").setKey("session-1")
                .setText("Good morning, how are you?").setTargetLanguage("pt-BR").build()), "valid TRANSLATE"));
        samples.add(new Sample("qs-caption-png", codec.encode(base("qs-caption-png", "CAPTION")
                .setImage(image(tinyPng(), "image/png")).setText("What is in this picture?").build()),
                "valid CAPTION with a PNG made here"));
        samples.add(new Sample("qs-caption-jpeg", codec.encode(base("qs-caption-jpeg", "CAPTION")
                .setImage(image(tinyJpeg(), "image/jpeg")).build()), "valid CAPTION with a JPEG made here"));
        samples.add(new Sample("qs-json", codec.encodeJson(base("qs-json", "SUMMARIZE")
                .setText("Requests may also arrive as Avro JSON.")
                .setGeneration(GenerationParameters.newBuilder().setMaxNewTokens(4).build()).build()),
                "valid SUMMARIZE as Avro JSON, truncated to 4 tokens"));
        samples.add(new Sample("qs-garbage", "this is not a request".getBytes(StandardCharsets.UTF_8),
                "undecodable bytes"));
        samples.add(new Sample("qs-no-text", codec.encode(base("qs-no-text", "SUMMARIZE").build()),
                "SUMMARIZE without text"));
        samples.add(new Sample("qs-unknown-task", codec.encode(base("qs-unknown-task", "DETECT").setText("x")
                .build()), "unknown task"));
        samples.add(new Sample("qs-bad-language", codec.encode(base("qs-bad-language", "TRANSLATE").setText("x")
                .setTargetLanguage("english please").build()), "invalid target language"));
        samples.add(new Sample("qs-gif", codec.encode(base("qs-gif", "CAPTION").setImage(ImageData.newBuilder()
                .setData(ByteBuffer.wrap(new byte[] {'G', 'I', 'F'})).setMediaType("image/gif").build()).build()),
                "unsupported media type"));
        samples.add(new Sample("qs-broken-image", codec.encode(base("qs-broken-image", "CAPTION")
                .setImage(image(brokenPng(), "image/png")).build()),
                "CAPTION with a PNG cut short: valid, but the gemma enricher cannot read it (IMAGE_UNREADABLE)"));
        return samples;
    }

    private static EnrichmentRequest.Builder base(String id, String task) {
        return EnrichmentRequest.newBuilder().setRequestId(id).setTenant("quickstart").setKey(null).setTask(task)
                .setText(null).setImage(null).setTargetLanguage(null).setGeneration(null)
                .setEventTime(Instant.now()).setAttributes(Map.of("source", "quickstart"));
    }

    private static ImageData image(byte[] bytes, String mediaType) {
        return ImageData.newBuilder().setData(ByteBuffer.wrap(bytes)).setMediaType(mediaType).build();
    }

    /** A 64x48 PNG made here (sky, sun, grass), so the quick start needs no image file. */
    static byte[] tinyPng() {
        return encode(landscape(64, 48), "png");
    }

    /** An 80x60 JPEG of the same kind of picture. */
    static byte[] tinyJpeg() {
        return encode(landscape(80, 60), "jpeg");
    }

    /** A PNG cut after its first 60 bytes: the header still names a size, the pixel data ends early. */
    static byte[] brokenPng() {
        return Arrays.copyOf(tinyPng(), 60);
    }

    private static BufferedImage landscape(int width, int height) {
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            g.setColor(new Color(0x87CEEB));
            g.fillRect(0, 0, width, height);
            g.setColor(new Color(0x3CB043));
            g.fillRect(0, height * 2 / 3, width, height - height * 2 / 3);
            g.setColor(new Color(0xFFD700));
            g.fillOval(width / 8, height / 8, width / 4, width / 4);
        } finally {
            g.dispose();
        }
        return image;
    }

    private static byte[] encode(BufferedImage image, String format) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            if (!ImageIO.write(image, format, out)) {
                throw new IllegalStateException("no ImageIO writer for " + format);
            }
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
