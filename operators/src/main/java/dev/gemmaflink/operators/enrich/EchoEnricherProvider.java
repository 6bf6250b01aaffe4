package dev.gemmaflink.operators.enrich;

import java.util.List;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ReadableConfig;

import dev.gemmaflink.operators.config.EnrichmentOptions;

/** Provides the {@link EchoEnricher} as {@code enrich.enricher: echo}. */
public final class EchoEnricherProvider implements EnricherProvider {

    @Override
    public String name() {
        return EchoEnricher.MODEL_ID;
    }

    @Override
    public List<ConfigOption<?>> options() {
        // Its one option is part of EnrichmentOptions, so it is documented with the others.
        return List.of(EnrichmentOptions.ECHO_FAIL_MARKER);
    }

    @Override
    public Enricher create(ReadableConfig config) {
        return new EchoEnricher(config.get(EnrichmentOptions.ECHO_FAIL_MARKER));
    }
}
