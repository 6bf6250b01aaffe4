package dev.gemmaflink.operators.enrich;

import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ReadableConfig;

/**
 * Makes an {@link Enricher} by name ({@code enrich.enricher}). Implementations are found with
 * {@link ServiceLoader} ({@code META-INF/services/dev.gemmaflink.operators.enrich.EnricherProvider}), so a module
 * can add one (the Gemma engine) without changing the job; their options become valid configuration keys.
 */
public interface EnricherProvider {

    /** The value of {@code enrich.enricher} that selects this provider. */
    String name();

    /** Options this enricher reads, by convention under {@code enrich.<name>.}. */
    List<ConfigOption<?>> options();

    /** A new, unopened enricher configured from {@code config}. Runs on the client. */
    Enricher create(ReadableConfig config);

    /** Every provider on the class path. */
    static List<EnricherProvider> all() {
        List<EnricherProvider> providers = new ArrayList<>();
        ServiceLoader.load(EnricherProvider.class, EnricherProvider.class.getClassLoader()).forEach(providers::add);
        return providers;
    }

    /**
     * The enricher selected by {@code enrich.enricher}.
     *
     * @throws IllegalArgumentException naming the available providers when none has that name
     */
    static Enricher fromConfig(ReadableConfig config) {
        String name = config.get(dev.gemmaflink.operators.config.EnrichmentOptions.ENRICHER);
        List<EnricherProvider> providers = all();
        for (EnricherProvider provider : providers) {
            if (provider.name().equals(name)) {
                return provider.create(config);
            }
        }
        throw new IllegalArgumentException(String.format("unknown enricher '%s' (option enrich.enricher); "
                + "available: %s", name, providers.stream().map(EnricherProvider::name).sorted().toList()));
    }
}
