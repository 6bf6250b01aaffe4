package dev.gemmaflink.jobs.local;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import javax.imageio.ImageIO;

import dev.gemmaflink.schemas.EnrichmentRequest;
import dev.gemmaflink.schemas.GenerationParameters;
import dev.gemmaflink.schemas.ImageData;
import dev.gemmaflink.schemas.wire.WireCodec;

/** Example request records for the quick start: valid ones of every task and a few bad ones. */
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
        samples.add(new Sample("qs-caption", codec.encode(base("qs-caption", "CAPTION")
                .setImage(ImageData.newBuilder().setData(ByteBuffer.wrap(tinyPng())).setMediaType("image/png").build())
                .setText("What is in this picture?").build()), "valid CAPTION with a generated PNG"));
        samples.add(new Sample("qs-json", codec.encodeJson(base("qs-json", "SUMMARIZE")
                .setText("Requests may also arrive as Avro JSON.")
                .setGeneration(GenerationParameters.newBuilder().setMaxNewTokens(4).build()).build()),
                "valid SUMMARIZE as Avro JSON, truncated to 4 tokens"));
        samples.add(new Sample("qs-garbage", "this is not a request".getBytes(StandardCharsets.UTF_8),
                "undecodable bytes"));
        samples.add(new Sample("qs-no-text", codec.encode(base("qs-no-text", "SUMMARIZE").build()),
                "SUMMARIZE without text"));
        samples.add(new Sample("qs-unknown-task", codec.encode(base("qs-unknown-task", "CLASSIFY").setText("x")
                .build()), "unknown task"));
        samples.add(new Sample("qs-bad-language", codec.encode(base("qs-bad-language", "TRANSLATE").setText("x")
                .setTargetLanguage("english please").build()), "invalid target language"));
        samples.add(new Sample("qs-gif", codec.encode(base("qs-gif", "CAPTION").setImage(ImageData.newBuilder()
                .setData(ByteBuffer.wrap(new byte[] {'G', 'I', 'F'})).setMediaType("image/gif").build()).build()),
                "unsupported media type"));
        return samples;
    }

    private static EnrichmentRequest.Builder base(String id, String task) {
        return EnrichmentRequest.newBuilder().setRequestId(id).setTenant("quickstart").setKey(null).setTask(task)
                .setText(null).setImage(null).setTargetLanguage(null).setGeneration(null)
                .setEventTime(Instant.now()).setAttributes(Map.of("source", "quickstart"));
    }

    /** An 8x8 two-colour PNG made here, so the quick start needs no image file. */
    static byte[] tinyPng() {
        BufferedImage image = new BufferedImage(8, 8, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 8; y++) {
            for (int x = 0; x < 8; x++) {
                image.setRGB(x, y, (x + y) % 2 == 0 ? 0xFF8800 : 0x0044FF);
            }
        }
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ImageIO.write(image, "png", out);
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
