package dev.gemmaflink.runtime.config;

import dev.gemmaflink.runtime.ModelLoadException;

/** Attention kind of one decoder layer, as named by {@code layer_types} in config.json. */
public enum LayerType {
    /** Local attention: causal and limited to the last {@code sliding_window} positions; RoPE theta 1e4. */
    SLIDING_ATTENTION("sliding_attention"),
    /** Global attention: causal over the whole context; RoPE theta 1e6, optionally linearly scaled. */
    FULL_ATTENTION("full_attention");

    private final String jsonName;

    LayerType(String jsonName) {
        this.jsonName = jsonName;
    }

    /** @return the spelling used in config.json ({@code sliding_attention} / {@code full_attention}) */
    public String jsonName() {
        return jsonName;
    }

    /**
     * @param name a {@code layer_types} entry
     * @return the matching layer type
     * @throws ModelLoadException for any other value
     */
    public static LayerType fromJson(String name) {
        for (LayerType t : values()) {
            if (t.jsonName.equals(name)) {
                return t;
            }
        }
        throw new ModelLoadException("unknown layer type '" + name
                + "' (expected sliding_attention or full_attention)");
    }
}
