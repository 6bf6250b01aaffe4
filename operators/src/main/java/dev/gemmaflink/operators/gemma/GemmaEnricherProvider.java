package dev.gemmaflink.operators.gemma;

import java.util.List;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ReadableConfig;

import dev.gemmaflink.operators.enrich.Enricher;
import dev.gemmaflink.operators.enrich.EnricherProvider;

/** Provides the {@link GemmaEnricher} as {@code enrich.enricher: gemma}; its options are {@link GemmaOptions}. */
public final class GemmaEnricherProvider implements EnricherProvider {

    /** The provider name. */
    public static final String NAME = "gemma";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public List<ConfigOption<?>> options() {
        return GemmaOptions.ALL;
    }

    @Override
    public Enricher create(ReadableConfig config) {
        return GemmaEnricher.fromConfig(config);
    }
}
