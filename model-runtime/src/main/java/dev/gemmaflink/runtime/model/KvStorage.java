package dev.gemmaflink.runtime.model;

import ai.djl.pytorch.jni.IValue;
import dev.gemmaflink.runtime.config.GemmaConfig;
import dev.gemmaflink.runtime.config.LayerType;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The KV cache of every layer: one tensor per layer, {@code (slots, 2 * numKeyValueHeads, headDim)} in the precision's
 * dtype (a slot's K heads, then its V heads, so one copy writes both), addressed by slot index, and the same memory
 * viewed as one row per head, which attention gathers from; one more slot per layer than asked for is the
 * {@linkplain #scratchSlot scratch slot}. Sliding-window and full-attention layers have their own slot spaces (so a block pool can
 * later give the sliding layers only a window's worth of blocks). Held natively as TorchScript lists, never as DJL
 * arrays (DJL cannot represent bf16). Created by {@link GemmaModel#allocateKv}; close it to free the memory.
 */
public final class KvStorage implements AutoCloseable {

    private static final AtomicLong IDS = new AtomicLong();

    private final long id = IDS.incrementAndGet();
    private final GemmaModel owner;
    private final IValue cache; // List[Tensor], one per layer
    private final IValue rows; // List[Tensor]: the same memory viewed (slots * 2 * kvHeads, headDim), for gathers
    private final int slidingSlots;
    private final int fullSlots;
    private final long bytes;
    private boolean closed;

    KvStorage(GemmaModel owner, IValue cache, IValue rows, int slidingSlots, int fullSlots, long bytes) {
        this.owner = owner;
        this.cache = cache;
        this.rows = rows;
        this.slidingSlots = slidingSlots;
        this.fullSlots = fullSlots;
        this.bytes = bytes;
    }

    /** Slots available to layers of the given type. */
    public int slots(LayerType type) {
        return type == LayerType.SLIDING_ATTENTION ? slidingSlots : fullSlots;
    }

    /**
     * The slot after the available ones, allocated besides them: padding tokens of a bucketed step
     * ({@link GraphMode#OPTIMIZED}) write their K/V there, and no context reads it (contexts address available slots
     * only), so padding never touches the cache of a sequence.
     */
    int scratchSlot(LayerType type) {
        return slots(type);
    }

    /**
     * Slots per layer of a storage with the given available slots per layer type, as the module's
     * {@code alloc_cache} takes them: each layer's available slots plus its scratch slot.
     */
    static long[] slotsPerLayer(GemmaConfig config, int slidingSlots, int fullSlots) {
        long[] slots = new long[config.numHiddenLayers()];
        for (int i = 0; i < slots.length; i++) {
            slots[i] = (config.layerType(i) == LayerType.SLIDING_ATTENTION ? slidingSlots : fullSlots) + 1L;
        }
        return slots;
    }

    /** Distinguishes the storages of this process (for {@link RecordedStep#storageId()}). */
    long id() {
        return id;
    }

    /** Bytes of native memory held (K and V, all layers, the scratch slot included). */
    public long bytes() {
        return bytes;
    }

    GemmaModel owner() {
        return owner;
    }

    IValue cache() {
        checkOpen();
        return cache;
    }

    /** The cache as rows of one head each, {@code (slots * 2 * kvHeads, headDim)}: what attention gathers from. */
    IValue rows() {
        checkOpen();
        return rows;
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
            rows.close();
            cache.close();
        }
    }
}
