package dev.gemmaflink.runtime.kvcache;

/**
 * The attention kind of a group of decoder layers, as far as KV memory is concerned.
 *
 * <p>The constant names match {@code dev.gemmaflink.runtime.config.LayerType}, so a model config maps onto this enum
 * with {@code KvLayerType.valueOf(layerType.name())}; the KV cache keeps its own enum so it depends on nothing but
 * the JDK.
 */
public enum KvLayerType {
    /** Global attention: every layer of this kind keeps the keys and values of the whole sequence. */
    FULL_ATTENTION,
    /** Local attention over the last {@code slidingWindow} positions: older blocks can be dropped. */
    SLIDING_ATTENTION
}
