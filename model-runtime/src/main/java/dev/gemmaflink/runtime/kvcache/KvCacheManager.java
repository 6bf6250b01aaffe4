package dev.gemmaflink.runtime.kvcache;

import dev.gemmaflink.runtime.config.LayerType;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The scheduler's only entry to KV memory: one {@link BlockPool} and one per-type manager per layer group (Gemma 3:
 * full attention and sliding window) behind a facade that speaks in {@link Sequence}s (tokens, computed count, cache
 * keys) and token counts. The scheduler never sees blocks; the forward pass sees block ids through
 * {@link #blockTables(Sequence)}.
 *
 * <p>Per step, for each sequence it schedules, the scheduler calls (in this order):
 * <ol>
 *   <li>at admission only, {@link #findLongestCachedPrefix(Sequence)} (skips the prefill of a shared prefix);</li>
 *   <li>{@link #allocateSlots(Sequence, int, CachedPrefix)}: false means no room, so preempt someone and retry;</li>
 *   <li>after the forward pass, {@link Sequence#advanceComputed(int)}; when the sequence ends or is preempted,
 *       {@link #free(Sequence)}.</li>
 * </ol>
 * Full blocks are hashed and cached as they are allocated for computation, decode blocks included, so a later prompt
 * that repeats an earlier prompt and its reply (a chat session) hits the cache without any session API.
 *
 * <p>Not thread-safe: one scheduling thread per device owns it.
 */
public final class KvCacheManager {

    private final KvCacheLayout layout;
    private final boolean prefixCaching;
    private final List<BlockPool> pools = new ArrayList<>();
    private final List<SingleTypeKvCacheManager> managers = new ArrayList<>();
    private final BlockHasher hasher;
    private long prefixQueryTokens;
    private long prefixHitTokens;

    private KvCacheManager(Builder b) {
        this.layout = b.layout;
        this.prefixCaching = b.prefixCaching;
        this.hasher = new BlockHasher(layout.blockSize());
        for (int g = 0; g < layout.numGroups(); g++) {
            BlockPool pool = new BlockPool(b.numBlocks[g], prefixCaching);
            pools.add(pool);
            managers.add(SingleTypeKvCacheManager.create(layout.group(g), pool, layout.blockSize()));
        }
    }

    /** Starts a builder; the pools are allocated once, in {@link Builder#build()}. */
    public static Builder builder(KvCacheLayout layout) {
        return new Builder(layout);
    }

    public KvCacheLayout layout() {
        return layout;
    }

    public int blockSize() {
        return layout.blockSize();
    }

    public boolean prefixCachingEnabled() {
        return prefixCaching;
    }

    /** Block id that stands for "no block" in block tables (sliding blocks outside the window). */
    public static int nullBlockId() {
        return 0;
    }

    /**
     * The longest prefix of {@code sequence} whose keys and values are cached in every group, in whole blocks and at
     * most {@code numTokens - 1} tokens, so the last token is always computed and yields logits, and never ending
     * inside an image span ({@link ImageSpans#roundDown}). For a full-attention group the prefix must be cached from
     * the start; for a sliding group only its last window. Empty when prefix caching is off or the sequence already
     * holds blocks. Changes no state.
     */
    public CachedPrefix findLongestCachedPrefix(Sequence sequence) {
        if (!prefixCaching || sequence.numComputedTokens() != 0 || managers.stream()
                .anyMatch(m -> !m.blocks(sequence.requestId()).isEmpty())) {
            return CachedPrefix.none();
        }
        hasher.extend(sequence);
        List<BlockHash> hashes = sequence.blockHashes();
        int blockSize = layout.blockSize();
        // A hit must not end inside an image: the soft tokens after the cut would be computed without seeing the ones
        // before it bidirectionally.
        List<ImageSpan> images = sequence.cacheKeys().images();
        int length = ImageSpans.roundDown(images, (sequence.numTokens() - 1) / blockSize * blockSize, blockSize);
        List<List<KvBlock>> hits = new ArrayList<>();
        // Fixed point: each group may only shorten the hit. A full-attention hit shortens by truncation, a sliding one
        // is looked up again for the shorter length (it needs the window before the new end). Terminates because the
        // length only decreases.
        while (length > 0) {
            hits.clear();
            int shortest = length;
            for (SingleTypeKvCacheManager manager : managers) {
                List<KvBlock> hit = manager.findLongestCacheHit(hashes, length);
                hits.add(hit);
                shortest = Math.min(shortest, hit.size() * blockSize);
            }
            if (shortest == length) {
                break;
            }
            length = ImageSpans.roundDown(images, shortest, blockSize);
        }
        if (length == 0) {
            return CachedPrefix.none();
        }
        return new CachedPrefix(List.copyOf(hits), length);
    }

    /** {@link #allocateSlots(Sequence, int, CachedPrefix)} without a prefix hit. */
    public boolean allocateSlots(Sequence sequence, int numNewTokens) {
        return allocateSlots(sequence, numNewTokens, CachedPrefix.none());
    }

    /**
     * Makes room for {@code numNewTokens} more tokens of {@code sequence} (after adopting {@code prefix}, if any),
     * all or nothing: first frees blocks that slid out of every sliding window, then checks each group's pool, then
     * adopts the hit (setting {@link Sequence#numComputedTokens()} to its length), allocates and offers the full
     * blocks to the prefix cache.
     *
     * @param numNewTokens tokens this step computes: 1 for decode, a chunk for prefill; positions
     *     [numComputedTokens, numComputedTokens + numNewTokens) after the hit, all of them already known
     * @param prefix from {@link #findLongestCachedPrefix} in the same scheduling pass, or {@link CachedPrefix#none()}
     * @return false when a pool has too few free blocks; nothing changed then except freed out-of-window blocks
     */
    public boolean allocateSlots(Sequence sequence, int numNewTokens, CachedPrefix prefix) {
        if (numNewTokens < 0) {
            throw new IllegalArgumentException("numNewTokens must be >= 0, got " + numNewTokens);
        }
        String id = sequence.requestId();
        if (!prefix.isEmpty() && sequence.numComputedTokens() != 0) {
            throw new IllegalArgumentException("request " + id + " has " + sequence.numComputedTokens()
                    + " computed tokens; a prefix hit applies at admission only");
        }
        int computed = sequence.numComputedTokens() + prefix.numTokens();
        int needed = computed + numNewTokens;
        if (needed > sequence.numTokens()) {
            throw new IllegalArgumentException("request " + id + ": cannot compute up to token " + needed + ", only "
                    + sequence.numTokens() + " tokens are known");
        }
        for (int g = 0; g < managers.size() && !prefix.isEmpty(); g++) {
            for (KvBlock block : prefix.blocks(g)) {
                if (!block.isNull() && block.hash() == null) {
                    throw new IllegalStateException("request " + id + ": stale prefix hit, block " + block.id()
                            + " of group " + g + " was evicted after the lookup; look up again in the same pass");
                }
            }
        }
        removeSkippedBlocks(sequence);
        if (!canAllocate(sequence, numNewTokens, prefix)) {
            return false;
        }
        boolean admission = sequence.numComputedTokens() == 0 && managers.get(0).blocks(id).isEmpty();
        if (admission && prefixCaching) {
            prefixQueryTokens += sequence.numTokens();
            prefixHitTokens += prefix.numTokens();
        }
        if (!prefix.isEmpty()) {
            for (int g = 0; g < managers.size(); g++) {
                pools.get(g).touch(prefix.blocks(g));
                managers.get(g).saveHitBlocks(id, prefix.blocks(g));
            }
            sequence.applyPrefixHit(prefix.numTokens());
        }
        for (SingleTypeKvCacheManager manager : managers) {
            manager.allocateNewBlocks(id, needed);
        }
        if (prefixCaching) {
            hasher.extend(sequence);
            for (SingleTypeKvCacheManager manager : managers) {
                manager.cacheBlocks(sequence, needed);
            }
        }
        return true;
    }

    /**
     * Whether {@link #allocateSlots(Sequence, int, CachedPrefix)} would succeed now. A pure query, changing no state
     * (it is called repeatedly, as in {@link #maxAllocatableTokens}): the sequence's out-of-window blocks that
     * allocation would free first count as free space without being freed here.
     */
    public boolean canAllocate(Sequence sequence, int numNewTokens, CachedPrefix prefix) {
        String id = sequence.requestId();
        int needed = sequence.numComputedTokens() + prefix.numTokens() + numNewTokens;
        for (int g = 0; g < managers.size(); g++) {
            SingleTypeKvCacheManager manager = managers.get(g);
            int free = pools.get(g).numFreeBlocks() + manager.numSkippedBlocksToFree(id, sequence.numComputedTokens());
            if (manager.numBlocksToAllocate(id, needed, prefix.blocks(g)) > free) {
                return false;
            }
        }
        return true;
    }

    /**
     * The most new tokens, at most {@code wanted}, that {@link #allocateSlots(Sequence, int, CachedPrefix)} could
     * grant now (0 when not even one fits): for shrinking a prefill chunk when nothing else can make room.
     */
    public int maxAllocatableTokens(Sequence sequence, int wanted, CachedPrefix prefix) {
        int lo = 0;
        int hi = wanted;
        while (lo < hi) { // block needs grow with the token count, so the feasible counts are a prefix of [0, wanted]
            int mid = (lo + hi + 1) >>> 1;
            if (canAllocate(sequence, mid, prefix)) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return lo;
    }

    /**
     * Frees the sliding-window blocks no future token of {@code sequence} reads (they become the null block in its
     * table). {@link #allocateSlots} does this itself; call it directly to release memory early.
     */
    public void removeSkippedBlocks(Sequence sequence) {
        for (SingleTypeKvCacheManager manager : managers) {
            manager.removeSkippedBlocks(sequence.requestId(), sequence.numComputedTokens());
        }
    }

    /**
     * Releases every block of the sequence (finished, cancelled or preempted), tail first so that its tail is evicted
     * before its prefix. Full blocks stay cached until evicted. Idempotent.
     */
    public void free(Sequence sequence) {
        for (SingleTypeKvCacheManager manager : managers) {
            manager.free(sequence.requestId());
        }
    }

    /**
     * Releases every block of the sequence like {@link #free(Sequence)}, and withdraws from the prefix cache those no
     * other sequence holds: for a sequence whose last step failed, so blocks offered to the cache at allocation hold
     * no valid keys and values. Blocks still shared with others stay cached (others computed or are computing
     * them). Idempotent.
     */
    public void discard(Sequence sequence) {
        for (SingleTypeKvCacheManager manager : managers) {
            manager.discard(sequence.requestId());
        }
    }

    /**
     * Block ids of one group for the forward pass, entry i covering token positions [i * bs, (i + 1) * bs); the slot of
     * position p is {@code table[p / bs] * bs + p % bs}. Sliding groups show {@link #nullBlockId()} for blocks outside
     * the window. A fresh array.
     */
    public int[] blockTable(Sequence sequence, int groupIndex) {
        List<KvBlock> blocks = managers.get(groupIndex).blocks(sequence.requestId());
        int[] ids = new int[blocks.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = blocks.get(i).id();
        }
        return ids;
    }

    /** {@link #blockTable(Sequence, int)} for every group: (numGroups, numBlocksOfSequence). */
    public int[][] blockTables(Sequence sequence) {
        int[][] tables = new int[managers.size()][];
        for (int g = 0; g < tables.length; g++) {
            tables[g] = blockTable(sequence, g);
        }
        return tables;
    }

    /**
     * The chained hashes of every full block of the sequence's known tokens (computing missing ones): the identity
     * under which its blocks are cached.
     */
    public List<BlockHash> blockHashes(Sequence sequence) {
        hasher.extend(sequence);
        return sequence.blockHashes();
    }

    /**
     * The most tokens one sequence can ever hold: bounded by the smallest full-attention pool (sliding groups only
     * need a window). The engine rejects longer requests up front instead of preempting forever.
     */
    public int maxSequenceTokens() {
        long max = Integer.MAX_VALUE;
        for (int g = 0; g < managers.size(); g++) {
            if (layout.group(g).type() == LayerType.FULL_ATTENTION) {
                max = Math.min(max, (long) pools.get(g).numUsableBlocks() * layout.blockSize());
            }
        }
        return (int) max;
    }

    /** Occupancy snapshot for metrics. */
    public KvCacheUsage usage() {
        List<KvCacheUsage.GroupUsage> groups = new ArrayList<>();
        for (int g = 0; g < pools.size(); g++) {
            BlockPool pool = pools.get(g);
            groups.add(new KvCacheUsage.GroupUsage(layout.group(g).type(), layout.group(g).numLayers(),
                    pool.numUsableBlocks(), pool.numUsedBlocks(), pool.numCachedFreeBlocks(), pool.numFreeBlocks(),
                    layout.bytesPerBlock(g), pool.evictions()));
        }
        return new KvCacheUsage(groups, managers.get(0).numRequests(), prefixQueryTokens, prefixHitTokens);
    }

    /** The pool of a group; for tests and debugging. */
    BlockPool pool(int groupIndex) {
        return pools.get(groupIndex);
    }

    /** Every sequence's block list of a group; for invariant checks in tests. */
    Map<String, List<KvBlock>> blockTablesOfGroup(int groupIndex) {
        return managers.get(groupIndex).allBlockTables();
    }

    /** Builder for {@link KvCacheManager}. */
    public static final class Builder {
        private final KvCacheLayout layout;
        private int[] numBlocks;
        private boolean prefixCaching = true;

        private Builder(KvCacheLayout layout) {
            if (layout == null) {
                throw new IllegalArgumentException("layout must not be null");
            }
            this.layout = layout;
        }

        /**
         * Required: blocks per group including the null block, index = group index (see {@link KvCacheSizing}).
         */
        public Builder numBlocks(int... perGroup) {
            this.numBlocks = perGroup.clone();
            return this;
        }

        /** Optional, default true. */
        public Builder prefixCaching(boolean enabled) {
            this.prefixCaching = enabled;
            return this;
        }

        public KvCacheManager build() {
            if (numBlocks == null) {
                throw new IllegalStateException("numBlocks is required");
            }
            if (numBlocks.length != layout.numGroups()) {
                throw new IllegalArgumentException("numBlocks has " + numBlocks.length + " entries but the layout has "
                        + layout.numGroups() + " groups");
            }
            for (int g = 0; g < numBlocks.length; g++) {
                KvGroupSpec spec = layout.group(g);
                int minimum = spec.type() == LayerType.SLIDING_ATTENTION
                        ? KvCacheLayout.ceilDiv(spec.slidingWindow(), layout.blockSize()) + 2 : 2;
                if (numBlocks[g] < minimum) {
                    throw new IllegalArgumentException("group " + g + " (" + spec.type() + ") needs >= " + minimum
                            + " blocks (null block plus one window), got " + numBlocks[g]);
                }
            }
            return new KvCacheManager(this);
        }
    }
}
