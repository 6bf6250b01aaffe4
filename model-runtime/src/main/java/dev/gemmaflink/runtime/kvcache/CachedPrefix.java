package dev.gemmaflink.runtime.kvcache;

import java.util.List;

/**
 * The result of a prefix-cache lookup: how many leading tokens of a sequence already have keys and values in the
 * cache, and (opaque to the scheduler) the blocks per group that hold them. Pass it to
 * {@link KvCacheManager#allocateSlots(Sequence, int, CachedPrefix)} in the same scheduling pass: the blocks are not
 * reserved until then, so a lookup must not be kept across steps.
 */
public final class CachedPrefix {

    private static final CachedPrefix NONE = new CachedPrefix(List.of(), 0);

    private final List<List<KvBlock>> blocksPerGroup;
    private final int numTokens;

    CachedPrefix(List<List<KvBlock>> blocksPerGroup, int numTokens) {
        this.blocksPerGroup = blocksPerGroup;
        this.numTokens = numTokens;
    }

    /** No cached prefix. */
    public static CachedPrefix none() {
        return NONE;
    }

    /** Leading tokens served by the cache: a multiple of the block size, at most numTokens - 1. */
    public int numTokens() {
        return numTokens;
    }

    public boolean isEmpty() {
        return numTokens == 0;
    }

    /** Hit blocks of a group (null blocks where a sliding group does not need them); empty list when no hit. */
    List<KvBlock> blocks(int groupIndex) {
        return numTokens == 0 ? List.of() : blocksPerGroup.get(groupIndex);
    }

    @Override
    public String toString() {
        return "CachedPrefix{tokens=" + numTokens + "}";
    }
}
