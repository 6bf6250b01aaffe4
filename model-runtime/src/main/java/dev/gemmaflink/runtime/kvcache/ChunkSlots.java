package dev.gemmaflink.runtime.kvcache;

import java.util.Arrays;

/**
 * Token slots of one step of one sequence in one KV group, ready for the forward pass (the same three arrays as
 * {@code dev.gemmaflink.runtime.model.CacheSlots}). A slot is a row of a layer's K/V tensor:
 * {@code slot = blockId * blockSize + position % blockSize}.
 *
 * @param writeSlots (n) slot of each new token, positions [start, start + n)
 * @param contextSlots (C) slots the new tokens attend to, ascending position, the new tokens included
 * @param contextPositions (C) absolute position of each context slot: [0, start + n) for full attention,
 *     [max(0, start - W + 1), start + n) for a sliding window W (older positions are invisible to every new query)
 */
public record ChunkSlots(int[] writeSlots, int[] contextSlots, int[] contextPositions) {

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
