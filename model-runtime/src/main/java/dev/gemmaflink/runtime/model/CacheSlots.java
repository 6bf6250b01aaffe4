package dev.gemmaflink.runtime.model;

import java.util.Arrays;

/**
 * Where one sequence's step reads and writes K/V for one layer type.
 *
 * <p>A slot addresses one token's K/V row in a {@link KvStorage} layer tensor ({@code slot = block * blockSize +
 * offset} once a block pool manages them). {@code writeSlots[i]} receives the i-th new token;
 * {@code contextSlots[j]} holds the token at absolute position {@code contextPositions[j]}. The context must contain
 * the new tokens themselves (a token attends to itself) and may omit positions a layer type can no longer see
 * (sliding layers: positions at or before {@code firstNewPosition - window}).
 *
 * @param writeSlots       (n) one slot per new token
 * @param contextSlots     (L) slots gathered for attention
 * @param contextPositions (L) absolute position of each gathered slot
 */
public record CacheSlots(int[] writeSlots, int[] contextSlots, int[] contextPositions) {

    public CacheSlots {
        if (writeSlots == null || contextSlots == null || contextPositions == null) {
            throw new IllegalArgumentException("cache slots: arrays must not be null");
        }
        if (contextSlots.length != contextPositions.length) {
            throw new IllegalArgumentException("cache slots: " + contextSlots.length + " context slots but "
                    + contextPositions.length + " context positions");
        }
        if (contextSlots.length == 0) {
            throw new IllegalArgumentException("cache slots: empty context (it must include the new tokens)");
        }
        writeSlots = writeSlots.clone();
        contextSlots = contextSlots.clone();
        contextPositions = contextPositions.clone();
        for (int[] a : new int[][] {writeSlots, contextSlots, contextPositions}) {
            for (int v : a) {
                if (v < 0) {
                    throw new IllegalArgumentException("cache slots: negative slot or position " + v);
                }
            }
        }
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

    int contextLength() {
        return contextSlots.length;
    }

    int writeSlot(int i) {
        return writeSlots[i];
    }

    int contextSlot(int j) {
        return contextSlots[j];
    }

    int contextPosition(int j) {
        return contextPositions[j];
    }

    int maxSlot() {
        int m = Arrays.stream(writeSlots).max().orElse(0);
        return Math.max(m, Arrays.stream(contextSlots).max().orElse(0));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CacheSlots c && Arrays.equals(writeSlots, c.writeSlots)
                && Arrays.equals(contextSlots, c.contextSlots) && Arrays.equals(contextPositions, c.contextPositions);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * Arrays.hashCode(writeSlots) + Arrays.hashCode(contextSlots)) + Arrays.hashCode(contextPositions);
    }

    @Override
    public String toString() {
        return "CacheSlots[write=" + writeSlots.length + ", context=" + contextSlots.length + "]";
    }
}
