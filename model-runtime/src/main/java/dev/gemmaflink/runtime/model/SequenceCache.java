package dev.gemmaflink.runtime.model;

import dev.gemmaflink.runtime.config.GemmaConfig;
import dev.gemmaflink.runtime.kvcache.ChunkSlots;

/**
 * One sequence's cache bookkeeping for step 2: a contiguous run of {@code capacity} slots starting at
 * {@code baseSlot}, the same run in both layer types' slot spaces; position p lives in slot {@code baseSlot + p}.
 * Builds the {@link SequenceStep} for the next tokens. Sliding-window layers are given only the positions they can
 * still see. A paged cache (step 3) replaces this class behind the same {@link SequenceStep} interface.
 *
 * <p>Not thread-safe; one owner per sequence.
 */
public final class SequenceCache {

    private final int baseSlot;
    private final int capacity;
    private final int window;
    private int length;

    /**
     * @param config   model configuration (for the sliding window)
     * @param baseSlot first slot of the run
     * @param capacity slots in the run: the longest sequence (prompt plus generated tokens) it can hold
     */
    public SequenceCache(GemmaConfig config, int baseSlot, int capacity) {
        if (baseSlot < 0 || capacity < 1) {
            throw new IllegalArgumentException("sequence cache: baseSlot must be >= 0 and capacity >= 1, got "
                    + baseSlot + " and " + capacity);
        }
        this.baseSlot = baseSlot;
        this.capacity = capacity;
        this.window = config.slidingWindow();
        this.length = 0;
    }

    /** Tokens already in the cache (the next token's position). */
    public int length() {
        return length;
    }

    public int capacity() {
        return capacity;
    }

    /** Slots still free. */
    public int remaining() {
        return capacity - length;
    }

    /**
     * Reserves slots for {@code tokens} at the next positions and returns the step that writes them. The length
     * advances now: run the step before building the next one.
     *
     * @param allLogits return logits for every new token rather than only the last
     * @throws IllegalStateException when the run is full
     */
    public SequenceStep append(int[] tokens, boolean allLogits) {
        if (tokens == null || tokens.length == 0) {
            throw new IllegalArgumentException("append: at least one token is required");
        }
        if (tokens.length > remaining()) {
            throw new IllegalStateException("sequence cache full: " + length + " + " + tokens.length
                    + " tokens exceed capacity " + capacity);
        }
        int first = length;
        int last = first + tokens.length - 1;
        int[] write = new int[tokens.length];
        for (int i = 0; i < tokens.length; i++) {
            write[i] = baseSlot + first + i;
        }
        ChunkSlots full = contiguous(write, 0, last);
        // Keys at positions <= first - window are invisible to every new query of a sliding layer.
        int from = Math.max(0, first - window + 1);
        ChunkSlots sliding = contiguous(write, from, last);
        length += tokens.length;
        return new SequenceStep(tokens, first, sliding, full, allLogits);
    }

    private ChunkSlots contiguous(int[] write, int fromPos, int toPos) {
        int n = toPos - fromPos + 1;
        int[] slots = new int[n];
        int[] pos = new int[n];
        for (int j = 0; j < n; j++) {
            pos[j] = fromPos + j;
            slots[j] = baseSlot + fromPos + j;
        }
        return new ChunkSlots(write, slots, pos);
    }

    /** Forgets all tokens (the slots are reused by the next sequence). */
    public void reset() {
        length = 0;
    }
}
