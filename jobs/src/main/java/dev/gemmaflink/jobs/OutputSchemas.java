package dev.gemmaflink.jobs;

import java.util.LinkedHashMap;
import java.util.Map;

import org.apache.flink.configuration.Configuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.gemmaflink.operators.config.EnrichmentOptions;
import dev.gemmaflink.operators.registry.RecordDecoder;
import dev.gemmaflink.operators.registry.RecordEncoder;
import dev.gemmaflink.operators.registry.RegistryUnavailableException;
import dev.gemmaflink.operators.registry.WireFormat;

/**
 * At job start, before anything is submitted: the result and dead-letter schemas of outputs written in the
 * Confluent framing are registered (or, with {@code schema-registry.auto-register} off, looked up) under their
 * subjects, so a registry that is unreachable, refuses the credentials, refuses the schema as incompatible, or lacks
 * it, stops the start with that message instead of a job that restarts forever. The sinks' serializers do the same
 * when they open, once per TaskManager (the answers are cached there), and write the ids they get.
 */
public final class OutputSchemas {
    private static final Logger LOG = LoggerFactory.getLogger(OutputSchemas.class);

    private OutputSchemas() {
    }

    /**
     * Registers or looks up the Confluent-framed outputs' schemas.
     *
     * @return schema id per topic (empty when no output is Confluent-framed)
     * @throws IllegalArgumentException naming the registry problem
     */
    public static Map<String, Integer> register(Configuration conf) {
        Map<String, Integer> ids = new LinkedHashMap<>();
        try {
            if (conf.get(EnrichmentOptions.RESULT_FORMAT) == WireFormat.CONFLUENT) {
                String topic = conf.get(EnrichmentOptions.RESULT_TOPIC);
                RecordEncoder<?> encoder = RecordEncoder.results(WireFormat.CONFLUENT, RecordDecoder.registryOf(conf));
                encoder.open(topic);
                ids.put(topic, encoder.schemaId());
            }
            if (conf.get(EnrichmentOptions.DEAD_LETTER_FORMAT) == WireFormat.CONFLUENT) {
                String topic = conf.get(EnrichmentOptions.DEAD_LETTER_TOPIC);
                RecordEncoder<?> encoder = RecordEncoder.deadLetters(WireFormat.CONFLUENT,
                        RecordDecoder.registryOf(conf));
                encoder.open(topic);
                ids.put(topic, encoder.schemaId());
            }
        } catch (RegistryUnavailableException e) {
            throw new IllegalArgumentException("the output schemas cannot be registered: " + e.getMessage(), e);
        }
        if (!ids.isEmpty()) {
            LOG.info("output schemas in the schema registry {}: {}", RecordDecoder.registryOf(conf).displayUrls(), ids);
        }
        return ids;
    }
}
