package dev.gemmaflink.runtime.kvcache;

import java.util.Arrays;

/**
 * Where one chunk of one sequence reads and writes K/V in one attention group (layer type): the hand-off from the KV
 * cache and the scheduler to the forward pass.
 *
 * <p>A slot addresses one token's K/V row in a layer tensor of the group. Under a block table the slot of position
 * {@code p} is {@code blockId * blockSize + p % blockSize} ({@link #of}); a single sequence that owns a contiguous
 * run of rows uses {@code base + p}. {@code writeSlot(i)} receives the i-th new token; {@code contextSlot(j)} holds
 * the token at absolute position {@code contextPosition(j)}. The context must contain the new tokens themselves (a
 * token attends to itself) and may omit positions the group can no longer see (a sliding window W: positions at or
 * before {@code start - W}).
 *
 * <p>Two forms with the same values: explicit arrays (the public constructor), or <em>paged</em> ({@link #of}): the
 * blocks that cover the context, its first position and length, so that a step never expands a long context on the
 * host (the forward pass may compute slots on the device from the blocks, see {@link #isPaged()}). Context positions
 * of the paged form are consecutive. Instances are immutable; accessors returning arrays return copies.
 */
public final class ChunkSlots {

    private final int[] writeSlots;
    private final int[] contextSlots; // explicit form; null when paged
    private final int[] contextPositions; // explicit form; null when paged
    private final int[] blocks; // paged form: the blocks holding positions [first - first % blockSize, end)
    private final int blockSize; // paged form; 0 when explicit
    private final int first; // paged form: first context position
    private final int length;

    /**
     * The explicit form: validates and copies.
     *
     * @param writeSlots (n) slot of each new token, positions [start, start + n)
     * @param contextSlots (C) slots the new tokens attend to, ascending position, the new tokens included
     * @param contextPositions (C) absolute position of each context slot: [0, start + n) for full attention,
     *     [max(0, start - W + 1), start + n) for a sliding window W (older positions are invisible to every new query)
     * @throws IllegalArgumentException when an array is null, the context is empty, context slots and positions
     *     differ in number, or a slot or position is negative
     */
    public ChunkSlots(int[] writeSlots, int[] contextSlots, int[] contextPositions) {
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
        this.writeSlots = writeSlots.clone();
        this.contextSlots = contextSlots.clone();
        this.contextPositions = contextPositions.clone();
        for (int[] a : new int[][] {this.writeSlots, this.contextSlots, this.contextPositions}) {
            for (int v : a) {
                if (v < 0) {
                    throw new IllegalArgumentException("chunk slots: negative slot or position " + v);
                }
            }
        }
        this.blocks = null;
        this.blockSize = 0;
        this.first = 0;
        this.length = contextSlots.length;
    }

    private ChunkSlots(int[] writeSlots, int[] blocks, int blockSize, int first, int length) {
        this.writeSlots = writeSlots;
        this.contextSlots = null;
        this.contextPositions = null;
        this.blocks = blocks;
        this.blockSize = blockSize;
        this.first = first;
        this.length = length;
    }

    /**
     * Maps positions through a block table (the paged form: O(blocks) work, whatever the context length).
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
        int[] blocks = Arrays.copyOfRange(blockTable, first / blockSize, (end - 1) / blockSize + 1);
        for (int k = 0; k < blocks.length; k++) {
            if (blocks[k] == KvCacheManager.nullBlockId()) {
                int p = Math.max(first, (first / blockSize + k) * blockSize);
                throw new IllegalArgumentException("position " + p + " is needed but its block was freed (null block)");
            }
        }
        int[] write = new int[numTokens];
        for (int i = 0; i < numTokens; i++) {
            int p = start + i;
            write[i] = blockTable[p / blockSize] * blockSize + p % blockSize;
        }
        return new ChunkSlots(write, blocks, blockSize, first, end - first);
    }

    /** @return slot of each new token (a copy) */
    public int[] writeSlots() {
        return writeSlots.clone();
    }

