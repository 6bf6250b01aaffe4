package dev.gemmaflink.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.gemmaflink.operators.config.EnrichmentOptions;
import dev.gemmaflink.operators.config.OptionsLoader;
import picocli.CommandLine;

class EnrichmentJobTest {

    @TempDir
    Path dir;

    @Test
    void commandLineOverridesAreParsedIntoTheOptions() throws Exception {
        Path yaml = dir.resolve("job.yaml");
        Files.writeString(yaml, "kafka:\n  result-topic: file-topic\n  group-id: g\n");
        EnrichmentJob job = new EnrichmentJob();
        new CommandLine(job).parseArgs("--config", yaml.toString(), "-Dkafka.result-topic=cli-topic",
                "--set", "job.parallelism=3");

        var conf = OptionsLoader.load(job.configFile, job.overrides);

        assertThat(conf.get(EnrichmentOptions.RESULT_TOPIC)).isEqualTo("cli-topic");
        assertThat(conf.get(EnrichmentOptions.GROUP_ID)).isEqualTo("g");
        assertThat(conf.get(EnrichmentOptions.PARALLELISM)).isEqualTo(3);
    }

    @Test
    void badOptionFailsBeforeAnyJobIsBuiltWithANonZeroExitCode() {
        StringWriter err = new StringWriter();
        CommandLine cli = EnrichmentJob.commandLine(new EnrichmentJob()).setErr(new PrintWriter(err));

        int exit = cli.execute("-Djob.paralelism=3");

        assertThat(exit).isEqualTo(2);
        assertThat(err.toString()).startsWith("configuration error: unknown option 'job.paralelism'")
                .contains("did you mean 'job.parallelism'");
    }

    @Test
    void printOptionsPrintsTheTable() {
        StringWriter out = new StringWriter();
        java.io.PrintStream saved = System.out;
        java.io.ByteArrayOutputStream buffer = new java.io.ByteArrayOutputStream();
        System.setOut(new java.io.PrintStream(buffer, true));
        try {
            assertThat(new CommandLine(new EnrichmentJob()).setOut(new PrintWriter(out)).execute("--print-options"))
                    .isZero();
        } finally {
            System.setOut(saved);
        }
        assertThat(buffer.toString()).isEqualTo(OptionsLoader.markdownTable());
    }
}
