package dev.gemmaflink.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.jar.JarFile;

import org.junit.jupiter.api.Test;

/**
 * The shaded job jar, checked after {@code package} (surefire execution {@code shaded-jar-check} in phase verify;
 * not a {@code *Test}, so the normal test run, which comes before packaging, skips it).
 */
class ShadedJarCheck {

    @Test
    void jobJarHoldsTheEntryClassDjlsEngineServiceAndNoFlinkRuntime() throws IOException {
        Path jar = Path.of(System.getProperty("job.jar", "target/jobs-0.1.0-SNAPSHOT-job.jar"));
        assertThat(jar).isRegularFile();
        try (JarFile file = new JarFile(jar.toFile())) {
            assertThat(file.getManifest().getMainAttributes().getValue("Main-Class"))
                    .isEqualTo(EnrichmentJob.class.getName());
            assertThat(file.getEntry("dev/gemmaflink/jobs/EnrichmentJob.class")).isNotNull();
            assertThat(file.getEntry("dev/gemmaflink/operators/gemma/GemmaEnricher.class")).isNotNull();
            var engines = file.getEntry("META-INF/services/ai.djl.engine.EngineProvider");
            assertThat(engines).as("DJL engine service file").isNotNull();
            String providers = new String(file.getInputStream(engines).readAllBytes(), StandardCharsets.UTF_8);
            assertThat(providers).contains("ai.djl.pytorch.engine.PtEngineProvider");
            var enrichers = file.getEntry("META-INF/services/dev.gemmaflink.operators.enrich.EnricherProvider");
            assertThat(new String(file.getInputStream(enrichers).readAllBytes(), StandardCharsets.UTF_8))
                    .contains("GemmaEnricherProvider", "EchoEnricherProvider");
            // The SQL model provider beside the Kafka connector's table factories (ADD JAR of this jar).
            var factories = file.getEntry("META-INF/services/org.apache.flink.table.factories.Factory");
            assertThat(factories).as("Flink table factory service file").isNotNull();
            assertThat(new String(file.getInputStream(factories).readAllBytes(), StandardCharsets.UTF_8))
                    .contains("dev.gemmaflink.operators.sql.GemmaModelProviderFactory", "KafkaDynamicTableFactory");
            assertThat(file.stream().anyMatch(e -> e.getName().startsWith("native/lib/")
                    || e.getName().contains("pytorch/cpu"))).as("CPU libtorch natives").isTrue();
            assertThat(file.getEntry("org/apache/flink/streaming/api/environment/StreamExecutionEnvironment.class"))
                    .as("Flink is provided by the cluster").isNull();
        }
    }
}