    /** @return slots the new tokens attend to, ascending position (a copy; expanded for the paged form) */
    public int[] contextSlots() {
        if (contextSlots != null) {
            return contextSlots.clone();
        }
        int[] out = new int[length];
        for (int j = 0; j < length; j++) {
            out[j] = contextSlot(j);
        }
        return out;
    }

    /** @return absolute position of each context slot (a copy; expanded for the paged form) */
    public int[] contextPositions() {
        if (contextPositions != null) {
            return contextPositions.clone();
        }
        int[] out = new int[length];
        for (int j = 0; j < length; j++) {
            out[j] = first + j;
        }
        return out;
    }

    /** Number of new tokens n (write slots). */
    public int numTokens() {
        return writeSlots.length;
    }

    /** Number of context entries C. */
    public int contextLength() {
        return length;
    }

    /** Slot of the i-th new token. */
    public int writeSlot(int i) {
        return writeSlots[i];
    }

    /** Slot of the j-th context entry. */
    public int contextSlot(int j) {
        if (contextSlots != null) {
            return contextSlots[j];
        }
        if (j < 0 || j >= length) {
            throw new IndexOutOfBoundsException("context entry " + j + " of " + length);
        }
        int k = j + first % blockSize;
        return blocks[k / blockSize] * blockSize + k % blockSize;
    }

    /** Absolute position of the j-th context entry. */
    public int contextPosition(int j) {
        if (contextPositions != null) {
            return contextPositions[j];
        }
        if (j < 0 || j >= length) {
            throw new IndexOutOfBoundsException("context entry " + j + " of " + length);
        }
        return first + j;
    }

    /**
     * @return whether the context is held as blocks ({@link #of}): positions {@code first, first + 1, ...}, the
     *     slot of context entry j in block {@code block((j + first % blockSize) / blockSize)}
     */
    public boolean isPaged() {
        return blocks != null;
    }

    /** @return the block size of the paged form, 0 for the explicit form */
    public int blockSize() {
        return blockSize;
    }

    /** @return the position of context entry 0 */
    public int firstContextPosition() {
        return contextPositions != null ? contextPositions[0] : first;
    }

    /** @return blocks covering the paged context, the first holding its first position; 0 for the explicit form */
    public int blockCount() {
        return blocks == null ? 0 : blocks.length;
    }

    /** @return the k-th block of the paged context */
    public int block(int k) {
        if (blocks == null) {
            throw new IllegalStateException("explicit chunk slots have no blocks");
        }
        return blocks[k];
    }

    /** Largest slot read or written (the K/V tensor must have more rows than this). */
    public int maxSlot() {
        int m = 0;
        for (int s : writeSlots) {
            m = Math.max(m, s);
        }
        if (contextSlots != null) {
            for (int s : contextSlots) {
                m = Math.max(m, s);
            }
            return m;
        }
        // The last entry of each block is the largest slot read in it.
        int off = first % blockSize;
        for (int k = 0; k < blocks.length; k++) {
            int lastInBlock = Math.min(blockSize - 1, off + length - 1 - k * blockSize);
            m = Math.max(m, blocks[k] * blockSize + lastInBlock);
        }
        return m;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof ChunkSlots c) || !Arrays.equals(writeSlots, c.writeSlots) || length != c.length) {
            return false;
        }
        for (int j = 0; j < length; j++) {
            if (contextSlot(j) != c.contextSlot(j) || contextPosition(j) != c.contextPosition(j)) {
                return false;
            }
        }
        return true;
    }

    @Override
    public int hashCode() {
        int h = Arrays.hashCode(writeSlots);
        for (int j = 0; j < length; j++) {
            h = 31 * (31 * h + contextSlot(j)) + contextPosition(j);
        }
        return h;
    }

    @Override
    public String toString() {
        return "ChunkSlots[write=" + writeSlots.length + ", context=" + length + (isPaged() ? ", paged" : "") + "]";
    }
}
