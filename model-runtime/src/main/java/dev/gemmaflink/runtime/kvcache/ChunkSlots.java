package dev.gemmaflink.runtime.kvcache;

import java.util.Arrays;

/**
 * Where one chunk of one sequence reads and writes K/V in one attention group (layer type): the hand-off from the KV
 * cache and the scheduler to the forward pass.
 *
 * <p>A slot addresses one token's K/V row in a layer tensor of the group. Under a block table the slot of position
 * {@code p} is {@code blockId * blockSize + p % blockSize} ({@link #of}); a single sequence that owns a contiguous
 * run of rows uses {@code base + p}. {@code writeSlots[i]} receives the i-th new token; {@code contextSlots[j]} holds
 * the token at absolute position {@code contextPositions[j]}. The context must contain the new tokens themselves (a
 * token attends to itself) and may omit positions the group can no longer see (a sliding window W: positions at or
 * before {@code start - W}).
 *
 * <p>The arrays are copied on construction and the accessors return copies; the forward pass reads single entries
 * through {@link #writeSlot}, {@link #contextSlot} and {@link #contextPosition} without copying.
 *
 * @param writeSlots (n) slot of each new token, positions [start, start + n)
 * @param contextSlots (C) slots the new tokens attend to, ascending position, the new tokens included
 * @param contextPositions (C) absolute position of each context slot: [0, start + n) for full attention,
 *     [max(0, start - W + 1), start + n) for a sliding window W (older positions are invisible to every new query)
 */
public record ChunkSlots(int[] writeSlots, int[] contextSlots, int[] contextPositions) {

    /**
     * Validates and copies.
     *
     * @throws IllegalArgumentException when an array is null, the context is empty, context slots and positions
     *     differ in number, or a slot or position is negative
     */
    public ChunkSlots {
        if (writeSlots == null || contextSlots == null || contextPositions == null) {
            throw new IllegalArgumentException("chunk slots: arrays must not be null");
        }
        if (contextSlots.length != contextPositions.length) {
            throw new IllegalArgumentException("chunk slots: " + contextSlots.length + " context slots but "
                    + contextPositions.length + " context positions");
        }
        if (contextSlots.length == 0) {
            throw new IllegalArgumentException("chunk slots: empty context (it must include the new tokens)");
        }
        writeSlots = writeSlots.clone();
        contextSlots = contextSlots.clone();
        contextPositions = contextPositions.clone();
        for (int[] a : new int[][] {writeSlots, contextSlots, contextPositions}) {
            for (int v : a) {
                if (v < 0) {
                    throw new IllegalArgumentException("chunk slots: negative slot or position " + v);
                }
            }
        }
    }

    /**
     * Maps positions through a block table.
     *
     * @param blockTable block ids of the sequence in the group, covering at least {@code start + numTokens} tokens
     * @param window sliding window in tokens, or 0 for full attention
     * @throws IllegalArgumentException when the table is too short or a needed position sits in the null block
     */
    public static ChunkSlots of(int[] blockTable, int blockSize, int window, int start, int numTokens) {
        if (numTokens < 1 || start < 0) {
            throw new IllegalArgumentException("chunk needs start >= 0 and numTokens >= 1, got " + start + " and "
                    + numTokens);
        }
        int end = start + numTokens;
        if ((long) blockTable.length * blockSize < end) {
            throw new IllegalArgumentException("block table of " + blockTable.length + " blocks of " + blockSize
                    + " tokens does not cover position " + (end - 1));
        }
        int first = window > 0 ? Math.max(0, start - window + 1) : 0;
        int[] context = new int[end - first];
        int[] positions = new int[end - first];
        // One block at a time: slots inside a block are consecutive, so no division per position.
        int p = first;
        while (p < end) {
            int blockIndex = p / blockSize;
            int block = blockTable[blockIndex];
            if (block == KvCacheManager.nullBlockId()) {
                throw new IllegalArgumentException("position " + p + " is needed but its block was freed (null block)");
            }
            int blockEnd = Math.min(end, (blockIndex + 1) * blockSize);
            int slot = block * blockSize + p % blockSize;
            for (; p < blockEnd; p++, slot++) {
                context[p - first] = slot;
                positions[p - first] = p;
            }
        }
        int[] write = Arrays.copyOfRange(context, start - first, end - first);
        return new ChunkSlots(write, context, positions);
    }

    @Override
    public int[] writeSlots() {
        return writeSlots.clone();
    }

    @Override
    public int[] contextSlots() {
        return contextSlots.clone();
    }

    @Override
    public int[] contextPositions() {
        return contextPositions.clone();
    }

    /** Number of new tokens n (write slots). */
    public int numTokens() {
        return writeSlots.length;
    }

    /** Number of context entries C. */
    public int contextLength() {
        return contextSlots.length;
    }

    /** Slot of the i-th new token. */
    public int writeSlot(int i) {
        return writeSlots[i];
    }

    /** Slot of the j-th context entry. */
    public int contextSlot(int j) {
        return contextSlots[j];
    }

    /** Absolute position of the j-th context entry. */
    public int contextPosition(int j) {
        return contextPositions[j];
    }

    /** Largest slot read or written (the K/V tensor must have more rows than this). */
    public int maxSlot() {
        int m = 0;
        for (int s : writeSlots) {
            m = Math.max(m, s);
        }
        for (int s : contextSlots) {
            m = Math.max(m, s);
        }
        return m;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ChunkSlots c && Arrays.equals(writeSlots, c.writeSlots)
                && Arrays.equals(contextSlots, c.contextSlots) && Arrays.equals(contextPositions, c.contextPositions);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * Arrays.hashCode(writeSlots) + Arrays.hashCode(contextSlots))
                + Arrays.hashCode(contextPositions);
    }

    @Override
    public String toString() {
        return "ChunkSlots[write=" + writeSlots.length + ", context=" + contextSlots.length + "]";
    }
}
