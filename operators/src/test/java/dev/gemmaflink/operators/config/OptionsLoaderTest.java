package dev.gemmaflink.operators.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OptionsLoaderTest {

    @TempDir
    Path dir;

    @Test
    void defaultsApplyWithoutFileOrOverrides() {
        Configuration conf = OptionsLoader.load(null, Map.of());

        assertThat(conf.get(EnrichmentOptions.REQUEST_TOPICS)).containsExactly("enrichment-requests");
        assertThat(conf.get(EnrichmentOptions.CHECKPOINT_INTERVAL)).isEqualTo(Duration.ofSeconds(10));
        assertThat(conf.get(EnrichmentOptions.BOUNDED)).isFalse();
        assertThat(conf.get(EnrichmentOptions.ENRICHER)).isEqualTo("echo");
    }

    @Test
    void nestedYamlIsFlattenedAndListsAndDurationsParse() throws IOException {
        Path yaml = write("""
                kafka:
                  bootstrap-servers: broker:9093
                  request-topics: [a, b]
                  bounded: true
                job:
                  checkpoint-interval: 750 ms
                validation.max-text-chars: 100
                flink:
                  restart-strategy.type: none
                """);

        Configuration conf = OptionsLoader.load(yaml, Map.of());

        assertThat(conf.get(EnrichmentOptions.BOOTSTRAP_SERVERS)).isEqualTo("broker:9093");
        assertThat(conf.get(EnrichmentOptions.REQUEST_TOPICS)).containsExactly("a", "b");
        assertThat(conf.get(EnrichmentOptions.BOUNDED)).isTrue();
        assertThat(conf.get(EnrichmentOptions.CHECKPOINT_INTERVAL)).isEqualTo(Duration.ofMillis(750));
        assertThat(conf.get(EnrichmentOptions.MAX_TEXT_CHARS)).isEqualTo(100);
        assertThat(OptionsLoader.flinkSettings(conf).get(RestartStrategyOptions.RESTART_STRATEGY)).isEqualTo("none");
    }

    @Test
    void overridesWinOverTheFile() throws IOException {
        Path yaml = write("kafka:\n  result-topic: from-file\n  group-id: g1\n");

        Configuration conf = OptionsLoader.load(yaml,
                OptionsLoader.parseOverrides(List.of("kafka.result-topic=from-cli", "kafka.request-topics=x;y")));

        assertThat(conf.get(EnrichmentOptions.RESULT_TOPIC)).isEqualTo("from-cli");
        assertThat(conf.get(EnrichmentOptions.GROUP_ID)).isEqualTo("g1");
        assertThat(conf.get(EnrichmentOptions.REQUEST_TOPICS)).containsExactly("x", "y");
    }

    @Test
    void unknownKeyIsRefusedWithASuggestion() {
        assertThatThrownBy(() -> OptionsLoader.load(null, Map.of("kafka.result-topik", "x")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unknown option 'kafka.result-topik'")
                .hasMessageContaining("did you mean 'kafka.result-topic'");
    }

    @Test
    void badValuesAreRefusedNamingKeyAndValue() {
        assertThatThrownBy(() -> OptionsLoader.load(null, Map.of("job.parallelism", "two")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("invalid value 'two' for option 'job.parallelism'");
        assertThatThrownBy(() -> OptionsLoader.load(null, Map.of("enrich.async-capacity", "0")))
                .hasMessageContaining("'enrich.async-capacity' must be at least 1, got 0");
        assertThatThrownBy(() -> OptionsLoader.load(null, Map.of("validation.max-tenant-chars", "0")))
                .hasMessageContaining("'validation.max-tenant-chars' must be at least 1, got 0");
        assertThatThrownBy(() -> OptionsLoader.load(null, Map.of("kafka.transaction-timeout", "1 h")))
                .hasMessageContaining("'kafka.transaction-timeout' must be between 1 s and");
        assertThatThrownBy(() -> OptionsLoader.load(null, Map.of("kafka.starting-offsets", "MIDDLE")))
                .hasMessageContaining("invalid value 'MIDDLE' for option 'kafka.starting-offsets'");
        assertThatThrownBy(() -> OptionsLoader.load(null, Map.of("job.checkpoint-interval", "0 ms")))
                .hasMessageContaining("'job.checkpoint-interval' must be positive");
        assertThatThrownBy(() -> OptionsLoader.load(null, Map.of("job.checkpoint-interval", "10 min")))
                .hasMessageContaining("'kafka.transaction-timeout' (PT10M) must be longer than 'job.checkpoint-interval'");
    }

    @Test
    void aDeadLetterLimitThatDoesNotFitTheProducersRequestSizeIsRefusedNamingBothOptions() {
        assertThatThrownBy(() -> OptionsLoader.load(null, Map.of("dead-letter.max-original-bytes", "1000000")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'dead-letter.max-original-bytes' (1000000)")
                .hasMessageContaining("max.request.size (1048576, option 'kafka.producer.max.request.size')");
        assertThatThrownBy(() -> OptionsLoader.load(null, Map.of("kafka.producer.max.request.size", "500000")))
                .hasMessageContaining("'dead-letter.max-original-bytes' (786432)");
        // Raising the request size makes room for a larger limit; the common pass-through counts too.
        assertThat(OptionsLoader.load(null, Map.of("dead-letter.max-original-bytes", "3000000",
                "kafka.properties.max.request.size", "4194304")).get(EnrichmentOptions.DEAD_LETTER_MAX_ORIGINAL_BYTES))
                .isEqualTo(3_000_000);
    }

    @Test
    void malformedOverridesAndFilesAreRefused() throws IOException {
        assertThatThrownBy(() -> OptionsLoader.parseOverrides(List.of("novalue")))
                .hasMessageContaining("'novalue' is not of the form key=value");
        Path notAMap = write("- a\n- b\n");
        assertThatThrownBy(() -> OptionsLoader.load(notAMap, Map.of()))
                .hasMessageContaining("must hold a YAML mapping");
        Path broken = write("kafka: [unclosed\n");
        assertThatThrownBy(() -> OptionsLoader.load(broken, Map.of())).hasMessageContaining("is not valid YAML");
        assertThatThrownBy(() -> OptionsLoader.load(dir.resolve("missing.yaml"), Map.of()))
                .hasMessageContaining("cannot read configuration file");
    }

    @Test
    void markdownTableListsEveryOptionWithItsDefault() {
        String table = OptionsLoader.markdownTable();
        for (var option : EnrichmentOptions.ALL) {
            assertThat(table).contains("| `" + option.key() + "` |");
        }
        assertThat(table).contains("| `job.checkpoint-interval` | `10 s` |");
    }

    private Path write(String yaml) throws IOException {
        Path file = Files.createTempFile(dir, "options", ".yaml");
        Files.writeString(file, yaml);
        return file;
    }
}
