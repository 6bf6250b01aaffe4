package dev.gemmaflink.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;

import dev.gemmaflink.operators.config.OptionsLoader;

/** The README documents what the code does: the options table and the two commands. */
class DocumentationTest {

    private static final Path ROOT = Path.of("..");

    @Test
    void readmeHasTheCurrentOptionsTable() throws IOException {
        String readme = Files.readString(ROOT.resolve("README.md"));
        assertThat(readme)
                .as("README.md options table; regenerate it with `EnrichmentJob --print-options`")
                .contains(OptionsLoader.markdownTable());
    }

    @Test
    void readmeHasTheCurrentSqlModelOptionsTable() throws IOException {
        String readme = Files.readString(ROOT.resolve("README.md"));
        assertThat(readme)
                .as("README.md table of the gemma model's SQL options; regenerate it with "
                        + "GemmaModelOptions.markdownTable()")
                .contains(dev.gemmaflink.operators.sql.GemmaModelOptions.markdownTable());
        assertThat(Files.isExecutable(ROOT.resolve("bin/sql"))).isTrue();
    }

    @Test
    void readmeYamlExampleIsAValidConfiguration() throws IOException {
        String readme = Files.readString(ROOT.resolve("README.md"));
        int start = readme.indexOf("```yaml\n");
        assertThat(start).as("a ```yaml block in README.md").isNotNegative();
        String yaml = readme.substring(start + 8, readme.indexOf("```", start + 8));
        Path file = Files.createTempFile("readme", ".yaml");
        try {
            Files.writeString(file, yaml);
            var conf = OptionsLoader.load(file, java.util.Map.of());
            assertThat(conf.get(dev.gemmaflink.operators.config.EnrichmentOptions.REQUEST_TOPICS))
                    .containsExactly("requests-eu", "requests-us");
        } finally {
            Files.delete(file);
        }
    }

    @Test
    void readmeStatesBothCommandsNearTheTopAndCiRunsTheTestCommand() throws IOException {
        List<String> head = Files.readAllLines(ROOT.resolve("README.md")).subList(0, 15);
        assertThat(head).anyMatch(line -> line.startsWith("bin/quickstart"));
        assertThat(head).anyMatch(line -> line.startsWith("mvn -B verify"));
        assertThat(Files.readString(ROOT.resolve(".ci/run"))).contains("\nmvn -B verify ");
        assertThat(Files.isExecutable(ROOT.resolve(".ci/run"))).isTrue();
        assertThat(Files.isExecutable(ROOT.resolve("bin/quickstart"))).isTrue();
    }
}
