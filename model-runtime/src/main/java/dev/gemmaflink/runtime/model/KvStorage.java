package dev.gemmaflink.runtime.model;

import ai.djl.pytorch.jni.IValue;
import dev.gemmaflink.runtime.config.LayerType;

/**
 * The K and V tensors of every layer, each {@code (slots, numKeyValueHeads, headDim)} in the precision's dtype,
 * addressed by slot index. Sliding-window and full-attention layers have their own slot spaces (so a block pool can
 * later give the sliding layers only a window's worth of blocks). Held natively as TorchScript lists, never as DJL
 * arrays (DJL cannot represent bf16). Created by {@link GemmaModel#allocateKv}; close it to free the memory.
 */
public final class KvStorage implements AutoCloseable {

    private final GemmaModel owner;
    private final IValue keys; // List[Tensor], one per layer
    private final IValue values; // List[Tensor], one per layer
    private final int slidingSlots;
    private final int fullSlots;
    private final long bytes;
    private boolean closed;

    KvStorage(GemmaModel owner, IValue keys, IValue values, int slidingSlots, int fullSlots, long bytes) {
        this.owner = owner;
        this.keys = keys;
        this.values = values;
        this.slidingSlots = slidingSlots;
        this.fullSlots = fullSlots;
        this.bytes = bytes;
    }

    /** Slots available to layers of the given type. */
    public int slots(LayerType type) {
        return type == LayerType.SLIDING_ATTENTION ? slidingSlots : fullSlots;
    }

    /** Bytes of native memory held (K and V, all layers). */
    public long bytes() {
        return bytes;
    }

    GemmaModel owner() {
        return owner;
    }

    IValue keys() {
        checkOpen();
        return keys;
    }

    IValue values() {
        checkOpen();
        return values;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("KV storage is closed");
        }
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            keys.close();
            values.close();
        }
    }
}
