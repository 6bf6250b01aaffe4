package dev.gemmaflink.runtime.architecture;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The runtime library never depends on its tools (CLI, benchmarks, tiny-checkpoint writer). */
class ToolsBoundaryTest {

    private static final Path MAIN = Path.of("src/main/java/dev/gemmaflink/runtime");
    private static final Pattern TOOLS_REFERENCE = Pattern.compile("\\bdev\\.gemmaflink\\.runtime\\.tools\\b");

    @Test
    void libraryPackagesDoNotReferenceTools() throws IOException {
        List<String> offenders;
        try (Stream<Path> files = Files.walk(MAIN)) {
            offenders = files.filter(p -> p.toString().endsWith(".java"))
                    .filter(p -> !p.startsWith(MAIN.resolve("tools")))
                    .filter(ToolsBoundaryTest::referencesTools)
                    .map(Path::toString)
                    .toList();
        }
        assertThat(offenders).as("library sources referring to dev.gemmaflink.runtime.tools").isEmpty();
    }

    @Test
    void theCheckSeesTheToolsThemselves() throws IOException {
        // Guards the test against a wrong working directory: the tools package exists and is found.
        try (Stream<Path> files = Files.walk(MAIN.resolve("tools"))) {
            assertThat(files.filter(p -> p.toString().endsWith("GemmaCli.java")).count()).isEqualTo(1);
        }
    }

    private static boolean referencesTools(Path file) {
        try {
            return TOOLS_REFERENCE.matcher(Files.readString(file)).find();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
