package dev.gemmaflink.runtime.tools.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** make-tiny, tokenize and generate run in-process through picocli, as bin/gemma runs them. */
class GemmaCliTest {

    @TempDir
    Path tmp;

    private record Run(int exit, String out, String err) {
    }

    private static Run run(String... args) {
        CommandLine cl = GemmaCli.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    /** A w x h RGB PNG in the temporary folder, with horizontal and vertical gradients. */
    private Path gradientPng(int w, int h) throws Exception {
        Path png = tmp.resolve("img-" + w + "x" + h + ".png");
        java.awt.image.BufferedImage img = new java.awt.image.BufferedImage(w, h, java.awt.image.BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, (x * 6 % 256) << 16 | (y * 8 % 256) << 8 | 0x40);
            }
        }
        javax.imageio.ImageIO.write(img, "png", png.toFile());
        return png;
    }

    @Test
    void makeTinyTokenizeGenerate() throws Exception {
        String dir = tmp.resolve("tiny").toString();
        Run made = run("make-tiny", "--out", dir, "--seed", "5", "--dtype", "bf16", "--window", "4");
        assertThat(made.exit()).as(made.err()).isZero();
        assertThat(made.out()).contains("6 layers").contains("BF16");
        assertThat(Files.exists(Path.of(dir, "config.json"))).isTrue();

        Run tok = run("tokenize", "--model", dir, "--text", "hello world");
        assertThat(tok.exit()).as(tok.err()).isZero();
        int[] ids = new ObjectMapper().readValue(tok.out().trim(), int[].class);
        assertThat(ids.length).isGreaterThan(1);
        assertThat(ids[0]).isEqualTo(2);

        String[] gen = {"generate", "--model", dir, "--prompt", "hello world", "--max-new-tokens", "6",
            "--temperature", "0", "--threads", "1", "--precision", "f32"};
        Run g1 = run(gen);
        assertThat(g1.exit()).as(g1.err()).isZero();
        assertThat(g1.out()).containsPattern("prompt tokens: " + ids.length + ", generated tokens: [0-6], finish: ");
        assertThat(run(gen).out().lines().findFirst()).isEqualTo(g1.out().lines().findFirst()); // greedy: same text

        Run chat = run("generate", "--model", dir, "--prompt", "hi", "--chat", "--max-new-tokens", "3", "--seed", "4",
                "--threads", "1");
        assertThat(chat.exit()).as(chat.err()).isZero();
        assertThat(chat.out()).contains("TTFT");
    }

    @Test
    void visionCheckpointCaptionsImagesAndRefusesBadOnes() throws Exception {
        String dir = tmp.resolve("v").toString();
        Run made = run("make-tiny", "--out", dir, "--vision", "--seed", "3");
        assertThat(made.exit()).as(made.err()).isZero();
        assertThat(made.out()).contains("LANGUAGE_MODEL");
        Path png = gradientPng(40, 30);
        String[] gen = {"generate", "--model", dir, "--image", png.toString(), "--prompt", "Describe the image.",
            "--max-new-tokens", "4", "--temperature", "0", "--threads", "1", "--precision", "f32"};
        Run g1 = run(gen);
        assertThat(g1.exit()).as(g1.err()).isZero();
        assertThat(g1.out()).containsPattern("generated tokens: [0-4], finish: ");
        assertThat(run(gen).out()).startsWith(g1.out().lines().findFirst().orElseThrow()); // greedy: deterministic

        Path bad = tmp.resolve("bad.png");
        Files.write(bad, new byte[] {1, 2, 3, 4, 5});
        Run refused = run("generate", "--model", dir, "--image", bad.toString(), "--prompt", "x", "--threads", "1");
        assertThat(refused.exit()).isEqualTo(2);
        assertThat(refused.err()).contains("UNSUPPORTED_FORMAT").contains("image 0");
        Run missing = run("generate", "--model", dir, "--image", tmp.resolve("nope.jpg").toString(), "--prompt", "x");
        assertThat(missing.exit()).isEqualTo(2);
        assertThat(missing.err()).contains("cannot read --image");
    }

    /** An .npy file read back: its header's shape and its little-endian values. */
    private record Npy(long[] shape, java.nio.ByteBuffer data) {
        static Npy read(Path f) throws Exception {
            byte[] all = Files.readAllBytes(f);
            assertThat(new String(all, 1, 5, java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("NUMPY");
            int headerLen = (all[8] & 0xff) | (all[9] & 0xff) << 8;
            assertThat((10 + headerLen) % 64).as("header padded to 64 bytes").isZero();
            String header = new String(all, 10, headerLen, java.nio.charset.StandardCharsets.US_ASCII);
            String dims = header.replaceAll("(?s).*'shape': \\(([^)]*)\\).*", "$1");
            long[] shape = java.util.Arrays.stream(dims.split(",")).map(String::trim).filter(x -> !x.isEmpty())
                    .mapToLong(Long::parseLong).toArray();
            return new Npy(shape, java.nio.ByteBuffer.wrap(all, 10 + headerLen, all.length - 10 - headerLen)
                    .slice().order(java.nio.ByteOrder.LITTLE_ENDIAN));
        }
    }

    @Test
    void dumpLogitsWritesTheRuntimeLogitsAndInputsForTheParityScript() throws Exception {
        String dir = tmp.resolve("v").toString();
        assertThat(run("make-tiny", "--out", dir, "--vision", "--seed", "9", "--window", "4").exit()).isZero();
        Path png = gradientPng(30, 20);
        Path out = tmp.resolve("dump");
        Run dump = run("dump-logits", "--model", dir, "--out", out.toString(), "--prompt", "Describe the image.",
                "--image", png.toString(), "--threads", "1");
        assertThat(dump.exit()).as(dump.err()).isZero();

        var manifest = new ObjectMapper().readTree(out.resolve("manifest.json").toFile());
        int n = manifest.get("tokens").asInt();
        int vocab = manifest.get("vocab").asInt();
        Npy ids = Npy.read(out.resolve("ids.npy"));
        assertThat(ids.shape()).containsExactly(n);
        for (int i = 0; i < n; i++) {
            assertThat(ids.data().getLong(i * 8)).isEqualTo(manifest.get("ids").get(i).asLong());
        }
        assertThat(manifest.get("spanLengths").get(0).asInt()).isEqualTo(4); // mm_tokens_per_image of the tiny tower
        assertThat(Npy.read(out.resolve("pixel_values.npy")).shape()).containsExactly(1, 3, 56, 56);
        assertThat(Npy.read(out.resolve("soft_f32.npy")).shape()).containsExactly(4, 64);
        assertThat(Files.exists(out.resolve(manifest.get("images").get(0).asText()))).isTrue();

        Npy f32 = Npy.read(out.resolve("logits_f32.npy"));
        Npy bf16 = Npy.read(out.resolve("logits_bf16.npy"));
        assertThat(f32.shape()).containsExactly(n, vocab);
        assertThat(bf16.shape()).containsExactly(n, vocab);
        // The two precisions agree to bf16 accuracy, and the file is not a copy of one buffer.
        double num = 0;
        double den = 0;
        boolean differ = false;
        for (int i = 0; i < n * vocab; i++) {
            float a = f32.data().getFloat(i * 4);
            float b = bf16.data().getFloat(i * 4);
            num += (a - b) * (a - b);
            den += a * a;
            differ |= a != b;
        }
        assertThat(den).isPositive();
        assertThat(Math.sqrt(num / den)).isLessThan(3e-2);
        assertThat(differ).isTrue();
        for (String path : new String[] {"BF16_PLAIN", "F32"}) {
            try (var zip = new java.util.zip.ZipFile(out.resolve(manifest.get("torchscript").get(path).asText()).toFile())) {
                assertThat(zip.getEntry("gemma/code/__torch__.py")).as(path).isNotNull();
            }
        }
        for (String path : new String[] {"BF16", "F32"}) {
            try (var zip = new java.util.zip.ZipFile(out.resolve(manifest.get("siglip").get(path).asText()).toFile())) {
                assertThat(zip.getEntry("siglip/code/__torch__.py")).as(path).isNotNull();
            }
        }

        Run both = run("dump-logits", "--model", dir, "--out", out.toString(), "--prompt", "x", "--ids", "2,3");
        assertThat(both.exit()).isEqualTo(2);
        assertThat(both.err()).contains("exactly one of --prompt and --ids");
    }

    @Test
    void badInputGivesOneClearLine() {

        Run preset = run("make-tiny", "--out", tmp.resolve("p").toString(), "--preset", "2b");
        assertThat(preset.err()).contains("unknown --preset '2b'");

        Run precision = run("generate", "--model", tmp.toString(), "--prompt", "x", "--precision", "fp8");
        assertThat(precision.exit()).isEqualTo(2);
        assertThat(precision.err()).contains("unknown precision 'fp8'");

        Run topP = run("generate", "--model", tmp.toString(), "--prompt", "x", "--top-p", "0");
        assertThat(topP.err()).contains("topP must be in (0, 1]");

        Run missing = run("tokenize", "--model", tmp.resolve("nowhere").toString(), "--text", "x");
        assertThat(missing.exit()).isNotZero();
        assertThat(missing.err()).contains("tokenizer.json");
    }
}
