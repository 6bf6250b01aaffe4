package dev.gemmaflink.runtime.model;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gemmaflink.runtime.config.GemmaConfig;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpoint;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointSpec;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointWriter;
import dev.gemmaflink.runtime.tools.cli.GemmaCli;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code gemma record-steps} records a real engine run, and the recording alone (its files, the checkpoint it names)
 * replays step by step through a fresh model and KV storage of the recorded geometry to the same tokens in float32:
 * the recording is complete and self-contained, as the GPU replay of {@code tools/hf_parity.py --replay} needs.
 */
class StepReplayTest {

    private static final int WINDOW = 8;

    @TempDir
    Path tmp;

    @Test
    void recordedEngineRunReplaysToTheSameTokens() throws IOException {
        // GQA 4/2, window 8: far shorter than the 32-token shared prefix.
        TinyCheckpoint ckpt = TinyCheckpointWriter.write(tmp.resolve("ckpt"), TinyCheckpointSpec.builder().layers(6)
                .hidden(64).heads(4).kvHeads(2).headDim(16).window(WINDOW).maxPositions(512).seed(21).build());
        Path out = tmp.resolve("replay");
        int rc = GemmaCli.commandLine().execute("record-steps", "--model", ckpt.directory().toString(), "--out",
                out.toString(), "--precision", "f32", "--block-size", "4", "--chunk", "16", "--threads", "1");
        assertThat(rc).isZero();
        JsonNode m = new ObjectMapper().readTree(out.resolve("manifest.json").toFile());

        // The scenario the issue asks for.
        JsonNode summary = m.get("summary");
        assertThat(summary.get("mixedSteps").asInt()).as("steps with prefill chunks beside decodes").isGreaterThan(1);
        JsonNode c = request(m, "C");
        assertThat(c.get("cachedPromptTokens").asInt()).as("C's prefix-cache hit").isPositive();
        assertThat(request(m, "A").get("promptTokens").asInt() + request(m, "A").get("tokens").size())
                .isGreaterThan(WINDOW);
        boolean sampled = false;
        boolean greedy = false;
        for (JsonNode s : m.get("steps")) {
            JsonNode sm = s.get("sample");
            if (sm != null && !sm.isNull()) {
                long[] params = readInt64(out.resolve(sm.get("params").asText()));
                for (int r = 0; r < sm.get("rows").asInt(); r++) {
                    greedy |= params[r * DeviceSampler.PARAM_COLUMNS + 1] == 1;
                    sampled |= params[r * DeviceSampler.PARAM_COLUMNS + 1] == 0;
                }
            }
        }
        assertThat(greedy).as("greedy rows recorded").isTrue();
        assertThat(sampled).as("seeded sampled rows recorded").isTrue();
        assertThat(out.resolve(m.get("torchscript").get("F32").asText())).exists();

        // Replay from the files only.
        Path model = Path.of(m.get("model").asText());
        GemmaConfig cfg = GemmaConfig.load(model.resolve("config.json"));
        JsonNode kvm = m.get("kv");
        int sliding = kvm.get("slidingSlots").asInt();
        int full = kvm.get("fullSlots").asInt();
        assertThat(KvStorage.slotsPerLayer(cfg, sliding, full)).containsExactly(longs(kvm.get("slotsPerLayer")));
        int checked = 0;
        try (GemmaModel fresh = GemmaModel.load(model,
                ModelOptions.builder().threads(1).precision(Precision.FLOAT32).build(), LoadProgress.NONE);
             KvStorage kv = fresh.allocateKv(sliding, full)) {
            for (JsonNode s : m.get("steps")) {
                RecordedStep step = read(out, s, sliding, full);
                long[] tokens = fresh.replay(step, kv);
                if (step.sample() == null) {
                    assertThat(tokens).isNull();
                    continue;
                }
                assertThat(tokens).as("tokens of step %d", s.get("index").asInt())
                        .containsExactly(step.sample().tokens());
                checked += tokens.length;
            }
        }
        assertThat(checked).isEqualTo(summary.get("sampledRows").asInt()).isPositive();
    }

    private static JsonNode request(JsonNode m, String id) {
        for (JsonNode r : m.get("requests")) {
            if (r.get("id").asText().equals(id)) {
                return r;
            }
        }
        throw new AssertionError("no request " + id);
    }

    private static RecordedStep read(Path dir, JsonNode s, int sliding, int full) throws IOException {
        JsonNode shape = s.get("softShape");
        float[] soft = s.get("soft").isNull() ? new float[0] : readFloat32(dir.resolve(s.get("soft").asText()));
        RecordedStep.Sample sample = null;
        JsonNode sm = s.get("sample");
        if (!sm.isNull()) {
            long[] tokens = readInt64(dir.resolve(sm.get("tokens").asText()));
            assertThat(tokens).containsExactly(longs(sm.get("tokenIds")));
            sample = new RecordedStep.Sample(readInt64(dir.resolve(sm.get("params").asText())), sm.get("rows").asInt(),
                    sm.get("kmax").asInt(), sm.get("logprobs").asBoolean(),
                    sm.get("allowed").isNull() ? new int[0] : readInt32(dir.resolve(sm.get("allowed").asText())),
                    sm.get("whole").asBoolean(), tokens);
        }
        return new RecordedStep(RecordedStep.Call.valueOf(s.get("call").asText()), s.get("optimized").asBoolean(),
                0, sliding, full, readInt64(dir.resolve(s.get("buffer").asText())), longs(s.get("sizes")),
                longs(s.get("dims")), soft, shape.get(0).asInt(), shape.get(1).asInt(), sample);
    }

    private static long[] longs(JsonNode array) {
        List<Long> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asLong()));
        return out.stream().mapToLong(Long::longValue).toArray();
    }

    // A minimal .npy reader: version 1 headers, little-endian, C order (what the CLI's writer produces).
    private static final Pattern DESCR = Pattern.compile("'descr': '([^']+)'");

    private static ByteBuffer body(Path file, String expectedDescr) throws IOException {
        byte[] all = Files.readAllBytes(file);
        int headerLen = (all[8] & 0xff) | (all[9] & 0xff) << 8;
        String header = new String(all, 10, headerLen, StandardCharsets.US_ASCII);
        Matcher d = DESCR.matcher(header);
        assertThat(d.find()).isTrue();
        assertThat(d.group(1)).as("dtype of %s", file).isEqualTo(expectedDescr);
        return ByteBuffer.wrap(all, 10 + headerLen, all.length - 10 - headerLen).slice()
                .order(ByteOrder.LITTLE_ENDIAN);
    }

    private static long[] readInt64(Path file) throws IOException {
        ByteBuffer b = body(file, "<i8");
        long[] out = new long[b.remaining() / 8];
        b.asLongBuffer().get(out);
        return out;
    }

    private static int[] readInt32(Path file) throws IOException {
        ByteBuffer b = body(file, "<i4");
        int[] out = new int[b.remaining() / 4];
        b.asIntBuffer().get(out);
        return out;
    }

    private static float[] readFloat32(Path file) throws IOException {
        ByteBuffer b = body(file, "<f4");
        float[] out = new float[b.remaining() / 4];
        b.asFloatBuffer().get(out);
        return out;
    }
}
