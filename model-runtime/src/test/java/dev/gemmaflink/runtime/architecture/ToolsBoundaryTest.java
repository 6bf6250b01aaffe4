package dev.gemmaflink.runtime.architecture;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The runtime library never depends on its tools (CLI, benchmarks, tiny-checkpoint writer): no source under
 * {@code src/main/java} outside {@code dev/gemmaflink/runtime/tools/} names {@code dev.gemmaflink.runtime.tools} in
 * any way (imports, static and wildcard ones included, fully-qualified names, strings, and documentation links: the
 * library's documentation must not point into the tools either).
 */
class ToolsBoundaryTest {

    /** The module's folder: Surefire's {@code basedir}, else the working directory. */
    private static final Path MODULE =
            Path.of(System.getProperty("basedir", System.getProperty("user.dir"))).toAbsolutePath().normalize();
    private static final Path MAIN = MODULE.resolve("src/main/java");
    private static final Path TOOLS = MAIN.resolve("dev/gemmaflink/runtime/tools");
    /** The package or anything in it; {@code dev.gemmaflink.runtime.toolsX} is another package. */
    private static final Pattern TOOLS_REFERENCE = Pattern.compile("(?<![\\w.])dev\\s*\\.\\s*gemmaflink\\s*\\.\\s*"
            + "runtime\\s*\\.\\s*tools(?!\\w)");

    @Test
    void libraryPackagesDoNotReferenceTools() throws IOException {
        List<String> offenders = new ArrayList<>();
        int scanned = 0;
        try (Stream<Path> files = Files.walk(MAIN)) {
            for (Path file : files.filter(p -> p.toString().endsWith(".java")).sorted().toList()) {
                if (file.startsWith(TOOLS)) {
                    continue;
                }
                scanned++;
                String text = read(file);
                String[] lines = text.split("\n", -1);
                Matcher m = TOOLS_REFERENCE.matcher(text);
                while (m.find()) {
                    int line = (int) text.substring(0, m.start()).chars().filter(c -> c == '\n').count();
                    offenders.add(MODULE.getParent().relativize(file) + ":" + (line + 1) + ": " + lines[line].strip());
                }
            }
        }
        assertThat(scanned).as("library sources scanned under %s", MAIN).isGreaterThan(50);
        assertThat(offenders)
                .withFailMessage("library sources refer to dev.gemmaflink.runtime.tools (the tools use the library, "
                        + "never the other way round):%n  %s", String.join("\n  ", offenders))
                .isEmpty();
    }

    @Test
    void theCheckSeesTheToolsThemselves() throws IOException {
        // Guards the test against a wrong base directory: the tools package exists, is found, and is what the
        // pattern matches.
        try (Stream<Path> files = Files.walk(TOOLS)) {
            assertThat(files.filter(p -> p.toString().endsWith("GemmaCli.java")).count()).isEqualTo(1);
        }
        assertThat(TOOLS_REFERENCE.matcher(read(TOOLS.resolve("package-info.java"))).find()).isTrue();
        assertThat(TOOLS_REFERENCE.matcher("import static dev.gemmaflink.runtime.tools.cli.GemmaCli.main;").find())
                .isTrue();
        assertThat(TOOLS_REFERENCE.matcher("import dev.gemmaflink.runtime.tools.*;").find()).isTrue();
        assertThat(TOOLS_REFERENCE.matcher("import dev.gemmaflink.runtime.toolsy.X;").find()).isFalse();
        assertThat(TOOLS_REFERENCE.matcher("import dev.gemmaflink.runtime.model.tools.X;").find()).isFalse();
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
