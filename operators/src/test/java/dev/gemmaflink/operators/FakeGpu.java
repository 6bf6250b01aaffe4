package dev.gemmaflink.operators;

import java.util.Collection;
import java.util.Map;
import java.util.Optional;

import org.apache.flink.api.common.externalresource.ExternalResourceInfo;

/** A {@code gpu} external resource info as Flink's GPU plugin reports it ({@code GPUInfo}: one property, index). */
public record FakeGpu(Map<String, String> properties) implements ExternalResourceInfo {

    public FakeGpu {
        properties = Map.copyOf(properties);
    }

    /** A GPU with property {@code index}; null: an info without any property. */
    public static FakeGpu index(String index) {
        return new FakeGpu(index == null ? Map.of() : Map.of("index", index));
    }

    @Override
    public Optional<String> getProperty(String key) {
        return Optional.ofNullable(properties.get(key));
    }

    @Override
    public Collection<String> getKeys() {
        return properties.keySet();
    }
}
